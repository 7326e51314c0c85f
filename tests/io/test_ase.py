from __future__ import annotations

import struct
from datetime import datetime

import numpy as np
import pytest

from scanlab.errors import CorruptFileError, MissingChannelError, ScanlabError, ScanValidationError
from scanlab.io import Representation, Scan, ScanMetadata, detect_format, read_scan, write_scan
from scanlab.io._ase import read_ase, write_ase

ROWS, COLS = 3, 4
LOW = np.arange(ROWS * COLS, dtype=np.uint16).reshape(ROWS, COLS) + 100
HIGH = LOW * 3 + 60000 // 3
MATERIAL = (np.arange(ROWS * COLS) % 5 * 50).astype(np.uint16).reshape(ROWS, COLS)

TRAILER = (
    "<ScanInfo><ScanId>TRK-7</ScanId><HighEnergyMeV>6</HighEnergyMeV>"
    "<LowEnergyMeV>4</LowEnergyMeV><RowPitchMm>2.5</RowPitchMm><ColPitchMm>3</ColPitchMm>"
    "<Acquired>2025-11-30T23:59:01</Acquired></ScanInfo>"
)


def _ase(kind: int, pixels: np.ndarray, trailer: str = "", rows=ROWS, cols=COLS) -> bytes:
    """An ASE file built field by field, independently of the writer."""
    head = b"IM\0\0" + struct.pack("<HHH", cols, rows, kind) + bytes(6)
    return head + pixels.astype("<u2").tobytes() + trailer.encode("utf-16-le")


def test_reads_type_2_built_byte_by_byte(tmp_path):
    path = tmp_path / "view.ase"
    path.write_bytes(_ase(2, np.stack([LOW, HIGH]), TRAILER))
    scan = read_scan(path)
    assert scan.representation is Representation.COUNTS
    np.testing.assert_array_equal(scan.high, HIGH)
    np.testing.assert_array_equal(scan.low, LOW)
    assert scan.material is None
    assert scan.metadata == ScanMetadata(
        scan_id="TRK-7",
        scanner_model="ASE",
        energies_mev=(6.0, 4.0),
        pitch_mm=(2.5, 3.0),
        acquired=datetime(2025, 11, 30, 23, 59, 1),
    )


def test_reads_type_3_panels_built_byte_by_byte(tmp_path):
    path = tmp_path / "panels.ase"
    path.write_bytes(_ase(3, np.concatenate([LOW, HIGH, MATERIAL], axis=1), TRAILER))
    scan = read_scan(path)
    np.testing.assert_array_equal(scan.high, HIGH)
    np.testing.assert_array_equal(scan.low, LOW)
    assert scan.material.dtype == np.uint8
    np.testing.assert_array_equal(scan.material, MATERIAL)


@pytest.mark.parametrize("kind", [2, 3])
def test_pixels_above_the_threshold_are_memory_mapped_not_copied(tmp_path, kind, monkeypatch):
    monkeypatch.setattr("scanlab.io._validate.MMAP_THRESHOLD_BYTES", 0)
    path = tmp_path / "m.ase"
    pixels = np.stack([LOW, HIGH]) if kind == 2 else np.concatenate([LOW, HIGH, MATERIAL], 1)
    path.write_bytes(_ase(kind, pixels))
    scan = read_ase(path)
    assert not scan.data.flags.owndata
    base = scan.data
    while not isinstance(base, np.memmap) and base.base is not None:
        base = base.base
    assert isinstance(base, np.memmap)


def test_no_trailer_or_a_vendor_trailer_gives_default_metadata(tmp_path):
    path = tmp_path / "bare.ase"
    path.write_bytes(_ase(2, np.stack([LOW, HIGH])))
    assert read_scan(path).metadata == ScanMetadata(scanner_model="ASE")
    path.write_bytes(_ase(2, np.stack([LOW, HIGH]), "\ufeff<Vendor><Gain>3</Gain></Vendor>\0"))
    assert read_scan(path).metadata == ScanMetadata(scanner_model="ASE")


@pytest.mark.parametrize("with_material", [False, True])
def test_round_trip_is_exact(tmp_path, dual_scan, with_material):
    material = (np.arange(48 * 160) % 256).astype(np.uint8).reshape(48, 160)
    scan = dual_scan.replace(material=material if with_material else None)
    scan.metadata.scan_id = 'odd <id> & "quotes" \x01'
    scan.metadata.attributes["note"] = "émigré\nline"
    path = write_scan(scan, tmp_path / "scan.ase")[0]
    assert detect_format(path) == "ase"
    assert struct.unpack_from("<H", path.read_bytes(), 8)[0] == (3 if with_material else 2)
    back = read_scan(path)
    assert back.metadata == scan.metadata
    np.testing.assert_array_equal(back.data, scan.data)
    if with_material:
        np.testing.assert_array_equal(back.material, material)
    else:
        assert back.material is None


