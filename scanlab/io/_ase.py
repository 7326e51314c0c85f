"""ASE dual-energy scans: one little-endian file with a 16-byte header, 16-bit pixels, XML trailer.

Layout (integers little-endian)::

    offset  0  magic b"IM\\0\\0"
    offset  4  width, uint16 (cols of one view)
    offset  6  height, uint16 (rows)
    offset  8  line-data type, uint16: 2 or 3 (below)
    offset 10  six reserved bytes (zero when scanlab writes, ignored on read)
    offset 16  pixels, uint16
    then       trailer: UTF-16LE XML metadata up to the end of the file (may be empty)

No public specification of this layout exists, so scanlab fixes the interpretation of the
line-data types as follows:

* type 2, one dual-energy view: two planes of ``height x width`` pixels, the whole low-energy
  plane first, then the high-energy plane (row-major, like every other scanlab layout). Low
  comes first as in the type-3 panels.
* type 3, three panels side by side: one image of ``height`` rows and ``3 * width`` columns
  holding the panels low | high | material; the material panel is 16-bit with values 0-255.

Pixels are memory-mapped; the channels returned are views of the map (no copy), only the
material panel is read into memory. The trailer scanlab writes is::

    <ScanInfo><ScanId/><ScannerModel/><HighEnergyMeV/><LowEnergyMeV/><RowPitchMm/>
      <ColPitchMm/><Acquired/><ScanlabHeader>{scanlab header JSON}</ScanlabHeader></ScanInfo>

On read, ``ScanlabHeader`` restores representation and metadata exactly; without it the other
elements are used, and a trailer with another root element (a vendor's own) leaves the
metadata at its defaults. A trailer that is present but not well-formed UTF-16LE XML, or that
declares a DOCTYPE (entity expansion), raises :class:`CorruptFileError`: a damaged trailer
means a damaged file, and silently dropping the energies would mislead every later step.
"""

from __future__ import annotations

import os
import re
import struct
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np

from scanlab.errors import CorruptFileError, MissingChannelError, ScanValidationError
from scanlab.i18n import _
from scanlab.io._common import atomic_open, header_to_json
from scanlab.io._fs6000 import _apply_header, _parse_header_json, _uint16_pixels
from scanlab.io._registry import Format, register
from scanlab.io._scan import Scan, ScanMetadata
from scanlab.io._validate import check_dimensions, detach_small

__all__ = ["read_ase", "write_ase"]

