"""The plugin's plain-Python models, without Qt or a viewer."""

from __future__ import annotations

import gc
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from scanlab.enhance import load_preset
from scanlab.errors import SpecError
from scanlab.evaluate import Mark
from scanlab.io import Scan, ScanMetadata, example_scan, write_scan
from scanlab.napari_plugin._assist import DetectionAhead, anomaly_layers
from scanlab.napari_plugin._enhance import (
    editable_params,
    presets_for,
    preview_stride,
    render,
    with_params,
)
from scanlab.napari_plugin._exercise import ExerciseSession, FileExercise, open_exercise
from scanlab.napari_plugin._inspect import line_lengths_mm, readout, world_to_pixel
from scanlab.napari_plugin._layers import (
    ScanRef,
    answer_key_layer,
    scan_layers,
    scrub_scan,
)
from scanlab.napari_plugin._marking import marks_from_shapes, result_shapes, shapes_from_marks
from scanlab.napari_plugin._progress import steps_of
from scanlab.napari_plugin._samples import load_sample
from scanlab.synth import AnswerKey, render_display

# --- layers -------------------------------------------------------------------------------


def test_dual_energy_scan_opens_as_high_over_low_in_mm(dual_scan: Scan) -> None:
    layers = scan_layers(dual_scan, source="x.tif")
    assert [kw["name"] for _, kw, _ in layers] == [
        f"{dual_scan.metadata.scan_id} [low]",
        f"{dual_scan.metadata.scan_id} [high]",
    ]
    (low, low_kw, _), (high, high_kw, kind) = layers
    assert kind == "image" and high.dtype == np.float32
    assert high_kw["scale"] == dual_scan.metadata.pitch_mm and high_kw["units"] == ("mm", "mm")
    assert high_kw["visible"] and not low_kw["visible"]
    expected = dual_scan.to_attenuation().data
    np.testing.assert_array_equal(high, expected[0])
    np.testing.assert_array_equal(low, expected[1])
    assert high_kw["colormap"] == "gray_r"  # attenuation: air white
    assert high_kw["metadata"]["scan"]["energies_mev"] == [6.0, 4.0]
    ref = high_kw["metadata"]["scanlab"]
    assert isinstance(ref, ScanRef) and ref.channel == 0
    assert ref.scan.representation == "attenuation" and ref.pitch_mm == (5.0, 5.0)


def test_display_image_opens_as_itself() -> None:
    shown = render_display(example_scan(rows=32, cols=64))
    ((data, kwargs, _),) = scan_layers(shown)
    assert data.dtype == np.uint8 and kwargs["colormap"] == "gray"
    assert kwargs["contrast_limits"] == [0.0, 255.0]


def test_vendor_material_plane_is_a_hidden_labels_layer(dual_scan: Scan) -> None:
    material = np.zeros(dual_scan.shape, np.uint8)
    material[10:20, 30:60] = 3
    layers = scan_layers(dual_scan.replace(material=material))
    data, kwargs, kind = layers[0]
    assert kind == "labels" and not kwargs["visible"] and data is material


def test_scrub_scan_hides_simulator_attributes() -> None:
    scan, _key = load_sample("sample-00000")
    assert "spec" in scan.metadata.attributes  # the simulator records what it hid...
    assert scrub_scan(scan).metadata.attributes == {}  # ...which a trainee must not see


def test_answer_key_layer_is_hidden_polygons_by_class() -> None:
    scan, key = load_sample("sample-00000")
    ref = scan_layers(scan)[-1][1]["metadata"]["scanlab"]
    data, kwargs, kind = answer_key_layer(key, ref)
    assert kind == "shapes" and len(data) == len(key.objects) and not kwargs["visible"]
    assert kwargs["features"]["threat_class"] == [o.threat_class for o in key.objects]


# --- enhance ------------------------------------------------------------------------------


