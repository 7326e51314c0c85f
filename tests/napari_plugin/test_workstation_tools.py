"""The workstation's view tools and what follows the scan shown, in ``scanlab gui``'s viewer
(run under xvfb-run): the magnifier, Detector assist and the side-by-side view carried to
the next scan, and regressions (sign-in title wrapping, one toolbar per window)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from scanlab.napari_plugin._launch import create_viewer

pytestmark = pytest.mark.napari

FIRST, SECOND, THIRD = "sample-00000", "sample-00003", "sample-00004"


def _press(viewer, key: str) -> None:
    handler = viewer.window._qt_viewer._key_map_handler
    handler.press_key(key)
    handler.release_key(key)


def _canvas_xy(viewer, world_mm: tuple[float, float]) -> tuple[float, float]:
    """Canvas pixel (x, y) of a world (row, col) position, from the camera's own numbers:
    the canvas centre shows ``camera.center`` and one mm is ``camera.zoom`` pixels."""
    from scanlab.napari_plugin._qt._util import camera_of

    camera = camera_of(viewer)
    size = viewer.window._qt_viewer.canvas.native.size()
    row, col = world_mm
    return (
        size.width() / 2 + (col - camera.center[-1]) * camera.zoom,
        size.height() / 2 + (row - camera.center[-2]) * camera.zoom,
    )


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.astype(float).ravel(), b.astype(float).ravel()
    return float(np.corrcoef(a, b)[0, 1])


def _grey(image: np.ndarray) -> np.ndarray:
    return image[..., :3].astype(float).mean(axis=-1)


def _block_mean(image: np.ndarray, k: int) -> np.ndarray:
    rows, cols = (s // k * k for s in image.shape[:2])
    return image[:rows, :cols].reshape(rows // k, k, cols // k, k).mean(axis=(1, 3))


def test_magnifier_shows_the_region_under_the_cursor_enlarged(
    make_napari_viewer, exercise_dir: Path, found_box, qtbot
) -> None:
    from scanlab.napari_plugin._qt._util import camera_of
    from scanlab.napari_plugin._qt.magnifier import LOUPE_PX

    viewer, widgets = create_viewer(exercise_dir, viewer=make_napari_viewer(show=True))
    viewer.window._qt_window.resize(1366, 768)
    qtbot.wait(200)
    tools, exercise = widgets["Tools"], widgets["Exercise"]
    magnifier = tools.magnifier
    exercise.marks_layer.mode = "add_rectangle"  # the trainee is marking: the loupe helps
    _press(viewer, "F7")
    assert magnifier.active and tools._loupe.native.isDown()

    # On the first object of the key (read here from the key file, in mm).
    box, _ = found_box(FIRST)
    pitch = viewer.layers[f"{FIRST} [high]"].scale[-2:]
    world = tuple(box.mean(axis=0) * pitch)
    x, y = _canvas_xy(viewer, world)
    camera = camera_of(viewer)
    view_before = (tuple(camera.center), camera.zoom)
    magnifier.move_to((x, y))
    qtbot.waitUntil(lambda: magnifier.visible, timeout=5000)
    assert (tuple(camera.center), camera.zoom) == view_before  # the view did not move
    loupe = magnifier.image
    assert loupe is not None and loupe.shape == (LOUPE_PX, LOUPE_PX, 3)

    # Beside the cursor, not over it, and inside the canvas.
    left, top, width, height = magnifier.geometry
    size = viewer.window._qt_viewer.canvas.native.size()
    assert not (left <= x < left + width and top <= y < top + height)
    assert 0 <= left and left + width <= size.width() and 0 <= top and top + height <= size.height()

    # What the canvas itself shows around the cursor (a screenshot of the canvas), a third
    # of the loupe's side: the loupe is that square three times larger.
    screen = viewer.window._qt_viewer.canvas._scene_canvas.render(alpha=False)
    side = LOUPE_PX // 3
    r0, c0 = round(y) - side // 2, round(x) - side // 2
    shown = _grey(screen[r0 : r0 + side, c0 : c0 + side])
    assert shown.std() > 5  # the object's surroundings, not an empty spot
    assert _correlation(_block_mean(_grey(loupe), 3), shown) > 0.85

    # 2x shows twice the field of 4x: the centre of the 2x loupe, enlarged, is the 4x one.
    tools._power.value = 4
    qtbot.waitUntil(lambda: magnifier.image is not loupe, timeout=5000)
    four = _grey(magnifier.image)
    tools._power.value = 2
    qtbot.waitUntil(lambda: magnifier.image is not None and magnifier.magnification == 2)
    qtbot.wait(100)
    two = _grey(magnifier.image)
    quarter = LOUPE_PX // 4
    centre = two[quarter : quarter + LOUPE_PX // 2, quarter : quarter + LOUPE_PX // 2]
    assert _correlation(_block_mean(four, 2), centre) > 0.85
    with pytest.raises(ValueError, match="one of"):
        magnifier.magnification = 8

    # The next scan: the loupe follows what the canvas shows.
    before = magnifier.image
    _press(viewer, "PageDown")
    qtbot.waitUntil(lambda: magnifier.image is not before, timeout=5000)

    tools._loupe.native.click()  # the toolbar button turns it off, as F7 does
    assert not magnifier.active and not magnifier.visible and not tools._loupe.native.isDown()
    assert exercise.marks_layer.mode == "add_rectangle"


def test_detector_assist_follows_the_next_scan_in_its_layers(
    make_napari_viewer, exercise_dir: Path, qtbot
) -> None:
    """Run once, the detector runs again on each scan shown next; its map and regions are
    the same layers, hidden until they show the new scan's result."""
    from scanlab.napari_plugin._qt._util import scan_ref_of

    class Recording:
        """Flags a square whose place depends on the scan, and records what it read."""

        def __init__(self) -> None:
            self.seen: list[str] = []

        def detect(self, scan, progress=None):
            self.seen.append(scan.metadata.scan_id)
            rows, cols = scan.shape
            amap = np.zeros((rows, cols), np.float32)
            k = len(self.seen)
            amap[10 * k : 10 * k + 20, 30 * k : 30 * k + 40] = 0.9
            region = SimpleNamespace(bbox=(10 * k, 30 * k, 10 * k + 20, 30 * k + 40), score=0.9)
            return SimpleNamespace(score=0.9, anomaly_map=amap, regions=[region], threshold=0.5)

    viewer, widgets = create_viewer(exercise_dir, viewer=make_napari_viewer())
    assist = widgets["Detector assist"]
    assist.run_ahead = False  # run on each scan as it is shown (ahead: the test below)
    detector = Recording()
    assist._model.choices = ("recording",)
    assist._detectors["recording"] = detector  # as if loaded
    assist._model.value = "recording"
    with qtbot.waitSignal(assist.finished, timeout=20000):
        assist.run()
    qtbot.waitUntil(lambda: not assist.busy, timeout=5000)
    amap = viewer.layers[f"{FIRST} [anomaly map]"]
    regions = viewer.layers[f"{FIRST} [detector regions]"]
    removed: list[str] = []
    viewer.layers.events.removed.connect(lambda event: removed.append(event.value.name))

    with qtbot.waitSignal(assist.finished, timeout=20000) as blocker:
        _press(viewer, "PageDown")
        # Until the detector has read the new scan, the old map is not shown on it.
        assert not amap.visible and not regions.visible
    qtbot.waitUntil(lambda: not assist.busy, timeout=5000)
    assert detector.seen == [FIRST, SECOND]
    assert removed == []  # the same layers, updated in place
    assert viewer.layers[f"{SECOND} [anomaly map]"] is amap
    assert viewer.layers[f"{SECOND} [detector regions]"] is regions
    assert amap.visible and regions.visible
    np.testing.assert_array_equal(amap.data, blocker.args[0].anomaly_map)
    assert amap.data[25, 70] == pytest.approx(0.9) and amap.data[15, 40] == 0  # the 2nd square
    ref = scan_ref_of(amap)
    assert ref is not None and ref.scan_id == SECOND
    np.testing.assert_allclose(regions.data[0].min(axis=0), [20, 60])

    # Turned off: the next scan leaves the detector idle and its overlays hidden.
    assist._follow.value = False
    _press(viewer, "PageDown")
    qtbot.wait(300)
    assert not assist.busy and detector.seen == [FIRST, SECOND]
    assert not amap.visible