_MAGIC = b"IM\0\0"
_HEADER = struct.Struct("<4sHHH6x")
_DUAL_VIEW, _PANELS = 2, 3
_MAX_TRAILER_BYTES = 16 * 2**20
# Characters XML 1.0 cannot hold; stripped from the informative elements (the JSON is ASCII).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def read_ase(path: str | os.PathLike[str], *, max_pixels: int | None = None) -> Scan:
    """Read an ASE scan (line-data type 2 or 3).

    Parameters
    ----------
    path : path-like
        The ``.ase`` file.
    max_pixels : int, optional
        Refuse scans larger than this (default ``DEFAULT_MAX_PIXELS``).

    Returns
    -------
    Scan
        Counts (high, low) as memory-mapped views, the material plane for type 3, and the
        metadata of the XML trailer.

    Raises
    ------
    CorruptFileError
        Wrong magic, unknown line-data type, truncated pixels or a malformed trailer.
    """
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            head = fh.read(_HEADER.size)
            size = os.fstat(fh.fileno()).st_size
            if len(head) < _HEADER.size:
                raise CorruptFileError(
                    _("{path}: truncated ASE file of {count} bytes; the header alone is 16").format(
                        path=path, count=len(head)
                    )
                )
            magic, cols, rows, kind = _HEADER.unpack(head)
            if magic != _MAGIC:
                raise CorruptFileError(
                    _("{path}: not an ASE file (magic {magic!r})").format(path=path, magic=magic)
                )
            if kind not in (_DUAL_VIEW, _PANELS):
                raise CorruptFileError(
                    _(
                        "{path}: line-data type {kind} is not one scanlab reads (2: dual-energy "
                        "view, 3: low | high | material panels)"
                    ).format(path=path, kind=kind)
                )
            check_dimensions(rows, cols, channels=2, source=path, max_pixels=max_pixels)
            pixel_bytes = rows * cols * 2 * kind
            trailer_bytes = size - _HEADER.size - pixel_bytes
            if trailer_bytes < 0:
                raise CorruptFileError(
                    _(
                        "{path}: header says {cols} x {rows} pixels of line-data type {kind} "
                        "({pixel_bytes:,} bytes) but only {value:,} bytes follow it"
                    ).format(
                        path=path,
                        cols=cols,
                        rows=rows,
                        kind=kind,
                        pixel_bytes=pixel_bytes,
                        value=size - _HEADER.size,
                    )
                )
            if trailer_bytes > _MAX_TRAILER_BYTES:
                raise CorruptFileError(
                    _(
                        "{path}: {trailer_bytes:,} bytes after the pixels; an XML trailer is at "
                        "most 16 MiB (do the header's width and height match the file?)"
                    ).format(path=path, trailer_bytes=trailer_bytes)
                )
            fh.seek(_HEADER.size + pixel_bytes)
            trailer = fh.read()
    except OSError as exc:
        raise CorruptFileError(
            _("{path}: cannot be read: {strerror}").format(path=path, strerror=exc.strerror)
        ) from None

    material = None
    if kind == _DUAL_VIEW:
        planes = np.memmap(path, dtype="<u2", mode="r", offset=16, shape=(2, rows, cols))
        data = planes[::-1]  # stored low, high; scanlab's order is high, low
    else:
        image = np.memmap(path, dtype="<u2", mode="r", offset=16, shape=(rows, 3 * cols))
        # A (channel, row, col) view of the high and low panels without copying: channel 0
        # starts at the high panel, channel 1 one panel width (cols * 2 bytes) to its left.
        data = np.lib.stride_tricks.as_strided(
            image[:, cols : 2 * cols],
            shape=(2, rows, cols),
            strides=(-cols * 2, image.strides[0], 2),
            writeable=False,
        )
        panel = np.asarray(image[:, 2 * cols :])
        if int(panel.max()) > 255:
            raise CorruptFileError(
                _(
                    "{path}: material panel holds values up to {largest}; material classes are "
                    "0-255"
                ).format(path=path, largest=int(panel.max()))
            )
        material = panel.astype(np.uint8)
    data = detach_small(data)
    doc, default = _parse_trailer(trailer, path)
    return _apply_header(data, doc, default, material=material, source=path)


def _parse_trailer(raw: bytes, path: Path) -> tuple[dict[str, Any] | None, ScanMetadata]:
    """(scanlab header or None, metadata from the other elements) of the XML trailer."""
    default = ScanMetadata(scanner_model="ASE")
    if len(raw) % 2:
        raise CorruptFileError(
            _("{path}: XML trailer of odd length {count}; UTF-16 expected").format(
                path=path, count=len(raw)
            )
        )
    try:
        text = raw.decode("utf-16-le")
    except UnicodeDecodeError as exc:
        raise CorruptFileError(
            _("{path}: XML trailer is not UTF-16LE text: {reason}").format(
                path=path, reason=exc.reason
            )
        ) from None
    text = text.lstrip("\ufeff").strip("\0 \t\r\n")
    if not text:
        return None, default
    if "<!DOCTYPE" in text.upper() or "<!ENTITY" in text.upper():
        raise CorruptFileError(
            _("{path}: XML trailer declares a DOCTYPE or entity; refused").format(path=path)
        )
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise CorruptFileError(
            _("{path}: XML trailer is not well-formed: {exc}").format(path=path, exc=exc)
        ) from None
    if root.tag != "ScanInfo":
        return None, default
    header = root.findtext("ScanlabHeader")
    if header is not None:
        return _parse_header_json(header, source=path), default
    raw_meta: dict[str, Any] = {"scanner_model": root.findtext("ScannerModel") or "ASE"}
    if root.findtext("ScanId") is not None:
        raw_meta["scan_id"] = root.findtext("ScanId")
    energies = [root.findtext(tag) for tag in ("HighEnergyMeV", "LowEnergyMeV")]
    if any(e is not None for e in energies):
        raw_meta["energies_mev"] = energies
    pitch = [root.findtext(tag) for tag in ("RowPitchMm", "ColPitchMm")]
    if any(p is not None for p in pitch):
        raw_meta["pitch_mm"] = pitch
    if root.findtext("Acquired"):
        raw_meta["acquired"] = root.findtext("Acquired")
    return None, ScanMetadata.from_dict(raw_meta, source=f"{path} (XML trailer)")