def test_material_presets_only_for_calibrated_dual_energy(dual_scan: Scan) -> None:
    assert "material" in presets_for(dual_scan)
    assert "material" not in presets_for(render_display(dual_scan))
    assert "standard" in presets_for(render_display(dual_scan))


def test_editing_a_parameter_changes_the_rendering(dual_scan: Scan) -> None:
    att = dual_scan.to_attenuation()
    pipe = load_preset("low_density")
    params = {p.name: p for p in editable_params(pipe)}
    assert params["gamma"].value == 0.6 and params["gamma"].kind == "float"
    brighter = with_params(pipe, {params["gamma"].key: 1.5})
    assert not np.allclose(render(att, pipe), render(att, brighter))
    assert pipe.steps[1].params["gamma"] == 0.6  # the preset itself is unchanged


def test_band_slider_reaches_the_scan_values() -> None:
    (band,) = [p for p in editable_params(load_preset("density_highlight")) if p.name == "band"]
    assert band.kind == "range" and band.high == 10.0
    (band,) = [
        p
        for p in editable_params(load_preset("density_highlight"), value_max=3.0)
        if p.name == "band"
    ]
    assert band.high == 5.0  # never below the preset's own band


def test_render_preview_and_colour(dual_scan: Scan) -> None:
    att = dual_scan.to_attenuation()
    grey = render(att, load_preset("standard"), stride=2)
    assert grey.shape == (24, 80) and grey.dtype == np.uint8
    rgb = render(att, load_preset("material"))
    assert rgb.shape == (48, 160, 3) and rgb.dtype == np.uint8
    assert preview_stride((1500, 6000)) == 3 and preview_stride((460, 940)) == 1


def test_render_display_image_through_inverse_curve(dual_scan: Scan) -> None:
    out = render(render_display(dual_scan), load_preset("standard"))
    direct = load_preset("standard").apply(dual_scan.to_attenuation().high)
    assert np.corrcoef(out.ravel().astype(float), direct.ravel())[0, 1] > 0.95


# --- inspect ------------------------------------------------------------------------------


def test_readout_and_ruler() -> None:
    att = np.stack([np.full((4, 6), 2.0), np.full((4, 6), 3.0)]).astype(np.float32)
    scan = Scan(att, "attenuation", ScanMetadata(pitch_mm=(5.0, 10.0)))
    assert world_to_pixel(scan, (10.0, 20.0)) == (2, 2)
    assert world_to_pixel(scan, (100.0, 20.0)) is None
    text = readout(scan, 2, 2)
    assert "high A 2.00, T 13.5%" in text and "low/high 1.50" in text and "10 mm, 20 mm" in text
    assert line_lengths_mm([np.array([[0, 0], [3, 0], [3, 4]])], (10.0, 10.0)) == [70.0]


# --- marks and shapes ---------------------------------------------------------------------


def test_shapes_become_marks_and_back() -> None:
    rect = np.array([[10, 10], [10, 20], [20, 20], [20, 10]], float)
    ellipse = np.array([[30, 30], [30, 50], [40, 50], [40, 30]], float)
    path = np.array([[0, 0], [0, 5], [5, 5]], float)
    line = np.array([[0, 0], [9, 9]], float)
    marks, skipped = marks_from_shapes(
        [rect, ellipse, path, line],
        ["rectangle", "ellipse", "path", "line"],
        ["a", "b", "c", "d"],
        ["cash", "weapon", "narcotics", "cash"],
    )
    assert [m.shape for m in marks] == ["rectangle", "polygon", "polygon"] and skipped == [3]
    assert marks[1].bbox == (30, 30, 41, 51)  # the ellipse polygon spans its box
    data, kinds, features = shapes_from_marks(marks)
    again, _ = marks_from_shapes(
        data,
        kinds,
        features["mark_id"],
        features["threat_class"],
        previous={m.mark_id: m for m in marks},
    )
    assert [(m.mark_id, m.vertices, m.created, m.modified) for m in again] == [
        (m.mark_id, m.vertices, m.created, m.modified) for m in marks
    ]


