"""The Reference widget in ``scanlab gui``'s viewer: a threat, a concealment and a clean load
of the declared goods shown below the exercise's scan, at its scale (run under xvfb-run)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from scanlab.napari_plugin._launch import create_viewer
from scanlab.synth import AnswerKey, declared_commodities

pytestmark = pytest.mark.napari


def _show(qtbot, widget, kind: str, name: str):
    widget.choose(kind, name)
    with qtbot.waitSignal(widget.rendered, timeout=60_000) as blocker:
        widget.show_chosen()
    return blocker.args[0]


def test_reference_below_the_scan_with_the_declared_goods_first(
    make_napari_viewer, exercise_dir, qtbot
):
    # Declarations beside the scans, as a site gives them: the keys' own, as sidecars.
    (exercise_dir / "declarations").mkdir()
    declared = {}
    for key_file in (exercise_dir / "keys").glob("*.json"):
        key = AnswerKey.load(key_file)
        if key.declaration is not None and key.declaration.goods:
            sidecar = exercise_dir / "declarations" / f"{key_file.stem}.declaration.json"
            sidecar.write_text(json.dumps(key.declaration.to_dict()))
            declared[key_file.stem] = key.declaration
    viewer, widgets = create_viewer(exercise_dir, viewer=make_napari_viewer())
    exercise, widget = widgets["Exercise"], widgets["Reference"]
    first = exercise.session.item.item_id
    goods = declared[first].goods[0]

    # The declared goods are named whichever list is open.
    if declared_commodities(declared[first]):
        assert f"HS {goods.hs_code}" in widget._declared.value
    # A threat: its image below the scan, at the scan's millimetre scale, outlined; the
    # marks layer stays the one drawn on.
    ref = _show(qtbot, widget, "threat", "pistol")
    assert viewer.layers.selection.active is exercise.marks_layer
    scan_layer = viewer.layers[f"{first} [high]"]
    image, outline = viewer.layers["reference: pistol"], viewer.layers["reference: pistol [where]"]
    scan_bottom = scan_layer.extent.world[1][0]
    assert image.extent.world[0][0] > scan_bottom  # below, not over the scan
    assert image.extent.world[0][1] == pytest.approx(scan_layer.extent.world[0][1])
    np.testing.assert_allclose(image.scale, ref.scan.metadata.pitch_mm)
    np.testing.assert_array_equal(image.data, ref.scan.to_attenuation().data[0])
    r0, c0, r1, c1 = ref.objects[0].bbox
    row_mm, col_mm = ref.scan.metadata.pitch_mm
    corners = outline.data[0] + np.asarray(outline.translate)
    np.testing.assert_allclose(
        corners.min(axis=0), np.add(image.translate, (r0 * row_mm, c0 * col_mm))
    )
    np.testing.assert_allclose(
        corners.max(axis=0), np.add(image.translate, (r1 * row_mm, c1 * col_mm))
    )
    assert "weapon" in widget._title.value

    # The declared goods come first and are chosen: one click shows a clean load of them.
    widget._kind.value = "commodity"
    exercise.go_to(0)
    widget.set_declaration(exercise.session.item.declaration)
    assert widget._name.value == goods.commodity
    assert widget._name.choices[0] == goods.commodity
    assert f"HS {goods.hs_code}" in widget._declared.value
    with qtbot.waitSignal(widget.rendered, timeout=60_000):
        widget.show_chosen()
    label = f"reference: {goods.commodity.replace('_', ' ')}"
    assert label in viewer.layers and "reference: pistol" not in viewer.layers  # replaced
    assert widget._title.value.startswith(f"HS {goods.hs_code} ")

    # Next scan: the reference stays, below the new scan; its declared goods offered.
    before = [ly for ly in viewer.layers if ly.name.startswith("reference: ")]
    exercise.next_item()
    second = exercise.session.item.item_id
    assert label in viewer.layers
    # Moved below the new scan in place, not removed and added again.
    assert [ly for ly in viewer.layers if ly.name.startswith("reference: ")] == before
    below = viewer.layers[label].extent.world[0][0]
    new_scan = next(ly for ly in viewer.layers if ly.name.startswith(second))
    assert below > new_scan.extent.world[1][0]
    shown = declared_commodities(declared.get(second))
    if shown:
        assert widget._name.value == shown[0]
    else:  # e.g. sawn wood: the simulator has no load of it, and the widget says so
        assert "no clean load in the library" in widget._declared.value
    widget.remove()
    assert not [ly for ly in viewer.layers if ly.name.startswith("reference: ")]


def test_without_declaration_the_widget_says_so(make_napari_viewer, exercise_dir, qtbot):
    viewer, widgets = create_viewer(exercise_dir, viewer=make_napari_viewer())
    widget = widgets["Reference"]
    assert widget._declared.value == "No declaration with this scan."
    ref = _show(qtbot, widget, "concealment", "false_wall")
    assert ref.objects[0].concealment == "false_wall"
    assert "reference: false wall [where]" in viewer.layers
