from __future__ import annotations

import warnings
from datetime import datetime, timedelta, timezone

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from scanlab.errors import (
    CorruptFileError,
    ScanlabError,
    ScanValidationError,
    UnsupportedFormatError,
)
from scanlab.io import Representation, Scan, ScanMetadata, detect_format, read_scan, write_scan
from scanlab.io._dicos import (
    DX_FOR_PRESENTATION,
    DX_FOR_PROCESSING,
    THREAT_DETECTION_REPORT,
    read_dicos,
    read_threat_report,
    write_dicos,
    write_threat_report,
)


def _strip_private(path):
    ds = pydicom.dcmread(path)
    ds.remove_private_tags()
    ds.save_as(path)


@pytest.fixture
def dicos_file(tmp_path, dual_scan):
    return write_dicos(dual_scan, tmp_path / "scan.dcs")[0]


@pytest.mark.parametrize("with_material", [False, True])
def test_dual_energy_round_trip_is_exact(tmp_path, dual_scan, with_material):
    material = (np.arange(48 * 160) % 256).astype(np.uint8).reshape(48, 160)
    scan = dual_scan.replace(material=material if with_material else None)
    scan.metadata.acquired = datetime(
        2026, 2, 3, 4, 5, 6, 789, tzinfo=timezone(timedelta(hours=-5))
    )
    scan.metadata.scan_id = "a scan id longer than sixteen characters \\ with a backslash"
    path = write_scan(scan, tmp_path / "scan.dcs")[0]
    assert detect_format(path) == "dicos"
    back = read_scan(path)
    assert back.representation is Representation.COUNTS
    assert back.metadata == scan.metadata
    np.testing.assert_array_equal(back.data, scan.data)
    if with_material:
        np.testing.assert_array_equal(back.material, material)
    else:
        assert back.material is None


def test_single_energy_round_trip_is_exact(tmp_path):
    data = np.arange(5 * 7, dtype=np.uint16).reshape(5, 7) * 900
    meta = ScanMetadata(scan_id="S1", energies_mev=(9.0,), pitch_mm=(4.0, 6.5))
    scan = Scan(data, Representation.COUNTS, meta)
    back = read_scan(write_dicos(scan, tmp_path / "one.dcs")[0])
    assert back.n_channels == 1
    assert back.metadata == meta
    np.testing.assert_array_equal(back.high, data)


def test_standard_tags_seen_by_plain_pydicom(dicos_file):
    ds = pydicom.dcmread(dicos_file)
    assert ds.SOPClassUID == DX_FOR_PROCESSING
    assert ds.Modality == "DX"
    assert int(ds.NumberOfFrames) == 2 and (ds.Rows, ds.Columns) == (48, 160)
    assert float(ds.KVP) == 6000.0
    per_frame = [float(f.CTXRayDetailsSequence[0].KVP) for f in ds.PerFrameFunctionalGroupsSequence]
    assert per_frame == [6000.0, 4000.0]
    labels = [f.FrameContentSequence[0].FrameLabel for f in ds.PerFrameFunctionalGroupsSequence]
    assert labels == ["HIGH ENERGY", "LOW ENERGY"]
    assert [float(v) for v in ds.ImagerPixelSpacing] == [5.0, 5.0]
    assert [float(v) for v in ds.PixelSpacing] == [5.0, 5.0]
    assert ds.AcquisitionDateTime == "20260101120000"
    assert ds.StudyID == "example-3"
    assert ds.pixel_array.shape == (2, 48, 160)


def test_reads_standard_tags_without_the_private_block(dicos_file, dual_scan):
    _strip_private(dicos_file)
    back = read_scan(dicos_file)
    assert back.representation is Representation.COUNTS
    np.testing.assert_array_equal(back.data, dual_scan.data)
    assert back.metadata == ScanMetadata(
        scan_id="example-3",
        scanner_model="scanlab-example",
        energies_mev=(6.0, 4.0),
        pitch_mm=(5.0, 5.0),
        acquired=datetime(2026, 1, 1, 12),
    )


def _foreign_dx(path, *, pixels, presentation=False, **tags):
    """A DICOS DX file written with plain pydicom, as another vendor would."""
    sop = DX_FOR_PRESENTATION if presentation else DX_FOR_PROCESSING
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = sop
    ds.file_meta.MediaStorageSOPInstanceUID = uid = generate_uid()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID, ds.SOPInstanceUID, ds.Modality = sop, uid, "DX"
    ds.Rows, ds.Columns = pixels.shape[-2:]
    if pixels.ndim == 3:
        ds.NumberOfFrames = pixels.shape[0]
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated = ds.BitsStored = pixels.dtype.itemsize * 8
    ds.HighBit, ds.PixelRepresentation = ds.BitsStored - 1, 0
    for key, value in tags.items():
        setattr(ds, key, value)
    ds.PixelData = pixels.tobytes()
    ds.save_as(path, enforce_file_format=True)
    return path


