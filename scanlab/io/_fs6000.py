"""FS6000 dual-energy scans: three ``.img`` files with a 36-byte big-endian header each.

A scan ``STEM`` is ``STEMhigh.img`` and ``STEMlow.img`` (16-bit big-endian detector counts) and
``STEMmaterial.img`` (8-bit material classes; optional on read). Every file starts with a
36-byte header of big-endian uint16 fields::

    offset  2  width (cols)            offset 24, 26, 28  acquisition year, month, day
    offset  4  height (rows)           offset 30, 32, 34  acquisition hour, minute, second
    offset 14  bits per pixel (16 for high and low, 8 for material)

Other header bytes are zero when scanlab writes and ignored on read. Pixels follow at offset 36,
row by row. What the layout cannot hold (energies, pitch, ids, air/dark levels, sub-second or
time-zone information, float representations) goes to an optional ``STEMscanlab.json`` sidecar
written by :func:`~scanlab.io._common.header_to_json`; the three files read without it.

This module also holds the helpers that the other 16-bit vendor layouts (ASE, DICOS) share.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from scanlab.errors import CorruptFileError, MissingChannelError, ScanValidationError
from scanlab.i18n import _
from scanlab.io._common import atomic_open, header_from_json, header_to_json
from scanlab.io._registry import Format, register
from scanlab.io._scan import Representation, Scan, ScanMetadata
from scanlab.io._validate import check_dimensions, check_regular_file

__all__ = ["read_fs6000", "write_fs6000"]

_HEADER = struct.Struct(">18H")  # 36 bytes; field i sits at byte offset 2 * i
_PARTS = {"high": 16, "low": 16, "material": 8}
_SIDECAR = "scanlab.json"
_MAX_SIDECAR_BYTES = 16 * 2**20


@dataclass(frozen=True)
class _Header:
    rows: int
    cols: int
    acquired: datetime | None


# --- helpers shared with the ASE and DICOS modules ------------------------------------------


def _uint16_pixels(scan: Scan, path: Path, layout: str) -> tuple[Scan, np.ndarray, str]:
    """The scan a 16-bit layout stores, its (channel, row, col) uint16 pixels and old dtype.

    Counts and display images keep their values (uint8 widens to uint16; the original dtype goes
    into the scanlab header so that reading narrows it again). Transmission and attenuation
    become counts with :meth:`Scan.to_counts` (air 60000, dark 0), and those levels are recorded,
    so the file reads back as that counts scan.
    """
    if scan.representation in (Representation.TRANSMISSION, Representation.ATTENUATION):
        scan = scan.to_counts()
    dtype = scan.data.dtype
    if dtype.kind != "u":
        raise ScanValidationError(
            _(
                "{path}: {layout} stores 16-bit integers; {representation} pixels of type "
                "{dtype} must be rounded to uint16 first"
            ).format(
                path=path, layout=layout, representation=scan.representation.value, dtype=dtype
            )
        )
    return scan, np.asarray(scan.data, dtype=np.uint16), dtype.name


def _parse_header_json(text: str | bytes, *, source: Path) -> dict[str, Any]:
    """A scanlab header written by ``header_to_json``, with its extra fields checked."""
    try:
        doc = header_from_json(text, source=source)
    except RecursionError:  # absurdly nested JSON
        doc = None
    if doc is None:
        raise CorruptFileError(
            _("{source}: the scanlab header is not valid scanlab JSON").format(source=source)
        )
    if doc.get("dtype", "uint16") not in ("uint8", "uint16"):
        raise CorruptFileError(
            _("{source}: scanlab header field 'dtype' must be uint8 or uint16").format(
                source=source
            )
        )
    if doc["representation"] not in (Representation.COUNTS, Representation.DISPLAY):
        raise CorruptFileError(
            _(
                "{source}: a 16-bit layout holds counts or display values, but the scanlab "
                "header says {value}"
            ).format(source=source, value=doc["representation"].value)
        )
    return doc


def _apply_header(
    data: np.ndarray,
    doc: dict[str, Any] | None,
    default: ScanMetadata,
    *,
    material: np.ndarray | None,
    source: Path,
) -> Scan:
    """The scan read from a 16-bit layout, restored exactly when a scanlab header came with it."""
    if doc is None:
        return Scan(data, Representation.COUNTS, default, material=material, source=str(source))
    if doc.get("channels") != data.shape[0]:
        raise CorruptFileError(
            _(
                "{source}: the scanlab header says {value!r} channel(s), the pixels have {shape}"
            ).format(source=source, value=doc.get("channels"), shape=data.shape[0])
        )
    if doc.get("dtype") == "uint8":
        if int(data.max()) > 255:
            raise CorruptFileError(
                _("{source}: the scanlab header says uint8, pixels exceed 255").format(
                    source=source
                )
            )
        data = data.astype(np.uint8)
    return Scan(data, doc["representation"], doc["metadata"], material=material, source=str(source))


# --- FS6000 ------------------------------------------------------------------------------------


def _split(path: Path) -> tuple[Path, str]:
    """(folder, stem prefix) of any of the scan's files, or of the stem itself."""
    name = path.name
    lower = name.lower()
    for part in _PARTS:
        if lower.endswith(part + ".img"):
            return path.parent, name[: -len(part) - 4]
    if lower.endswith(".img"):
        return path.parent, name[:-4]
    return path.parent, name


