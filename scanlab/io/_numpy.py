"""NumPy ``.npy`` (memory-mapped, optional JSON sidecar) and ``.npz`` (data, material, header)."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import IO

import numpy as np

from scanlab.errors import CorruptFileError
from scanlab.i18n import _
from scanlab.io._common import atomic_open, header_from_json, header_to_json
from scanlab.io._registry import Format, register
from scanlab.io._scan import Scan, ScanMetadata
from scanlab.io._tiff import guess_representation
from scanlab.io._validate import (
    check_dimensions,
    check_image,
    check_regular_file,
    detach_small,
)

__all__: list[str] = []

_NPY_MAGIC = b"\x93NUMPY"
_MAX_HEADER_BYTES = 2**20


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def _check_npy_header(
    fh: IO[bytes], source: Path, max_pixels: int | None, *, pixels: bool = True
) -> tuple[tuple[int, ...], int]:
    """Shape and total size in bytes (header included) from a .npy header, checked before a
    single pixel is read. ``pixels=False`` for a material plane (2-D, one byte a pixel)."""
    try:
        version = np.lib.format.read_magic(fh)
        if version == (1, 0):
            shape, _fortran, dtype = np.lib.format.read_array_header_1_0(fh)
        else:
            shape, _fortran, dtype = np.lib.format.read_array_header_2_0(fh)
    except ValueError as exc:
        raise CorruptFileError(
            _("{source}: invalid .npy header: {exc}").format(source=source, exc=exc)
        ) from None
    if dtype.hasobject:
        raise CorruptFileError(
            _("{source}: holds Python objects, which scanlab never unpickles").format(source=source)
        )
    if len(shape) not in ((2, 3) if pixels else (2,)):
        raise CorruptFileError(
            _("{source}: array of shape {shape}; expected 2-D or 3-D").format(
                source=source, shape=shape
            )
        )
    if not pixels and dtype.itemsize != 1:
        raise CorruptFileError(
            _("{source}: material plane of type {dtype}; expected uint8").format(
                source=source, dtype=dtype
            )
        )
    channels = shape[0] if len(shape) == 3 else 1
    check_dimensions(shape[-2], shape[-1], channels=channels, source=source, max_pixels=max_pixels)
    return tuple(shape), fh.tell() + int(np.prod(shape)) * dtype.itemsize


def _read_npy(path: Path, *, max_pixels: int | None = None) -> Scan:
    with open(path, "rb") as fh:
        _check_npy_header(fh, path, max_pixels)
    try:
        data = np.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError as exc:
        raise CorruptFileError(_("{path}: {exc}").format(path=path, exc=exc)) from None
    data = check_image(detach_small(data), source=path, max_pixels=max_pixels)
    side = _sidecar(path)
    if side.exists():
        check_regular_file(side, what="sidecar")
        if side.stat().st_size > _MAX_HEADER_BYTES:
            raise CorruptFileError(
                _("{side}: metadata sidecar larger than 1 MiB").format(side=side)
            )
        header = header_from_json(side.read_bytes(), source=side)
        if header is None:
            raise CorruptFileError(_("{side}: not a scanlab metadata sidecar").format(side=side))
        return Scan(data, header["representation"], header["metadata"], None, str(path))
    return Scan(data, guess_representation(data), ScanMetadata(), None, str(path))


def _write_npy(scan: Scan, path: Path) -> list[Path]:
    with atomic_open(path) as fh:
        np.save(fh, np.ascontiguousarray(scan.data), allow_pickle=False)
    side = _sidecar(path)
    with atomic_open(side, "w") as fh:
        fh.write(header_to_json(scan))
    return [path, side]


def _sniff_npz(path: Path, head: bytes) -> bool:
    if not head.startswith(b"PK\x03\x04"):
        return False
    with zipfile.ZipFile(path) as zf:
        return any(name.endswith(".npy") for name in zf.namelist())


def _read_npz(path: Path, *, max_pixels: int | None = None) -> Scan:
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise CorruptFileError(
            _("{path}: damaged .npz archive: {exc}").format(path=path, exc=exc)
        ) from None
    with zf:
        names = [n.removesuffix(".npy") for n in zf.namelist() if n.endswith(".npy")]
        if "data" in names:
            key = "data"
        elif len([n for n in names if n not in ("material", "header")]) == 1:
            key = next(n for n in names if n not in ("material", "header"))
        else:
            raise CorruptFileError(
                _(
                    "{path}: .npz holds {names}; expected an array named 'data' (or a single array)"
                ).format(path=path, names=names)
            )
        # Every member's declared size is checked against what its header implies before it
        # is decompressed (zipfile never inflates past the declared size): a few hundred KB
        # of zeros can otherwise inflate to gigabytes.
        try:
            with zf.open(key + ".npy") as member:
                shape, expected = _check_npy_header(member, path, max_pixels)
            _check_member_size(zf, key, expected, path)
            if "material" in names:
                with zf.open("material.npy") as member:
                    plane, expected = _check_npy_header(member, path, max_pixels, pixels=False)
                if plane != shape[-2:]:
                    raise CorruptFileError(
                        _("{path}: material plane of shape {plane}; the image is {shape}").format(
                            path=path, plane=plane, shape=shape[-2:]
                        )
                    )
                _check_member_size(zf, "material", expected, path)
            if "header" in names and zf.getinfo("header.npy").file_size > _MAX_HEADER_BYTES:
                raise CorruptFileError(
                    _("{path}: .npz member 'header' is larger than 1 MiB").format(path=path)
                )
        except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as exc:
            raise CorruptFileError(
                _("{path}: damaged .npz member {key!r}: {exc}").format(path=path, key=key, exc=exc)
            ) from None
    try:
        with np.load(path, allow_pickle=False) as npz:
            data = npz[key]
            material = npz["material"] if "material" in names else None
            header_text = str(npz["header"]) if "header" in names else None
    except (ValueError, zipfile.BadZipFile, OSError, EOFError) as exc:
        raise CorruptFileError(
            _("{path}: damaged .npz archive: {exc}").format(path=path, exc=exc)
        ) from None
    data = check_image(data, source=path, max_pixels=max_pixels)
    header = header_from_json(header_text, source=path) if header_text else None
    if header:
        return Scan(data, header["representation"], header["metadata"], material, str(path))
    return Scan(data, guess_representation(data), ScanMetadata(), material, str(path))


def _check_member_size(zf: zipfile.ZipFile, name: str, expected: int, path: Path) -> None:
    declared = zf.getinfo(name + ".npy").file_size
    if declared != expected:
        raise CorruptFileError(
            _(
                "{path}: .npz member {name!r} declares {declared:,} bytes uncompressed; its "
                "header implies {expected:,}"
            ).format(path=path, name=name, declared=declared, expected=expected)
        )


def _write_npz(scan: Scan, path: Path) -> list[Path]:
    arrays = {"data": np.ascontiguousarray(scan.data), "header": np.array(header_to_json(scan))}
    if scan.material is not None:
        arrays["material"] = scan.material
    with atomic_open(path) as fh:
        np.savez_compressed(fh, **arrays)  # type: ignore[arg-type]
    return [path]


register(
    Format(
        name="npy",
        description="NumPy .npy array, memory-mapped; metadata in a .npy.json sidecar",
        extensions=(".npy",),
        sniff=lambda path, head: head.startswith(_NPY_MAGIC),
        read=_read_npy,
        write=_write_npy,
    )
)
register(
    Format(
        name="npz",
        description="NumPy .npz archive with data, optional material plane and metadata",
        extensions=(".npz",),
        sniff=_sniff_npz,
        read=_read_npz,
        write=_write_npz,
    )
)
