"""Checks every array and size that enters scanlab from a file or a caller."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np

from scanlab.errors import ScanlabError, ScanValidationError
from scanlab.i18n import N_, _

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "MMAP_THRESHOLD_BYTES",
    "SUPPORTED_DTYPES",
    "check_dimensions",
    "check_image",
    "check_regular_file",
    "detach_small",
]

#: Largest image (rows * cols * channels) a reader accepts unless told otherwise. A 40 ft
#: container at 2 mm pitch is about 1,500 x 7,000 x 2 = 21 MP; 400 MP leaves room for the
#: largest real scans while refusing decompression bombs. ``SCANLAB_MAX_PIXELS`` overrides it.
DEFAULT_MAX_PIXELS = int(os.environ.get("SCANLAB_MAX_PIXELS", 400_000_000))

#: Pixels of up to this many bytes are copied into memory as a file is read; only larger scans
#: stay memory-mapped. A mapped file that another process truncates kills the reading process
#: with SIGBUS (no Python code can catch it), so scans of ordinary size (a 21 MP dual-energy
#: scan is 84 MB) never keep a map open. ``SCANLAB_MMAP_BYTES`` overrides it.
MMAP_THRESHOLD_BYTES = int(os.environ.get("SCANLAB_MMAP_BYTES", 256 * 2**20))

SUPPORTED_DTYPES = (np.uint8, np.uint16, np.float32, np.float64)
_NATIVE_DTYPES = tuple(np.dtype(t) for t in SUPPORTED_DTYPES)


def check_regular_file(path: str | os.PathLike[str], *, what: str = "scan file") -> None:
    """Refuse a FIFO, device, socket or directory before anything opens it.

    Opening a FIFO for reading blocks until a writer appears, so a reader given one would hang
    for ever. A path that does not exist passes: the caller's own open names it.
    """
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return
    if stat.S_ISDIR(mode):
        raise ScanlabError(
            _("{path}: is a directory, not a {what}").format(path=path, what=_(what))
        )
    if not stat.S_ISREG(mode):
        kind = _("a FIFO") if stat.S_ISFIFO(mode) else _("a device or socket")
        raise ScanlabError(
            _("{path}: is {kind}, not a regular file; scanlab reads only regular files").format(
                path=path, kind=kind
            )
        )


#: The kinds of file :func:`check_regular_file` is told about (``what``), for the catalogue.
_WHATS = (N_("scan file"), N_("sidecar"), N_("submission"))


def detach_small(data: np.ndarray) -> np.ndarray:
    """``data`` copied into memory unless it exceeds :data:`MMAP_THRESHOLD_BYTES`.

    Readers pass their memory-mapped pixels through this, so that truncating the file after
    ``read_scan`` cannot crash the process for any scan of ordinary size.
    """
    if data.nbytes > MMAP_THRESHOLD_BYTES:
        return data
    return np.array(data)


def check_dimensions(
    rows: int, cols: int, *, channels: int = 1, source: str | Path, max_pixels: int | None = None
) -> None:
    """Refuse sizes that no scan has before any memory is allocated for them."""
    limit = DEFAULT_MAX_PIXELS if max_pixels is None else max_pixels
    if rows <= 0 or cols <= 0 or channels <= 0:
        raise ScanValidationError(
            _("{source}: empty image ({channels} channel(s) of {rows} x {cols} pixels)").format(
                source=source, channels=channels, rows=rows, cols=cols
            )
        )
    total = rows * cols * channels
    if total > limit:
        raise ScanValidationError(
            _(
                "{source}: {channels} x {rows} x {cols} = {total:,} pixels exceeds the limit of "
                "{limit:,} (set max_pixels or SCANLAB_MAX_PIXELS to allow it)"
            ).format(
                source=source, channels=channels, rows=rows, cols=cols, total=total, limit=limit
            )
        )


def check_image(
    data: np.ndarray, *, source: str | Path, max_pixels: int | None = None, finite: bool = True
) -> np.ndarray:
    """Return ``data`` as a (channel, row, col) array after checking it.

    A 2-D array becomes one channel. The dtype must be uint8, uint16 or floating point, and
    floating-point data must be finite (NaN or Inf in a scan is always a fault upstream).
    """
    arr = np.asarray(data) if not isinstance(data, np.ndarray) else data
    if arr.ndim == 2:
        arr = arr[np.newaxis]
    if arr.ndim != 3:
        raise ScanValidationError(
            _(
                "{source}: expected a 2-D (row, col) image or (channel, row, col) stack, got an "
                "array of shape {shape}"
            ).format(source=source, shape=arr.shape)
        )
    if arr.shape[0] not in (1, 2):
        raise ScanValidationError(
            _("{source}: a scan has 1 or 2 energy channels, got {count} (shape {shape})").format(
                source=source, count=arr.shape[0], shape=arr.shape
            )
        )
    check_dimensions(
        arr.shape[1], arr.shape[2], channels=arr.shape[0], source=source, max_pixels=max_pixels
    )
    if arr.dtype.newbyteorder("=") not in _NATIVE_DTYPES:
        raise ScanValidationError(
            _(
                "{source}: unsupported pixel type {dtype} (expected uint8, uint16, float32 or "
                "float64)"
            ).format(source=source, dtype=arr.dtype)
        )
    if finite and arr.dtype.kind == "f":
        bad = _count_nonfinite(arr)
        if bad:
            raise ScanValidationError(
                _("{source}: {count:,} pixel(s) are NaN or infinite").format(
                    source=source, count=bad
                )
            )
    return arr


def _count_nonfinite(arr: np.ndarray, block_rows: int = 512) -> int:
    # Block by block so that a memory-mapped scan is not read into memory all at once.
    bad = 0
    for start in range(0, arr.shape[1], block_rows):
        bad += int(np.count_nonzero(~np.isfinite(arr[:, start : start + block_rows])))
    return bad