def test_detector_assist_runs_ahead_and_shows_each_scan_its_own_map(
    make_napari_viewer, exercise_dir: Path, tiny_detector_dir: Path, qtbot
) -> None:
    """Once run, Detector assist runs a (tiny, real) detector on the next and previous
    scans in the background: moving on shows their result at once, with no run on screen.
    A result made for one scan is never shown on another, whatever the timing: the trainee
    moving on while the detector works on a scan no longer shown, or coming back."""
    import threading

    from scanlab.detect import load_detector
    from scanlab.napari_plugin._qt._util import scan_ref_of

    tiny = load_detector(tiny_detector_dir)

    class Gated:
        """The tiny detector, recording what it reads and waiting for ``gate`` first."""

        def __init__(self) -> None:
            self.gate = threading.Event()
            self.gate.set()
            self.seen: list[str] = []

        def detect(self, scan):
            self.seen.append(scan.metadata.scan_id)
            assert self.gate.wait(30)
            return tiny.detect(scan)

    viewer, widgets = create_viewer(exercise_dir, viewer=make_napari_viewer())
    assist, exercise = widgets["Detector assist"], widgets["Exercise"]
    detector = Gated()
    assist._model.choices = ("tiny",)
    assist._loader = lambda name: detector
    assist._model.value = "tiny"
    amap = viewer.layers  # replaced below by the map layer
    maps: dict[str, np.ndarray] = {}

    def expected(scan_id: str) -> np.ndarray:
        """The map of the scan shown, worked out here by the detector itself."""
        if scan_id not in maps:
            scan = scan_ref_of(viewer.layers[f"{scan_id} [high]"]).scan
            maps[scan_id] = tiny.detect(scan).anomaly_map
        return maps[scan_id]

    def shown_map(scan_id: str) -> np.ndarray:
        layer = viewer.layers[f"{scan_id} [anomaly map]"]
        assert layer is amap and layer.visible
        assert scan_ref_of(layer).scan is scan_ref_of(viewer.layers[f"{scan_id} [high]"]).scan
        return layer.data

    with qtbot.waitSignal(assist.finished, timeout=30000):
        assist.run()
    amap = viewer.layers[f"{FIRST} [anomaly map]"]
    np.testing.assert_array_equal(shown_map(FIRST), expected(FIRST))
    qtbot.waitUntil(lambda: assist.ahead_idle, timeout=30000)
    assert detector.seen == [FIRST, SECOND]  # the next scan, ahead (there is no previous)

    # The next scan: its result is there already, shown without a run.
    with qtbot.waitSignal(assist.finished, timeout=5000):
        _press(viewer, "PageDown")
    assert not assist.busy
    np.testing.assert_array_equal(shown_map(SECOND), expected(SECOND))
    qtbot.waitUntil(lambda: assist.ahead_idle, timeout=30000)
    assert detector.seen == [FIRST, SECOND, THIRD]  # the previous one was kept

    with qtbot.waitSignal(assist.finished, timeout=5000):
        _press(viewer, "PageDown")
    assert not assist.busy
    np.testing.assert_array_equal(shown_map(THIRD), expected(THIRD))
    qtbot.waitUntil(lambda: assist.ahead_idle, timeout=30000)
    assert detector.seen == [FIRST, SECOND, THIRD]

    # Back to the second: FIRST (forgotten two scans away) is run ahead again, held up.
    detector.gate.clear()
    with qtbot.waitSignal(assist.finished, timeout=5000):
        _press(viewer, "PageUp")
    np.testing.assert_array_equal(shown_map(SECOND), expected(SECOND))
    qtbot.waitUntil(lambda: detector.seen[-1] == FIRST, timeout=10000)
    # On to the first while its run is under way: nothing of SECOND's shown on it meanwhile.
    _press(viewer, "PageUp")
    qtbot.waitUntil(lambda: assist.busy, timeout=5000)
    assert not amap.visible and scan_ref_of(amap).scan_id == FIRST
    # And back to the second before the first's result comes: shown from what was kept.
    with qtbot.waitSignal(assist.finished, timeout=5000):
        _press(viewer, "PageDown")
    np.testing.assert_array_equal(shown_map(SECOND), expected(SECOND))
    detector.gate.set()  # the first's result comes now, for a scan no longer shown
    qtbot.waitUntil(lambda: assist.ahead_idle and not assist.busy, timeout=30000)
    qtbot.wait(100)
    np.testing.assert_array_equal(shown_map(SECOND), expected(SECOND))
    assert exercise.session.item.item_id == SECOND
    with qtbot.waitSignal(assist.finished, timeout=5000):
        _press(viewer, "PageUp")
    assert not assist.busy
    np.testing.assert_array_equal(shown_map(FIRST), expected(FIRST))
    # The first's run was kept (the first is next to the second), the third read again.
    assert detector.seen == [FIRST, SECOND, THIRD, FIRST, THIRD]
    # A run counts (in the submission) when its result is shown: the third's second run,
    # ahead, was never shown.
    runs = [exercise.session.assist_use(item)[0] for item in (FIRST, SECOND, THIRD)]
    assert runs == [2, 3, 1]


