"""Screenshots of the workstation on a 1366 x 768 screen: the toolbar, the magnifier, the zoom
box and the pitch warning (``docs/screenshots/workstation-*.png``).

Run from the repository root under a display of that size::

    xvfb-run -a -s "-screen 0 1366x768x24" .venv/bin/python \
        tests/napari_plugin/make_screenshots_view.py

Not a test (pytest does not collect it); it drives the same public widget methods the tests
use. ``make_screenshots.py`` takes those of each widget.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
SIZE = (1366, 768)


def main() -> int:
    # Beside this script, which runs as a script (pytest's importlib mode has no path).
    from _shots import close_toasts, settle, show_window, wait

    tmp = Path(tempfile.mkdtemp(prefix="scanlab-shots-"))
    os.environ["SCANLAB_PROGRESS_DIR"] = str(tmp / "progress")

    from scanlab.napari_plugin._launch import create_viewer, prefer_qt6

    prefer_qt6()

    from scanlab.napari_plugin._samples import sample_dataset_dir
    from scanlab.synth import SceneSpec, generate_scene, render_display

    OUT.mkdir(parents=True, exist_ok=True)
    source = sample_dataset_dir()
    exercise = tmp / "exercise"
    for sub in ("scans", "keys"):
        (exercise / sub).mkdir(parents=True)
    for item in ("sample-00002", "sample-00004"):
        shutil.copy(source / "scans" / f"{item}.npz", exercise / "scans")
        shutil.copy(source / "keys" / f"{item}.json", exercise / "keys")

    viewer, widgets = create_viewer(exercise)
    show_window(viewer, SIZE)

    def shoot(name: str) -> None:
        close_toasts()
        settle()
        image = viewer.screenshot(canvas_only=False, flash=False)
        Image.fromarray(np.asarray(image)).save(OUT / name)
        print(f"wrote {OUT / name} {np.asarray(image).shape[1::-1]}")

    settle()
    viewer.reset_view()
    enhance, tools = widgets["Enhance"], widgets["Tools"]
    scan_id = "sample-00002"
    wait(lambda: (r := enhance.last_render) is not None and r.stride == 1 and r.scan_id == scan_id)
    shoot("workstation-1366x768.png")

    # The magnifier (F7) over the first object of the scan's key, at 3x.
    from scanlab.synth import AnswerKey

    obj = AnswerKey.load(exercise / "keys" / f"{scan_id}.json").objects[0]
    pitch = viewer.layers[f"{scan_id} [high]"].scale[-2:]
    r0, c0, r1, c1 = obj.bbox
    centre_mm = (0.5 * (r0 + r1) * pitch[0], 0.5 * (c0 + c1) * pitch[1])
    camera = viewer.scene.camera
    size = viewer.window._qt_viewer.canvas.native.size()
    x = (centre_mm[1] - camera.center[-1]) * camera.zoom + size.width() / 2
    y = (centre_mm[0] - camera.center[-2]) * camera.zoom + size.height() / 2
    tools.magnifier.start()
    tools.magnifier.move_to((x, y))
    wait(lambda: tools.magnifier.visible)
    print(f"magnifier on {obj.threat_class} at canvas ({x:.0f}, {y:.0f})")
    shoot("workstation-magnifier.png")
    tools.magnifier.stop()

    # The zoom box being dragged over the container's front, then the view it gives.
    box_mm = (0.0, 1600.0, 4600.0, 7900.0)  # (row0, col0, row1, col1)
    viewer.reset_view()
    settle()
    camera = viewer.scene.camera
    size = viewer.window._qt_viewer.canvas.native.size()

    def on_canvas(row_mm: float, col_mm: float) -> tuple[float, float]:
        """Canvas (y, x) pixel of a world point: the zoom box overlay's coordinates."""
        return (
            (row_mm - camera.center[-2]) * camera.zoom + size.height() / 2,
            (col_mm - camera.center[-1]) * camera.zoom + size.width() / 2,
        )

    tools.start_zoom_box()
    overlays = viewer.canvas.overlays
    overlays._zoom_box.position = (on_canvas(*box_mm[:2]), on_canvas(*box_mm[2:]))
    overlays._zoom_box.visible = True
    shoot("workstation-zoom-box.png")
    tools.cancel_zoom_box()
    tools.zoom_to(box_mm)
    shoot("workstation-zoomed.png")

    # A bare 8-bit export with no pitch in it: the toolbar warns, with the container's
    # estimate in its tooltip.
    widgets["Exercise"].close_exercise()
    scan = generate_scene(SceneSpec("container_20ft", "tyres", 0.6, []), 3, pitch_mm=10.0).scan
    bare = tmp / "export.png"
    Image.fromarray(render_display(scan).data[0]).save(bare)
    viewer.open(bare, plugin="scanlab")
    wait(lambda: (r := enhance.last_render) is not None and r.stride == 1 and r.scan_id != scan_id)
    viewer.reset_view()
    print(f"pitch warning: {tools.pitch_warning}")
    shoot("workstation-pitch-warning.png")
    viewer.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