def _trailer(scan: Scan, dtype: str) -> bytes:
    meta = scan.metadata
    root = ET.Element("ScanInfo")

    def add(tag: str, value: object) -> None:
        ET.SubElement(root, tag).text = _NOT_XML.sub("", str(value))

    add("ScanId", meta.scan_id)
    add("ScannerModel", meta.scanner_model)
    if len(meta.energies_mev) == 2:
        add("HighEnergyMeV", repr(meta.energies_mev[0]))
        add("LowEnergyMeV", repr(meta.energies_mev[1]))
    add("RowPitchMm", repr(meta.pitch_mm[0]))
    add("ColPitchMm", repr(meta.pitch_mm[1]))
    if meta.acquired is not None:
        add("Acquired", meta.acquired.isoformat())
    add("ScanlabHeader", header_to_json(scan, dtype=dtype))
    return ET.tostring(root, encoding="unicode").encode("utf-16-le")


def write_ase(scan: Scan, path: str | os.PathLike[str]) -> list[Path]:
    """Write a dual-energy scan as an ASE file.

    A scan with a material plane is written as line-data type 3 (low | high | material panels),
    one without as type 2 (low plane, then high plane). Transmission and attenuation are stored
    as counts (air 60000, dark 0; the levels go into the trailer).

    Returns
    -------
    list of Path
        The one file written.

    Raises
    ------
    MissingChannelError
        For a single-energy scan: both ASE line-data types hold two energies.

    Examples
    --------
    >>> import tempfile
    >>> from scanlab.io import example_scan
    >>> path = Path(tempfile.mkdtemp()) / "truck.ase"
    >>> scan = example_scan(rows=8, cols=16)
    >>> write_ase(scan, path) == [path]
    True
    >>> read_ase(path).metadata == scan.metadata
    True
    """
    path = Path(path)
    if not scan.is_dual_energy:
        raise MissingChannelError(
            _("{path}: ASE files hold dual-energy scans; this scan has one channel").format(
                path=path
            )
        )
    stored, pixels, dtype = _uint16_pixels(scan, path, "ASE")
    rows, cols = stored.shape
    if rows > 0xFFFF or cols > 0xFFFF:
        raise ScanValidationError(
            _(
                "{path}: the ASE header holds at most 65535 rows and columns, got {rows} x {cols}"
            ).format(path=path, rows=rows, cols=cols)
        )
    if stored.material is None:
        kind = _DUAL_VIEW
        body = np.ascontiguousarray(pixels[::-1], dtype="<u2")
    else:
        kind = _PANELS
        body = np.empty((rows, 3 * cols), dtype="<u2")
        body[:, :cols] = pixels[1]
        body[:, cols : 2 * cols] = pixels[0]
        body[:, 2 * cols :] = stored.material
    with atomic_open(path) as fh:
        fh.write(_HEADER.pack(_MAGIC, cols, rows, kind))
        fh.write(body.data.cast("B"))
        fh.write(_trailer(stored, dtype))
    return [path]


def _sniff(path: Path, head: bytes) -> bool:
    return head[:4] == _MAGIC


register(
    Format(
        name="ase",
        description="ASE dual-energy scan: 16-bit little-endian views with an XML trailer",
        extensions=(".ase",),
        sniff=_sniff,
        read=read_ase,
        write=write_ase,
    )
)