def test_reads_a_foreign_single_frame_file(tmp_path):
    pixels = np.arange(12, dtype=np.uint16).reshape(3, 4)
    path = _foreign_dx(
        tmp_path / "vendor.dcs",
        pixels=pixels,
        KVP="4500",
        PixelSpacing=["2.5", "3"],
        AcquisitionDateTime="20240102030405.5+0100",
    )
    scan = read_scan(path)
    assert scan.representation is Representation.COUNTS
    np.testing.assert_array_equal(scan.high, pixels)
    assert scan.metadata.energies_mev == (4.5,)
    assert scan.metadata.pitch_mm == (2.5, 3.0)
    assert scan.metadata.acquired == datetime(
        2024, 1, 2, 3, 4, 5, 500000, tzinfo=timezone(timedelta(hours=1))
    )


def test_for_presentation_8_bit_reads_as_display(tmp_path):
    pixels = np.arange(12, dtype=np.uint8).reshape(3, 4)
    scan = read_scan(_foreign_dx(tmp_path / "p.dcs", pixels=pixels, presentation=True))
    assert scan.representation is Representation.DISPLAY
    assert scan.data.dtype == np.uint8


def test_display_uint8_round_trip(tmp_path):
    data = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    scan = Scan(data, Representation.DISPLAY)
    path = write_dicos(scan, tmp_path / "d.dcs")[0]
    assert pydicom.dcmread(path).SOPClassUID == DX_FOR_PRESENTATION
    back = read_scan(path)
    assert back.representation is Representation.DISPLAY and back.data.dtype == np.uint8
    np.testing.assert_array_equal(back.data, data)


def test_attenuation_is_stored_as_counts(tmp_path, dual_scan):
    att = dual_scan.to_attenuation()
    back = read_scan(write_dicos(att, tmp_path / "att.dcs")[0])
    expected = att.to_counts()
    assert back.representation is Representation.COUNTS
    assert back.metadata == expected.metadata
    np.testing.assert_array_equal(back.data, expected.data)


# --- threat detection reports ---------------------------------------------------------------


REGIONS = [
    {
        "bbox": (10, 20, 30, 60),
        "label": "dense block",
        "category": "CONTRABAND",
        "probability": 0.75,
    },
    {"bbox": (0.5, 1.5, 4.0, 8.25), "label": "wire"},
]


def test_threat_report_round_trip(tmp_path, dicos_file):
    path = write_threat_report(tmp_path / "tdr.dcs", REGIONS, referenced_scan=dicos_file)
    regions = read_threat_report(path)
    uid = pydicom.dcmread(dicos_file).SOPInstanceUID
    assert regions == [
        {
            "id": 0,
            "bbox": (10.0, 20.0, 30.0, 60.0),
            "category": "CONTRABAND",
            "label": "dense block",
            "probability": 0.75,
            "referenced_sop_instance_uid": uid,
        },
        {
            "id": 1,
            "bbox": (0.5, 1.5, 4.0, 8.25),
            "category": "ANOMALY",
            "label": "wire",
            "probability": None,
            "referenced_sop_instance_uid": uid,
        },
    ]


def test_threat_report_standard_sequences(tmp_path, dicos_file):
    path = write_threat_report(tmp_path / "tdr.dcs", REGIONS[:1], referenced_scan=dicos_file)
    ds = pydicom.dcmread(path)
    assert ds.SOPClassUID == THREAT_DETECTION_REPORT
    threat = ds.ThreatSequence[0]
    rep = threat.PTORepresentationSequence[0]
    assert list(rep.ThreatROIVoxelSequence[0].ThreatROIBase) == [20.0, 10.0, 0.0]  # x, y, z
    assert list(rep.ThreatROIVoxelSequence[0].ThreatROIExtents) == [40.0, 20.0, 1.0]
    assert len(rep.BoundingPolygon) == 12
    assert threat.ATDAssessmentSequence[0].ThreatCategory == "CONTRABAND"
    assert ds.StudyInstanceUID == pydicom.dcmread(dicos_file).StudyInstanceUID