# --- exercises ----------------------------------------------------------------------------


def _mark_on(found_box, mark_id: str = "m1") -> Mark:
    corners, threat_class = found_box("sample-00000", 0)
    return Mark(mark_id, "rectangle", corners.tolist(), threat_class)


def test_file_exercise_finds_scans_and_keys(exercise_dir: Path) -> None:
    source = FileExercise.from_path(exercise_dir)
    assert [i.item_id for i in source.items] == ["sample-00000", "sample-00003", "sample-00004"]
    single = open_exercise(exercise_dir / "scans" / "sample-00003.npz")
    assert [i.item_id for i in single.items] == ["sample-00003"]
    with pytest.raises(SpecError, match="no answer key"):
        FileExercise.from_path(write_scan(example_scan(), exercise_dir / "lone.npz")[0])


def test_declaration_sidecar_is_shown(exercise_dir: Path) -> None:
    key = AnswerKey.load(exercise_dir / "keys" / "sample-00003.json")
    assert key.declaration is not None
    sidecar = exercise_dir / "scans" / "sample-00003.declaration.json"
    sidecar.write_text(json.dumps(key.declaration.to_dict()))
    items = {i.item_id: i for i in FileExercise.from_path(exercise_dir).items}
    assert items["sample-00003"].declaration == key.declaration
    assert items["sample-00000"].declaration is None


def test_session_saves_every_change_and_restores(
    exercise_dir: Path, progress_dir: Path, found_box
) -> None:
    session = ExerciseSession(FileExercise.from_path(exercise_dir))
    session.scan_shown()
    session.set_marks("sample-00000", [_mark_on(found_box)])
    session.set_declaration_answer("sample-00000", False)
    session.go_to(2)
    assert (session.folder / "marks" / "sample-00000.json").is_file()
    assert session.folder.parent == progress_dir

    again = ExerciseSession(FileExercise.from_path(exercise_dir))
    assert again.current == 2
    assert [m.mark_id for m in again.marks("sample-00000")] == ["m1"]
    assert again.declaration_answer("sample-00000") is False
    assert again.time_spent_s("sample-00000") > 0.0


def test_key_is_not_read_before_submit(
    exercise_dir: Path, monkeypatch: pytest.MonkeyPatch, found_box
) -> None:
    mark = _mark_on(found_box)  # the test reads the key; then nothing may until submit
    gc.collect()
    # Other tests' session fixtures may keep answer keys alive; only new ones count.
    before = {id(o) for o in gc.get_objects() if type(o) is AnswerKey}
    reads: list[str] = []
    real_load = AnswerKey.load.__func__  # type: ignore[attr-defined]
    monkeypatch.setattr(
        AnswerKey, "load", classmethod(lambda cls, p: reads.append(str(p)) or real_load(cls, p))
    )
    session = ExerciseSession(FileExercise.from_path(exercise_dir))
    for i in range(len(session.items)):
        session.go_to(i)
        scan = session.scan()
        assert scan.metadata.attributes == {}
    session.set_marks("sample-00000", [mark])
    gc.collect()
    assert reads == []
    assert not [o for o in gc.get_objects() if type(o) is AnswerKey and id(o) not in before]

    result = session.submit()
    assert len(reads) == 3
    first = result.items["sample-00000"]
    assert [h.mark_id for h in first.match.hits] == ["m1"]
    assert first.match.overlap["sample-00000-0"] > 0.1
    assert result.items["sample-00004"].key.is_clean
    scores = result.scores()
    assert (scores.hits, scores.n_signal, scores.n_noise) == (1, 4, 1)
    assert any("d'" in line for line in result.summary_lines())


def test_answers_freeze_at_submit(exercise_dir: Path) -> None:
    session = ExerciseSession(FileExercise.from_path(exercise_dir))
    session.submit()
    with pytest.raises(SpecError, match="submitted"):
        session.set_marks("sample-00000", [])
    assert ExerciseSession(FileExercise.from_path(exercise_dir)).submitted is not None


