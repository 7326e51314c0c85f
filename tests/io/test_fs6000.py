from __future__ import annotations

import struct
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

from scanlab.errors import (
    CorruptFileError,
    MissingChannelError,
    ScanlabError,
    ScanValidationError,
)
from scanlab.io import Representation, Scan, ScanMetadata, detect_format, read_scan, write_scan
from scanlab.io._fs6000 import read_fs6000, write_fs6000


def _img(rows: int, cols: int, bits: int, pixels: bytes, when=(2024, 5, 17, 8, 30, 59)) -> bytes:
    """An FS6000 file built field by field, independently of the writer."""
    header = bytearray(36)
    struct.pack_into(">H", header, 2, cols)
    struct.pack_into(">H", header, 4, rows)
    struct.pack_into(">H", header, 14, bits)
    struct.pack_into(">6H", header, 24, *when)
    return bytes(header) + pixels


def _write_layout(folder: Path, stem: str, rows: int = 3, cols: int = 5) -> dict[str, np.ndarray]:
    high = np.arange(rows * cols, dtype=np.uint16).reshape(rows, cols) * 1000 + 7
    low = high // 2 + 1
    material = (np.arange(rows * cols) % 4).astype(np.uint8).reshape(rows, cols)
    (folder / f"{stem}high.img").write_bytes(_img(rows, cols, 16, high.astype(">u2").tobytes()))
    (folder / f"{stem}low.img").write_bytes(_img(rows, cols, 16, low.astype(">u2").tobytes()))
    (folder / f"{stem}material.img").write_bytes(_img(rows, cols, 8, material.tobytes()))
    return {"high": high, "low": low, "material": material}


def test_reads_a_layout_built_byte_by_byte(tmp_path):
    planes = _write_layout(tmp_path, "truck")
    scan = read_scan(tmp_path / "trucklow.img")
    assert scan.representation is Representation.COUNTS
    assert scan.data.dtype == np.uint16 and scan.data.dtype.isnative
    np.testing.assert_array_equal(scan.high, planes["high"])
    np.testing.assert_array_equal(scan.low, planes["low"])
    np.testing.assert_array_equal(scan.material, planes["material"])
    assert scan.metadata.acquired == datetime(2024, 5, 17, 8, 30, 59)
    assert scan.metadata.scanner_model == "FS6000"


@pytest.mark.parametrize("name", ["truckhigh.img", "trucklow.img", "truckmaterial.img", "truck"])
def test_any_file_or_the_stem_reads_the_scan(tmp_path, name):
    planes = _write_layout(tmp_path, "truck")
    scan = read_fs6000(tmp_path / name)
    np.testing.assert_array_equal(scan.high, planes["high"])


def test_detects_each_file_as_fs6000(tmp_path):
    _write_layout(tmp_path, "truck")
    for part in ("high", "low", "material"):
        assert detect_format(tmp_path / f"truck{part}.img") == "fs6000"


def test_upper_case_file_names(tmp_path):
    planes = _write_layout(tmp_path, "TRUCK")
    for part in ("high", "low", "material"):
        (tmp_path / f"TRUCK{part}.img").rename(tmp_path / f"TRUCK{part.upper()}.IMG")
    scan = read_scan(tmp_path / "TRUCKHIGH.IMG")
    np.testing.assert_array_equal(scan.material, planes["material"])


def test_material_file_is_optional(tmp_path):
    _write_layout(tmp_path, "truck")
    (tmp_path / "truckmaterial.img").unlink()
    assert read_scan(tmp_path / "truckhigh.img").material is None


@pytest.mark.parametrize("with_material", [False, True])
def test_round_trip_is_exact(tmp_path, dual_scan, with_material):
    material = (np.arange(48 * 160) % 9).astype(np.uint8).reshape(48, 160)
    scan = dual_scan.replace(material=material if with_material else None)
    scan.metadata.acquired = datetime(2026, 2, 3, 4, 5, 6, 789, tzinfo=timezone(timedelta(hours=2)))
    files = write_scan(scan, tmp_path / "out" / "truck.img")
    assert [f.name for f in files] == [
        "truckhigh.img",
        "trucklow.img",
        "truckmaterial.img",
        "truckscanlab.json",
    ]
    back = read_scan(files[1])
    assert back.representation is Representation.COUNTS
    assert back.metadata == scan.metadata
    np.testing.assert_array_equal(back.data, scan.data)
    if with_material:
        np.testing.assert_array_equal(back.material, material)
    else:
        assert back.material is None


def test_layout_reads_without_the_sidecar(tmp_path, dual_scan):
    files = write_fs6000(dual_scan, tmp_path / "truck")
    files[-1].unlink()
    back = read_scan(files[0])
    np.testing.assert_array_equal(back.data, dual_scan.data)
    assert back.metadata == ScanMetadata(scanner_model="FS6000", acquired=datetime(2026, 1, 1, 12))
    np.testing.assert_array_equal(back.material, np.zeros(dual_scan.shape, np.uint8))


