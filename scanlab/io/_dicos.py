"""DICOS (NEMA IIC 1) digital X-ray images and threat detection reports, through pydicom.

**Images.** scanlab writes a DICOS DX object (SOP class 1.2.840.10008.5.1.4.1.1.501.2.2,
"DICOS Digital X-Ray Image Storage - For Processing", for counts; .501.2.1 "For Presentation"
for display images) with uint16 pixels, one frame per energy channel (``NumberOfFrames``,
frame 1 high, frame 2 low). Transmission and attenuation are stored as counts (air 60000,
dark 0: :meth:`Scan.to_counts`), so they read back as that counts scan. Standard tags:

* ``KVP`` (0018,0060), kV: the high energy (the only energy of a single-energy scan).
  DICOS defines no per-energy tag for a multi-frame DX image, so the energy of each frame also
  goes where enhanced multi-frame DICOM keeps per-frame kVp:
  ``PerFrameFunctionalGroupsSequence`` (5200,9230) > ``CTXRayDetailsSequence`` (0018,9325) >
  ``KVP``, with ``FrameContentSequence`` > ``FrameLabel`` "HIGH ENERGY" / "LOW ENERGY".
  ``ImageType`` value 4 is DICOS's image characteristic, "MULTI ENERGY" or "HIGH ENERGY".
* ``ImagerPixelSpacing`` (0018,1164) and ``PixelSpacing`` (0028,0030): (row, col) pitch in mm.
* ``AcquisitionDateTime`` (0008,002A); ``StudyID`` (0020,0010, DICOS's scan id; only when the
  id fits its 16 characters); ``ManufacturerModelName``; ``OOIType`` "CARGO".

The scanlab header JSON (and the material plane, if any) go into a private block with creator
"SCANLAB 1.0" in group 0009, so round trips are exact; files without it (from other DICOS
writers) read from the standard tags alone: "For Presentation" images as display values,
everything else as counts.

**Threat detection reports** (SOP class 1.2.840.10008.5.1.4.1.1.501.3): each region is one
item of ``ThreatSequence`` (4010,1011) with ``PotentialThreatObjectID``, an
``ATDAssessmentSequence`` (category, description, probability) and a
``PTORepresentationSequence`` whose ``ThreatROIVoxelSequence`` holds ``ThreatROIBase`` and
``ThreatROIExtents`` as (x, y, z) = (col, row, 0) and (n_cols, n_rows, 1) and whose
``BoundingPolygon`` lists the four box corners as (x, y, 0).
"""

from __future__ import annotations

import io
import os
import re
import zlib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.filereader import _read_file_meta_info, read_dataset, read_preamble
from pydicom.uid import UID, DeflatedExplicitVRLittleEndian, ExplicitVRLittleEndian, generate_uid
from pydicom.valuerep import DT

from scanlab.errors import (
    CorruptFileError,
    ScanlabError,
    ScanValidationError,
    UnsupportedFormatError,
)
from scanlab.i18n import _
from scanlab.io._common import atomic_open, header_to_json
from scanlab.io._fs6000 import _apply_header, _parse_header_json, _uint16_pixels
from scanlab.io._registry import Format, register
from scanlab.io._scan import Representation, Scan, ScanMetadata
from scanlab.io._validate import DEFAULT_MAX_PIXELS, check_dimensions

__all__ = [
    "TDR_TYPES",
    "THREAT_CATEGORIES",
    "read_dicos",
    "read_threat_report",
    "write_dicos",
    "write_threat_report",
]

DX_FOR_PRESENTATION = UID("1.2.840.10008.5.1.4.1.1.501.2.1")
DX_FOR_PROCESSING = UID("1.2.840.10008.5.1.4.1.1.501.2.2")
THREAT_DETECTION_REPORT = UID("1.2.840.10008.5.1.4.1.1.501.3")

