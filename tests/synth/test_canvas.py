"""The side-view canvas: footprints, and how a yawed vehicle smears them."""

from __future__ import annotations

import math

import numpy as np
import pytest

from scanlab.synth._canvas import Canvas


def steel_canvas(skew=0.0, pitch_mm=5.0):
    # One basis material: steel, 7.85 g/cm³, so the basis is steel's areal density.
    return Canvas(80, 200, pitch_mm, 400.0, lambda m: (1.0,), lambda m: 7.85, 1, skew)


def test_box_is_exact_without_yaw():
    canvas = steel_canvas()
    fp = canvas.box(100.0, 100.0, 4.5, 120.0, 235.0)  # a cross-member web, 4.5 mm thick
    canvas.add("steel", fp)
    profile = canvas.basis[0, 40]
    # The web lies in column 20 (100-105 mm), covering 90 % of it.
    assert profile[20] == pytest.approx(0.9 * 235.0 * 7.85, rel=1e-5)
    assert np.count_nonzero(profile) == 1


def test_yaw_spreads_a_part_over_its_chord_times_the_skew_and_keeps_its_mass():
    skew = math.tan(math.radians(1.0))
    flat, yawed = steel_canvas(), steel_canvas(skew)
    web = (100.0, 100.0, 4.5, 120.0, 235.0)
    flat.add("steel", flat.box(*web))
    fp = yawed.box(*web)
    yawed.add("steel", fp)
    # Same mass (4.5 mm x 120 mm x 2.35 m of steel = 9.96 kg).
    expected_kg = 0.45 * 12.0 * 235.0 * 7.85 / 1000
    assert flat.mass_kg("steel", flat.box(*web)) == pytest.approx(expected_kg, rel=1e-4)
    assert yawed.mass_kg("steel", fp) == pytest.approx(expected_kg, rel=1e-3)
    assert yawed.basis.sum() == pytest.approx(flat.basis.sum(), rel=1e-4)
    # Spread over 2,350 mm x tan(1°) = 41 mm: about 8 columns at 5 mm, centred on the web,
    # no column holding more than its share of the chord.
    profile = yawed.basis[0, 40]
    width_mm = np.count_nonzero(profile > 1e-3) * 5.0
    assert 41.0 <= width_mm <= 41.0 + 2 * 5.0
    centre = (profile * np.arange(profile.size)).sum() / profile.sum() * 5.0 + 2.5
    assert centre == pytest.approx(102.25, abs=5.0)
    assert profile.max() <= 235.0 * 7.85 * 5.0 / 41.0 * 1.05
    # A thin part across little of the width hardly moves: a 3 mm wall sheet.
    sheet = yawed.box(300.0, 100.0, 400.0, 100.0, 0.32)
    assert sheet.cols == steel_canvas().box(300.0, 100.0, 400.0, 100.0, 0.32).cols
