"""Screenshots of the Exercise widget with results in each trainee language, for the docs:
``docs/screenshots/exercise-results-<lang>.png`` (Dari and Pashto right to left), the
Reference widget in Russian and Dari (``reference-threat-<lang>.png``), a class report
chart in Pashto (``report-by-class-ps.png``: Pashto's own letters joined), and the Open
dialog in Pashto (``open-dialog-ps.png``: Qt has no Pashto; the words are scanlab's).
``open-dialog`` as the argument takes the dialog's alone.

Run from the repository root under a display::

    xvfb-run -a -s "-screen 0 1920x1080x24" .venv/bin/python \\
        tests/napari_plugin/make_language_screenshots.py

Not a test (pytest does not collect it); ``test_languages.py`` checks the same widget states.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
SIZE = (1680, 980)
LANGS = ("ru", "ky", "fa", "ps")


def main() -> int:
    # Beside this script, which runs as a script (pytest's importlib mode has no path).
    from _shots import close_toasts, settle, show_window, wait

    tmp = Path(tempfile.mkdtemp(prefix="scanlab-shots-"))
    os.environ["SCANLAB_PROGRESS_DIR"] = str(tmp / "progress")

    from scanlab.napari_plugin._launch import prefer_qt6

    prefer_qt6()  # as scanlab gui does

    from scanlab.napari_plugin._launch import _raise_dock, create_viewer
    from scanlab.napari_plugin._qt._util import find_layer
    from scanlab.napari_plugin._samples import sample_dataset_dir
    from scanlab.synth import AnswerKey

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

    OUT.mkdir(parents=True, exist_ok=True)
    viewer, widgets = create_viewer(None, lang=LANGS[0])
    show_window(viewer, SIZE)

    panel = widgets["Exercise"]
    panel.open(exercise)
    enhance = widgets["Enhance"]

    def render() -> None:
        """The standard rendering of the shown scan (redrawn: showing a scan again, as a
        change of language after submitting does, removes the old one)."""
        enhance.last_render = None
        item = panel.session.item.item_id if panel.session else ""
        viewer.layers.selection.active = find_layer(viewer, f"{item} [high]")
        enhance.set_preset("material")  # a change of preset renders the scan anew
        enhance.set_preset("standard")
        wait(
            lambda: (
                (r := enhance.last_render) is not None and r.preset == "standard" and r.stride == 1
            )
        )
        viewer.layers.selection.active = panel.marks_layer

    render()
    marks = panel.marks_layer
    assert marks is not None and panel.session is not None
    item = panel.session.item.item_id
    target = AnswerKey.load(exercise / "keys" / f"{item}.json").objects[0]
    r0, c0, r1, c1 = target.bbox
    panel.set_class(target.threat_class)
    marks.add_rectangles(np.array([[r0 - 3, c0 - 3], [r1 + 2, c1 + 2]], dtype=float))
    panel.set_class("narcotics")
    marks.add_polygons(np.array([[150.0, 120.0], [150.0, 200.0], [210.0, 215.0], [215.0, 110.0]]))
    marks.selected_data = set()
    marks.mode = "pan_zoom"
    panel.set_verdict(True)
    panel.submit()

    def shoot(name: str) -> None:
        close_toasts()
        settle(1.0)
        image = viewer.screenshot(canvas_only=False, flash=False)
        Image.fromarray(np.asarray(image)).save(OUT / name)
        print(f"wrote {OUT / name}")

    reference = widgets["Reference"]
    for lang in LANGS:
        panel.set_language(lang)
        render()
        _raise_dock(panel)
        shoot(f"exercise-results-{lang}.png")
        if lang in ("ru", "fa"):  # the reference library below the scan, its words too
            _raise_dock(reference)
            reference.choose("threat", "cocaine_bricks")
            reference.show_chosen()
            wait(lambda: reference.reference is not None)
            shoot(f"reference-threat-{lang}.png")
            reference.remove()
    viewer.close()
    _pashto_report(tmp)
    _open_dialog(exercise)
    return 0


def _open_dialog(exercise: Path) -> None:
    """The Exercise widget's Open dialog in Pashto, over the exercise's folder."""
    from _shots import settle
    from qtpy.QtCore import QTimer

    from scanlab.napari_plugin._launch import create_viewer

    viewer, widgets = create_viewer(None, lang="ps")
    panel = widgets["Exercise"]

    def take() -> None:
        dialog = panel._dialog
        if dialog is None:
            QTimer.singleShot(50, take)
            return
        dialog.setDirectory(str(exercise / "scans"))
        dialog.selectNameFilter(dialog.nameFilters()[-1])  # scans with keys: files show
        dialog.resize(820, 460)
        settle(1.0)
        dialog.grab().save(str(OUT / "open-dialog-ps.png"))
        print(f"wrote {OUT / 'open-dialog-ps.png'}")
        dialog.reject()

    QTimer.singleShot(0, take)
    panel._choose_file()
    viewer.close()


def _pashto_report(tmp: Path) -> None:
    """A class report in Pashto: its chart of hit rates by class and concealment."""
    from scanlab.exercises import (
        ExamPackage,
        ExamSpec,
        build_exam,
        grade,
        simulate_trainee,
        write_report,
    )

    passphrase = "correct horse battery staple"
    exam = build_exam(
        ExamSpec(name="week-3", seed=11, count=6, clean_share=0.34, pitch_mm=20.0, max_tries=2),
        tmp / "week-3.zip",
        passphrase,
    )
    package = ExamPackage.open(exam)
    keys = package.keys(passphrase)
    subs = [
        simulate_trainee(package, b, seed=0, passphrase=keys)
        for b in ("perfect", "random", "misses:narcotics", "clicks_everywhere")
    ]
    write_report(grade(package, subs, keys), tmp / "report-ps", lang="ps")
    shutil.copy(tmp / "report-ps" / "by_class.png", OUT / "report-by-class-ps.png")
    print(f"wrote {OUT / 'report-by-class-ps.png'}")


if __name__ == "__main__":
    if sys.argv[1:] == ["open-dialog"]:
        from scanlab.napari_plugin._launch import prefer_qt6
        from scanlab.napari_plugin._samples import sample_dataset_dir

        prefer_qt6()

        _open_dialog(sample_dataset_dir())
        sys.exit(0)
    sys.exit(main())
