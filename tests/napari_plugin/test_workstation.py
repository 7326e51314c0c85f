"""The trainee's workstation as a trainee meets it: the Exercise widget docked in
``scanlab gui``'s viewer, driven by keys and clicks (run under xvfb-run)."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from scanlab.napari_plugin._launch import create_viewer, dock_of

pytestmark = pytest.mark.napari

FIRST, SECOND = "sample-00000", "sample-00003"


def _press(viewer, key: str) -> None:
    """A key pressed on the canvas: napari asks the selected layer, then the viewer."""
    handler = viewer.window._qt_viewer._key_map_handler
    handler.press_key(key)
    handler.release_key(key)


@pytest.fixture
def gui(make_napari_viewer, exercise_dir: Path):
    """``scanlab gui exercise_dir``: the viewer with every widget docked, the exercise open."""
    viewer, widgets = create_viewer(exercise_dir, viewer=make_napari_viewer())
    return viewer, widgets["Exercise"]


def _click(layer, row: float, col: float, kind: str = "mouse_press") -> None:
    """A mouse event at scan pixel (row, col) through the layer's mouse bindings."""
    from napari.utils._proxies import ReadOnlyWrapper
    from napari.utils.interactions import (
        mouse_move_callbacks,
        mouse_press_callbacks,
        mouse_release_callbacks,
    )

    position = layer.data_to_world((row, col))
    event = ReadOnlyWrapper(
        SimpleNamespace(
            type=kind,
            is_dragging=False,
            modifiers=[],
            position=tuple(position),
            pos=np.array([col, row]),
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
    callbacks(layer, event)


def _draw_polygon(layer, vertices) -> None:
    """Click each vertex in the polygon tool, then finish the shape as Escape does."""
    layer.mode = "add_polygon"
    for row, col in vertices:
        _click(layer, row, col, "mouse_move")
        _click(layer, row, col, "mouse_press")
        _click(layer, row, col, "mouse_release")
    layer._finish_drawing()


@pytest.fixture(scope="module")
def exam(tmp_path_factory):
    """A two-scan exam package, its passphrase, fingerprint and ana's token."""
    from scanlab.exercises import ExamPackage, ExamSpec, build_exam

    folder = tmp_path_factory.mktemp("exam")
    spec = ExamSpec(name="sign-in", seed=5, count=2, clean_share=0.5, pitch_mm=20.0, max_tries=1)
    passphrase = "the instructor's passphrase"
    path = build_exam(spec, folder / "exam.zip", passphrase)
    package = ExamPackage.open(path)
    keys = package.keys(passphrase)
    return SimpleNamespace(
        path=path,
        passphrase=passphrase,
        fingerprint=package.fingerprint,
        token=keys.token("ana"),
        spec=spec,
    )


def _saved_verdicts(session) -> dict[str, object]:
    doc = json.loads((session.folder / "state.json").read_text())
    return {k: v["declaration_consistent"] for k, v in doc["items"].items()}


# --- bugs -----------------------------------------------------------------------------------


def test_declaration_verdict_stays_with_its_scan(gui, exercise_dir) -> None:
    viewer, widget = gui
    session = widget.session
    widget.set_verdict(True)  # "consistent" on scan 1
    _press(viewer, "PageDown")
    assert session.item.item_id == SECOND
    assert widget._verdict.value == "not answered"
    assert _saved_verdicts(session) == {FIRST: True, SECOND: None, "sample-00004": None}
    widget.set_verdict(False)
    _press(viewer, "PageUp")
    assert widget._verdict.value == "consistent"
    assert _saved_verdicts(session) == {FIRST: True, SECOND: False, "sample-00004": None}
    _press(viewer, "PageDown")
    _press(viewer, "PageDown")  # a scan never answered stays unanswered
    assert _saved_verdicts(session)["sample-00004"] is None

    # After a crash: the saved work is restored without any answer moving.
    widget.close_exercise()
    _viewer, widgets2 = create_viewer(exercise_dir, viewer=viewer)
    restored = widgets2["Exercise"].session
    assert restored is not None and restored.item.item_id == "sample-00004"
    assert widgets2["Exercise"]._verdict.value == "not answered"
    assert _saved_verdicts(restored) == {FIRST: True, SECOND: False, "sample-00004": None}


def test_saved_label_counts_the_shown_scans_marks(gui) -> None:
    viewer, widget = gui
    marks = widget.marks_layer
    marks.add_rectangles(np.array([[10.0, 10.0], [50.0, 80.0]]))
    marks.add_rectangles(np.array([[60.0, 10.0], [90.0, 80.0]]))
    assert widget._saved.value.startswith("2 mark(s)")
    _press(viewer, "PageDown")
    assert widget._saved.value.startswith("0 mark(s)")
    _press(viewer, "PageUp")
    assert widget._saved.value.startswith("2 mark(s)")


def test_polygon_with_too_few_vertices_is_not_a_mark(gui) -> None:
    _viewer, widget = gui
    marks = widget.marks_layer
    marks.add_rectangles(np.array([[10.0, 10.0], [50.0, 80.0]]))
    _draw_polygon(marks, [(5.0, 5.0), (5.0, 40.0)])  # finished after two clicks
    assert len(marks.data) == 1 and len(marks.features) == 1
    assert [m.mark_id for m in widget.session.marks()] == ["m1"]
    _draw_polygon(marks, [(60.0, 10.0), (60.0, 40.0), (90.0, 20.0)])
    assert len(marks.data) == 2
    assert [m.shape for m in widget.session.marks()] == ["rectangle", "polygon"]


def test_class_keys_work_whatever_layer_is_selected_and_ctrl_z_undoes(gui) -> None:
    from scanlab.synth import THREAT_CLASSES

    viewer, widget = gui
    marks = widget.marks_layer
    viewer.layers.selection.active = viewer.layers[f"{FIRST} [high]"]
    _press(viewer, f"Alt-{THREAT_CLASSES.index('weapon') + 1}")
    assert widget._class.value == "weapon"
    viewer.layers.selection.active = marks
    _press(viewer, f"Alt-{THREAT_CLASSES.index('cash') + 1}")
    assert widget._class.value == "cash"

    marks.add_rectangles(np.array([[10.0, 10.0], [50.0, 80.0]]))
    marks.add_rectangles(np.array([[60.0, 10.0], [90.0, 80.0]]))
    marks.selected_data = {0}
    widget.set_class("narcotics")
    marks.selected_data = set()
    session = widget.session
    assert [m.threat_class for m in session.marks()] == ["narcotics", "cash"]
    _press(viewer, "Control-Z")  # the re-classing
    assert [m.threat_class for m in session.marks()] == ["cash", "cash"]
    assert list(marks.features["threat_class"]) == ["cash", "cash"]
    _press(viewer, "Control-Z")  # the second rectangle
    assert len(marks.data) == 1 and [m.mark_id for m in session.marks()] == ["m1"]
    np.testing.assert_allclose(marks.data[0][[0, 2]], [[10.0, 10.0], [50.0, 80.0]])
    _press(viewer, "Control-Z")
    assert len(marks.data) == 0 and session.marks() == []
    _press(viewer, "Control-Z")  # nothing left to undo
    assert len(marks.data) == 0
    marks.add_rectangles(np.array([[10.0, 10.0], [50.0, 80.0]]))  # drawing goes on after undo
    assert [m.mark_id for m in session.marks()] == ["m1"] and widget._saved.value.startswith("1")


def _on(widget) -> bool:
    """Not hidden (``visible`` also needs the window on screen, which tests do not show)."""
    return not widget.native.isHidden()


def _scan_layers(viewer) -> list[str]:
    return [layer.name for layer in viewer.layers]


def test_exam_asks_who_answers_before_the_first_scan(make_napari_viewer, exam, tmp_path) -> None:
    from scanlab.exercises import ExamPackage, Submission, grade

    viewer, widgets = create_viewer(exam.path, viewer=make_napari_viewer())
    widget = widgets["Exercise"]
    assert widget.session is None and _scan_layers(viewer) == []  # nothing shown, no clock
    assert _on(widget._sign_in) and widget._trainee.value == ""

    def refused(match: str) -> None:
        assert widget.start_exam() is None and widget.session is None
        assert match in widget._sign_in_note.value and _scan_layers(viewer) == []

    widget._token.value = exam.token
    widget._fingerprint.value = exam.fingerprint
    refused("type your trainee id")
    widget._trainee.value = "ben"  # ana's token
    refused("not the one issued to trainee 'ben'")
    widget._trainee.value = "ana"
    widget._token.value = exam.token[:-1] + ("A" if exam.token[-1] != "A" else "B")
    refused("not the one issued to trainee 'ana'")
    widget._token.value = exam.token
    widget._fingerprint.value = "0000-0000-0000-0000-0000"
    refused("not the instructor's")
    widget._fingerprint.value = exam.fingerprint.lower()

    session = widget.start_exam()
    assert session is not None and session.source.trainee_id == "ana"
    assert not _on(widget._sign_in) and f"{session.item.item_id} [your marks]" in viewer.layers
    # The exam asks the call on each scan too, with nothing to check it against.
    assert _on(widget._decision) and _on(widget._confidence) and not _on(widget._check)
    first, second = (it.item_id for it in session.items)
    widget.set_decision(True, 3)
    _press(viewer, "PageDown")
    assert widget._decision.value == "not decided"
    widget.set_decision(False, 1)
    widget.submit()  # graded by the instructor: no results here, the submission is signed
    sub_path = session.folder / "submission.json"
    sub = Submission.load(sub_path, exam.token, package=ExamPackage.open(exam.path))
    assert sub.trainee_id == "ana"
    assert (sub.responses[first].rating, sub.responses[second].rating) == (3, -1)
    graded = grade(ExamPackage.open(exam.path), [sub_path], exam.passphrase)
    assert [t.trainee_id for t in graded.trainees] == ["ana"]
    assert [it.rating for it in graded.trainees[0].items] == [3, -1]
    # One clean scan and one with an object: the ROC from two ratings, by hand.
    clean = [it.clean for it in graded.trainees[0].items]
    assert sorted(clean) == [False, True]
    expected_area = 1.0 if clean == [False, True] else 0.0
    assert graded.trainees[0].ratings.area == expected_area


def test_pinned_fingerprint_refuses_a_resigned_package(make_napari_viewer, exam, tmp_path):
    from scanlab.exercises import build_exam

    resigned = build_exam(exam.spec, tmp_path / "resigned.zip", "someone else's passphrase")
    viewer = make_napari_viewer()
    _viewer, widgets = create_viewer(resigned, viewer=viewer, fingerprint=exam.fingerprint)
    assert widgets["Exercise"].session is None and not _on(widgets["Exercise"]._sign_in)
    _viewer, widgets = create_viewer(exam.path, viewer=viewer, fingerprint=exam.fingerprint)
    widget = widgets["Exercise"]
    assert _on(widget._sign_in) and not widget._fingerprint.enabled
    widget._trainee.value, widget._token.value = "ana", exam.token
    assert widget.start_exam() is not None


def test_wrong_passphrase_is_refused_at_open_not_at_submit(make_napari_viewer, exam) -> None:
    viewer = make_napari_viewer()
    _viewer, widgets = create_viewer(viewer=viewer)
    widget = widgets["Exercise"]
    widget._open_reporting(exam.path, trainee_id="ana", passphrase="not the passphrase at all")
    assert widget.session is None and _scan_layers(viewer) == []
    session = widget.open(exam.path, trainee_id="ana", passphrase=exam.passphrase)
    result = widget.submit()
    assert result is not None and result.submission is not None and result.submission.is_file()
    assert session.submitted is not None


def test_open_and_drop_read_scans_with_scanlab(make_napari_viewer, tmp_path, dual_scan, qtbot):
    from napari.settings import get_settings
    from typer.testing import CliRunner

    from scanlab.cli import app
    from scanlab.io import write_scan

    tif = write_scan(dual_scan, tmp_path / "scan.tif")[0]
    npy = write_scan(dual_scan, tmp_path / "scan.npy")[0]
    damaged = tmp_path / "damaged.tif"
    damaged.write_bytes(tif.read_bytes()[:300])
    errors: list[str] = []
    import scanlab.napari_plugin._reader as reader

    viewer, _widgets = create_viewer(viewer=make_napari_viewer())
    original = reader._notify_error
    reader._notify_error = errors.append
    try:
        # What File > Open and a drop call: no plugin named; napari's reader is not offered.
        for path in (tif, npy, damaged):
            viewer.window._qt_viewer._qt_open([str(path)], stack=False)
    finally:
        reader._notify_error = original
    scan_id = dual_scan.metadata.scan_id
    high = [layer for layer in viewer.layers if layer.name.startswith(f"{scan_id} [high]")]
    assert len(high) == 2 and all(tuple(layer.scale) == (5.0, 5.0) for layer in high)
    said = CliRunner().invoke(app, ["info", str(damaged)]).output
    (message,) = errors
    assert (
        "refused" not in message
        and message.split(": ", 1)[1].split()[:6] == (said.split("error: ", 1)[1].split()[:6])
    )

    before = dict(get_settings().plugins.extension2reader)
    assert before["*.tif"] == "scanlab"
    viewer.close()
    qtbot.waitUntil(lambda: "*.tif" not in get_settings().plugins.extension2reader)


# --- exam discipline ----------------------------------------------------------------------


def _answer_question(widget, *, yes: bool, seen: list[str]) -> None:
    """Answer the confirmation box the widget is about to show (it is modal)."""
    from qtpy.QtCore import QTimer
    from qtpy.QtWidgets import QMessageBox

    def click() -> None:
        box = widget._question
        if box is None:
            QTimer.singleShot(20, click)
            return
        seen.append(box.text())
        buttons = QMessageBox.StandardButton
        box.button(buttons.Yes if yes else buttons.No).click()

    QTimer.singleShot(0, click)


def test_exam_mode_confirmation_and_time_limits(make_napari_viewer, exam, monkeypatch) -> None:
    import scanlab.napari_plugin._exercise as exercise

    now = [1000.0]
    monkeypatch.setattr(exercise.time, "monotonic", lambda: now[0])
    viewer, widgets = create_viewer(exam.path, viewer=make_napari_viewer())
    widget, assist = widgets["Exercise"], widgets["Detector assist"]
    qt_viewer = viewer.window._qt_viewer
    widget._trainee.value, widget._token.value = "ana", exam.token
    widget._fingerprint.value = exam.fingerprint
    now[0] += 30.0  # the sign-in is not timed
    session = widget.start_exam()
    first, second = (it.item_id for it in session.items)
    limit = session.items[0].time_limit_s
    assert widget.mode == "exam" and not assist.enabled
    assert qt_viewer.dockLayerList.isHidden() and qt_viewer.dockLayerControls.isHidden()
    assert dock_of(assist).isHidden()
    assert session.time_spent_s() == 0.0

    seen: list[str] = []
    _answer_question(widget, yes=False, seen=seen)
    _press(viewer, "Control-Enter")
    assert session.submitted is None
    (question,) = seen
    assert f"Not visited: 1 scan(s): {second}" in question
    assert f"No marks: 2 scan(s): {first}, {second}" in question
    assert f"Declaration not answered: 2 scan(s): {first}, {second}" in question
    assert f"No clear/suspect call: 2 scan(s): {first}, {second}" in question

    widget.set_verdict(True)
    now[0] += limit - 5.0
    widget._tick()
    assert "color:#e74c3c" in widget._clock.value  # the warning before the end
    now[0] += 6.0
    widget._tick()  # the first scan's time is up: locked, the next one is shown
    assert session.item.item_id == second and session.out_of_time(first)
    assert session.time_spent_s(second) == 0.0
    widget.set_verdict(False)
    now[0] += limit + 1.0
    widget._tick()  # no scan has time left: handed in
    assert session.submitted is not None and (session.folder / "submission.json").is_file()
    assert session.declaration_answer(first) is True and session.declaration_answer(second) is False

    widget.close_exercise()  # practice gives the tools back
    assert widget.mode == "" and assist.enabled and not qt_viewer.dockLayerList.isHidden()


def test_exam_shows_detector_assist_only_to_the_trainees_assigned_it(
    make_napari_viewer, tmp_path
) -> None:
    """A package built with ``assisted: [ana]``: ana's exam has Detector assist, ben's not;
    the layer controls stay hidden for both."""
    from scanlab.exercises import ExamPackage, ExamSpec, build_exam

    spec = ExamSpec(
        name="assist",
        seed=5,
        count=2,
        clean_share=0.5,
        pitch_mm=20.0,
        max_tries=1,
        assisted=["ana"],
    )
    passphrase = "the instructor's passphrase"
    path = build_exam(spec, tmp_path / "exam.zip", passphrase)
    package = ExamPackage.open(path)
    keys = package.keys(passphrase)
    viewer, widgets = create_viewer(
        path, viewer=make_napari_viewer(), fingerprint=package.fingerprint
    )
    widget, assist = widgets["Exercise"], widgets["Detector assist"]
    qt_viewer = viewer.window._qt_viewer
    shown = {}
    for trainee in ("ana", "ben"):
        widget.open(path, fingerprint=package.fingerprint)  # back to the sign-in
        widget._trainee.value, widget._token.value = trainee, keys.token(trainee)
        assert widget.start_exam() is not None and widget.mode == "exam"
        assert qt_viewer.dockLayerList.isHidden() and qt_viewer.dockLayerControls.isHidden()
        shown[trainee] = (assist.enabled, not dock_of(assist).isHidden(), widget.assist)
    assert shown == {"ana": (True, True, True), "ben": (False, False, False)}


def test_exam_records_detector_assist_as_used(
    make_napari_viewer, qtbot, tmp_path, monkeypatch, stub_detector
) -> None:
    """An assigned trainee runs Detector assist: each run, and the seconds its map or regions
    are on screen over each scan (hidden by its check boxes, taken away with the scan), go
    into the signed submission."""
    import scanlab.napari_plugin._exercise as exercise
    from scanlab.exercises import ExamPackage, ExamSpec, Submission, build_exam

    spec = ExamSpec(
        name="assist", seed=5, count=2, clean_share=0.5, pitch_mm=20.0, assisted=["ana"]
    )
    passphrase = "the instructor's passphrase"
    path = build_exam(spec, tmp_path / "exam.zip", passphrase)
    package = ExamPackage.open(path)
    keys = package.keys(passphrase)
    now = [1000.0]
    monkeypatch.setattr(exercise.time, "monotonic", lambda: now[0])
    viewer, widgets = create_viewer(
        path, viewer=make_napari_viewer(), fingerprint=package.fingerprint
    )
    widget, assist = widgets["Exercise"], widgets["Detector assist"]
    assist._loader = lambda name: stub_detector
    assist._follow.value = False  # runs only when the trainee asks, so the count is hers
    widget._trainee.value, widget._token.value = "ana", keys.token("ana")
    session = widget.start_exam()
    first, second = (it.item_id for it in session.items)
    now[0] += 4.0  # looking without it
    with qtbot.waitSignal(assist.finished, timeout=20000):
        assist.run()
    qtbot.waitUntil(lambda: not assist.busy, timeout=5000)
    now[0] += 7.0  # map and regions on screen
    assist._overlay.value = False
    now[0] += 3.0  # the regions alone
    assist._boxes.value = False
    now[0] += 5.0  # neither
    assist._overlay.value = True
    now[0] += 2.0
    widget.next_item()  # the detector's layers stay, hidden until it reads the new scan
    now[0] += 6.0
    assert session.assist_use(first) == (1, 12.0) and session.assist_use(second) == (0, 0.0)
    assert not any(layer.visible for layer in viewer.layers if "[anomaly map]" in layer.name)
    widget.submit()
    sub = Submission.load(session.folder / "submission.json", keys, package=package)
    assert (sub.responses[first].assist_runs, sub.responses[first].assist_visible_s) == (1, 12.0)
    assert (sub.responses[second].assist_runs, sub.responses[second].assist_used) == (0, False)


def test_practice_keeps_detector_and_layer_controls(gui) -> None:
    viewer, widget = gui
    qt_viewer = viewer.window._qt_viewer
    assert widget.mode == "practice"
    assert not qt_viewer.dockLayerList.isHidden() and not qt_viewer.dockLayerControls.isHidden()


# --- training value -----------------------------------------------------------------------


def test_practice_call_with_confidence_then_feedback_and_zoom_to_the_miss(gui, found_box):
    from scanlab.napari_plugin._qt._util import camera_of
    from scanlab.synth import AnswerKey

    viewer, widget = gui
    corners, _cls = found_box(FIRST, 0)
    missed = found_box(FIRST, 1)[0]
    assert _on(widget._practice_box)
    widget.marks_layer.add_rectangles(corners)
    assert widget.check_item() is None and "clear or suspect" in widget._results.value
    widget.set_decision(True, 3)
    result = widget.check_item()
    assert result is not None and result.rating == 3
    text = widget._results.value
    assert "Your call: suspect, confidence 3 of 4 (right" in text and "Hit rule:" in text
    assert f"{FIRST} [found]" in viewer.layers and f"{FIRST} [missed]" in viewer.layers
    # The view is on the missed object.
    row_mm, col_mm = viewer.layers[f"{FIRST} [high]"].scale
    centre = (
        (missed[0][0] + missed[1][0] + 1) / 2 * row_mm,
        (missed[0][1] + missed[1][1] + 1) / 2 * col_mm,
    )
    np.testing.assert_allclose(camera_of(viewer).center[-2:], centre, atol=1.0)
    assert not widget.marks_layer.editable and not widget._decision.enabled
    key = AnswerKey.load(widget.session.source._pairs[FIRST][1])
    assert len(widget._objects.choices) == len(key.objects)
    # Moving on and back shows the feedback again; the call stays.
    _press(viewer, "PageDown")
    assert widget._decision.value == "not decided" and widget._decision.enabled
    _press(viewer, "PageUp")
    assert "Your call: suspect" in widget._results.value and f"{FIRST} [found]" in viewer.layers


def test_sealed_exam_asks_the_scan_code_and_shows_its_real_scans(make_napari_viewer, tmp_path):
    """A package with confidential real scans (sealed under the scan code ``exam build``
    prints): the sign-in asks the code, refuses a missing or wrong one, and with the right
    one the sealed scans open; the practice passphrase derives the code itself."""
    from scanlab.exercises import ExamPackage, ExamSpec, build_exam
    from scanlab.synth import write_simulated_hosts

    hosts = write_simulated_hosts(tmp_path / "hosts", 2, seed=2, blur_px=1.0)
    spec = ExamSpec(
        name="sealed", seed=3, count=2, clean_share=0.5, pitch_mm=25.0, max_tries=4,
        hosts={"paths": [str(hosts[0].parent)], "share": 1.0, "confidential": True},
    )  # fmt: skip
    passphrase = "the instructor's passphrase"
    path = build_exam(spec, tmp_path / "sealed.zip", passphrase)
    package = ExamPackage.open(path)
    keys = package.keys(passphrase)
    assert all(it.sealed for it in package.items)

    viewer, widgets = create_viewer(path, viewer=make_napari_viewer())
    widget = widgets["Exercise"]
    assert _on(widget._scan_code) and "the scan code" in widget._title.value
    widget._trainee.value, widget._token.value = "ana", keys.token("ana")
    widget._fingerprint.value = package.fingerprint
    assert widget.start_exam() is None and "type the scan code" in widget._sign_in_note.value
    widget._scan_code.value = keys.token("ana")  # a code of the right form, not this one
    assert widget.start_exam() is None and "wrong scan code" in widget._sign_in_note.value
    assert _scan_layers(viewer) == []
    widget._scan_code.value = keys.scan_code().lower()  # typed as it comes
    session = widget.start_exam()
    assert session is not None
    # A real host is one channel: its layer bears the item's name.
    shown = viewer.layers[session.item.item_id].data
    package.unlock(keys.scan_code())  # the reference, opened apart from the widget
    truth = package.scan(session.item.item_id)
    np.testing.assert_array_equal(np.asarray(shown), truth.high)
    _press(viewer, "PageDown")
    assert session.current == 1 and session.items[1].item_id in viewer.layers
    widget.close_exercise()
    # An exam without sealed scans does not ask for a code.
    plain = build_exam(
        ExamSpec(name="plain", seed=5, count=2, clean_share=0.5, pitch_mm=20.0, max_tries=1),
        tmp_path / "plain.zip",
        passphrase,
    )
    widget.open(plain)
    assert _on(widget._sign_in) and not _on(widget._scan_code)
    # Practice: the passphrase opens everything, the scan code included.
    assert widget.open(path, trainee_id="ana", passphrase=passphrase) is not None


def test_gui_pitch_reaches_the_detector_assist(make_napari_viewer) -> None:
    from scanlab.io import Representation, Scan

    _viewer, widgets = create_viewer(viewer=make_napari_viewer(), scan_pitch_mm=(6.0, 6.5))
    detector = widgets["Detector assist"]._loader("cargo-anomaly-v2")
    export = Scan(np.full((64, 160), 200, np.uint8), Representation.DISPLAY)
    got = detector.detect(export)
    assert got.pitch_mm == (6.0, 6.5) and got.pitch_source == "option"
