"""The viewer side of the trainee's workstation in ``scanlab gui``'s viewer: the next scan
shown in the same layers, a preset on every scan and its keys (run under xvfb-run)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from scanlab.io import read_scan
from scanlab.napari_plugin._launch import create_viewer

pytestmark = pytest.mark.napari

FIRST, SECOND = "sample-00000", "sample-00003"


def _press(viewer, key: str) -> None:
    handler = viewer.window._qt_viewer._key_map_handler
    handler.press_key(key)
    handler.release_key(key)


def _attenuation(exercise_dir: Path, scan_id: str) -> np.ndarray:
    """The high-energy attenuation of a scan file, as -ln(I/I0) from its recorded levels."""
    scan = read_scan(exercise_dir / "scans" / f"{scan_id}.npz")
    counts = scan.data[0].astype(np.float64)
    air, dark = scan.metadata.air_level[0], scan.metadata.dark_level[0]
    return -np.log(np.clip((counts - dark) / (air - dark), 0.5 / (air - dark), None))


def _wait_render(qtbot, enhance, scan_id: str, preset: str) -> None:
    qtbot.waitUntil(
        lambda: (
            (r := enhance.last_render) is not None
            and (r.scan_id, r.preset, r.stride) == (scan_id, preset, 1)
        ),
        timeout=30000,
    )


@pytest.fixture
def gui(make_napari_viewer, exercise_dir: Path):
    viewer, widgets = create_viewer(exercise_dir, viewer=make_napari_viewer())
    return viewer, widgets


def test_next_scan_is_shown_in_the_same_layers(gui, exercise_dir, qtbot) -> None:
    from scanlab.enhance import load_preset
    from scanlab.napari_plugin._enhance import render
    from scanlab.napari_plugin._qt._util import scan_ref_of

    viewer, widgets = gui
    enhance, exercise = widgets["Enhance"], widgets["Exercise"]
    _wait_render(qtbot, enhance, FIRST, "standard")
    high, enhanced = viewer.layers[f"{FIRST} [high]"], viewer.layers[f"{FIRST} [enhanced]"]
    marks = exercise.marks_layer
    marks.add_rectangles(np.array([[10.0, 10.0], [50.0, 80.0]]))
    ruler = viewer.add_shapes(  # an overlay of the first scan only: it goes with it
        [np.array([[0.0, 0.0], [0.0, 50.0]])],
        shape_type="line",
        name=f"{FIRST} [ruler]",
        metadata={"scanlab": scan_ref_of(high).with_role("ruler")},
    )
    removed: list[str] = []
    viewer.layers.events.removed.connect(lambda event: removed.append(event.value.name))

    _press(viewer, "PageDown")
    assert exercise.session.item.item_id == SECOND
    assert viewer.layers[f"{SECOND} [high]"] is high  # the same layer, another scan
    assert exercise.marks_layer is marks and len(marks.data) == 0
    assert removed == [ruler.name]
    assert not [layer.name for layer in viewer.layers if FIRST in layer.name]
    truth = _attenuation(exercise_dir, SECOND)
    np.testing.assert_allclose(high.data, truth, rtol=1e-4, atol=1e-4)
    # Display limits are the new scan's 0.5th and 99.5th percentiles.
    np.testing.assert_allclose(
        high.contrast_limits, np.percentile(truth, [0.5, 99.5]), rtol=1e-3, atol=1e-3
    )
    # The status bar reads the scan now shown, not the one the layer was made for.
    row, col = np.unravel_index(np.argmax(np.where(truth < 3, truth, 0)), truth.shape)
    assert abs(truth[row, col] - _attenuation(exercise_dir, FIRST)[row, col]) > 0.01
    status = high.get_status(high.data_to_world((row, col)), world=True)
    assert f"{truth[row, col]:.2f}" in status["value"]
    # The rendering follows: hidden until the preset has rendered the new scan into it.
    assert viewer.layers[f"{SECOND} [enhanced]"] is enhanced
    _wait_render(qtbot, enhance, SECOND, "standard")
    assert enhanced.visible
    scan = scan_ref_of(high).scan
    np.testing.assert_array_equal(enhanced.data[..., 1], render(scan, load_preset("standard")))
    assert removed == [ruler.name]

    _press(viewer, "PageUp")  # back: the first scan's marks come back into the same layer
    assert viewer.layers[f"{FIRST} [high]"] is high and len(marks.data) == 1
    np.testing.assert_allclose(high.data, _attenuation(exercise_dir, FIRST), rtol=1e-4, atol=1e-4)


def test_a_legible_preset_on_every_scan_and_a_key_for_each(gui, qtbot) -> None:
    from scanlab.napari_plugin._enhance import PRESET_KEYS

    viewer, widgets = gui
    enhance = widgets["Enhance"]
    _wait_render(qtbot, enhance, FIRST, "standard")  # by default, with no click
    assert viewer.layers[f"{FIRST} [enhanced]"].visible
    key = next(k for k, name in PRESET_KEYS.items() if name == "material")
    _press(viewer, key)
    _wait_render(qtbot, enhance, FIRST, "material")
    layer = viewer.layers[f"{FIRST} [enhanced]"]
    assert layer.rgb and not (layer.data[..., 0] == layer.data[..., 1]).all()  # in colour
    _press(viewer, "PageDown")  # the preset chosen stays for the next scan
    _wait_render(qtbot, enhance, SECOND, "material")
    enhance.set_preset(None)  # no preset: the channels as read
    assert not viewer.layers[f"{SECOND} [enhanced]"].visible
    _press(viewer, next(k for k, name in PRESET_KEYS.items() if name == "low_density"))
    _wait_render(qtbot, enhance, SECOND, "low_density")
    assert viewer.layers[f"{SECOND} [enhanced]"].visible


def test_no_preset_by_choice(make_napari_viewer, exercise_dir) -> None:
    viewer, widgets = create_viewer(exercise_dir, viewer=make_napari_viewer(), preset=None)
    assert widgets["Enhance"]._preset.value is None
    assert f"{FIRST} [enhanced]" not in viewer.layers


def _mouse(viewer, kind: str, world: tuple[float, float], screen: tuple[float, float]) -> None:
    """A mouse event through the viewer's and the selected layer's mouse bindings, as the
    canvas sends it (``screen``: canvas pixels (x, y); ``world``: (row, col) mm)."""
    from types import SimpleNamespace

    from napari.utils._proxies import ReadOnlyWrapper
    from napari.utils.interactions import (
        mouse_move_callbacks,
        mouse_press_callbacks,
        mouse_release_callbacks,
    )

    event = ReadOnlyWrapper(
        SimpleNamespace(
            type=kind,
            is_dragging=kind == "mouse_move",
            modifiers=[],
            position=tuple(world),
            pos=np.array(screen),
            view_direction=None,
            dims_displayed=[0, 1],
            button=1,
            handled=False,
            up_direction=None,
            delta=None,
            native=None,
        ),
        exceptions=("handled",),
    )
    callbacks = {
        "mouse_press": mouse_press_callbacks,
        "mouse_move": mouse_move_callbacks,
        "mouse_release": mouse_release_callbacks,
    }[kind]
    callbacks(viewer, event)
    layer = viewer.layers.selection.active
    if layer is not None:
        callbacks(layer, event)


def test_toolbar_zoom_box_and_preset_buttons(gui, qtbot) -> None:
    from scanlab.napari_plugin._qt._util import camera_of

    viewer, widgets = gui
    tools, exercise = widgets["Tools"], widgets["Exercise"]
    _wait_render(qtbot, widgets["Enhance"], FIRST, "standard")
    tools._presets["low_density"].native.click()
    _wait_render(qtbot, widgets["Enhance"], FIRST, "low_density")

    marks = exercise.marks_layer
    marks.mode = "add_rectangle"  # drawing marks: the zoom box must not draw one
    _press(viewer, "F8")
    assert tools.zoom_box_active
    start, end = (200.0, 1000.0), (1200.0, 3000.0)  # (row, col) mm
    _mouse(viewer, "mouse_press", start, (100.0, 40.0))
    _mouse(viewer, "mouse_move", (700.0, 2000.0), (200.0, 90.0))
    _mouse(viewer, "mouse_move", end, (300.0, 140.0))
    _mouse(viewer, "mouse_release", end, (300.0, 140.0))
    assert not tools.zoom_box_active and marks.mode == "add_rectangle"
    assert len(marks.data) == 0 and exercise.session.marks() == []
    camera = camera_of(viewer)
    np.testing.assert_allclose(camera.center[-2:], [700.0, 2000.0])
    size = viewer.window._qt_viewer.canvas.native.size()
    # 1,000 x 2,000 mm fills the canvas along the side that limits it.
    expected = min(size.height() / 1000.0, size.width() / 2000.0)
    assert camera.zoom == pytest.approx(expected)

    _press(viewer, "F8")  # F8 twice: no box, the marks tool back
    _press(viewer, "F8")
    assert not tools.zoom_box_active and marks.mode == "add_rectangle"
    _press(viewer, "F9")  # the whole scan again
    assert camera.zoom < expected


def test_pitch_warning_for_a_scan_without_metadata(make_napari_viewer, tmp_path, qtbot) -> None:
    from PIL import Image

    from scanlab.synth import SceneSpec, generate_scene, render_display

    # A bare 8-bit export of a 20 ft container simulated at 10 mm: no pitch in the file.
    scan = generate_scene(SceneSpec("container_20ft", "tyres", 0.6, []), 3, pitch_mm=10.0).scan
    Image.fromarray(render_display(scan).data[0]).save(tmp_path / "bare.png")
    viewer, widgets = create_viewer(tmp_path / "bare.png", viewer=make_napari_viewer())
    tools = widgets["Tools"]
    warning = tools.pitch_warning
    assert warning.startswith("No pitch in this scan's metadata: sizes assume 5 x 5 mm")
    assert "20 ft standard container" in warning
    measured = [float(v) for v in warning.split("--pitch ")[1].split(" ")[0].split(",")]
    np.testing.assert_allclose(measured, [10.0, 10.0], atol=0.3)
    assert tools._pitch.value and not tools._pitch.native.isHidden()
    # The default preset's rendering is named after the file, as the channel is, not after
    # its whole path.
    qtbot.waitUntil(lambda: any(layer.name.endswith("[enhanced]") for layer in viewer.layers))
    assert {layer.name for layer in viewer.layers} >= {"bare", "bare [enhanced]"}

    # A scan that records its pitch: no warning.
    from scanlab.io import write_scan

    path = write_scan(scan, tmp_path / "with-metadata.npz")[0]
    viewer.layers.clear()
    viewer.open(path, plugin="scanlab")
    assert tools.pitch_warning == "" and tools._pitch.native.isHidden()


SCREEN = (1366, 768)


def _fits_the_screen(viewer, qtbot) -> None:
    """The window resized to the screen stays that size (no minimum size forces it larger),
    the canvas keeps most of it, and the dock shown needs no sideways scrolling."""
    from qtpy.QtWidgets import QDockWidget, QScrollArea

    window = viewer.window._qt_window
    window.resize(*SCREEN)
    qtbot.wait(100)
    hint = window.minimumSizeHint()
    assert hint.width() <= SCREEN[0] and hint.height() <= SCREEN[1]
    assert (window.width(), window.height()) == SCREEN
    canvas = viewer.window._qt_viewer.canvas.native.size()
    assert canvas.width() >= 600 and canvas.height() >= 500
    for dock in window.findChildren(QDockWidget):
        area = dock.findChild(QScrollArea)
        if area is not None and area.isVisible():
            assert not area.horizontalScrollBar().isVisible(), dock.windowTitle()


def test_the_workstation_fits_a_1366_x_768_screen(make_napari_viewer, exercise_dir, qtbot):
    from scanlab.napari_plugin._launch import _raise_dock

    viewer, widgets = create_viewer(exercise_dir, viewer=make_napari_viewer(show=True))
    exercise = widgets["Exercise"]
    _fits_the_screen(viewer, qtbot)
    for name in ("Enhance", "Inspect", "Detector assist", "Exercise", "Reference"):
        _raise_dock(widgets[name])
        _fits_the_screen(viewer, qtbot)
    widgets["Enhance"].set_preset("material")  # the preset with the most controls
    _raise_dock(widgets["Enhance"])
    _fits_the_screen(viewer, qtbot)
    _raise_dock(exercise)
    exercise.check_item()  # practice feedback shown
    _fits_the_screen(viewer, qtbot)
    exercise.submit()  # the whole exercise's results
    assert exercise._results.visible
    _fits_the_screen(viewer, qtbot)
