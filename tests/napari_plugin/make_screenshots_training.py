"""Screenshots of the training steps of the workstation, for the docs: the clear/suspect call
in an exam, the sign-in of a sealed package with its scan code, the reference library below
the scan, and the class report's ROC from ratings (``docs/screenshots/*.png``).

Run from the repository root under a display::

    xvfb-run -a -s "-screen 0 1920x1080x24" \\
        .venv/bin/python tests/napari_plugin/make_screenshots_training.py

Not a test (pytest does not collect it); it drives the same public widget methods the tests
use. make_screenshots.py takes the others.
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

    from scanlab.napari_plugin._launch import prefer_qt6

    prefer_qt6()  # as scanlab gui does

    from scanlab.exercises import (
        ExamPackage,
        ExamSpec,
        build_exam,
        grade,
        simulate_trainee,
        write_report,
    )
    from scanlab.napari_plugin._launch import _raise_dock, create_viewer
    from scanlab.napari_plugin._samples import sample_dataset_dir
    from scanlab.synth import AnswerKey, write_simulated_hosts

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

    panel, reference = widgets["Exercise"], widgets["Reference"]

    # Reference library: practice on the sample scans with their declarations.
    source = sample_dataset_dir()
    exercise = tmp / "exercise"
    for sub in ("scans", "keys", "declarations"):
        (exercise / sub).mkdir(parents=True)
    for item in ("sample-00000", "sample-00003", "sample-00004"):
        shutil.copy(source / "scans" / f"{item}.npz", exercise / "scans")
        shutil.copy(source / "keys" / f"{item}.json", exercise / "keys")
        declaration = AnswerKey.load(source / "keys" / f"{item}.json").declaration
        assert declaration is not None
        (exercise / "declarations" / f"{item}.declaration.json").write_text(
            json.dumps(declaration.to_dict())
        )
    panel.open(exercise)
    _raise_dock(reference)
    reference.choose("threat", "cocaine_bricks")
    reference.show_chosen()
    wait(lambda: reference.reference is not None and reference.reference.name == "cocaine_bricks")
    shoot("reference-threat.png", "Reference")
    reference._kind.value = "commodity"
    reference.set_declaration(panel.session.item.declaration if panel.session else None)
    reference.show_chosen()
    wait(lambda: reference.reference is not None and reference.reference.kind == "commodity")
    shoot("reference-declared-goods.png", "Reference")
    reference.remove()
    panel.close_exercise()

    # A sealed exam (confidential real scans): the sign-in asks the scan code.
    hosts = write_simulated_hosts(tmp / "hosts", 2, seed=2, blur_px=1.0)
    passphrase = "the instructor's passphrase"
    sealed = build_exam(
        ExamSpec(
            name="site-exam",
            seed=3,
            count=2,
            clean_share=0.5,
            pitch_mm=25.0,
            max_tries=4,
            hosts={"paths": [str(hosts[0].parent)], "share": 1.0, "confidential": True},
        ),
        tmp / "site-exam.zip",
        passphrase,
    )
    package = ExamPackage.open(sealed)
    keys = package.keys(passphrase)
    panel.open(sealed)
    panel._trainee.value, panel._token.value = "ana", keys.token("ana")
    panel._fingerprint.value = package.fingerprint
    panel._scan_code.value = keys.scan_code()
    shoot("exam-sign-in-scan-code.png", "Exercise")
    panel.close_exercise()

    # The exam asks the clear/suspect call with confidence (no check, no results).
    exam = build_exam(
        ExamSpec(name="week-3", seed=11, count=3, clean_share=0.34, pitch_mm=20.0, max_tries=2),
        tmp / "week-3.zip",
        passphrase,
    )
    package = ExamPackage.open(exam)
    keys = package.keys(passphrase)
    panel.open(exam)
    panel._trainee.value, panel._token.value = "ana", keys.token("ana")
    panel._fingerprint.value = package.fingerprint
    panel.start_exam()
    panel.set_decision(True, 3)
    shoot("exam-call-confidence.png", "Exercise")
    panel.close_exercise()
    viewer.close()

    # The class report's ROC from ratings (simulated trainees of known behaviour).
    subs = [
        simulate_trainee(package, b, seed=0, passphrase=keys)
        for b in ("perfect", "random", "misses:narcotics", "clicks_everywhere")
    ]
    write_report(grade(package, subs, keys), tmp / "report")
    shutil.copy(tmp / "report" / "rating_roc.png", OUT / "report-rating-roc.png")
    print(f"wrote {OUT / 'report-rating-roc.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