def test_result_shapes_colour_the_outcomes(exercise_dir: Path, found_box) -> None:
    session = ExerciseSession(FileExercise.from_path(exercise_dir))
    stray = Mark("m2", "polygon", [(5, 5), (5, 30), (30, 5)], "cash")  # in the air above
    session.set_marks("sample-00000", [_mark_on(found_box), stray])
    result = session.submit().items["sample-00000"]
    shapes = result_shapes(result, session.marks("sample-00000"))
    assert sorted(shapes.outcomes) == ["false_alarm", "hit", "miss"]
    assert len(set(shapes.colours)) == 3
    threat_class = found_box("sample-00000", 0)[1]
    assert any(c.startswith(f"found {threat_class} (IoU") for c in shapes.captions)
    assert shapes.only("miss").layer_kwargs()["text"]["anchor"] == "lower_left"


def test_exam_package_exercise(tmp_path: Path) -> None:
    from scanlab.exercises import ExamPackage, ExamSpec, Submission, build_exam

    spec = ExamSpec(name="t", seed=5, count=2, clean_share=0.5, pitch_mm=20.0, max_tries=1)
    passphrase = "a practice passphrase"
    package = build_exam(spec, tmp_path / "exam.zip", passphrase)
    keys = ExamPackage.open(package).keys(passphrase)
    token = keys.token("ana")

    # An exam: no passphrase, so the trainee gets no results; the signed submission is
    # written for the instructor.
    exam = open_exercise(package, trainee_id="ana", token=token)
    session = ExerciseSession(exam)
    assert all(item.declaration is not None for item in session.items)
    session.set_declaration_answer(session.items[0].item_id, True)
    with pytest.raises(SpecError, match="graded by your instructor"):
        session.submit()
    sub = Submission.load(session.folder / "submission.json", token)
    assert (
        sub.submitted is not None and sub.responses[session.items[0].item_id].declaration_consistent
    )

    # A practice package: the passphrase shows the results.
    practice = ExerciseSession(open_exercise(package, trainee_id="bo", passphrase=passphrase))
    result = practice.submit()
    assert set(result.items) == {i.item_id for i in practice.items}
    assert result.submission is not None and result.submission.is_file()


def test_exam_identity_passphrase_and_fingerprint_are_checked_at_open(tmp_path: Path) -> None:
    from scanlab.errors import PassphraseError, TamperError
    from scanlab.exercises import ExamPackage, ExamSpec, build_exam

    spec = ExamSpec(name="t", seed=5, count=1, clean_share=0.0, pitch_mm=20.0, max_tries=1)
    passphrase = "a practice passphrase"
    package = build_exam(spec, tmp_path / "exam.zip", passphrase)
    opened = ExamPackage.open(package)
    token = opened.keys(passphrase).token("ana")
    # Nobody signed in: no "trainee" stands in.
    with pytest.raises(SpecError, match="trainee id"):
        open_exercise(package, trainee_id=" ", token=token)
    with pytest.raises(SpecError, match="submission token"):
        open_exercise(package, trainee_id="ana")
    typo = token[:-1] + ("A" if token[-1] != "A" else "B")
    with pytest.raises(SpecError, match="not the one issued to trainee 'ana'"):
        open_exercise(package, trainee_id="ana", token=typo)
    with pytest.raises(SpecError, match="not the one issued to trainee 'ben'"):
        open_exercise(package, trainee_id="ben", token=token)
    with pytest.raises(PassphraseError, match="wrong passphrase"):
        open_exercise(package, trainee_id="ana", passphrase="not the passphrase")
    # The fingerprint the instructor gave out pins the package to its signing key.
    exam = open_exercise(package, trainee_id="ana", token=token, fingerprint=opened.fingerprint)
    assert exam.trainee_id == "ana"
    rebuilt = build_exam(spec, tmp_path / "resigned.zip", "another passphrase here")
    with pytest.raises(TamperError, match="not the instructor's"):
        open_exercise(rebuilt, trainee_id="ana", token=token, fingerprint=opened.fingerprint)


