"""Raw binary pixel dumps described by a JSON sidecar (covers most vendor dumps).

The sidecar ``NAME.json`` (or ``DATAFILE.json``) describes the data file::

    {"scanlab_raw": 1, "data_file": "scan.raw", "rows": 1200, "cols": 4000,
     "header_bytes": 0, "trailer_bytes": 0,
     "blocks": [{"channels": ["high", "low"], "dtype": "uint16", "byte_order": "big",
                 "interleave": "pixel"},
                {"channels": ["material"], "dtype": "uint8"}],
     "representation": "counts", "metadata": {...}}

Blocks follow one another in the file. ``interleave`` is how the channels of a block are
laid out: ``plane`` (all of channel 1, then channel 2), ``line`` (one row of each channel in
turn) or ``pixel`` (the channel values of each pixel together). Channel names are ``high``,
``low`` (or ``single``) and ``material`` (a uint8 class plane). Pixels are memory-mapped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from scanlab.errors import CorruptFileError, ScanlabError, ScanValidationError
from scanlab.i18n import _
from scanlab.io._common import atomic_open
from scanlab.io._registry import Format, register
from scanlab.io._scan import Representation, Scan, ScanMetadata
from scanlab.io._validate import (
    check_dimensions,
    check_image,
    check_regular_file,
    detach_small,
)

__all__ = ["write_raw"]

_KEY = "scanlab_raw"
_DTYPES = ("uint8", "uint16", "float32")
_INTERLEAVES = ("plane", "line", "pixel")
_CHANNELS = ("high", "low", "single", "material")
_MAX_SIDECAR_BYTES = 1_000_000


@dataclass(frozen=True)
class _Block:
    channels: tuple[str, ...]
    dtype: np.dtype
    interleave: str

    def nbytes(self, rows: int, cols: int) -> int:
        return rows * cols * len(self.channels) * self.dtype.itemsize


def _sidecar_for(path: Path) -> Path | None:
    """The sidecar of a data file, or the path itself when it is a sidecar."""
    if path.suffix.lower() == ".json":
        return path
    for candidate in (path.with_name(path.name + ".json"), path.with_suffix(".json")):
        if candidate.exists():
            check_regular_file(candidate, what="sidecar")
            return candidate
    return None


def _sniff(path: Path, head: bytes) -> bool:
    side = _sidecar_for(path)
    if side is None or side.stat().st_size > _MAX_SIDECAR_BYTES:
        return False
    text = side.read_text(encoding="utf-8", errors="replace")
    return f'"{_KEY}"' in text


def _field(doc: dict[str, Any], key: str, kind: type, side: Path) -> Any:
    if key not in doc:
        raise CorruptFileError(_("{side}: sidecar has no field {key!r}").format(side=side, key=key))
    value = doc[key]
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise CorruptFileError(
            _("{side}: sidecar field {key!r} must be an integer, got {value!r}").format(
                side=side, key=key, value=value
            )
        )
    if kind is not int and not isinstance(value, kind):
        raise CorruptFileError(
            _("{side}: sidecar field {key!r} must be a {type}").format(
                side=side, key=key, type=kind.__name__
            )
        )
    return value


def _parse_blocks(raw: Any, side: Path) -> list[_Block]:
    if not isinstance(raw, list) or not raw:
        raise CorruptFileError(
            _("{side}: sidecar field 'blocks' must be a non-empty list").format(side=side)
        )
    blocks = []
    for i, b in enumerate(raw):
        where = f"{side}: blocks[{i}]"
        if not isinstance(b, dict):
            raise CorruptFileError(_("{where} must be an object").format(where=where))
        chans = b.get("channels")
        if not isinstance(chans, list) or not chans or not all(c in _CHANNELS for c in chans):
            raise CorruptFileError(
                _("{where}.channels must list names from {CHANNELS}").format(
                    where=where, CHANNELS=_CHANNELS
                )
            )
        dtype_name = b.get("dtype")
        if dtype_name not in _DTYPES:
            raise CorruptFileError(
                _("{where}.dtype must be one of {DTYPES}, got {dtype_name!r}").format(
                    where=where, DTYPES=_DTYPES, dtype_name=dtype_name
                )
            )
        order = b.get("byte_order", "little")
        if order not in ("little", "big"):
            raise CorruptFileError(
                _("{where}.byte_order must be 'little' or 'big'").format(where=where)
            )
        interleave = b.get("interleave", "plane")
        if interleave not in _INTERLEAVES:
            raise CorruptFileError(
                _("{where}.interleave must be one of {INTERLEAVES}").format(
                    where=where, INTERLEAVES=_INTERLEAVES
                )
            )
        dtype = np.dtype(dtype_name).newbyteorder("<" if order == "little" else ">")
        blocks.append(_Block(tuple(chans), dtype, interleave))
    names = [c for b in blocks for c in b.channels]
    if len(set(names)) != len(names):
        raise CorruptFileError(
            _("{side}: a channel is named twice in 'blocks': {names}").format(
                side=side, names=names
            )
        )
    return blocks


def _read(path: Path, *, max_pixels: int | None = None) -> Scan:
    side = _sidecar_for(path)
    if side is None:
        raise CorruptFileError(_("{path}: raw data file without a JSON sidecar").format(path=path))
    if side.stat().st_size > _MAX_SIDECAR_BYTES:
        raise CorruptFileError(
            _("{side}: sidecar larger than 1 MB; not a scanlab raw sidecar").format(side=side)
        )
    try:
        doc = json.loads(side.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise CorruptFileError(
            _("{side}: sidecar is not valid JSON: {exc}").format(side=side, exc=exc)
        ) from None
    if not isinstance(doc, dict) or _KEY not in doc:
        raise CorruptFileError(
            _("{side}: not a scanlab raw sidecar (no {KEY!r} field)").format(side=side, KEY=_KEY)
        )
    data_name = _field(doc, "data_file", str, side)
    data_path = side.parent / data_name
    if Path(data_name).name != data_name:
        raise CorruptFileError(
            _("{side}: data_file must be a file name beside the sidecar").format(side=side)
        )
    rows = _field(doc, "rows", int, side)
    cols = _field(doc, "cols", int, side)
    header = doc.get("header_bytes", 0)
    trailer = doc.get("trailer_bytes", 0)
    if not all(isinstance(v, int) and v >= 0 for v in (header, trailer)):
        raise CorruptFileError(
            _("{side}: header_bytes and trailer_bytes must be integers >= 0").format(side=side)
        )
    blocks = _parse_blocks(doc.get("blocks"), side)
    pixel_channels = [c for b in blocks for c in b.channels if c != "material"]
    if pixel_channels not in (["high", "low"], ["high"], ["single"], ["low", "high"]):
        raise CorruptFileError(
            _(
                "{side}: channels {pixel_channels}; expected high and low, or a single channel"
            ).format(side=side, pixel_channels=pixel_channels)
        )
    check_dimensions(rows, cols, channels=len(pixel_channels), source=side, max_pixels=max_pixels)
    expected = header + sum(b.nbytes(rows, cols) for b in blocks) + trailer
    if not data_path.exists():
        raise CorruptFileError(
            _("{side}: data file {data_path} does not exist").format(side=side, data_path=data_path)
        )
    check_regular_file(data_path)
    actual = data_path.stat().st_size
    if actual != expected:
        raise CorruptFileError(
            _(
                "{data_path}: size disagrees with the sidecar {side}: expected {expected:,} "
                "bytes for {rows} x {cols} pixels, the file has {actual:,}"
            ).format(
                data_path=data_path,
                side=side.name,
                expected=expected,
                rows=rows,
                cols=cols,
                actual=actual,
            )
        )
    planes: dict[str, np.ndarray] = {}
    views: dict[str, tuple[np.ndarray, int]] = {}
    offset = header
    for b in blocks:
        n = len(b.channels)
        shape = {"plane": (n, rows, cols), "line": (rows, n, cols), "pixel": (rows, cols, n)}
        mm = np.memmap(data_path, dtype=b.dtype, mode="r", offset=offset, shape=shape[b.interleave])
        view = {"plane": mm, "line": mm.transpose(1, 0, 2), "pixel": mm.transpose(2, 0, 1)}
        for i, name in enumerate(b.channels):
            planes[name] = view[b.interleave][i]
            views[name] = (view[b.interleave], i)
        offset += b.nbytes(rows, cols)
    order = ["high", "low"] if "low" in planes else [pixel_channels[0]]
    dtypes = {planes[c].dtype for c in order}
    if len(dtypes) != 1:
        raise CorruptFileError(
            _("{side}: high and low channels have different types {dtypes}").format(
                side=side, dtypes=dtypes
            )
        )
    data = detach_small(_channel_view([views[c] for c in order]))
    data = check_image(data, source=data_path, max_pixels=max_pixels)
    material = planes.get("material")
    if material is not None:
        if material.dtype.itemsize != 1:
            raise CorruptFileError(_("{side}: the material plane must be uint8").format(side=side))
        material = np.array(material)
    try:
        rep = Representation(doc.get("representation", "counts"))
        meta = ScanMetadata.from_dict(doc.get("metadata", {}), source=side)
        return Scan(data, rep, meta, material, str(data_path))
    except ValueError:
        raise CorruptFileError(_("{side}: invalid 'representation'").format(side=side)) from None
    except ScanlabError:
        raise


def _channel_view(parts: list[tuple[np.ndarray, int]]) -> np.ndarray:
    """(channel, row, col) without copying when the channels share one block, else stacked."""
    block, first = parts[0]
    indices = [i for _, i in parts]
    if all(b is block for b, _ in parts):
        if len(indices) == 1:
            return block[first : first + 1]
        if indices[1] == indices[0] + 1:
            return block[indices[0] : indices[0] + 2]
        if indices[1] == indices[0] - 1:
            return block[indices[0] :: -1][:2]
    return np.stack([b[i] for b, i in parts])


def write_raw(
    scan: Scan,
    path: Path | str,
    *,
    byte_order: str = "little",
    interleave: str = "plane",
    header_bytes: int = 0,
) -> list[Path]:
    """Write ``scan`` as a raw dump plus ``PATH.json`` sidecar, in a chosen layout.

    Vendor layouts are reproduced with ``byte_order`` and ``interleave`` (for example 16-bit
    big-endian pixel-interleaved high/low), followed by the uint8 material plane if present.
    ``header_bytes`` zero bytes precede the pixels (as a vendor's own header would).
    """
    path = Path(path)
    if byte_order not in ("little", "big") or interleave not in _INTERLEAVES:
        raise ScanValidationError(
            _("{path}: byte_order must be little/big and interleave one of {INTERLEAVES}").format(
                path=path, INTERLEAVES=_INTERLEAVES
            )
        )
    data = scan.data
    dtype_name = data.dtype.newbyteorder("=").name
    if dtype_name == "float64":
        data, dtype_name = data.astype(np.float32), "float32"
    dtype = np.dtype(dtype_name).newbyteorder("<" if byte_order == "little" else ">")
    arranged = {
        "plane": data,
        "line": data.transpose(1, 0, 2),
        "pixel": data.transpose(1, 2, 0),
    }[interleave]
    blocks: list[dict[str, Any]] = [
        {
            "channels": list(scan.channel_names()),
            "dtype": dtype_name,
            "byte_order": byte_order,
            "interleave": interleave,
        }
    ]
    if scan.material is not None:
        blocks.append({"channels": ["material"], "dtype": "uint8"})
    with atomic_open(path) as fh:
        fh.write(b"\0" * header_bytes)
        fh.write(np.ascontiguousarray(arranged, dtype=dtype).tobytes())
        if scan.material is not None:
            fh.write(np.ascontiguousarray(scan.material).tobytes())
    doc = {
        _KEY: 1,
        "data_file": path.name,
        "rows": scan.shape[0],
        "cols": scan.shape[1],
        "header_bytes": header_bytes,
        "trailer_bytes": 0,
        "blocks": blocks,
        "representation": scan.representation.value,
        "metadata": scan.metadata.to_dict(),
    }
    side = path.with_name(path.name + ".json")
    with atomic_open(side, "w") as fh:
        json.dump(doc, fh, indent=1)
    return [path, side]


register(
    Format(
        name="raw",
        description="raw binary pixels with a JSON sidecar (dtype, shape, byte order, interleave)",
        extensions=(".raw", ".bin", ".dat"),
        sniff=_sniff,
        read=_read,
        write=lambda scan, path: write_raw(scan, path),
    )
)
