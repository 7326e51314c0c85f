"""Each widget end to end in a real viewer (run under xvfb-run)."""

from __future__ import annotations

import gc
from pathlib import Path

import numpy as np
import pytest

from scanlab.evaluate import read_marks
from scanlab.io import example_scan, write_scan
from scanlab.napari_plugin._launch import create_viewer
from scanlab.napari_plugin._qt._util import grid_of, scale_bar_of
from scanlab.napari_plugin._qt.assist_widget import AssistWidget
from scanlab.napari_plugin._qt.enhance_widget import EnhanceWidget
from scanlab.napari_plugin._qt.exercise_widget import ExerciseWidget
from scanlab.napari_plugin._qt.inspect_widget import InspectWidget
from scanlab.synth import THREAT_CLASSES, AnswerKey

pytestmark = pytest.mark.napari

SCAN = "sample-00000"


@pytest.fixture
def viewer(make_napari_viewer):
    viewer = make_napari_viewer()
    viewer.open_sample("scanlab", "sample_1")
    return viewer


def _press(keymap_owner, key: str) -> None:
    from napari.utils.key_bindings import KeyBinding

    keymap_owner.keymap[KeyBinding.from_str(key)](keymap_owner)


# --- enhance ------------------------------------------------------------------------------


def _wait_render(qtbot, widget: EnhanceWidget, preset: str) -> np.ndarray:
    qtbot.waitUntil(
        lambda: (r := widget.last_render) is not None and r.preset == preset and r.stride == 1,
        timeout=20000,
    )
    return np.asarray(widget._viewer.layers[f"{SCAN} [enhanced]"].data).copy()


def test_enhance_presets_and_parameters_change_the_image(viewer, qtbot) -> None:
    widget = EnhanceWidget(viewer)
    viewer.window.add_dock_widget(widget)
    assert "material" in widget._preset.choices  # the sample is dual energy

    widget.set_preset("standard")
    standard = _wait_render(qtbot, widget, "standard")
    widget.set_preset("edges")
    edges = _wait_render(qtbot, widget, "edges")
    assert standard.shape == edges.shape and not np.allclose(standard, edges)

    widget.set_preset("low_density")
    before = _wait_render(qtbot, widget, "low_density")
    widget.set_param("gamma", 1.6)
    qtbot.waitUntil(
        lambda: not np.allclose(viewer.layers[f"{SCAN} [enhanced]"].data, before), timeout=20000
    )

    widget.set_preset("material")
    rgb = _wait_render(qtbot, widget, "material")
    assert rgb.shape[-1] == 3 and viewer.layers[f"{SCAN} [enhanced]"].rgb
    widget.set_preset("density_highlight")
    widget.set_param("band", (1.0, 3.0))
    highlighted = _wait_render(qtbot, widget, "density_highlight")
    assert highlighted.shape[-1] == 3


def test_enhance_previews_a_large_scan_then_renders_it_whole(make_napari_viewer, qtbot, tmp_path):
    """A scan the size of a 40 ft container (2.9 Mpx) is previewed subsampled, every 2nd
    pixel or coarser while a screen pixel still covers a preview pixel, then rendered whole;
    another preset's controls come once its first frame is on screen."""
    from scanlab.napari_plugin._qt._util import camera_of

    path = write_scan(example_scan(rows=1200, cols=2400, seed=2), tmp_path / "big.npz")[0]
    viewer = make_napari_viewer()
    viewer.open(path, plugin="scanlab")
    widget = EnhanceWidget(viewer)
    seen: list = []  # the renderings shown, in turn

    def whole(after: int = 0) -> bool:
        """An ``edges`` rendering at full resolution shown after the ``after`` first."""
        render = widget.last_render
        if render is not None and render.preset == "edges" and all(render is not r for r in seen):
            seen.append(render)
        return len(seen) > after and seen[-1].stride == 1

    widget.set_preset("edges")
    assert widget._controls == {} and widget._due  # not yet: the first frame first
    qtbot.waitUntil(whole, timeout=20000)
    preview, _ = (r.stride for r in seen)
    on_screen = 5.0 * camera_of(viewer).zoom  # screen pixels per scan pixel (5 mm)
    assert preview == 2 or preview * on_screen <= 1 < (preview + 1) * on_screen
    qtbot.waitUntil(lambda: widget._due is None, timeout=5000)
    labels = {w.label for w in widget._controls.values()}
    assert labels == {"amount", "radius", "direction", "percentiles"}
    layer = viewer.layers[f"{widget._scan.value} [enhanced]"]
    # Grey presets are shown as RGB (three equal channels): one layer for every preset.
    assert layer.data.shape == (1200, 2400, 3) and tuple(layer.scale) == (5.0, 5.0)
    assert (layer.data[..., 0] == layer.data[..., 2]).all()

    widget.set_param("amount", 2.0)
    qtbot.waitUntil(lambda: whole(after=2), timeout=20000)
    assert [r.stride for r in seen] == [preview, 1, preview, 1]
    assert layer.data.shape == (1200, 2400, 3) and tuple(layer.scale) == (5.0, 5.0)


