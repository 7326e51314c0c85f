"""Screenshots of each widget in use, for the docs: ``docs/screenshots/*.png``.

Run from the repository root under a display::

    xvfb-run -a -s "-screen 0 1920x1080x24" .venv/bin/python tests/napari_plugin/make_screenshots.py

Not a test (pytest does not collect it); it drives the same public widget methods the tests
use. The detector screenshot needs trained weights in ``models/``; without them it is skipped.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
SIZE = (1680, 980)


def main() -> int:
    # Beside this script, which runs as a script (pytest's importlib mode has no path).
    import os

    from _shots import close_toasts, settle, show_window, wait

    tmp = Path(tempfile.mkdtemp(prefix="scanlab-shots-"))
    os.environ["SCANLAB_PROGRESS_DIR"] = str(tmp / "progress")

    from scanlab.napari_plugin._assist import default_detector, detector_names
    from scanlab.napari_plugin._launch import _raise_dock, create_viewer
    from scanlab.napari_plugin._samples import sample_dataset_dir
    from scanlab.synth import AnswerKey

    OUT.mkdir(parents=True, exist_ok=True)
    viewer, widgets = create_viewer(None)
    show_window(viewer, SIZE)

    def shoot(name: str, dock: str) -> None:
        _raise_dock(widgets[dock])
        close_toasts()
        settle()
        image = viewer.screenshot(canvas_only=False, flash=False)
        Image.fromarray(np.asarray(image)).save(OUT / name)
        print(f"wrote {OUT / name}")

    # Enhance: material colouring of a dual-energy container scan.
    viewer.open_sample("scanlab", "sample_2")
    scan_id = "sample-00002"
    viewer.layers.selection.active = viewer.layers[f"{scan_id} [high]"]
    enhance = widgets["Enhance"]
    enhance.set_preset("material")
    wait(
        lambda: (r := enhance.last_render) is not None and r.preset == "material" and r.stride == 1
    )
    viewer.reset_view()
    shoot("enhance-material.png", "Enhance")
    enhance.set_preset("density_highlight")
    enhance.set_param("band", (2.0, 4.5))
    wait(lambda: (r := enhance.last_render) is not None and r.preset == "density_highlight")
    wait(lambda: enhance.last_render is not None and enhance.last_render.stride == 1)
    shoot("enhance-density-band.png", "Enhance")

    # Inspect: readout under the cursor, a ruler across the container, then side by side.
    inspect = widgets["Inspect"]
    viewer.layers[f"{scan_id} [enhanced]"].visible = False
    viewer.layers.selection.active = viewer.layers[f"{scan_id} [high]"]
    ruler = inspect.add_ruler()
    assert ruler is not None
    ruler.add_lines(np.array([[95.0, 60.0], [95.0, 1215.0]]))
    ruler.add_lines(np.array([[60.0, 1300.0], [262.0, 1300.0]]))
    inspect.update_ruler()
    ruler.mode = "pan_zoom"
    viewer.layers.selection.active = viewer.layers[f"{scan_id} [high]"]
    viewer.mouse_over_canvas = True
    viewer.cursor.position = (1800.0, 7000.0)
    settle(1.0)
    shoot("inspect-ruler-readout.png", "Inspect")
    inspect._left.value, inspect._right.value = "standard", "material"
    inspect._compare.value = True
    wait(lambda: bool(inspect._compare_layers))
    shoot("inspect-side-by-side.png", "Inspect")
    inspect._compare.value = False

    # Detector assist (only with trained weights: a stand-in would mislead).
    names = detector_names()
    if names:
        assist = widgets["Detector assist"]
        assist._model.value = default_detector(names)
        assist.run()
        wait(lambda: assist.result is not None, timeout=300)
        shoot("detector-assist.png", "Detector assist")
    else:
        print("no trained detector in models/: detector screenshot skipped")

    # Exercise: three sample scans with keys and their declarations, in the standard view.
    for layer in list(viewer.layers):
        viewer.layers.remove(layer)
    source = sample_dataset_dir()
    exercise = tmp / "exercise"
    for sub in ("scans", "keys", "declarations"):
        (exercise / sub).mkdir(parents=True)
    for item in ("sample-00003", "sample-00000", "sample-00004"):
        shutil.copy(source / "scans" / f"{item}.npz", exercise / "scans")
        shutil.copy(source / "keys" / f"{item}.json", exercise / "keys")
        declaration = AnswerKey.load(source / "keys" / f"{item}.json").declaration
        assert declaration is not None
        (exercise / "declarations" / f"{item}.declaration.json").write_text(
            json.dumps(declaration.to_dict())
        )
    panel = widgets["Exercise"]
    panel.open(exercise)
    enhance.set_preset("standard")
    wait(
        lambda: (r := enhance.last_render) is not None and r.preset == "standard" and r.stride == 1
    )
    marks = panel.marks_layer
    assert marks is not None
    # One mark on the first hidden object (found), one on plain cargo (a false alarm).
    item = panel.session.item.item_id if panel.session else ""
    target = AnswerKey.load(exercise / "keys" / f"{item}.json").objects[0]
    r0, c0, r1, c1 = target.bbox
    panel.set_class(target.threat_class)
    marks.add_rectangles(np.array([[r0 - 3, c0 - 3], [r1 + 2, c1 + 2]], dtype=float))
    panel.set_class("narcotics")
    marks.add_polygons(np.array([[150.0, 120.0], [150.0, 200.0], [210.0, 215.0], [215.0, 110.0]]))
    marks.selected_data = set()
    marks.mode = "pan_zoom"
    panel.set_verdict(True)
    shoot("exercise-marking.png", "Exercise")
    panel.submit()
    settle()
    shoot("exercise-results.png", "Exercise")
    viewer.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