def _part_file(folder: Path, prefix: str, part: str) -> Path:
    # Files copied from the scanner's Windows PC are often upper-case.
    for candidate in (folder / f"{prefix}{part}.img", folder / f"{prefix}{part.upper()}.IMG"):
        if candidate.is_file():
            return candidate
    return folder / f"{prefix}{part}.img"


def _read_header(path: Path, *, bits: int, channels: int, max_pixels: int | None) -> _Header:
    try:
        with open(path, "rb") as fh:
            raw = fh.read(_HEADER.size)
            size = os.fstat(fh.fileno()).st_size
    except OSError as exc:
        raise CorruptFileError(
            _("{path}: cannot be read: {strerror}").format(path=path, strerror=exc.strerror)
        ) from None
    if len(raw) < _HEADER.size:
        raise CorruptFileError(
            _("{path}: truncated FS6000 file of {count} bytes; the header alone is 36").format(
                path=path, count=len(raw)
            )
        )
    fields = _HEADER.unpack(raw)
    cols, rows, depth = fields[1], fields[2], fields[7]
    if depth != bits:
        raise CorruptFileError(
            _(
                "{path}: header says {depth} bits per pixel; this FS6000 file must have {bits}"
            ).format(path=path, depth=depth, bits=bits)
        )
    check_dimensions(rows, cols, channels=channels, source=path, max_pixels=max_pixels)
    expected = _HEADER.size + rows * cols * bits // 8
    if size != expected:
        raise CorruptFileError(
            _(
                "{path}: header says {cols} x {rows} pixels of {bits} bits ({expected:,} bytes "
                "with the header) but the file holds {size:,} bytes"
            ).format(path=path, cols=cols, rows=rows, bits=bits, expected=expected, size=size)
        )
    return _Header(rows, cols, _acquired(fields[12:18], path))


def _acquired(fields: tuple[int, ...], path: Path) -> datetime | None:
    if not any(fields):
        return None
    try:
        year, month, day, hour, minute, second = fields
        return datetime(year, month, day, hour, minute, second)
    except ValueError:
        raise CorruptFileError(
            _(
                "{path}: header acquisition time {fields} (year, month, day, hour, minute, "
                "second) is not a valid date"
            ).format(path=path, fields=fields)
        ) from None


def _map(path: Path, dtype: str, shape: tuple[int, int]) -> np.memmap:
    return np.memmap(path, dtype=dtype, mode="r", offset=_HEADER.size, shape=shape)


def _size_mismatch(path: Path, header: _Header, high_path: Path, high: _Header) -> CorruptFileError:
    """The error for a part file whose size is not the high-energy file's."""
    return CorruptFileError(
        _("{files}: {cols} x {rows} pixels, but {name} has {cols2} x {rows2}").format(
            files=path,
            cols=header.cols,
            rows=header.rows,
            name=high_path.name,
            cols2=high.cols,
            rows2=high.rows,
        )
    )


def _read_sidecar(path: Path) -> dict[str, Any] | None:
    check_regular_file(path, what="sidecar")
    if not path.is_file():
        return None
    if path.stat().st_size > _MAX_SIDECAR_BYTES:
        raise CorruptFileError(_("{path}: scanlab sidecar larger than 16 MiB").format(path=path))
    doc = _parse_header_json(path.read_bytes(), source=path)
    if not isinstance(doc.get("material", True), bool):
        raise CorruptFileError(
            _("{path}: scanlab sidecar field 'material' must be true or false").format(path=path)
        )
    return doc