def test_side_by_side_follows_the_next_scan(make_napari_viewer, exercise_dir, qtbot) -> None:
    """Regression: the side-by-side view lost its layers when the scan switched."""
    from scanlab.enhance import load_preset
    from scanlab.napari_plugin._enhance import render
    from scanlab.napari_plugin._qt._util import grid_of, scan_ref_of

    viewer, widgets = create_viewer(exercise_dir, viewer=make_napari_viewer())
    inspect = widgets["Inspect"]
    inspect._left.value, inspect._right.value = "standard", "edges"
    with qtbot.waitSignal(inspect.compared, timeout=30000) as blocker:
        inspect._compare.value = True
    first = [viewer.layers[name] for name in blocker.args[0]]
    assert [layer.name for layer in first] == [f"{FIRST} [standard]", f"{FIRST} [edges]"]

    with qtbot.waitSignal(inspect.compared, timeout=30000) as blocker:
        _press(viewer, "PageDown")
    names = blocker.args[0]
    assert names == [f"{SECOND} [standard]", f"{SECOND} [edges]"]
    assert [viewer.layers[name] for name in names] == first  # the same layers, new scan
    assert grid_of(viewer).enabled
    assert [layer.name for layer in viewer.layers if layer.visible] == names
    high = viewer.layers[f"{SECOND} [high]"]
    scan = scan_ref_of(high).scan
    np.testing.assert_array_equal(first[1].data, render(scan, load_preset("edges")))

    inspect._compare.value = False  # the scan's own layers come back
    assert not grid_of(viewer).enabled
    assert high.visible and all(layer not in viewer.layers for layer in first)