# --- progress and detector ----------------------------------------------------------------


def test_steps_of_reraises_in_the_caller() -> None:
    def fails(progress=None):
        progress(1, 2)
        raise ValueError("boom")

    steps = steps_of(fails)
    assert next(steps) == (0, 0) and next(steps) == (1, 2)
    with pytest.raises(ValueError, match="boom"):
        next(steps)


def test_detection_ahead_reports_progress_and_lays_the_result_over_the_scan(
    stub_detector, dual_scan: Scan
) -> None:
    ref = ScanRef(dual_scan.to_attenuation())
    seen: list[tuple[int, int]] = []

    class Watched:
        def detect(self, scan, progress=None):
            return stub_detector.detect(scan, progress=lambda *p: (seen.append(p), progress(*p)))

    ahead = DetectionAhead(Watched)
    ahead.want([("scan", ref.scan)])
    detection = ahead.wait("scan", timeout=10)
    assert seen == [(1, 3), (2, 3), (3, 3)] and ahead.progress("scan") == (3, 3)
    assert ahead.result("scan", ref.scan) is detection and ahead.idle
    (amap, map_kw, _), (boxes, box_kw, kind) = anomaly_layers(detection, ref)
    assert amap.shape == dual_scan.shape and map_kw["scale"] == dual_scan.metadata.pitch_mm
    assert kind == "shapes" and len(boxes) == 1 and box_kw["features"]["score"] == [0.9]
    ahead.close()


class _Gated:
    """Records the scans it reads (by id) and waits for ``gate`` before each result;
    with ``steps``, reports progress in that many steps, each waiting for the gate."""

    def __init__(self, steps: int = 0) -> None:
        import threading

        self.gate = threading.Event()
        self.started: list[str] = []
        self.finished: list[str] = []
        if steps:
            self.steps = steps
            self.detect = self._detect_in_steps

    def detect(self, scan):
        self.started.append(scan.metadata.scan_id)
        assert self.gate.wait(10)
        self.finished.append(scan.metadata.scan_id)
        return float(scan.data.sum())

    def _detect_in_steps(self, scan, progress=None):
        self.started.append(scan.metadata.scan_id)
        for step in range(self.steps):
            assert self.gate.wait(10)
            progress(step + 1, self.steps)
        self.finished.append(scan.metadata.scan_id)
        return float(scan.data.sum())


def _scans(n: int) -> list[Scan]:
    scans = []
    for i in range(n):
        scan = example_scan(rows=32, cols=64, seed=i)
        scans.append(scan.replace(metadata=replace(scan.metadata, scan_id=f"s{i}")))
    return scans


def _wait_until(condition, timeout: float = 10.0) -> None:
    import time

    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.005)


def test_detection_ahead_runs_the_shown_scan_first_then_its_neighbours_in_order() -> None:
    a, b, c, d = _scans(4)
    detector = _Gated()
    ahead = DetectionAhead(lambda: detector)
    ahead.want([("a", a), ("b", lambda: b), ("c", lambda: c)])
    _wait_until(lambda: detector.started == ["s0"])
    # The trainee moves on to c before a is done: c first, then d, then b; a, under way,
    # is left to finish (its detector cannot be stopped) and then forgotten.
    ahead.want([("c", c), ("d", lambda: d), ("b", lambda: b)])
    detector.gate.set()
    _wait_until(lambda: ahead.idle)
    assert detector.started == ["s0", "s2", "s3", "s1"]
    assert ahead.future("a") is None and ahead.result("a", a) is None
    # Each result is its own scan's (a sum, worked out here), and only for that very scan.
    assert ahead.result("c", c) == float(c.data.sum())
    assert ahead.result("d", d) == float(d.data.sum())
    assert ahead.result("b", b) == float(b.data.sum())
    assert ahead.result("c", d) is None
    reread = c.replace(data=c.data.copy())  # the same scan read again: another object
    assert ahead.result("c", reread) is None
    ahead.want([("c", reread)])  # it gets its own run
    _wait_until(lambda: ahead.idle)
    assert detector.started[-1] == "s2" and ahead.result("c", reread) == float(c.data.sum())
    assert ahead.result("b", b) is None  # forgotten: no longer wanted
    ahead.close()