_PRIVATE_GROUP = 0x0009
_PRIVATE_CREATOR = "SCANLAB 1.0"
_HEADER_ELEMENT, _MATERIAL_ELEMENT = 0x01, 0x02
_FRAME_LABELS = ("HIGH ENERGY", "LOW ENERGY")
#: ThreatCategory defined terms (DICOS; as in Stratovan's SDICOS toolkit).
THREAT_CATEGORIES = (
    "EXPLOSIVE",
    "PI",
    "CONTRABAND",
    "ANOMALY",
    "LAPTOP",
    "OTHER",
    "PHARMACEUTICAL",
)
TDR_TYPES = ("MACHINE", "OPERATOR", "GROUND_TRUTH", "OTHER")
_NOT_TEXT = re.compile(r"[\\\x00-\x1f]")  # not allowed in SH and LO values
#: A deflated DICOS file may inflate to at most this many times its size. X-ray pixels with
#: their noise compress a few times at most; Apache POI refuses zip entries past the same ratio.
MAX_INFLATE_RATIO = 100
#: What a DICOS image may hold besides its pixels and material plane (tags, sequences, the
#: scanlab header): any larger element is refused before it is read or inflated.
MAX_METADATA_BYTES = 16 * 2**20


@contextmanager
def _parsing(path: Path, what: str) -> Iterator[None]:
    """Turn whatever pydicom raises on a damaged file into CorruptFileError naming the file."""
    try:
        yield
    except ScanlabError:
        raise
    except Exception as exc:  # pydicom raises many kinds of error on damaged input
        raise CorruptFileError(
            _("{path}: damaged or invalid {what}: {exc}").format(path=path, what=what, exc=exc)
        ) from exc


def _dcmread(path: Path, **kwargs: Any) -> Dataset:
    with _parsing(path, "DICOS file"):
        return pydicom.dcmread(path, **kwargs)


class _Inflated(FileDataset):
    """A deflated DICOS file's dataset, parsed from its inflated bytes."""

    inflated_bytes: int = 0


def _inflate_if_deflated(path: Path, max_pixels: int | None) -> _Inflated | None:
    """The dataset of a file in the deflated transfer syntax, inflated within bounds; ``None``
    for any other transfer syntax (pydicom then reads the file itself).

    pydicom inflates the whole dataset at once, without a limit, before a single tag is
    checked; here the output stops at :data:`MAX_INFLATE_RATIO` times the compressed size
    and at what the largest scan allowed (``max_pixels``) with its metadata could fill.
    """
    with _parsing(path, "DICOS file"), open(path, "rb") as fh:
        preamble = read_preamble(fh, False)
        meta = _read_file_meta_info(fh)
        if meta.get("TransferSyntaxUID") != DeflatedExplicitVRLittleEndian:
            return None
        zipped = fh.read()
    limit_pixels = DEFAULT_MAX_PIXELS if max_pixels is None else max_pixels
    limit = min(MAX_INFLATE_RATIO * len(zipped) + 2**20, 3 * limit_pixels + MAX_METADATA_BYTES)
    try:
        inflater = zlib.decompressobj(-zlib.MAX_WBITS)
        body = inflater.decompress(zipped, limit + 1)
    except zlib.error as exc:
        raise CorruptFileError(
            _("{path}: damaged deflated DICOS data: {exc}").format(path=path, exc=exc)
        ) from None
    if len(body) > limit:
        raise CorruptFileError(
            _(
                "{path}: deflated data of {count:,} bytes inflates to more than {limit:,} bytes "
                "(at most {MAX_INFLATE_RATIO} times its size, and what {limit_pixels:,} pixels "
                "need): refused as a decompression bomb"
            ).format(
                path=path,
                count=len(zipped),
                limit=limit,
                MAX_INFLATE_RATIO=MAX_INFLATE_RATIO,
                limit_pixels=limit_pixels,
            )
        )
    with _parsing(path, "DICOS file"):
        dataset = read_dataset(io.BytesIO(body), False, True)
        ds = _Inflated(str(path), dataset, preamble, meta, False, True)
    ds.inflated_bytes = len(body)
    return ds