def test_attenuation_is_stored_as_counts(tmp_path, dual_scan):
    att = dual_scan.to_attenuation()
    back = read_scan(write_fs6000(att, tmp_path / "att")[0])
    expected = att.to_counts()
    assert back.representation is Representation.COUNTS
    assert back.metadata == expected.metadata
    np.testing.assert_array_equal(back.data, expected.data)


def test_uint8_display_scan_comes_back_as_uint8(tmp_path):
    data = np.arange(2 * 4 * 6, dtype=np.uint8).reshape(2, 4, 6)
    scan = Scan(data, Representation.DISPLAY)
    back = read_scan(write_fs6000(scan, tmp_path / "d")[0])
    assert back.representation is Representation.DISPLAY and back.data.dtype == np.uint8
    np.testing.assert_array_equal(back.data, data)


def test_single_energy_scan_is_refused(tmp_path):
    scan = Scan(np.ones((4, 5), np.uint16), Representation.COUNTS)
    with pytest.raises(MissingChannelError, match=r"single\.img: FS6000 stores dual-energy"):
        write_fs6000(scan, tmp_path / "single.img")


# --- bad input ----------------------------------------------------------------------------------


def test_missing_low_file_is_named(tmp_path):
    _write_layout(tmp_path, "truck")
    (tmp_path / "trucklow.img").unlink()
    with pytest.raises(CorruptFileError, match=r"trucklow\.img: missing"):
        read_scan(tmp_path / "truckhigh.img")


def test_missing_high_file_is_named(tmp_path):
    _write_layout(tmp_path, "truck")
    (tmp_path / "truckhigh.img").unlink()
    with pytest.raises(CorruptFileError, match=r"truckhigh\.img: missing"):
        read_scan(tmp_path / "trucklow.img")


@pytest.mark.parametrize("keep", [0, 10, 36, 50])
def test_truncated_file_names_the_file(tmp_path, keep):
    _write_layout(tmp_path, "truck")
    low = tmp_path / "trucklow.img"
    low.write_bytes(low.read_bytes()[:keep])
    with pytest.raises(CorruptFileError, match=r"trucklow\.img"):
        read_fs6000(tmp_path / "truckhigh.img")
    with pytest.raises(ScanlabError, match=r"trucklow\.img"):
        read_scan(low)


def test_header_size_disagreeing_with_file_size(tmp_path):
    _write_layout(tmp_path, "truck")
    high = tmp_path / "truckhigh.img"
    high.write_bytes(high.read_bytes() + b"\0\0")
    with pytest.raises(CorruptFileError, match=r"truckhigh\.img: header says 5 x 3"):
        read_fs6000(tmp_path / "truck")


def test_sizes_disagreeing_between_files(tmp_path):
    _write_layout(tmp_path, "truck")
    (tmp_path / "trucklow.img").write_bytes(_img(5, 3, 16, bytes(30)))
    with pytest.raises(CorruptFileError, match=r"trucklow\.img: 3 x 5 pixels"):
        read_scan(tmp_path / "truckhigh.img")
    _write_layout(tmp_path, "truck")
    (tmp_path / "truckmaterial.img").write_bytes(_img(1, 15, 8, bytes(15)))
    with pytest.raises(CorruptFileError, match=r"truckmaterial\.img"):
        read_scan(tmp_path / "truckhigh.img")


def test_wrong_bit_depth(tmp_path):
    _write_layout(tmp_path, "truck")
    (tmp_path / "trucklow.img").write_bytes(_img(3, 5, 8, bytes(15)))
    with pytest.raises(CorruptFileError, match=r"trucklow\.img: header says 8 bits"):
        read_scan(tmp_path / "truckhigh.img")


@pytest.mark.parametrize(("rows", "cols"), [(0, 5), (3, 0), (60000, 60000)])
def test_empty_or_huge_dimensions_are_refused_before_reading(tmp_path, rows, cols):
    _write_layout(tmp_path, "truck")
    (tmp_path / "truckhigh.img").write_bytes(_img(rows, cols, 16, bytes(30)))
    with pytest.raises(ScanValidationError, match=r"truckhigh\.img"):
        read_fs6000(tmp_path / "truck")


def test_max_pixels_is_honoured(tmp_path):
    _write_layout(tmp_path, "truck")
    with pytest.raises(ScanValidationError, match="exceeds the limit"):
        read_scan(tmp_path / "truckhigh.img", max_pixels=20)


def test_invalid_acquisition_date(tmp_path):
    _write_layout(tmp_path, "truck")
    high = tmp_path / "truckhigh.img"
    high.write_bytes(_img(3, 5, 16, bytes(30), when=(2024, 13, 1, 0, 0, 0)))
    with pytest.raises(CorruptFileError, match=r"truckhigh\.img: header acquisition time"):
        read_scan(high)


def test_damaged_sidecar_is_named(tmp_path, dual_scan):
    files = write_fs6000(dual_scan, tmp_path / "truck")
    files[-1].write_text('{"scanlab_scan": 1, "representation": "counts"')
    with pytest.raises(CorruptFileError, match=r"truckscanlab\.json"):
        read_scan(files[0])
