"""16-bit (or float) TIFF, one page per energy channel, scanlab metadata in the description."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tifffile

from scanlab.errors import CorruptFileError
from scanlab.i18n import _
from scanlab.io._common import atomic_open, header_from_json, header_to_json
from scanlab.io._registry import Format, register
from scanlab.io._scan import Representation, Scan, ScanMetadata
from scanlab.io._validate import check_dimensions, check_image, detach_small

__all__ = ["guess_representation"]

_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")


def _sniff(path: Path, head: bytes) -> bool:
    return head[:4] in _MAGIC


def guess_representation(data: np.ndarray) -> Representation:
    """What a file without scanlab metadata most likely holds, judged by its pixel type.

    uint8 is a display image, uint16 raw counts; float data is transmission when it stays
    within [0, 1.5] and attenuation otherwise.
    """
    if data.dtype == np.uint8:
        return Representation.DISPLAY
    if data.dtype.kind == "u":
        return Representation.COUNTS
    sample = np.asarray(data[..., ::7, ::7])
    if sample.size and float(sample.max()) <= 1.5 and float(sample.min()) >= 0.0:
        return Representation.TRANSMISSION
    return Representation.ATTENUATION


def _read(path: Path, *, max_pixels: int | None = None) -> Scan:
    with tifffile.TiffFile(path) as tif:
        if not tif.pages:
            raise CorruptFileError(_("{path}: TIFF file has no pages").format(path=path))
        first = tif.pages[0]
        description = getattr(first, "description", "") or ""
        header = header_from_json(description, source=path)
        series = tif.series
        if not series:
            raise CorruptFileError(_("{path}: TIFF file has no image series").format(path=path))
        pixels = series[0]
        shape = tuple(pixels.shape)
        if len(shape) == 2:
            shape = (1, *shape)
        if len(shape) != 3:
            # Some writers store two channels as two series of one page each.
            raise CorruptFileError(
                _("{path}: image of shape {shape}; expected a 2-D grey image per channel").format(
                    path=path, shape=pixels.shape
                )
            )
        check_dimensions(shape[1], shape[2], channels=shape[0], source=path, max_pixels=max_pixels)
        if shape[0] == 1 and len(series) == 2 and not header:
            other = series[1]
            if tuple(other.shape) != shape[1:] or other.dtype != pixels.dtype:
                raise CorruptFileError(
                    _("{path}: the two pages differ in shape or pixel type").format(path=path)
                )
            data = np.stack([pixels.asarray(), other.asarray()])
        elif pixels.dataoffset is not None:
            data = detach_small(tifffile.memmap(path, series=0, mode="r").reshape(shape))
        else:
            data = pixels.asarray().reshape(shape)
        material = None
        if header and header.get("material") and len(series) > 1:
            material = series[1].asarray()
            if material.shape != shape[1:]:
                raise CorruptFileError(
                    _("{path}: material plane of shape {shape}").format(
                        path=path, shape=material.shape
                    )
                )
    data = check_image(data, source=path, max_pixels=max_pixels)
    if header:
        return Scan(data, header["representation"], header["metadata"], material, str(path))
    return Scan(data, guess_representation(data), ScanMetadata(), None, str(path))


def _write(scan: Scan, path: Path) -> list[Path]:
    description = header_to_json(scan, material=scan.material is not None)
    data = scan.data
    native = data.dtype.newbyteorder("=")
    if native == np.float64:
        native = np.dtype(np.float32)
    with atomic_open(path) as fh, tifffile.TiffWriter(fh) as tw:
        # One contiguous uncompressed series, so that readers can memory-map all channels.
        tw.write(
            np.ascontiguousarray(data, dtype=native),
            photometric="minisblack",
            description=description,
            metadata=None,
            contiguous=True,
        )
        if scan.material is not None:
            tw.write(scan.material, photometric="minisblack", metadata=None)
    return [path]


register(
    Format(
        name="tiff",
        description="TIFF, one page per energy channel (16-bit counts or float), metadata kept",
        extensions=(".tif", ".tiff"),
        sniff=_sniff,
        read=_read,
        write=_write,
    )
)
