"""Submissions: save, resume, hand in; any edit after signing is rejected at grading."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime

import pytest

from scanlab.errors import SpecError
from scanlab.evaluate import Mark
from scanlab.exercises import Submission, TamperError, grade, submission_from_detections


@pytest.fixture
def saved(tmp_path, submissions, keys):
    """The perfect trainee's submission as a file, signed with its token."""
    sub = submissions["perfect"]
    return sub.save(tmp_path / "perfect.json", token=keys.token("perfect"))


def edit(path, change):
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc))
    return path


def test_in_progress_save_resume_submit(tmp_path, package, keys):
    token = keys.token("ana")
    sub = Submission.start(package, "ana")
    mark = Mark("m1", "rectangle", [(10, 20), (30, 60)], "weapon")
    started = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    sub.record("item-002", marks=[mark], declaration_consistent=False, time_spent_s=12.5,
               started=started)  # fmt: skip
    path = sub.save(tmp_path / "ana.json", token=token)
    resumed = Submission.load(path, token, package=package)
    assert resumed.responses["item-002"].marks == [mark]
    assert resumed.responses["item-002"].started == started
    assert resumed.submitted is None
    resumed.record("item-003", marks=[], declaration_consistent=True, time_spent_s=8.0)
    resumed.submit(path, token=token)
    final = Submission.load(path, keys)  # as the grader reads it
    assert set(final.responses) == {"item-002", "item-003"}
    assert final.submitted is not None
    with pytest.raises(SpecError, match="handed in"):
        final.record("item-004", marks=[])


def test_untouched_file_grades(saved, package, passphrase):
    result = grade(package, [saved], passphrase).trainee("perfect")
    assert result.overall.hit_rate == 1.0


def set_at(doc, path, value):
    """Set (or with value None, delete) ``doc[path[0]][path[1]]...``."""
    *parents, last = path
    for key in parents:
        doc = doc[key]
    if value is None:
        del doc[last]
    else:
        doc[last] = value


@pytest.mark.parametrize(
    ("what", "path", "value"),
    [
        ("move a mark", ("items", "item-003", "marks", 0, "vertices", 0, 0), 1.0),
        ("change a time", ("items", "item-003", "time_spent_s"), 5.0),
        ("change the trainee", ("trainee_id",), "random"),
        ("flip a verdict", ("items", "item-003", "declaration_consistent"), False),
        ("lower a rating", ("items", "item-003", "rating"), 1),
        ("drop a rating", ("items", "item-003", "rating"), None),
        ("drop an item", ("items", "item-002"), None),
        ("remove the signature", ("signature",), None),
    ],
)
def test_edited_submission_is_rejected_at_grading(saved, package, keys, what, path, value):
    edit(saved, lambda doc: set_at(doc, path, value))
    with pytest.raises(TamperError, match=str(saved.name)):
        grade(package, [saved], keys)


def test_edit_in_memory_after_signing_is_rejected(submissions, package, keys):
    sub = submissions["perfect"]
    forged = Submission(sub.exam_id, sub.manifest_sha256, "perfect", dict(sub.responses),
                        signature=sub.signature)  # fmt: skip
    forged.responses["item-001"] = forged.responses["item-002"]
    with pytest.raises(TamperError, match="changed after it was signed"):
        grade(package, [forged], keys)


def test_other_trainees_token_is_rejected(tmp_path, submissions, keys):
    # A copy: saving signs, and the fixture's submission is shared with other modules.
    path = copy.deepcopy(submissions["random"]).save(
        tmp_path / "r.json", token=keys.token("perfect")
    )
    with pytest.raises(TamperError, match="another trainee's token"):
        Submission.load(path, keys)
    with pytest.raises(TamperError):
        Submission.load(path, keys.token("random"))


def test_submission_for_another_exam_or_version(package, keys):
    token = keys.token("perfect")
    other_exam = Submission("0" * 32, package.manifest_sha256, "perfect").sign(token)
    with pytest.raises(SpecError, match="answers exam 0000"):
        grade(package, [other_exam], keys)
    other_version = Submission(package.exam_id, "f" * 64, "perfect").sign(token)
    with pytest.raises(SpecError, match="another version"):
        grade(package, [other_version], keys)


def test_two_submissions_from_one_trainee(submissions, package, keys):
    with pytest.raises(SpecError, match="two submissions from trainee 'perfect'"):
        grade(package, [submissions["perfect"], submissions["perfect"]], keys)


def test_not_a_submission(tmp_path, keys):
    path = tmp_path / "x.json"
    path.write_text('{"marks": []}')
    with pytest.raises(SpecError, match="not a version-1 scanlab submission"):
        Submission.load(path, keys)


def test_detector_graded_as_a_trainee(package, keys):
    detections = {
        item_id: [(o.bbox, 0.9, o.threat_class) for o in key.objects]
        + [((0, 0, 5, 5), 0.2, "cash")]  # below the threshold: dropped
        for item_id, key in keys.answer_keys.items()
    }
    sub = submission_from_detections(
        package, detections, detector_id="detector", token=keys.token("detector")
    )
    assert all(m.confidence == 0.9 for r in sub.responses.values() for m in r.marks)
    result = grade(package, [sub], keys).trainee("detector")
    assert result.overall.hits == result.overall.n_signal == 6
    assert result.overall.false_alarms == 0
    assert result.declaration.n_signal == result.declaration.n_noise == 0  # no verdicts


def test_detection_tuples_are_checked(package, keys):
    with pytest.raises(SpecError, match="expected \\(\\(row0, col0, row1, col1\\), score"):
        submission_from_detections(
            package, {"item-001": [(1, 2, 3)]}, detector_id="d", token=keys.token("d")
        )
    with pytest.raises(SpecError, match="no item 'item-999'"):
        submission_from_detections(package, {"item-999": []}, detector_id="d", token="x" * 24)


def test_detector_assist_use_is_recorded_checked_and_optional(tmp_path, package, keys):
    """Runs and seconds on screen go into the signed body only when recorded: a body
    without them (every submission from before) is byte for byte what it was."""
    token = keys.token("ana")
    sub = Submission.start(package, "ana")
    sub.record("item-002", marks=[], assist_runs=2, assist_visible_s=14)
    sub.record("item-003", marks=[], assist_runs=1, assist_visible_s=0.0)
    sub.record("item-004", marks=[])
    items = sub.body()["items"]
    assert (items["item-002"]["assist_runs"], items["item-002"]["assist_visible_s"]) == (2, 14.0)
    assert "assist_runs" not in items["item-004"] and "assist_visible_s" not in items["item-004"]
    resumed = Submission.load(sub.save(tmp_path / "ana.json", token=token), keys)
    used = {k: r.assist_used for k, r in resumed.responses.items()}
    assert used == {"item-002": True, "item-003": False, "item-004": None}
    for bad, match in [
        ({"assist_runs": -1, "assist_visible_s": 0.0}, "assist_runs must be a count"),
        ({"assist_runs": True, "assist_visible_s": 0.0}, "assist_runs must be a count"),
        ({"assist_runs": 1, "assist_visible_s": -2.0}, "assist_visible_s must be seconds"),
        ({"assist_runs": 1, "assist_visible_s": float("nan")}, "assist_visible_s must be"),
        ({"assist_runs": 1}, "recorded together"),
    ]:
        with pytest.raises(SpecError, match=f"item-005: .*{match}"):
            sub.record("item-005", marks=[], **bad)