def test_threat_region_from_bounding_polygon_only(tmp_path, dicos_file):
    path = write_threat_report(tmp_path / "tdr.dcs", REGIONS[:1], referenced_scan=dicos_file)
    ds = pydicom.dcmread(path)
    del ds.ThreatSequence[0].PTORepresentationSequence[0].ThreatROIVoxelSequence
    ds.save_as(path)
    assert read_threat_report(path)[0]["bbox"] == (10.0, 20.0, 30.0, 60.0)
    del ds.ThreatSequence[0].PTORepresentationSequence[0].BoundingPolygon
    ds.save_as(path)
    with pytest.raises(CorruptFileError, match=r"tdr\.dcs: threat 0 has neither"):
        read_threat_report(path)


def test_empty_threat_report(tmp_path, dicos_file):
    path = write_threat_report(tmp_path / "clear.dcs", [], referenced_scan=dicos_file)
    assert read_threat_report(path) == []
    assert pydicom.dcmread(path).AlarmDecision == "CLEAR"


def test_report_and_image_are_not_confused(tmp_path, dicos_file):
    path = write_threat_report(tmp_path / "tdr.dcs", REGIONS, referenced_scan=dicos_file)
    with pytest.raises(UnsupportedFormatError, match=r"tdr\.dcs: a DICOS threat detection report"):
        read_scan(path)
    with pytest.raises(UnsupportedFormatError, match=r"scan\.dcs: not a DICOS threat"):
        read_threat_report(dicos_file)


@pytest.mark.parametrize(
    "region",
    [
        {"bbox": (5, 5, 5, 9)},
        {"bbox": (1, 2, 3)},
        {"bbox": (-1, 0, 3, 4)},
        {"bbox": (0, 0, 3, 4), "category": "SPOON"},
        {"bbox": (0, 0, 3, 4), "probability": 1.5},
        {"label": "no box"},
    ],
)
def test_bad_regions_are_refused(tmp_path, dicos_file, region):
    with pytest.raises(ScanValidationError, match=r"tdr\.dcs: regions\[0\]"):
        write_threat_report(tmp_path / "tdr.dcs", [region], referenced_scan=dicos_file)


# --- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize("keep", [0, 100, 132, 300, -10])
def test_truncated_file_names_the_file(tmp_path, dicos_file, keep):
    raw = dicos_file.read_bytes()
    dicos_file.write_bytes(raw[:keep])
    with pytest.raises(ScanlabError, match=r"scan\.dcs"):
        read_dicos(dicos_file)
    with pytest.raises(ScanlabError, match=r"scan\.dcs"):
        read_scan(dicos_file)


@pytest.mark.parametrize(
    ("tags", "error", "message"),
    [
        ({"Rows": 60000, "Columns": 60000}, ScanValidationError, "exceeds the limit"),
        ({"Rows": 0}, ScanValidationError, "empty image"),
        ({"NumberOfFrames": 3}, ScanValidationError, "3 frames"),
        ({"Columns": 159}, CorruptFileError, "pixel"),
        ({"PixelRepresentation": 1}, UnsupportedFormatError, "unsigned"),
    ],
)
def test_header_that_disagrees_with_the_pixels(dicos_file, tags, error, message):
    ds = pydicom.dcmread(dicos_file)
    for key, value in tags.items():
        setattr(ds, key, value)
    ds.save_as(dicos_file)
    with pytest.raises(error, match=rf"scan\.dcs.*{message}"):
        read_scan(dicos_file)


def test_damaged_private_header(dicos_file):
    ds = pydicom.dcmread(dicos_file)
    ds.private_block(0x0009, "SCANLAB 1.0")[0x01].value = '{"scanlab_scan": 1}'
    ds.save_as(dicos_file)
    with pytest.raises(CorruptFileError, match=r"scan\.dcs"):
        read_scan(dicos_file)


def test_damaged_threat_reports_raise_only_scanlab_errors(tmp_path, dicos_file):
    pristine = write_threat_report(tmp_path / "tdr.dcs", REGIONS, referenced_scan=dicos_file)
    raw = pristine.read_bytes()
    rng = np.random.default_rng(7)
    for case in range(150):
        data = bytearray(raw)
        for _ in range(int(rng.integers(1, 6))):
            data[int(rng.integers(len(data)))] = int(rng.integers(256))
        if case % 3 == 0:
            del data[int(rng.integers(len(data))) :]
        path = tmp_path / f"damaged{case}.dcs"
        path.write_bytes(bytes(data))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pydicom warns about invalid values; fine here
            try:
                read_threat_report(path)
            except ScanlabError:
                pass