# --- inspect ------------------------------------------------------------------------------


def test_inspect_readout_ruler_and_side_by_side(viewer, qtbot) -> None:
    widget = InspectWidget(viewer)
    viewer.window.add_dock_widget(widget)
    high = viewer.layers[f"{SCAN} [high]"]
    status = high.get_status((3000.0, 5000.0), world=True)  # mm: row 300, col 500
    assert "row 300 col 500" in status["value"] and "high A" in status["value"]
    assert widget.readout_at((3000.0, 5000.0)) == status["value"]
    assert scale_bar_of(viewer).visible

    ruler = widget.add_ruler()
    assert ruler is not None and ruler.mode == "add_line"
    ruler.add_lines(np.array([[0.0, 0.0], [30.0, 40.0]]))
    assert widget.update_ruler() == [500.0]  # 50 px at 10 mm
    assert list(ruler.features["length_mm"]) == [500.0]
    assert "500 mm" in widget._lengths.value

    shown_before = [layer.name for layer in viewer.layers if layer.visible]
    widget._left.value, widget._right.value = "standard", "material"
    with qtbot.waitSignal(widget.compared, timeout=20000) as blocker:
        widget._compare.value = True
    names = blocker.args[0]
    grid = grid_of(viewer)
    assert grid.enabled and tuple(grid.shape) == (2, 1)
    visible = [layer for layer in viewer.layers if layer.visible]
    assert [layer.name for layer in visible] == names
    positions = {grid.position(list(viewer.layers).index(lay), viewer.layers) for lay in visible}
    assert positions == {(0, 0), (1, 0)}  # one view above the other, one camera
    widget._compare.value = False
    assert not grid.enabled
    assert [layer.name for layer in viewer.layers if layer.visible] == shown_before


# --- detector assist ----------------------------------------------------------------------


def test_detector_runs_in_background_and_overlays(viewer, qtbot, stub_detector) -> None:
    widget = AssistWidget(viewer, loader=lambda name: stub_detector, names=("stub",))
    viewer.window.add_dock_widget(widget)
    with qtbot.waitSignal(widget.finished, timeout=20000):
        widget.run()
    qtbot.waitUntil(lambda: not widget.busy, timeout=5000)
    amap = viewer.layers[f"{SCAN} [anomaly map]"]
    regions = viewer.layers[f"{SCAN} [detector regions]"]
    assert amap.data.shape == (460, 940) and amap.visible and len(regions.data) == 1
    assert "Score 0.90" in widget._status.value
    widget._overlay.value = False
    assert not amap.visible
    with qtbot.waitSignal(widget.finished, timeout=20000):
        widget.run()  # again: the same layers are updated, not duplicated
    assert len(viewer.layers[f"{SCAN} [detector regions]"].data) == 1
    assert sum("[anomaly map]" in layer.name for layer in viewer.layers) == 1


def test_detector_with_trained_weights(viewer, qtbot) -> None:
    from scanlab.napari_plugin._assist import detector_names

    names = detector_names()
    if not names:
        pytest.skip("no trained detector in models/")
    widget = AssistWidget(viewer, names=names[:1])
    with qtbot.waitSignal(widget.finished, timeout=120000):
        widget.run()
    assert viewer.layers[f"{SCAN} [anomaly map]"].data.shape == (460, 940)


# --- exercise -----------------------------------------------------------------------------


def _keys_in_memory() -> set[int]:
    """Ids of the AnswerKey objects alive now (other tests' fixtures may hold some)."""
    gc.collect()
    return {id(o) for o in gc.get_objects() if type(o) is AnswerKey}


# Answer keys that other tests' session fixtures keep alive are not this widget's doing.
_BEFORE: set[int] = set()


def _no_key_anywhere(viewer, item_ids) -> None:
    gc.collect()
    ids = set(item_ids)
    assert not [
        o
        for o in gc.get_objects()
        if type(o) is AnswerKey and o.scan_id in ids and id(o) not in _BEFORE
    ]
    for layer in viewer.layers:
        assert not any(word in layer.name for word in ("key", "found", "missed", "false"))
        assert "spec" not in repr(layer.metadata)