def test_detection_ahead_starts_on_neighbours_once_the_trainee_settles() -> None:
    import time

    a, b = _scans(2)
    detector = _Gated()
    detector.gate.set()
    ahead = DetectionAhead(lambda: detector, quiet_s=30.0)
    ahead.want([("a", a), ("b", lambda: b)])
    _wait_until(lambda: detector.finished == ["s0"])
    time.sleep(0.1)
    assert detector.started == ["s0"]  # b waits for 30 s without a move
    ahead.want([("b", b), ("a", a)])  # moved on to b: it is the scan on screen now, at once
    _wait_until(lambda: detector.finished == ["s0", "s1"], timeout=10)
    assert ahead.result("b", b) == float(b.data.sum()) and ahead.result("a", a) is not None
    ahead.close()


def test_detection_ahead_stops_a_run_no_longer_wanted_at_its_next_step() -> None:
    a, b = _scans(2)
    detector = _Gated(steps=50)
    ahead = DetectionAhead(lambda: detector)
    ahead.want([("a", a)])
    _wait_until(lambda: detector.started == ["s0"])
    ahead.want([("b", b)])
    detector.gate.set()
    _wait_until(lambda: ahead.idle)
    assert detector.started == ["s0", "s1"] and detector.finished == ["s1"]
    assert ahead.result("b", b) == float(b.data.sum()) and ahead.progress("b") == (50, 50)
    ahead.close()


def test_detection_ahead_raises_a_failed_run_and_runs_it_again_when_forgotten() -> None:
    (a,) = _scans(1)
    calls: list[int] = []

    class Flaky:
        def detect(self, scan):
            calls.append(1)
            if len(calls) == 1:
                raise RuntimeError("out of memory")
            return "ok"

    ahead = DetectionAhead(Flaky)
    ahead.want([("a", a)])
    with pytest.raises(RuntimeError, match="out of memory"):
        ahead.wait("a", timeout=10)
    assert ahead.result("a", a) is None
    ahead.want([("a", a)])  # a failure is kept: not retried by itself
    assert len(calls) == 1
    ahead.forget("a")
    ahead.want([("a", a)])
    assert ahead.wait("a", timeout=10) == "ok" and len(calls) == 2
    ahead.close()


def test_undo_puts_back_the_marks_before_each_change(exercise_dir) -> None:
    from scanlab.evaluate import read_marks

    session = ExerciseSession(FileExercise.from_path(exercise_dir))
    item = session.item.item_id
    one = [Mark("m1", "rectangle", [(10, 10), (50, 80)], "cash")]
    two = [*one, Mark("m2", "rectangle", [(60, 10), (90, 80)], "weapon")]
    session.set_marks(item, one)
    session.set_marks(item, two)
    session.set_marks(item, two)  # no change: not a step to undo
    assert [m.mark_id for m in session.undo_marks(item)] == ["m1"]
    assert [m.mark_id for m in read_marks(session.folder / "marks" / f"{item}.json")] == ["m1"]
    assert session.undo_marks(item) == [] and session.marks(item) == []
    assert session.undo_marks(item) is None
    session.submit()
    with pytest.raises(SpecError, match="submitted"):
        session.undo_marks(item)


