"""The table of file formats and the two entry points, ``read_scan`` and ``write_scan``."""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from scanlab.errors import CorruptFileError, ScanlabError, UnsupportedFormatError
from scanlab.i18n import _
from scanlab.io._scan import Scan
from scanlab.io._validate import check_regular_file

__all__ = [
    "FORMATS",
    "Format",
    "detect_format",
    "formats",
    "read_scan",
    "register",
    "write_scan",
]

Reader = Callable[..., Scan]
Writer = Callable[[Scan, Path], list[Path]]


@dataclass(frozen=True)
class Format:
    """One file format: how to recognise it from its first bytes, read it and write it.

    ``sniff(path, head)`` gets the path and the first 512 bytes and says whether the file is
    in this format; it must not raise. ``read(path, max_pixels=...)`` returns a Scan.
    ``write(scan, path)`` returns the files it wrote (some formats write several).
    """

    name: str
    description: str
    extensions: tuple[str, ...]
    sniff: Callable[[Path, bytes], bool]
    read: Reader
    write: Writer | None = None


FORMATS: dict[str, Format] = {}


def register(fmt: Format) -> Format:
    FORMATS[fmt.name] = fmt
    return fmt


_BUILTIN = ("_tiff", "_dicos", "_image", "_numpy", "_fs6000", "_ase", "_raw")


def _load_builtin_formats() -> None:
    # Importing a format module registers it; this order is the sniffing order.
    for name in _BUILTIN:
        importlib.import_module(f"scanlab.io.{name}")


def formats() -> dict[str, Format]:
    """All known formats by name (loading the built-in ones on first use)."""
    _load_builtin_formats()
    return FORMATS


def detect_format(path: str | os.PathLike[str]) -> str:
    """Name of the format of ``path``, recognised from its content (extension as a tie-break).

    Raises
    ------
    UnsupportedFormatError
        If no format recognises the file.
    """
    path = Path(path)
    _load_builtin_formats()
    check_regular_file(path)
    try:
        with open(path, "rb") as fh:
            head = fh.read(512)
    except FileNotFoundError:
        raise ScanlabError(_("{path}: no such file").format(path=path)) from None
    except IsADirectoryError:
        raise ScanlabError(_("{path}: is a directory, not a scan file").format(path=path)) from None
    except OSError as exc:
        raise ScanlabError(
            _("{path}: cannot be read: {error}").format(path=path, error=exc.strerror)
        ) from None
    matches = [fmt for fmt in FORMATS.values() if _safe_sniff(fmt, path, head)]
    if not matches:
        raise UnsupportedFormatError(
            _("{path}: not a scan file in any format scanlab reads ({formats})").format(
                path=path, formats=", ".join(sorted(FORMATS))
            )
        )
    suffix = path.suffix.lower()
    for fmt in matches:
        if suffix in fmt.extensions:
            return fmt.name
    return matches[0].name


def _safe_sniff(fmt: Format, path: Path, head: bytes) -> bool:
    try:
        return bool(fmt.sniff(path, head))
    except Exception:
        return False


def read_scan(
    path: str | os.PathLike[str], *, format: str | None = None, max_pixels: int | None = None
) -> Scan:
    """Read a scan from any supported format, recognised from the file's content.

    Parameters
    ----------
    path : path-like
        The file (for multi-file formats, any one of its files).
    format : str, optional
        Skip recognition and use this format (a key of ``FORMATS``).
    max_pixels : int, optional
        Refuse images larger than this (default ``DEFAULT_MAX_PIXELS``).

    Raises
    ------
    ScanlabError
        A subclass naming the file and the problem for anything that is not a valid scan.
    """
    path = Path(path)
    _load_builtin_formats()
    check_regular_file(path)
    name = format or detect_format(path)
    if name not in FORMATS:
        raise UnsupportedFormatError(
            _("{path}: unknown format {name!r}; known: {FORMATS}").format(
                path=path, name=name, FORMATS=sorted(FORMATS)
            )
        )
    try:
        return FORMATS[name].read(path, max_pixels=max_pixels)
    except ScanlabError:
        raise
    except MemoryError:
        raise CorruptFileError(
            _("{path}: {format} file needs more memory than is available").format(
                path=path, format=name
            )
        ) from None
    except Exception as exc:
        # Third-party parsers (tifffile, zipfile, zlib, pydicom, Pillow) raise many kinds of
        # error on damaged files; each becomes one error that names the file.
        raise CorruptFileError(
            _("{path}: damaged or invalid {format} file: {error}").format(
                path=path, format=name, error=f"{type(exc).__name__}: {exc}"
            )
        ) from exc


def write_scan(
    scan: Scan, path: str | os.PathLike[str], *, format: str | None = None
) -> list[Path]:
    """Write ``scan`` to ``path`` in the format named, or the one its extension implies.

    Returns the list of files written (FS6000 writes three, raw binary two).
    """
    path = Path(path)
    _load_builtin_formats()
    if format is None:
        suffix = path.suffix.lower()
        candidates = [f for f in FORMATS.values() if suffix in f.extensions and f.write]
        if not candidates:
            raise UnsupportedFormatError(
                _(
                    "{path}: cannot tell the format from the extension {suffix!r}; pass format= "
                    "one of {value}"
                ).format(
                    path=path, suffix=suffix, value=sorted(n for n, f in FORMATS.items() if f.write)
                )
            )
        fmt = candidates[0]
    else:
        if format not in FORMATS:
            raise UnsupportedFormatError(
                _("{path}: unknown format {format!r}").format(path=path, format=format)
            )
        fmt = FORMATS[format]
    if fmt.write is None:
        raise UnsupportedFormatError(
            _("{path}: scanlab reads {fmt} but does not write it").format(path=path, fmt=fmt.name)
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    return fmt.write(scan, path)
