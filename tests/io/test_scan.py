from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest

from scanlab.errors import (
    CalibrationError,
    MissingChannelError,
    ScanValidationError,
)
from scanlab.io import Representation, Scan, ScanMetadata, flat_field


def test_counts_to_transmission_uses_air_and_dark_levels():
    counts = np.array([[[10500, 5500, 500]], [[20500, 10500, 500]]], dtype=np.uint16)
    meta = ScanMetadata(energies_mev=(6.0, 4.0), air_level=(20500, 40500), dark_level=(500, 500))
    trans = Scan(counts, "counts", meta).to_transmission()
    assert trans.data.dtype == np.float32
    np.testing.assert_allclose(trans.high[0], [0.5, 0.25, 0.0])
    np.testing.assert_allclose(trans.low[0], [0.5, 0.25, 0.0])


def test_attenuation_is_minus_log_transmission_and_finite_beyond_penetration():
    counts = np.array([[60000, 30000, 0]], dtype=np.uint16)
    scan = Scan(counts, "counts", ScanMetadata(air_level=(60000,), dark_level=(0,)))
    att = scan.to_attenuation()
    assert att.representation is Representation.ATTENUATION
    assert att.data.dtype == np.float32
    np.testing.assert_allclose(att.high[0, :2], [0.0, np.log(2)], rtol=1e-6)
    # Zero counts: floored at half a count, so about ln(120000) rather than infinity.
    assert np.isfinite(att.high[0, 2])
    assert att.high[0, 2] == pytest.approx(np.log(120000), rel=1e-5)


def test_attenuation_transmission_round_trip():
    rng = np.random.default_rng(0)
    att = rng.uniform(0, 8, size=(2, 10, 12)).astype(np.float32)
    scan = Scan(att, Representation.ATTENUATION)
    back = scan.to_transmission().to_attenuation()
    np.testing.assert_allclose(back.data, att, rtol=1e-5, atol=1e-5)


def test_converting_a_transmission_scan_leaves_its_pixels_alone():
    t = np.array([[[1.0, 0.5, 0.25]]], np.float32)
    scan = Scan(t.copy(), Representation.TRANSMISSION)
    att = scan.to_attenuation()
    np.testing.assert_allclose(att.data[0, 0], [0.0, np.log(2), np.log(4)], rtol=1e-6)
    np.testing.assert_array_equal(scan.data, t)  # it used to be overwritten with -ln T
    np.testing.assert_allclose(scan.to_attenuation().data, att.data)


def test_to_counts_quantises_with_stated_levels():
    trans = Scan(np.array([[1.0, 0.5, 0.0]], np.float32), "transmission")
    counts = trans.to_counts(air_level=50000, dark_level=1000)
    assert counts.data.dtype == np.uint16
    assert counts.high[0].tolist() == [50000, 25500, 1000]
    assert counts.metadata.air_level == (50000.0,)


def test_air_level_estimated_when_absent():
    counts = np.full((20, 30), 40000, np.uint16)
    counts[5:15, 5:25] = 10000
    scan = Scan(counts, "counts")
    air, dark = scan.reference_levels()
    assert air == (40000.0,) and dark == (0.0,)
    assert scan.to_transmission().high[10, 10] == pytest.approx(0.25)


def test_flat_field_corrects_row_gains():
    rng = np.random.default_rng(5)
    gains = rng.uniform(30000, 60000, size=(40, 1))
    obj = np.ones((40, 100))
    obj[:, 50:] = 0.3
    counts = np.rint(gains * obj + 200).astype(np.uint16)
    scan = Scan(counts, "counts", ScanMetadata(dark_level=(200.0,)))
    flat = flat_field(scan, air_cols=slice(0, 20))
    np.testing.assert_allclose(flat.high[:, 60], 0.3, atol=1e-4)
    np.testing.assert_allclose(flat.high[:, 10], 1.0, atol=1e-4)


def test_display_images_refuse_physical_conversion():
    scan = Scan(np.zeros((4, 4), np.uint8), "display")
    with pytest.raises(CalibrationError, match="display image"):
        scan.to_attenuation()


def test_single_energy_scan_has_no_low_channel():
    scan = Scan(np.zeros((4, 4), np.uint16), "counts", source="one.tif")
    assert scan.channel_names() == ("single",)
    with pytest.raises(MissingChannelError, match=r"one\.tif.*no low-energy"):
        _ = scan.low


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.zeros((2, 3, 4, 5), np.uint16), "shape"),
        (np.zeros((3, 4, 5), np.uint16), "1 or 2 energy channels"),
        (np.zeros((0, 5), np.uint16), "empty"),
        (np.zeros((4, 5), np.int64), "unsupported pixel type"),
        (np.array([[1.0, np.nan]], np.float32), "NaN or infinite"),
        (np.array([[1.0, np.inf]], np.float64), "NaN or infinite"),
    ],
)
def test_bad_arrays_are_refused_with_a_clear_message(array, message):
    with pytest.raises(ScanValidationError, match=message) as info:
        Scan(array, "attenuation", source="bad.npy")
    assert "bad.npy" in str(info.value)


def test_metadata_dict_round_trip_and_field_checks():
    meta = ScanMetadata(
        scan_id="X1",
        scanner_model="M",
        energies_mev=(6.0, 4.0),
        pitch_mm=(5.2, 4.8),
        scan_direction="right_to_left",
        vehicle_type="container_40ft",
        acquired=datetime(2025, 3, 4, 5, 6, 7),
        air_level=(60000.0, 58000.0),
        dark_level=(300.0, 310.0),
        attributes={"lane": 2, "notes": ["a", "b"]},
    )
    assert ScanMetadata.from_dict(meta.to_dict()) == meta
    with pytest.raises(ScanValidationError, match="pitch_mm"):
        ScanMetadata.from_dict({"pitch_mm": [0, 5]}, source="m.json")
    with pytest.raises(ScanValidationError, match="unknown metadata field"):
        ScanMetadata.from_dict({"colour": "red"})
    with pytest.raises(ScanValidationError, match="acquired"):
        ScanMetadata.from_dict({"acquired": "yesterday"})
    with pytest.raises(ScanValidationError, match="energies_mev"):
        Scan(np.zeros((4, 4), np.uint16), "counts", ScanMetadata(energies_mev=(6.0, 4.0)))