def test_clock_runs_while_a_scan_is_shown_and_limits_lock_answers(tmp_path, monkeypatch) -> None:
    import scanlab.napari_plugin._exercise as exercise
    from scanlab.exercises import ExamSpec, build_exam

    spec = ExamSpec(
        name="t", seed=5, count=2, clean_share=0.5, pitch_mm=20.0, max_tries=1, time_limit_s=30.0
    )
    package = build_exam(spec, tmp_path / "exam.zip", "a practice passphrase")
    now = [0.0]
    monkeypatch.setattr(exercise.time, "monotonic", lambda: now[0])
    session = ExerciseSession(
        open_exercise(package, trainee_id="ana", passphrase="a practice passphrase")
    )
    first, second = (it.item_id for it in session.items)
    assert session.time_limit_s == 60.0 and not session.visited(first)
    now[0] = 100.0  # loading the scan: not counted
    session.scan_shown()
    assert session.time_spent_s() == 0.0 and session.visited(first)
    now[0] = 110.0
    assert session.time_left_s() == 20.0
    session.set_marks(first, [Mark("m1", "rectangle", [(1, 1), (5, 5)], "cash")])
    session.go_to(1)
    now[0] = 200.0
    session.scan_shown()
    now[0] = 231.0
    assert session.out_of_time(second) and not session.out_of_time(first)
    with pytest.raises(SpecError, match=f"time for {second} is up"):
        session.set_declaration_answer(second, True)
    assert session.exercise_time_left_s() == 60.0 - 10.0 - 31.0
    session.go_to(0)
    now[0] = 300.0
    session.scan_shown()
    now[0] = 320.0  # 30 s on the first scan, 61 s in all
    assert session.out_of_time(first)
    with pytest.raises(SpecError, match="is up"):
        session.set_marks(first, [])
    assert session.open_questions() == {
        "not visited": [],
        "no marks": [second],
        "no clear/suspect call": [first, second],
        "declaration not answered": [first, second],
    }
    assert session.submit().items[first].match is not None  # submitting is what is left


def test_practice_decision_with_confidence_then_immediate_feedback(exercise_dir, found_box):
    first, second, clean = "sample-00000", "sample-00003", "sample-00004"
    session = ExerciseSession(FileExercise.from_path(exercise_dir))
    assert session.practice
    session.set_marks(first, [_mark_on(found_box)])
    with pytest.raises(SpecError, match="clear or suspect"):
        session.check_item(first)
    with pytest.raises(SpecError, match="confidence must be 1 to 4"):
        session.set_decision(first, True, 5)
    session.set_decision(first, True, 3)
    feedback = session.check_item(first)
    assert [h.mark_id for h in feedback.match.hits] == ["m1"] and feedback.rating == 3
    assert feedback.decision_correct is True and "IoU >= 0.10" in feedback.hit_rule
    with pytest.raises(SpecError, match="was checked"):
        session.set_marks(first, [])
    session.set_decision(second, False, 2)  # a miss, fairly sure
    session.set_decision(clean, True, 1)  # a false alarm, guessed
    assert session.check_item(clean).decision_correct is False

    again = ExerciseSession(FileExercise.from_path(exercise_dir))
    assert again.rating(first) == 3 and again.checked(first) and not again.checked(second)
    result = again.submit()
    roc = result.rating_roc()
    # Signal ratings 3 and -2 against the clean scan's 1: one pair ranked right, one wrong.
    assert roc is not None and roc.area == 0.5
    assert any("ROC area 0.50" in line for line in result.summary_lines())


def test_class_colours_do_not_clash_with_outcome_colours() -> None:
    import colorsys

    from scanlab.napari_plugin._layers import CLASS_COLOURS
    from scanlab.napari_plugin._marking import OUTCOME_COLOURS

    def hue(colour: str) -> float:
        r, g, b = (int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5))
        return colorsys.rgb_to_hsv(r, g, b)[0] * 360.0

    for cls, colour in CLASS_COLOURS.items():
        for outcome, other in OUTCOME_COLOURS.items():
            gap = abs(hue(colour) - hue(other)) % 360.0
            assert min(gap, 360.0 - gap) >= 20.0, (cls, outcome)
