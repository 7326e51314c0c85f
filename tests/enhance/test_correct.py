from __future__ import annotations

import numpy as np
import pytest

from scanlab.enhance import destripe, flat_field
from scanlab.errors import CalibrationError, SpecError
from scanlab.io import Scan
from scanlab.io._scan import flat_field as scan_flat_field


def striped_scene(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(clean, striped) float32 attenuation with one bad row and one weak pulse."""
    clean = np.zeros((80, 120), dtype=np.float32)
    clean[20:60, 30:70] = 2.0  # a real object
    clean[45:47, 80:110] = 1.0  # a thin horizontal bar covering a quarter of the width
    clean += rng.normal(0, 0.01, clean.shape).astype(np.float32)
    striped = clean.copy()
    striped[33] += 0.4  # a detector element with a wrong offset: stripe along a row
    striped[:, 90] -= 0.3  # a weak linac pulse: stripe along a column
    return clean, striped


def test_destripe_removes_row_and_column_stripes_and_keeps_the_object(rng):
    clean, striped = striped_scene(rng)
    out = destripe(striped)
    assert out.dtype == np.float32
    residual = out - clean
    assert np.abs(residual[33]).mean() < 0.01
    assert np.abs(residual[:, 90]).mean() < 0.01
    assert np.abs(residual).max() < 0.06
    # the object and the thin bar keep their contrast
    assert out[25:55, 35:65].mean() == pytest.approx(2.0, abs=0.01)
    assert out[45:47, 82:108].mean() == pytest.approx(1.0, abs=0.02)


def test_destripe_can_do_one_direction_only(rng):
    clean, striped = striped_scene(rng)
    others = np.arange(80) != 33  # leave out the crossing of the two stripes
    rows_only = destripe(striped, stripes="rows")
    assert np.abs(rows_only[33, :90] - clean[33, :90]).mean() < 0.005
    assert np.abs(rows_only[others, 90] - clean[others, 90]).mean() > 0.25
    cols_only = destripe(striped, stripes="cols")
    assert np.abs(cols_only[others, 90] - clean[others, 90]).mean() < 0.005
    assert np.abs(cols_only[33] - clean[33]).mean() > 0.3


def test_destripe_gain_model_on_counts(rng):
    clean, _ = striped_scene(rng)
    counts = 50000.0 * np.exp(-clean)
    striped = counts.copy()
    striped[33] *= 0.9  # a detector element with 10 % less gain
    striped[:, 90] *= 1.05  # a strong pulse
    out = destripe(striped.astype(np.uint16), model="gain")
    assert out.dtype == np.uint16
    ratio = out.astype(np.float64) / counts
    assert np.abs(ratio - 1).max() < 0.05
    assert np.abs(ratio[33] - 1).mean() < 0.005 and np.abs(ratio[:, 90] - 1).mean() < 0.005


def test_destripe_leaves_a_clean_image_nearly_alone(rng):
    clean, _ = striped_scene(rng)
    change = np.abs(destripe(clean) - clean)
    # each row and column offset is estimated from ~100 noisy pixels (noise sigma 0.01)
    assert change.mean() < 0.003 and change.max() < 0.02


def test_destripe_rejects_bad_parameters():
    image = np.zeros((8, 8), np.float32)
    with pytest.raises(SpecError, match="stripes"):
        destripe(image, stripes="diagonal")
    with pytest.raises(SpecError, match="width"):
        destripe(image, width=0)
    with pytest.raises(SpecError, match="model"):
        destripe(image, model="log")


def test_flat_field_of_an_array_is_the_scan_flat_field(rng):
    gains = rng.uniform(0.8, 1.2, (30, 1))
    counts = (50000 * gains * np.exp(-rng.uniform(0, 2, (30, 50)))).astype(np.uint16)
    counts[:, :16] = (50000 * gains).astype(np.uint16)  # air before the vehicle
    expected = scan_flat_field(Scan(counts, "counts")).high
    np.testing.assert_array_equal(flat_field(counts), expected)
    assert np.abs(flat_field(counts)[:, :16] - 1).max() < 1e-4
    # a Scan goes through unchanged in kind
    scan = flat_field(Scan(counts, "counts"), air_cols=slice(0, 8))
    assert isinstance(scan, Scan) and scan.representation == "transmission"


def test_flat_field_refuses_attenuation_scans():
    scan = Scan(np.zeros((4, 20), np.float32), "attenuation")
    with pytest.raises(CalibrationError, match="counts or transmission"):
        flat_field(scan)
