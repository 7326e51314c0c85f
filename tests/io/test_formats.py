"""Round trips and recognition: TIFF, PNG/JPEG, NumPy and raw-with-sidecar formats."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import tifffile
from PIL import Image

from scanlab.errors import (
    CorruptFileError,
    ScanlabError,
    ScanValidationError,
    UnsupportedFormatError,
)
from scanlab.io import Representation, Scan, ScanMetadata, detect_format, read_scan, write_scan
from scanlab.io._raw import write_raw


def assert_same_scan(back: Scan, scan: Scan) -> None:
    assert back.representation is scan.representation
    assert back.metadata == scan.metadata
    assert back.data.shape == scan.data.shape
    np.testing.assert_array_equal(back.data, scan.data)
    if scan.material is None:
        assert back.material is None
    else:
        np.testing.assert_array_equal(back.material, scan.material)


@pytest.mark.parametrize(
    ("fmt", "name"), [("tiff", "s.tif"), ("npy", "s.npy"), ("npz", "s.npz"), ("raw", "s.raw")]
)
def test_dual_energy_counts_round_trip(fmt, name, dual_scan, tmp_path):
    files = write_scan(dual_scan, tmp_path / name)
    assert detect_format(files[0]) == fmt
    assert_same_scan(read_scan(files[0]), dual_scan)


@pytest.mark.parametrize("name", ["s.tif", "s.npy", "s.npz", "s.raw"])
def test_float_attenuation_and_single_channel_round_trip(name, dual_scan, tmp_path):
    att = dual_scan.to_attenuation()
    meta = dataclasses.replace(att.metadata, energies_mev=(6.0,), air_level=None, dark_level=None)
    single = att.replace(data=att.data[:1], metadata=meta)
    for scan in (att, single):
        path = tmp_path / f"{scan.n_channels}{name}"
        write_scan(scan, path)
        back = read_scan(path)
        assert back.data.dtype == np.float32
        assert_same_scan(back, scan)


@pytest.mark.parametrize("name", ["m.tif", "m.npz", "m.raw"])
def test_material_plane_round_trip(name, dual_scan, tmp_path):
    material = (np.arange(dual_scan.shape[0] * dual_scan.shape[1]) % 5).astype(np.uint8)
    scan = dual_scan.replace(material=material.reshape(dual_scan.shape))
    write_scan(scan, tmp_path / name)
    assert_same_scan(read_scan(tmp_path / name), scan)


def test_format_is_recognised_from_content_not_extension(dual_scan, tmp_path):
    write_scan(dual_scan, tmp_path / "a.tif")
    (tmp_path / "a.tif").rename(tmp_path / "mystery.dat")
    assert detect_format(tmp_path / "mystery.dat") == "tiff"
    assert_same_scan(read_scan(tmp_path / "mystery.dat"), dual_scan)


def test_tiff_without_scanlab_metadata_reads_as_uncalibrated_counts(tmp_path):
    rng = np.random.default_rng(2)
    pages = rng.integers(0, 65535, size=(2, 20, 30), dtype=np.uint16)
    with tifffile.TiffWriter(tmp_path / "vendor.tif") as tw:
        for page in pages:
            tw.write(page, photometric="minisblack")
    scan = read_scan(tmp_path / "vendor.tif")
    assert scan.representation is Representation.COUNTS
    assert scan.is_dual_energy
    np.testing.assert_array_equal(scan.data, pages)


def test_large_tiff_and_npy_are_memory_mapped(dual_scan, tmp_path, monkeypatch):
    monkeypatch.setattr("scanlab.io._validate.MMAP_THRESHOLD_BYTES", dual_scan.data.nbytes - 1)
    write_scan(dual_scan, tmp_path / "s.tif")
    write_scan(dual_scan, tmp_path / "s.npy")
    for name in ("s.tif", "s.npy"):
        data = read_scan(tmp_path / name).data
        assert isinstance(data, np.memmap) or isinstance(data.base, np.memmap), name


def test_raw_vendor_layout_big_endian_pixel_interleaved_with_material(dual_scan, tmp_path):
    material = np.full(dual_scan.shape, 3, np.uint8)
    scan = dual_scan.replace(material=material)
    files = write_raw(
        scan, tmp_path / "dump.bin", byte_order="big", interleave="pixel", header_bytes=64
    )
    # Check the layout byte by byte, independently of the reader.
    raw = (tmp_path / "dump.bin").read_bytes()
    first_pixel = raw[64:68]
    assert int.from_bytes(first_pixel[:2], "big") == int(dual_scan.high[0, 0])
    assert int.from_bytes(first_pixel[2:], "big") == int(dual_scan.low[0, 0])
    rows, cols = scan.shape
    assert raw[64 + rows * cols * 4 :] == material.tobytes()
    back = read_scan(files[1])  # the sidecar works as the entry point too
    assert_same_scan(back, scan)
    assert read_scan(files[0]).data.dtype.byteorder == ">"  # memory-mapped as stored


@pytest.mark.parametrize("interleave", ["plane", "line", "pixel"])
def test_raw_hand_written_sidecar(interleave, tmp_path):
    rng = np.random.default_rng(9)
    high = rng.integers(0, 4000, (6, 7), dtype=np.uint16)
    low = rng.integers(0, 4000, (6, 7), dtype=np.uint16)
    stack = {
        "plane": np.stack([high, low]),
        "line": np.stack([high, low], axis=1),
        "pixel": np.stack([high, low], axis=2),
    }[interleave]
    (tmp_path / "v.img").write_bytes(stack.astype("<u2").tobytes())
    (tmp_path / "v.json").write_text(
        json.dumps(
            {
                "scanlab_raw": 1,
                "data_file": "v.img",
                "rows": 6,
                "cols": 7,
                "blocks": [
                    {"channels": ["high", "low"], "dtype": "uint16", "interleave": interleave}
                ],
            }
        )
    )
    scan = read_scan(tmp_path / "v.img")
    np.testing.assert_array_equal(scan.high, high)
    np.testing.assert_array_equal(scan.low, low)


def test_raw_size_that_disagrees_with_sidecar(dual_scan, tmp_path):
    files = write_scan(dual_scan, tmp_path / "s.raw")
    data = files[0].read_bytes()
    files[0].write_bytes(data[:-10])
    with pytest.raises(CorruptFileError, match=r"s\.raw: size disagrees with the sidecar"):
        read_scan(files[0])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"rows": "ten"}, "'rows' must be an integer"),
        ({"blocks": [{"channels": ["high"], "dtype": "int64"}]}, "dtype must be one of"),
        ({"blocks": [{"channels": ["x"], "dtype": "uint16"}]}, "channels must list"),
        ({"rows": 100_000, "cols": 100_000}, "exceeds the limit"),
        ({"data_file": "../../etc/passwd"}, "file name beside the sidecar"),
    ],
)
def test_raw_bad_sidecars(change, message, dual_scan, tmp_path):
    files = write_scan(dual_scan, tmp_path / "s.raw")
    doc = json.loads(files[1].read_text())
    doc.update(change)
    files[1].write_text(json.dumps(doc))
    with pytest.raises(ScanlabError, match=message) as info:
        read_scan(files[0])
    assert "s.raw" in str(info.value)


def test_png_8_and_16_bit_and_rgb_grey(tmp_path):
    grey8 = np.arange(200, dtype=np.uint8).reshape(10, 20)
    Image.fromarray(grey8).save(tmp_path / "g8.png")
    Image.fromarray(np.stack([grey8] * 3, axis=-1)).save(tmp_path / "rgb.jpg", quality=100)
    grey16 = (np.arange(200, dtype=np.uint16) * 300).reshape(10, 20)
    Image.fromarray(grey16).save(tmp_path / "g16.png")
    s8, s16 = read_scan(tmp_path / "g8.png"), read_scan(tmp_path / "g16.png")
    assert s8.representation is Representation.DISPLAY
    np.testing.assert_array_equal(s8.high, grey8)
    np.testing.assert_array_equal(s16.high, grey16)
    assert s16.metadata.attributes["display_bit_depth"] == 16
    jpg = read_scan(tmp_path / "rgb.jpg")
    assert jpg.data.shape == (1, 10, 20) and jpg.data.dtype == np.uint8
    assert np.abs(jpg.high.astype(int) - grey8).max() <= 3


def test_png_write_keeps_metadata_and_refuses_calibrated_scans(dual_scan, tmp_path):
    disp = Scan(
        np.arange(60, dtype=np.uint8).reshape(6, 10),
        "display",
        ScanMetadata(scan_id="render-1", pitch_mm=(4.0, 4.0)),
    )
    write_scan(disp, tmp_path / "d.png")
    assert_same_scan(read_scan(tmp_path / "d.png"), disp)
    with pytest.raises(UnsupportedFormatError, match="render the scan first"):
        write_scan(dual_scan, tmp_path / "x.png")


def test_pixel_limit_guards_against_decompression_bombs(tmp_path):
    Image.fromarray(np.zeros((400, 500), np.uint8)).save(tmp_path / "big.png")
    with pytest.raises(ScanValidationError, match=r"big\.png.*exceeds the limit of 1,000"):
        read_scan(tmp_path / "big.png", max_pixels=1000)


def test_unknown_missing_and_directory_inputs(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(UnsupportedFormatError, match=r"notes\.txt: not a scan file"):
        read_scan(tmp_path / "notes.txt")
    with pytest.raises(ScanlabError, match="no such file"):
        read_scan(tmp_path / "missing.tif")
    with pytest.raises(ScanlabError, match="is a directory"):
        read_scan(tmp_path)


def test_writes_are_atomic(dual_scan, tmp_path, monkeypatch):
    path = tmp_path / "s.tif"
    write_scan(dual_scan, path)
    before = path.read_bytes()

    def explode(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(np, "ascontiguousarray", explode)
    with pytest.raises(RuntimeError):
        write_scan(dual_scan, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["s.tif"]