def _ds(value: float) -> str:
    # DS strings hold at most 16 characters.
    return f"{value:.10g}"


def _dt(when: datetime) -> str:
    text = (
        f"{when.year:04d}{when.month:02d}{when.day:02d}"
        f"{when.hour:02d}{when.minute:02d}{when.second:02d}"
    )
    if when.microsecond:
        text += f".{when.microsecond:06d}"
    offset = when.utcoffset()
    if offset is not None:
        minutes = int(offset / timedelta(minutes=1))
        sign = "-" if minutes < 0 else "+"
        text += f"{sign}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"
    return text


# --- images ---------------------------------------------------------------------------------


def write_dicos(scan: Scan, path: str | os.PathLike[str]) -> list[Path]:
    """Write a scan as a DICOS DX object (see the module docstring for the tags used).

    Returns
    -------
    list of Path
        The one file written.

    Examples
    --------
    >>> import tempfile
    >>> from scanlab.io import example_scan
    >>> path = Path(tempfile.mkdtemp()) / "truck.dcs"
    >>> scan = example_scan(rows=8, cols=16)
    >>> write_dicos(scan, path) == [path]
    True
    >>> pydicom.dcmread(path).KVP, read_dicos(path).metadata == scan.metadata
    ('6000', True)
    """
    path = Path(path)
    stored, pixels, dtype = _uint16_pixels(scan, path, "DICOS")
    meta = stored.metadata
    processing = stored.representation is Representation.COUNTS
    sop_class = DX_FOR_PROCESSING if processing else DX_FOR_PRESENTATION

    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = sop_class
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.Modality = "DX"
    ds.OOIType = "CARGO"
    ds.InstanceNumber = 1
    ds.Manufacturer = "scanlab"
    ds.ManufacturerModelName = _NOT_TEXT.sub("", meta.scanner_model)[:64]
    if len(meta.scan_id) <= 16 and not _NOT_TEXT.search(meta.scan_id):
        ds.StudyID = meta.scan_id
    if meta.acquired is not None:
        ds.AcquisitionDateTime = _dt(meta.acquired)
    ds.PresentationIntentType = "FOR PROCESSING" if processing else "FOR PRESENTATION"
    ds.ImageType = [
        "ORIGINAL",
        "PRIMARY",
        "",
        _FRAME_LABELS[0] if stored.n_channels == 1 else "MULTI ENERGY",
    ]
    if meta.energies_mev:
        ds.KVP = _ds(meta.energies_mev[0] * 1000)
        frames = []
        for energy, label in zip(meta.energies_mev, _FRAME_LABELS, strict=False):
            item = Dataset()
            item.FrameContentSequence = [Dataset()]
            item.FrameContentSequence[0].FrameLabel = label
            item.CTXRayDetailsSequence = [Dataset()]
            item.CTXRayDetailsSequence[0].KVP = _ds(energy * 1000)
            frames.append(item)
        ds.PerFrameFunctionalGroupsSequence = frames
    ds.ImagerPixelSpacing = ds.PixelSpacing = [_ds(p) for p in meta.pitch_mm]
    ds.Rows, ds.Columns = stored.shape
    ds.NumberOfFrames = stored.n_channels
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 0
    ds.PixelData = np.ascontiguousarray(pixels, dtype="<u2").tobytes()

    block = ds.private_block(_PRIVATE_GROUP, _PRIVATE_CREATOR, create=True)
    block.add_new(_HEADER_ELEMENT, "UT", header_to_json(stored, dtype=dtype))
    if stored.material is not None:
        block.add_new(_MATERIAL_ELEMENT, "OB", np.ascontiguousarray(stored.material).tobytes())

    with atomic_open(path) as fh:
        ds.save_as(fh, enforce_file_format=True)
    return [path]


