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


def diverging_canvas(source_z_mm=1000.0, distance_mm=4000.0):
    # 5 mm pixels, 2,000 mm tall window (row 0's top edge at 2,000 mm), source 1 m high.
    canvas = Canvas(400, 60, 5.0, 2000.0, lambda m: (1.0,), lambda m: 7.85, 1)
    canvas.source_z_mm, canvas.source_distance_mm = source_z_mm, distance_mm
    return canvas


def test_a_thin_plane_off_centre_is_scaled_about_the_source_height():
    canvas = diverging_canvas()
    # A 10 mm plate lying flat at 1,500 mm, in the far wall (1,000 mm beyond the centre plane):
    # its image is shrunk by 4,000 / 5,000 towards the source's height, 1,000 mm.
    with canvas.at_depths(1000.0):
        fp = canvas.box(0.0, 1495.0, 300.0, 10.0, 0.2)
    canvas.add("steel", fp)
    profile = canvas.basis[0, :, 30]
    rows = np.arange(400) + 0.5
    centre_mm = 2000.0 - 5.0 * (profile * rows).sum() / profile.sum()
    assert centre_mm == pytest.approx(1000.0 + 500.0 * 0.8, abs=0.5)  # 1,400 mm
    # The ray crosses the plate through its 2 mm: the chord is kept, the image is 8 mm tall.
    assert profile.sum() * 5.0 / (0.2 * 7.85) == pytest.approx(8.0, rel=1e-3)
    # In the near wall it grows by 4,000 / 3,000 instead, and lies higher.
    near = diverging_canvas()
    with near.at_depths(-1000.0):
        near.add("steel", near.box(0.0, 1495.0, 300.0, 10.0, 0.2))
    near_profile = near.basis[0, :, 30]
    near_mm = 2000.0 - 5.0 * (near_profile * rows).sum() / near_profile.sum()
    assert near_mm == pytest.approx(1000.0 + 500.0 * 4 / 3, abs=0.5)
    # Its mass is the plate's all the same (10 mm x 300 mm x 2 mm of steel).
    assert near.mass_kg("steel", near.box(0.0, 1495.0, 300.0, 10.0, 0.2)) == pytest.approx(
        1.0 * 30.0 * 0.2 * 7.85 / 1000, rel=1e-6
    )


def test_a_plate_across_the_width_is_crossed_obliquely_and_spreads():
    flat = Canvas(400, 60, 5.0, 2000.0, lambda m: (1.0,), lambda m: 7.85, 1)
    canvas = diverging_canvas()
    # A 2 mm sheet 2,400 mm wide at 1,500 mm, 500 mm above the source, 4 m away: the rays
    # that graze its near and far edges reach the centre plane at
    # 1,000 + 500 x 4,000 / (4,000 -+ 1,200) mm, 1,714 and 1,385 mm apart by 330 mm.
    for c in (flat, canvas):
        c.add("steel", c.box(0.0, 1499.0, 300.0, 2.0, 240.0))
    profile = canvas.basis[0, :, 30]
    lit = np.flatnonzero(profile > 1e-6)
    top_mm, bottom_mm = 2000.0 - 5.0 * lit.min(), 2000.0 - 5.0 * (lit.max() + 1)
    assert top_mm == pytest.approx(1000 + 500 * 4000 / 2800, abs=12.0)  # to the pixel
    assert bottom_mm == pytest.approx(1000 + 500 * 4000 / 5200, abs=12.0)
    # A ray at the sheet's own height rises 500 / 4,000 per mm across it, so it crosses
    # 2 / 0.125 = 16 mm of steel where a parallel ray would cross none or 2.4 m.
    centre = int((2000.0 - 1500.0) / 5.0)
    assert profile[centre] / 7.85 == pytest.approx(1.6, rel=0.15)
    # The sum over the image (the sheet's volume) is the parallel beam's.
    assert profile.sum() == pytest.approx(flat.basis[0, :, 30].sum(), rel=1e-4)


def test_no_divergence_at_the_source_height_nor_without_a_source():
    canvas, parallel = diverging_canvas(source_z_mm=1500.0), steel_canvas()
    # A sheet across the width at the source's own height stays within a pixel of where
    # parallel rays draw it (rows 99 and 100), with its volume.
    fp = canvas.box(0.0, 1497.5, 300.0, 5.0, 240.0)
    assert fp is not None and fp.rows.start >= 98 and fp.rows.stop <= 102
    assert fp.chord_cm.sum() == pytest.approx(240.0 * 60, rel=1e-5)
    assert parallel.project_z(1234.0, 900.0) == 1234.0


def test_a_slab_at_a_depth_spreads_over_its_own_thickness():
    # A 2 mm sheet lying flat at 1,500 mm (500 mm above the source, 4 m away) in a slab
    # 600 mm thick about 1,000 mm beyond the centre plane: its near face's image is at
    # 1,000 + 500 x 4,000 / 4,700 = 1,425.5 mm, its far face's at 1,000 + 500 x 4,000 /
    # 5,300 = 1,377.4 mm, so the sheet spreads over the 48 mm between them; as a thin
    # plane at 1,000 mm it would be 1.6 mm tall, at 1,400 mm.
    slab, plane = diverging_canvas(), diverging_canvas()
    with slab.at_depths(1000.0, thickness_mm=600.0):
        slab.add("steel", slab.box(0.0, 1499.0, 300.0, 2.0, 60.0))
    with plane.at_depths(1000.0):
        plane.add("steel", plane.box(0.0, 1499.0, 300.0, 2.0, 60.0))
    profile, thin = slab.basis[0, :, 30], plane.basis[0, :, 30]
    lit = np.flatnonzero(profile > 1e-6)
    top_mm, bottom_mm = 2000.0 - 5.0 * lit.min(), 2000.0 - 5.0 * (lit.max() + 1)
    assert top_mm == pytest.approx(1000 + 500 * 4000 / 4700, abs=10.0)  # to the pixel
    assert bottom_mm == pytest.approx(1000 + 500 * 4000 / 5300, abs=10.0)
    assert np.count_nonzero(thin > 1e-6) <= 2
    # Its chord summed over the image is the thin plane's (scaled by 4,000 / 5,000 about
    # the source), and the slab's mass is the sheet's.
    assert profile.sum() == pytest.approx(thin.sum(), rel=1e-4)
    assert profile.sum() * 5.0 / (60.0 * 7.85) == pytest.approx(2.0 * 0.8, rel=1e-3)
    # Outside the block, parts fill their chord about the centre plane again.
    assert slab.planes_mm is None and slab.plane_thickness_mm == 0.0