def test_trailer_is_utf16_xml_with_readable_elements(tmp_path, dual_scan):
    path = write_ase(dual_scan, tmp_path / "scan.ase")[0]
    trailer = path.read_bytes()[16 + 2 * 48 * 160 * 2 :].decode("utf-16-le")
    assert trailer.startswith("<ScanInfo><ScanId>example-3</ScanId>")
    assert "<HighEnergyMeV>6.0</HighEnergyMeV><LowEnergyMeV>4.0</LowEnergyMeV>" in trailer
    assert "<Acquired>2026-01-01T12:00:00</Acquired>" in trailer
    assert "<ScanlabHeader>{" in trailer


def test_attenuation_is_stored_as_counts(tmp_path, dual_scan):
    att = dual_scan.to_attenuation()
    back = read_scan(write_ase(att, tmp_path / "att.ase")[0])
    expected = att.to_counts()
    assert back.representation is Representation.COUNTS
    assert back.metadata == expected.metadata
    np.testing.assert_array_equal(back.data, expected.data)


def test_single_energy_scan_is_refused(tmp_path):
    scan = Scan(np.ones((4, 5), np.uint16), Representation.COUNTS)
    with pytest.raises(MissingChannelError, match=r"one\.ase"):
        write_ase(scan, tmp_path / "one.ase")


# --- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize("keep", [0, 3, 15, 16, 40])
def test_truncated_file_names_the_file(tmp_path, keep):
    path = tmp_path / "cut.ase"
    path.write_bytes(_ase(2, np.stack([LOW, HIGH]))[:keep])
    with pytest.raises(CorruptFileError, match=r"cut\.ase"):
        read_ase(path)
    with pytest.raises(ScanlabError, match=r"cut\.ase"):
        read_scan(path)


def test_header_larger_than_the_file(tmp_path):
    path = tmp_path / "big.ase"
    path.write_bytes(_ase(2, np.stack([LOW, HIGH]), rows=ROWS + 1))
    with pytest.raises(CorruptFileError, match=r"big\.ase: header says 4 x 4 pixels"):
        read_scan(path)


def test_unknown_line_data_type(tmp_path):
    path = tmp_path / "t7.ase"
    path.write_bytes(_ase(7, np.stack([LOW, HIGH])))
    with pytest.raises(CorruptFileError, match=r"t7\.ase: line-data type 7"):
        read_scan(path)


def test_wrong_magic(tmp_path):
    path = tmp_path / "magic.ase"
    path.write_bytes(b"XX" + _ase(2, np.stack([LOW, HIGH]))[2:])
    with pytest.raises(CorruptFileError, match=r"magic\.ase: not an ASE file"):
        read_ase(path)


@pytest.mark.parametrize(("rows", "cols"), [(0, 4), (3, 0), (60000, 60000)])
def test_empty_or_huge_dimensions(tmp_path, rows, cols):
    path = tmp_path / "dims.ase"
    path.write_bytes(_ase(2, np.stack([LOW, HIGH]), rows=rows, cols=cols))
    with pytest.raises(ScanValidationError, match=r"dims\.ase"):
        read_scan(path)


def test_material_above_255(tmp_path):
    path = tmp_path / "mat.ase"
    path.write_bytes(_ase(3, np.concatenate([LOW, HIGH, MATERIAL + 300], axis=1)))
    with pytest.raises(CorruptFileError, match=r"mat\.ase: material panel"):
        read_scan(path)


@pytest.mark.parametrize(
    ("trailer", "message"),
    [
        ("<ScanInfo><ScanId>x</ScanId>", "not well-formed"),
        (
            '<!DOCTYPE r [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><ScanInfo>&b;</ScanInfo>',
            "DOCTYPE",
        ),
        ("<ScanInfo><ScanlabHeader>{nope</ScanlabHeader></ScanInfo>", "scanlab JSON"),
    ],
)
def test_malformed_trailer_is_refused(tmp_path, trailer, message):
    path = tmp_path / "xml.ase"
    path.write_bytes(_ase(2, np.stack([LOW, HIGH]), trailer))
    with pytest.raises(CorruptFileError, match=rf"xml\.ase.*{message}"):
        read_scan(path)


def test_trailer_that_is_not_utf16(tmp_path):
    path = tmp_path / "odd.ase"
    path.write_bytes(_ase(2, np.stack([LOW, HIGH])) + b"<")
    with pytest.raises(CorruptFileError, match=r"odd\.ase: XML trailer of odd length"):
        read_scan(path)
    path.write_bytes(_ase(2, np.stack([LOW, HIGH])) + b"\x00\xd8\x41\x00")  # lone surrogate
    with pytest.raises(CorruptFileError, match=r"odd\.ase: XML trailer is not UTF-16LE"):
        read_scan(path)


def test_bad_metadata_value_in_trailer(tmp_path):
    path = tmp_path / "meta.ase"
    trailer = (
        "<ScanInfo><HighEnergyMeV>six</HighEnergyMeV><LowEnergyMeV>4</LowEnergyMeV></ScanInfo>"
    )
    path.write_bytes(_ase(2, np.stack([LOW, HIGH]), trailer))
    with pytest.raises(ScanValidationError, match=r"meta\.ase.*energies_mev"):
        read_scan(path)
