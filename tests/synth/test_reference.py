"""The reference library: threats projected into a clean container, concealments as exams
draw them, clean loads of declared goods; checked against the simulator run directly."""

from __future__ import annotations

import numpy as np
import pytest

from scanlab.errors import SpecError
from scanlab.synth import (
    THREAT_LIBRARY,
    CargoDeclaration,
    DeclaredGoods,
    SceneSpec,
    commodity_of,
    declared_commodities,
    generate_scene,
    reference_image,
    reference_names,
)

PITCH = 20.0


@pytest.mark.parametrize("name", ["pistol", "cocaine_bricks", "stowaway"])
def test_a_threat_is_projected_onto_the_floor_of_an_empty_container(name):
    ref = reference_image("threat", name, pitch_mm=PITCH)
    (obj,) = ref.objects
    assert (obj.threat_class, obj.concealment) == (THREAT_LIBRARY[name][0], "tip")
    # The same empty container, simulated here: the threat adds attenuation where its
    # mask is, and leaves the rest of the scan alone.
    clean = generate_scene(SceneSpec("container_20ft", "empty", 0.0), 0, pitch_mm=PITCH)
    key_clean = clean.key
    r0, c0, r1, c1 = obj.bbox
    with_threat = ref.scan.to_attenuation().data[0]
    without = clean.scan.to_attenuation().data[0]
    inside = obj.mask
    added = with_threat[r0:r1, c0:c1][inside] - without[r0:r1, c0:c1][inside]
    assert np.median(added) > 0.05
    outside = np.ones(with_threat.shape, bool)
    outside[max(r0 - 20, 0) : r1 + 20, max(c0 - 20, 0) : c1 + 20] = False
    # (Pixels that let no photon through, -ln T above 10, come back at the counts' floor.)
    readable = outside & (without < 10.0)
    np.testing.assert_array_equal(with_threat[readable], without[readable])
    # Inside the container: between its front and rear, under the roof, on the floor.
    roof_row, front_col, floor_row, rear_col = key_clean.attributes["body_px"]
    assert front_col < c0 < c1 < rear_col and roof_row < r0
    floor_top_row = (4600.0 - clean.layout.cargo.z0) / PITCH  # the 20 ft scene is 4.6 m high
    assert r1 < floor_row and floor_top_row - 2 <= r1 <= floor_top_row + 1
    assert name.split("_")[0] in ref.title and "empty 20 ft container" in ref.title


def test_a_concealment_is_the_simulators_scene_with_it():
    ref = reference_image("concealment", "drugs_in_tyre", pitch_mm=PITCH)
    scene = generate_scene(
        SceneSpec("container_20ft", "tyres", 0.7, ["drugs_in_tyre"]), 0, pitch_mm=PITCH
    )
    np.testing.assert_array_equal(ref.scan.data, scene.scan.data)
    assert [o.concealment for o in ref.objects] == ["tyre"]
    assert "narcotics" in ref.title and "tyres" in ref.title


def test_a_commodity_is_a_clean_true_load_of_those_goods():
    ref = reference_image("commodity", "coffee", pitch_mm=PITCH)
    assert ref.objects == () and ref.title.startswith("HS 0901 ")
    scene = generate_scene(SceneSpec("container_20ft", "coffee", 0.8), 0, pitch_mm=PITCH)
    assert scene.key.is_clean and scene.key.declaration_consistent
    assert [g.commodity for g in scene.key.declaration.goods] == ["coffee"]
    np.testing.assert_array_equal(ref.scan.data, scene.scan.data)
    # Loaded goods attenuate: the cargo space is darker than the empty container's.
    empty = generate_scene(SceneSpec("container_20ft", "empty", 0.0), 0, pitch_mm=PITCH)
    assert ref.scan.to_attenuation().data[0].mean() > empty.scan.to_attenuation().data[0].mean()


def test_renders_are_cached():
    first = reference_image("threat", "rifle", pitch_mm=PITCH)
    assert reference_image("threat", "rifle", pitch_mm=PITCH) is first
    assert reference_image("threat", "rifle", pitch_mm=PITCH, seed=1) is not first


def test_hs_codes_name_commodities():
    # Headings from the HS nomenclature, by hand: 1006 rice, 0202 frozen bovine meat,
    # 4011 new pneumatic tyres.
    assert commodity_of("1006") == "rice"
    assert commodity_of("0202.30") == "frozen_beef"
    unknown = DeclaredGoods("rubber tyres, new", "4011.20", "Tyres", 10, 2000.0)
    assert commodity_of(unknown) == "tyres"
    with pytest.raises(SpecError, match="'9999' is not in the reference library"):
        commodity_of("9999")
    decl = CargoDeclaration(
        "MSCU1234565",
        "s",
        "c",
        [
            DeclaredGoods("steel_coils", "7208", "Flat-rolled", 4, 20000.0),  # no load for it
            DeclaredGoods("rice", "1006", "Rice", 400, 18000.0),
            DeclaredGoods("other", "1006.30", "Rice", 10, 500.0),
        ],
    )
    assert declared_commodities(decl) == ["rice"]
    assert declared_commodities(None) == []


def test_unknown_entries_are_refused():
    assert "steel_coils" not in reference_names("commodity")
    with pytest.raises(SpecError, match="no commodity 'steel_coils'"):
        reference_image("commodity", "steel_coils")
    with pytest.raises(SpecError, match="reference kind must be one of"):
        reference_names("weapons")
    with pytest.raises(SpecError, match="pitch_mm"):
        reference_image("threat", "pistol", pitch_mm=0.0)