def read_fs6000(path: str | os.PathLike[str], *, max_pixels: int | None = None) -> Scan:
    """Read an FS6000 scan from any of its files (or its stem).

    The two channels live in separate files, so they are memory-mapped and copied once into a
    native-order (2, row, col) uint16 array.

    Parameters
    ----------
    path : path-like
        ``STEMhigh.img``, ``STEMlow.img``, ``STEMmaterial.img`` or ``STEM``.
    max_pixels : int, optional
        Refuse scans larger than this (default ``DEFAULT_MAX_PIXELS``).

    Returns
    -------
    Scan
        Counts (high, low), the material plane when its file exists, and the acquisition time;
        everything else comes from ``STEMscanlab.json`` when present.

    Raises
    ------
    CorruptFileError
        A missing high or low file, a truncated file, or sizes that disagree; the message names
        the file.
    """
    path = Path(path)
    folder, prefix = _split(path)
    files = {part: _part_file(folder, prefix, part) for part in _PARTS}
    for part in ("high", "low"):
        if not files[part].is_file():
            raise CorruptFileError(
                _("{files}: missing; the FS6000 scan {path} needs both {name} and {name2}").format(
                    files=files[part], path=path, name=files["high"].name, name2=files["low"].name
                )
            )
    high = _read_header(files["high"], bits=16, channels=2, max_pixels=max_pixels)
    shape = (high.rows, high.cols)
    low = _read_header(files["low"], bits=16, channels=2, max_pixels=max_pixels)
    if (low.rows, low.cols) != shape:
        raise _size_mismatch(files["low"], low, files["high"], high)
    data = np.empty((2, *shape), dtype=np.uint16)
    data[0] = _map(files["high"], ">u2", shape)
    data[1] = _map(files["low"], ">u2", shape)

    doc = _read_sidecar(folder / f"{prefix}{_SIDECAR}")
    material = None
    if files["material"].is_file() and (doc is None or doc.get("material", True)):
        mat = _read_header(files["material"], bits=8, channels=1, max_pixels=max_pixels)
        if (mat.rows, mat.cols) != shape:
            raise _size_mismatch(files["material"], mat, files["high"], high)
        material = np.array(_map(files["material"], "u1", shape))
    default = ScanMetadata(scanner_model="FS6000", acquired=high.acquired)
    return _apply_header(data, doc, default, material=material, source=path)


def write_fs6000(scan: Scan, path: str | os.PathLike[str]) -> list[Path]:
    """Write a dual-energy scan as FS6000 files plus the scanlab sidecar.

    ``path`` names the stem (``out/truck`` or ``out/truck.img`` both write
    ``out/truckhigh.img``, ``out/trucklow.img``, ``out/truckmaterial.img`` and
    ``out/truckscanlab.json``). The material file holds zeros when the scan has no material
    plane. Transmission and attenuation are stored as counts (see the module docstring).

    Returns
    -------
    list of Path
        The four files written.

    Raises
    ------
    MissingChannelError
        For a single-energy scan: the layout needs a high and a low file.

    Examples
    --------
    >>> import tempfile
    >>> from scanlab.io import example_scan
    >>> folder = Path(tempfile.mkdtemp())
    >>> [f.name for f in write_fs6000(example_scan(rows=8, cols=16), folder / "truck")]
    ['truckhigh.img', 'trucklow.img', 'truckmaterial.img', 'truckscanlab.json']
    >>> read_fs6000(folder / "trucklow.img").metadata.energies_mev
    (6.0, 4.0)
    """
    path = Path(path)
    if not scan.is_dual_energy:
        raise MissingChannelError(
            _(
                "{path}: FS6000 stores dual-energy scans (a high and a low file); this scan has "
                "one channel"
            ).format(path=path)
        )
    stored, pixels, dtype = _uint16_pixels(scan, path, "FS6000")
    rows, cols = stored.shape
    if rows > 0xFFFF or cols > 0xFFFF:
        raise ScanValidationError(
            _(
                "{path}: the FS6000 header holds at most 65535 rows and columns, got {rows} x "
                "{cols}"
            ).format(path=path, rows=rows, cols=cols)
        )
    when = stored.metadata.acquired
    stamp = (when.year, when.month, when.day, when.hour, when.minute, when.second) if when else ()
    material = stored.material if stored.material is not None else np.zeros((rows, cols), np.uint8)
    folder, prefix = _split(path)
    written = []
    for part, plane in (("high", pixels[0]), ("low", pixels[1]), ("material", material)):
        fields = [0] * 18
        fields[1], fields[2], fields[7] = cols, rows, _PARTS[part]
        fields[12 : 12 + len(stamp)] = stamp
        body = np.ascontiguousarray(plane, dtype=">u2" if _PARTS[part] == 16 else "u1")
        target = folder / f"{prefix}{part}.img"
        with atomic_open(target) as fh:
            fh.write(_HEADER.pack(*fields))
            fh.write(body.data.cast("B"))
        written.append(target)
    sidecar = folder / f"{prefix}{_SIDECAR}"
    with atomic_open(sidecar) as fh:
        fh.write(header_to_json(stored, dtype=dtype, material=scan.material is not None).encode())
    written.append(sidecar)
    return written


def _sniff(path: Path, head: bytes) -> bool:
    if path.suffix.lower() != ".img" or len(head) < _HEADER.size:
        return False
    fields = _HEADER.unpack(head[: _HEADER.size])
    cols, rows, bits = fields[1], fields[2], fields[7]
    return (
        bits in (8, 16)
        and rows > 0
        and cols > 0
        and path.stat().st_size == _HEADER.size + rows * cols * bits // 8
    )


register(
    Format(
        name="fs6000",
        description="FS6000 dual-energy scan: STEMhigh.img, STEMlow.img, STEMmaterial.img",
        extensions=(".img",),
        sniff=_sniff,
        read=read_fs6000,
        write=write_fs6000,
    )
)