def read_dicos(path: str | os.PathLike[str], *, max_pixels: int | None = None) -> Scan:
    """Read a DICOS (or plain DICOM) DX image of one or two frames.

    Parameters
    ----------
    path : path-like
        The ``.dcs`` file.
    max_pixels : int, optional
        Refuse images larger than this (default ``DEFAULT_MAX_PIXELS``), checked on the header
        before any pixel is decoded.

    Returns
    -------
    Scan
        Frames as channels (high, low). Metadata from the scanlab private block when present,
        otherwise from the standard tags.

    Raises
    ------
    UnsupportedFormatError
        For a threat detection report or a colour or signed image.
    CorruptFileError
        For a damaged file.
    """
    path = Path(path)
    inflated = _inflate_if_deflated(path, max_pixels)
    if inflated is None:
        # Values over 1 MiB are skipped, not read, until the sizes below are checked.
        head = _dcmread(path, stop_before_pixels=True, defer_size=2**20)
        body_bytes = path.stat().st_size
    else:
        head = inflated
        body_bytes = inflated.inflated_bytes
    with _parsing(path, "DICOS image header"):
        if str(head.get("SOPClassUID", "")) == THREAT_DETECTION_REPORT:
            raise UnsupportedFormatError(
                _(
                    "{path}: a DICOS threat detection report, not an image; read it with "
                    "read_threat_report"
                ).format(path=path)
            )
        if "Rows" not in head or "Columns" not in head:
            raise CorruptFileError(
                _("{path}: no Rows and Columns; not a DICOS image").format(path=path)
            )
        rows, cols = int(head.Rows), int(head.Columns)
        frames = int(head.get("NumberOfFrames") or 1)
        check_dimensions(rows, cols, channels=frames, source=path, max_pixels=max_pixels)
        if frames > 2:
            raise ScanValidationError(
                _("{path}: {frames} frames; a scan has 1 or 2 energy channels").format(
                    path=path, frames=frames
                )
            )
        layout = (
            head.get("SamplesPerPixel", 1),
            head.get("PixelRepresentation", 0),
            head.get("BitsAllocated"),
        )
        if layout[:2] != (1, 0) or layout[2] not in (8, 16):
            raise UnsupportedFormatError(
                _(
                    "{path}: scanlab reads unsigned 8- or 16-bit grayscale DICOS images; this "
                    "one has SamplesPerPixel, PixelRepresentation, BitsAllocated = {layout}"
                ).format(path=path, layout=layout)
            )
        # Pixels, a material plane and bounded metadata: nothing else may take room, in
        # whatever element (private, nested) it hides.
        allowed = rows * cols * (frames * layout[2] // 8 + 1) + MAX_METADATA_BYTES
        if body_bytes > allowed:
            raise CorruptFileError(
                _(
                    "{path}: holds {body_bytes:,} bytes, more than {frames} frame(s) of {rows} x "
                    "{cols} pixels and {value} MiB of metadata can fill ({allowed:,}): an "
                    "oversize element"
                ).format(
                    path=path,
                    body_bytes=body_bytes,
                    frames=frames,
                    rows=rows,
                    cols=cols,
                    value=MAX_METADATA_BYTES // 2**20,
                    allowed=allowed,
                )
            )
    ds = _dcmread(path) if inflated is None else inflated
    with _parsing(path, "DICOS pixel data"):
        pixels = ds.pixel_array
    if pixels.dtype.kind != "u" or pixels.size != frames * rows * cols:
        raise CorruptFileError(
            _(
                "{path}: decoded pixels are {dtype} {shape}; the header says {frames} frame(s) "
                "of {rows} x {cols}"
            ).format(
                path=path,
                dtype=pixels.dtype,
                shape=pixels.shape,
                frames=frames,
                rows=rows,
                cols=cols,
            )
        )
    data = pixels.reshape(frames, rows, cols)
    with _parsing(path, "DICOS metadata"):
        doc, material = _private_block(ds, path, (rows, cols))
        if doc is not None:
            return _apply_header(data, doc, ScanMetadata(), material=material, source=path)
        meta = _standard_metadata(ds, path, frames)
        processing = str(ds.get("SOPClassUID", "")) != DX_FOR_PRESENTATION and (
            ds.get("PresentationIntentType", "") != "FOR PRESENTATION"
        )
    rep = Representation.COUNTS if processing else Representation.DISPLAY
    return Scan(data, rep, meta, source=str(path))


def _private_block(
    ds: Dataset, path: Path, shape: tuple[int, int]
) -> tuple[dict[str, Any] | None, np.ndarray | None]:
    try:
        block = ds.private_block(_PRIVATE_GROUP, _PRIVATE_CREATOR)
    except KeyError:
        return None, None
    if _HEADER_ELEMENT not in block:
        return None, None
    doc = _parse_header_json(block[_HEADER_ELEMENT].value, source=path)
    material = None
    if _MATERIAL_ELEMENT in block:
        raw = block[_MATERIAL_ELEMENT].value
        if not isinstance(raw, bytes) or len(raw) != shape[0] * shape[1]:
            raise CorruptFileError(
                _("{path}: the scanlab material plane does not match the {shape} image").format(
                    path=path, shape=shape
                )
            )
        material = np.frombuffer(raw, dtype=np.uint8).reshape(shape).copy()
    return doc, material


def _standard_metadata(ds: Dataset, path: Path, frames: int) -> ScanMetadata:
    raw: dict[str, Any] = {
        "scan_id": str(ds.get("StudyID", "")),
        "scanner_model": str(ds.get("ManufacturerModelName", "")),
    }
    kvps = [
        _first(item, "CTXRayDetailsSequence") or Dataset()
        for item in ds.get("PerFrameFunctionalGroupsSequence") or []
    ]
    kv = [item.get("KVP") for item in kvps]
    if len(kv) != frames:
        kv = [ds.get("KVP")] if frames == 1 else []
    if kv and all(k not in (None, "") for k in kv):
        raw["energies_mev"] = [float(k) / 1000 for k in kv]
    spacing = ds.get("ImagerPixelSpacing") or ds.get("PixelSpacing")
    if spacing:
        raw["pitch_mm"] = list(spacing)
    if ds.get("AcquisitionDateTime"):
        try:
            when = DT(str(ds.AcquisitionDateTime))
        except ValueError:
            raise CorruptFileError(
                _("{path}: AcquisitionDateTime {AcquisitionDateTime!r} is not a DICOM DT").format(
                    path=path, AcquisitionDateTime=ds.AcquisitionDateTime
                )
            ) from None
        raw["acquired"] = when.isoformat()
    return ScanMetadata.from_dict(raw, source=path)


# --- threat detection reports ------------------------------------------------------------------


def write_threat_report(
    path: str | os.PathLike[str],
    regions: Sequence[Mapping[str, Any]],
    *,
    referenced_scan: str | os.PathLike[str],
    tdr_type: str = "MACHINE",
) -> Path:
    """Write a DICOS threat detection report of rectangular regions of a DICOS scan.

    Parameters
    ----------
    path : path-like
        The report file to write.
    regions : sequence of mapping
        Each with ``bbox`` = (row_min, col_min, row_max, col_max) in pixels (max exclusive),
        optional ``label`` (free text, ThreatCategoryDescription), ``category`` (one of
        :data:`THREAT_CATEGORIES`, default "ANOMALY") and ``probability`` (0-1 or None).
    referenced_scan : path-like
        The DICOS image the regions lie in; its UIDs are referenced by every region.
    tdr_type : str
        "MACHINE" (an algorithm's output), "OPERATOR", "GROUND_TRUTH" or "OTHER".

    Returns
    -------
    Path
        ``path``.

    Examples
    --------
    >>> import tempfile
    >>> from scanlab.io import example_scan
    >>> folder = Path(tempfile.mkdtemp())
    >>> scan_file = write_dicos(example_scan(rows=8, cols=16), folder / "truck.dcs")[0]
    >>> report = write_threat_report(
    ...     folder / "truck_tdr.dcs",
    ...     [{"bbox": (2, 3, 6, 9), "label": "dense block", "probability": 0.9}],
    ...     referenced_scan=scan_file,
    ... )
    >>> region = read_threat_report(report)[0]
    >>> region["bbox"], region["category"], region["label"]
    ((2.0, 3.0, 6.0, 9.0), 'ANOMALY', 'dense block')
    """
    path = Path(path)
    if tdr_type not in TDR_TYPES:
        raise ScanValidationError(
            _("{path}: tdr_type must be one of {TDR_TYPES}, got {tdr_type!r}").format(
                path=path, TDR_TYPES=TDR_TYPES, tdr_type=tdr_type
            )
        )
    ref_path = Path(referenced_scan)
    ref = _dcmread(ref_path, stop_before_pixels=True)
    if "SOPInstanceUID" not in ref or "SOPClassUID" not in ref:
        raise CorruptFileError(
            _("{ref_path}: no SOPClassUID / SOPInstanceUID to reference").format(ref_path=ref_path)
        )

    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = THREAT_DETECTION_REPORT
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = THREAT_DETECTION_REPORT
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.StudyInstanceUID = ref.get("StudyInstanceUID") or generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.Modality = "TDR"
    ds.InstanceNumber = 1
    ds.TDRType = tdr_type
    ds.ThreatDetectionAlgorithmAndVersion = "scanlab"
    ds.AlarmDecision = "ALARM" if regions else "CLEAR"
    ds.NumberOfTotalObjects = ds.NumberOfAlarmObjects = len(regions)
    ds.ThreatSequence = [_threat_item(i, region, ref, path) for i, region in enumerate(regions)]
    with atomic_open(path) as fh:
        ds.save_as(fh, enforce_file_format=True)
    return path


def _threat_item(index: int, region: Mapping[str, Any], ref: Dataset, path: Path) -> Dataset:
    where = f"{path}: regions[{index}]"
    if not isinstance(region, Mapping) or "bbox" not in region:
        raise ScanValidationError(_("{where} must be a mapping with a 'bbox'").format(where=where))
    try:
        r0, c0, r1, c1 = (float(v) for v in region["bbox"])
    except (TypeError, ValueError):
        raise ScanValidationError(
            _(
                "{where}.bbox must be four numbers (row_min, col_min, row_max, col_max), got "
                "{region!r}"
            ).format(where=where, region=region["bbox"])
        ) from None
    if not (np.isfinite([r0, c0, r1, c1]).all() and 0 <= r0 < r1 and 0 <= c0 < c1):
        raise ScanValidationError(
            _(
                "{where}.bbox must have 0 <= row_min < row_max and 0 <= col_min < col_max, got "
                "{region!r}"
            ).format(where=where, region=region["bbox"])
        )
    category = region.get("category", "ANOMALY")
    if category not in THREAT_CATEGORIES:
        raise ScanValidationError(
            _("{where}.category must be one of {THREAT_CATEGORIES}").format(
                where=where, THREAT_CATEGORIES=THREAT_CATEGORIES
            )
        )
    probability = region.get("probability")
    if probability is not None and not 0 <= float(probability) <= 1:
        raise ScanValidationError(
            _("{where}.probability must lie in [0, 1] or be None").format(where=where)
        )

    assessment = Dataset()
    assessment.ThreatCategory = category
    assessment.ThreatCategoryDescription = str(region.get("label", ""))
    assessment.ATDAbilityAssessment = "NO_INTERFERENCE"
    assessment.ATDAssessmentFlag = "THREAT"
    if probability is not None:
        assessment.ATDAssessmentProbability = float(probability)
    referenced = Dataset()
    referenced.ReferencedSOPClassUID = ref.SOPClassUID
    referenced.ReferencedSOPInstanceUID = ref.SOPInstanceUID
    roi = Dataset()
    roi.ThreatROIBase = [c0, r0, 0.0]
    roi.ThreatROIExtents = [c1 - c0, r1 - r0, 1.0]
    representation = Dataset()
    representation.ReferencedInstanceSequence = [referenced]
    representation.ThreatROIVoxelSequence = [roi]
    representation.BoundingPolygon = [c0, r0, 0.0, c1, r0, 0.0, c1, r1, 0.0, c0, r1, 0.0]
    item = Dataset()
    item.PotentialThreatObjectID = index
    item.ATDAssessmentSequence = [assessment]
    item.PTORepresentationSequence = [representation]
    return item


def read_threat_report(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The threat regions of a DICOS threat detection report.

    Returns
    -------
    list of dict
        One per ``ThreatSequence`` item: ``id`` (int), ``bbox`` (row_min, col_min, row_max,
        col_max) as floats, max exclusive, from ThreatROIBase/Extents or else the bounding
        polygon, ``category`` and ``label`` (str; label falls back to the category),
        ``probability`` (float or None; stored as float32) and
        ``referenced_sop_instance_uid`` (str or None).

    Raises
    ------
    UnsupportedFormatError
        If the file is a DICOM file but not a threat detection report.
    CorruptFileError
        If a region has no bounding box or the file is damaged.
    """
    path = Path(path)
    inflated = _inflate_if_deflated(path, None)
    ds = _dcmread(path) if inflated is None else inflated
    with _parsing(path, "DICOS threat detection report"):
        if str(ds.get("SOPClassUID", "")) != THREAT_DETECTION_REPORT:
            raise UnsupportedFormatError(
                _("{path}: not a DICOS threat detection report (SOP class {value})").format(
                    path=path, value=ds.get("SOPClassUID", "missing")
                )
            )
        return [_region(i, item, path) for i, item in enumerate(ds.get("ThreatSequence") or [])]


def _region(index: int, item: Dataset, path: Path) -> dict[str, Any]:
    pto = int(item.get("PotentialThreatObjectID", index))
    rep = _first(item, "PTORepresentationSequence")
    roi = _first(rep, "ThreatROIVoxelSequence") if rep is not None else None
    if roi is not None and "ThreatROIBase" in roi and "ThreatROIExtents" in roi:
        x, y = (float(v) for v in list(roi.ThreatROIBase)[:2])
        width, height = (float(v) for v in list(roi.ThreatROIExtents)[:2])
        bbox = (y, x, y + height, x + width)
    elif rep is not None and len(rep.get("BoundingPolygon") or []) >= 6:
        points = np.asarray(rep.BoundingPolygon, dtype=float)
        points = points[: points.size // 3 * 3].reshape(-1, 3)
        bbox = (
            float(points[:, 1].min()),
            float(points[:, 0].min()),
            float(points[:, 1].max()),
            float(points[:, 0].max()),
        )
    else:
        raise CorruptFileError(
            _(
                "{path}: threat {pto} has neither ThreatROIBase/Extents nor a BoundingPolygon"
            ).format(path=path, pto=pto)
        )
    assessment = _first(item, "ATDAssessmentSequence")
    category = label = ""
    probability = None
    if assessment is not None:
        category = str(assessment.get("ThreatCategory", ""))
        label = str(assessment.get("ThreatCategoryDescription", "")) or category
        value = assessment.get("ATDAssessmentProbability")
        if value is not None and value != "" and float(value) >= 0:  # SDICOS writes -1: unknown
            probability = float(value)
    referenced = _first(rep, "ReferencedInstanceSequence") if rep is not None else None
    uid = referenced.get("ReferencedSOPInstanceUID") if referenced is not None else None
    return {
        "id": pto,
        "bbox": bbox,
        "category": category,
        "label": label,
        "probability": probability,
        "referenced_sop_instance_uid": str(uid) if uid else None,
    }


def _first(ds: Dataset, keyword: str) -> Dataset | None:
    seq = ds.get(keyword)
    return seq[0] if seq else None


def _sniff(path: Path, head: bytes) -> bool:
    return head[128:132] == b"DICM"


register(
    Format(
        name="dicos",
        description="DICOS (NEMA IIC 1) digital X-ray image, one frame per energy",
        extensions=(".dcs", ".dcm"),
        sniff=_sniff,
        read=read_dicos,
        write=write_dicos,
    )
)