def test_sign_in_title_wraps_to_a_narrow_dock(make_napari_viewer, tmp_path, qtbot) -> None:
    """Regression: the sign-in text kept a fixed width (half the dock, or cut off where the
    dock was narrower)."""
    from qtpy.QtCore import Qt

    from scanlab.exercises import ExamSpec, build_exam
    from scanlab.napari_plugin._launch import dock_of

    spec = ExamSpec(name="sign-in", seed=5, count=2, clean_share=0.5, pitch_mm=20.0, max_tries=1)
    path = build_exam(spec, tmp_path / "exam.zip", "the instructor's passphrase")
    viewer, widgets = create_viewer(path, viewer=make_napari_viewer(show=True))
    window = viewer.window._qt_window
    window.resize(1366, 768)
    title = widgets["Exercise"]._title.native
    assert "Sign in with your trainee id" in title.text()
    dock = dock_of(widgets["Exercise"])
    lines = []
    for width in (560, 330):
        window.resizeDocks([dock], [width], Qt.Orientation.Horizontal)
        qtbot.wait(150)
        inside = title.parentWidget().contentsRect().width()
        # As wide as the dock's content, and tall enough for every line at that width.
        assert title.width() >= inside - 30, (width, title.width(), inside)
        assert title.height() >= title.heightForWidth(title.width())
        lines.append(title.height() // title.fontMetrics().lineSpacing())
    assert 2 <= lines[0] < lines[1]  # narrower: more lines


def test_a_second_setup_docks_nothing_twice(make_napari_viewer, exercise_dir, qtbot) -> None:
    """Regression: create_viewer on a viewer that has the workstation added a second
    toolbar (and docks); the keys kept working on the first one only."""
    from qtpy.QtWidgets import QDockWidget, QToolBar

    viewer, widgets = create_viewer(None, viewer=make_napari_viewer())
    window = viewer.window._qt_window
    docks = len(window.findChildren(QDockWidget))
    again, widgets2 = create_viewer(exercise_dir, viewer=viewer)
    assert again is viewer and all(widgets2[name] is w for name, w in widgets.items())
    assert len([b for b in window.findChildren(QToolBar) if b.objectName() == "scanlab-tools"]) == 1
    assert len(window.findChildren(QDockWidget)) == docks
    assert widgets["Exercise"].session is not None  # the path opened in the same widgets

    # A toolbar added anew replaces the old one, and the keys drive the new one.
    from scanlab.napari_plugin._launch import add_toolbar

    old = widgets["Tools"]
    tools = add_toolbar(viewer, enhance=widgets["Enhance"])
    qtbot.wait(50)
    bars = [b for b in window.findChildren(QToolBar) if b.objectName() == "scanlab-tools"]
    assert len(bars) == 1
    _press(viewer, "F7")
    assert tools.magnifier.active and not old.magnifier.active
    _press(viewer, "F8")
    assert tools.zoom_box_active and not old.zoom_box_active