def test_exercise_mark_submit_and_score(make_napari_viewer, qtbot, exercise_dir, found_box):
    from qtpy.QtCore import QTimer
    from qtpy.QtWidgets import QMessageBox

    corners, found_class = found_box(SCAN, 0)
    missed_class = found_box(SCAN, 1)[1]
    viewer = make_napari_viewer()
    widget = ExerciseWidget(viewer)
    enhance = EnhanceWidget(viewer)
    viewer.window.add_dock_widget(widget)
    session = widget.open(exercise_dir)
    assert session.item.item_id == SCAN
    _no_key_anywhere(viewer, [i.item_id for i in session.items])
    enhance.set_preset("material")
    _wait_render(qtbot, enhance, "material")
    names = [layer.name for layer in viewer.layers]  # the rendering stays under the marks
    assert names.index(f"{SCAN} [enhanced]") < names.index(f"{SCAN} [your marks]")

    marks = widget.marks_layer
    assert marks is not None and len(marks.data) == 0
    _press(viewer, f"Alt-{THREAT_CLASSES.index(found_class) + 1}")  # class picker shortcut
    assert widget._class.value == found_class
    marks.add_rectangles(corners)
    widget.set_class("cash")
    marks.add_polygons(np.array([[5.0, 5.0], [5.0, 40.0], [25.0, 20.0]]))  # air, above it all
    saved = read_marks(session.folder / "marks" / f"{SCAN}.json")
    assert [(m.mark_id, m.shape, m.threat_class) for m in saved] == [
        ("m1", "rectangle", found_class),
        ("m2", "polygon", "cash"),
    ]
    marks.selected_data = {1}
    widget.set_class("weapon")  # recolours and re-classes the selected mark
    assert read_marks(session.folder / "marks" / f"{SCAN}.json")[1].threat_class == "weapon"
    marks.selected_data = set()
    widget.set_verdict(True)

    _press(viewer, "PageDown")
    # The next scan is shown in the same layers: its marks (none yet) in the marks layer.
    assert session.current == 1 and widget.marks_layer is marks and len(marks.data) == 0
    assert not [layer for layer in viewer.layers if layer.name.startswith(SCAN)]
    _press(viewer, "PageUp")
    assert session.current == 0 and len(widget.marks_layer.data) == 2  # restored
    _no_key_anywhere(viewer, [i.item_id for i in session.items])

    def confirm() -> None:  # the confirmation box is modal: answer it once it is up
        if widget._question is None:
            QTimer.singleShot(20, confirm)
        else:
            widget._question.button(QMessageBox.StandardButton.Yes).click()

    QTimer.singleShot(0, confirm)
    with qtbot.waitSignal(widget.submitted, timeout=20000) as blocker:
        _press(viewer, "Control-Enter")
    result = blocker.args[0]
    item = result.items[SCAN]
    assert [h.mark_id for h in item.match.hits] == ["m1"] and item.match.false_alarms == ["m2"]
    colours = set()
    for label, outcome in (("found", "hit"), ("missed", "miss"), ("false alarms", "false_alarm")):
        shown = viewer.layers[f"{SCAN} [{label}]"]
        assert list(shown.features["outcome"]) == [outcome]
        colours.add(tuple(shown.edge_color[0]))
    assert len(colours) == 3  # three outcome colours
    text = widget._results.value
    assert f"found {found_class}" in text and f"MISSED {missed_class}" in text and "d'" in text
    assert not widget.marks_layer.editable


def test_exercise_restores_work_after_reopening(make_napari_viewer, exercise_dir) -> None:
    viewer = make_napari_viewer()
    first = ExerciseWidget(viewer)
    first.open(exercise_dir)
    first.marks_layer.add_rectangles(np.array([[10.0, 10.0], [50.0, 80.0]]))
    first.next_item()
    first.close_exercise()

    second = ExerciseWidget(viewer)
    session = second.open(exercise_dir)
    assert session.current == 1
    second.previous_item()
    assert len(second.marks_layer.data) == 1
    assert second.marks_layer.features["mark_id"][0] == "m1"

    second.submit()
    third = ExerciseWidget(viewer)
    third.open(exercise_dir)  # reopened after submitting: the results are shown again
    assert "Objects found" in third._results.value
    assert f"{third.session.item.item_id} [missed]" in viewer.layers


def test_practice_exam_is_built_in_background_and_graded(make_napari_viewer, qtbot) -> None:
    _BEFORE.clear()
    _BEFORE.update(_keys_in_memory())
    viewer = make_napari_viewer()
    widget = ExerciseWidget(viewer)
    with qtbot.waitSignal(widget.item_shown, timeout=180000):
        widget.new_practice_exam(count=2)
    session = widget.session
    assert session is not None and len(session.items) == 2
    assert session.item.declaration is not None and "Container" in widget._declaration.value
    _no_key_anywhere(viewer, [i.item_id for i in session.items])
    result = widget.submit()
    assert result is not None and result.submission is not None  # signed, then graded
    assert "Objects found" in widget._results.value


# --- launch -------------------------------------------------------------------------------


def test_launch_docks_widgets_and_opens(make_napari_viewer, tmp_path: Path, dual_scan) -> None:
    path = write_scan(dual_scan, tmp_path / "scan.tif")[0]
    viewer, widgets = create_viewer(path, viewer=make_napari_viewer())
    assert set(widgets) == {
        "Enhance",
        "Inspect",
        "Detector assist",
        "Exercise",
        "Reference",
        "Tools",
    }
    assert f"{dual_scan.metadata.scan_id} [high]" in viewer.layers
    assert widgets["Enhance"]._scan.value == dual_scan.metadata.scan_id


def test_launch_opens_an_exercise(make_napari_viewer, exercise_dir: Path) -> None:
    _viewer, widgets = create_viewer(exercise_dir, viewer=make_napari_viewer())
    assert widgets["Exercise"].session is not None
