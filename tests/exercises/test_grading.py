"""Grading simulated trainees of known behaviour: the exact scores, by hand from counts."""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import re
import sys
import zipfile
from statistics import NormalDist

import numpy as np
import pytest

from scanlab.errors import SpecError
from scanlab.exercises import ClassResults, Scores, Submission, grade, simulate_trainee

z = NormalDist().inv_cdf


def loglinear_d(hits, n_signal, fas, n_noise):
    return z((hits + 0.5) / (n_signal + 1)) - z((fas + 0.5) / (n_noise + 1))


def test_perfect(results, submissions):
    s = results.trainee("perfect").overall
    assert (s.n_signal, s.hits, s.hits_class_correct) == (6, 6, 6)
    assert (s.n_noise, s.false_alarms, s.n_marks, s.false_marks) == (2, 0, 6, 0)
    assert (s.hit_rate, s.fa_rate, s.fa_per_mark) == (1.0, 0.0, 0.0)
    # Log-linear: H = 6.5 / 7, F = 0.5 / 3; d' = z(H) - z(F) = 1.465234 + 0.967422.
    assert s.d_prime == pytest.approx(2.4326553587872235, abs=1e-12)
    # A' = 1/2 + (H - F)(1 + H - F) / (4 H (1 - F)) with the same rates.
    assert s.a_prime == pytest.approx(0.9336996336996337, abs=1e-12)
    times = [r.time_spent_s for r in submissions["perfect"].responses.values()]
    assert s.mean_time_s == pytest.approx(sum(times) / 8)
    assert "far too few" in s.reliability
    result = results.trainee("perfect")
    assert all(g.hit_rate == 1.0 for g in result.by_class.values())
    assert set(result.by_difficulty) == {"easy", "medium", "hard"}
    d = result.declaration  # 4 false declarations, 4 true, all judged right
    assert (d.n_signal, d.hits, d.n_noise, d.false_alarms) == (4, 4, 4, 0)
    assert d.d_prime == pytest.approx(z(4.5 / 5) - z(0.5 / 5), abs=1e-12)


def test_always_misses_narcotics(results):
    r = results.trainee("misses:narcotics")
    assert r.by_class["narcotics"].hits == 0
    assert r.by_class["narcotics"].n_signal == 3
    assert all(s.hit_rate == 1.0 for c, s in r.by_class.items() if c != "narcotics")
    s = r.overall
    # 3 narcotics missed, the cigarettes, the weapon and the car found.
    assert (s.hits, s.n_signal, s.false_alarms, s.false_marks) == (3, 6, 0, 0)
    # H = 3.5 / 7, F = 0.5 / 3: d' = z(H) - z(F) = 0 + 0.967422 = 0.967422.
    assert s.d_prime == pytest.approx(z(3.5 / 7) - z(0.5 / 3), abs=1e-12)
    assert s.d_prime == pytest.approx(0.9674216, abs=1e-6)
    assert r.by_class["narcotics"].d_prime == pytest.approx(z(0.5 / 4) - z(0.5 / 3), abs=1e-12)


def test_clicks_everywhere(results):
    r = results.trainee("clicks_everywhere")
    s = r.overall
    assert (s.false_alarms, s.n_noise, s.fa_rate) == (2, 2, 1.0)
    assert s.fa_per_mark > 0.99
    assert s.d_prime == pytest.approx(loglinear_d(s.hits, 6, 2, 2), abs=1e-12)
    assert s.d_prime < results.trainee("perfect").overall.d_prime
    assert r.declaration.fa_rate == 1.0  # every true declaration flagged
    assert r.n_over_time == 0  # exactly at the limit is not over it


def test_random(results, package, keys):
    s = results.trainee("random").overall
    assert s.d_prime == pytest.approx(loglinear_d(s.hits, 6, s.false_alarms, 2), abs=1e-12)
    assert s.false_marks == s.n_marks - s.hits
    again = simulate_trainee(package, "random", seed=0, passphrase=keys)
    assert grade(package, [again], keys).trainee("random") == results.trainee("random")


def test_item_outcomes(results, keys):
    r = results.trainee("misses:narcotics")
    missed = {o.object_id for o in r.objects if not o.hit}
    assert missed == {
        o.object_id
        for k in keys.answer_keys.values()
        for o in k.objects
        if o.threat_class == "narcotics"
    }
    assert sum(len(it.misses) for it in r.items) == 3


def test_centroid_rule_and_bad_rule(package, submissions, keys):
    res = grade(package, [submissions["perfect"]], keys, rule="centroid")
    assert res.rule == "centroid"  # the hits: test_centroid_rule_hits_the_objects_whose_...
    with pytest.raises(SpecError, match="rule must be one of"):
        grade(package, [submissions["perfect"]], keys, rule="nearest")


def test_results_round_trip(results, tmp_path):
    path = results.save(tmp_path / "results.json")
    loaded = ClassResults.load(path)
    assert loaded.to_dict() == results.to_dict()
    assert loaded.trainee("perfect").overall == results.trainee("perfect").overall
    # What a reader of the JSON sees: the perfect trainee's figures (test_perfect's, by hand),
    # the exam's 8 items and 6 objects, and no NaN (JSON has none: undefined is null).
    doc = json.loads(path.read_text(encoding="utf-8"))
    perfect = next(t for t in doc["trainees"] if t["trainee_id"] == "perfect")
    assert perfect["exam_id"] == results.exam_id and len(perfect["items"]) == 8
    assert len(perfect["objects"]) == 6 and all(o["hit"] for o in perfect["objects"])
    overall = perfect["scores"]["overall"]
    assert (overall["n_signal"], overall["hits"], overall["n_noise"]) == (6, 6, 2)
    assert overall["d_prime"] == pytest.approx(z(6.5 / 7) - z(0.5 / 3), abs=1e-12)
    assert perfect["scores"]["declaration"]["hits"] == 4
    assert set(perfect["scores"]["by_difficulty"]) == {"easy", "medium", "hard"}
    assert perfect["scores"]["by_class"]["narcotics"]["hit_rate"] == 1.0
    assert perfect["scores"]["by_concealment"]
    # The ratings ROC (test_ratings_give_each_trainee_a_roc's, by hand): every pair of the 6
    # scans with an object (rated 4) and the 2 clean ones (-4) ranked right; its d_a needs two
    # points and is null, not NaN.
    ratings = perfect["scores"]["ratings"]
    assert (ratings["area"], ratings["area_high"]) == (1.0, 1.0)
    assert ratings["d_prime"] == pytest.approx(math.sqrt(2) * z(12.5 / 13), abs=1e-12)
    assert ratings["d_a"] is None
    # Written for the owner alone: the outcomes give away most of the answer key.
    if sys.platform != "win32":
        assert path.stat().st_mode & 0o777 == 0o600


def test_scores_as_json_and_back():
    s = Scores.from_counts(
        n_signal=6, hits=5, n_noise=2, false_alarms=1, hits_class_correct=4, n_marks=8,
        false_marks=2, n_scans=8, mean_time_s=12.5,
    )  # fmt: skip
    d = json.loads(json.dumps(s.to_dict(), allow_nan=False))
    assert (d["hits"], d["hits_class_correct"], d["n_marks"], d["n_scans"]) == (5, 4, 8, 8)
    assert (d["hit_rate"], d["fa_rate"], d["fa_per_mark"], d["mean_time_s"]) == (
        5 / 6,
        0.5,
        0.25,
        12.5,
    )
    assert d["d_prime"] == pytest.approx(z(5.5 / 7) - z(1.5 / 3), abs=1e-12)
    # The 95 % bounds by hand: Wilson's for 5 of 6 and 1 of 2; Gourevitch & Galanter's for
    # d' from the corrected rates H = 5.5 / 7 and F = 1.5 / 3.
    q = z(0.975)
    for (k, n), name in [((5, 6), "hit_rate"), ((1, 2), "fa_rate")]:
        centre = (k / n + q * q / (2 * n)) / (1 + q * q / n)
        half = q / (1 + q * q / n) * math.sqrt(k / n * (1 - k / n) / n + q * q / (4 * n * n))
        assert (d[f"{name}_low"], d[f"{name}_high"]) == pytest.approx(
            (centre - half, centre + half)
        )
    h, f = 5.5 / 7, 1.5 / 3
    pdf = NormalDist().pdf
    se = math.sqrt(h * (1 - h) / (6 * pdf(z(h)) ** 2) + f * (1 - f) / (2 * pdf(z(f)) ** 2))
    assert (d["d_prime_low"], d["d_prime_high"]) == pytest.approx(
        (d["d_prime"] - q * se, d["d_prime"] + q * se)
    )
    assert Scores.from_dict(d) == s
    # No clean scans and no times: the undefined figures are null in JSON, NaN when read back.
    empty = Scores.from_counts(n_signal=5, hits=3, n_noise=0, false_alarms=0)
    e = json.loads(json.dumps(empty.to_dict(), allow_nan=False))
    assert e["hit_rate"] == 0.6 and e["fa_rate"] is None and e["d_prime"] is None
    assert e["mean_time_s"] is None and e["n_noise"] == 0 and e["n_scans"] == 0
    back = Scores.from_dict(e)
    assert (back.hits, back.n_signal, back.hit_rate) == (3, 5, 0.6)
    assert math.isnan(back.mean_time_s) and math.isnan(back.d_prime)


def test_scores_without_noise_trials_are_nan():
    s = Scores.from_counts(n_signal=5, hits=3, n_noise=0, false_alarms=0)
    assert s.hit_rate == 0.6 and math.isnan(s.d_prime) and math.isnan(s.fa_rate)
    assert "no score" in s.reliability
    assert dataclasses.asdict(s)["hits"] == 3


# ---- independent references: hits counted by brute force from masks ------------------------


def _full_mask(obj, shape):
    out = np.zeros(shape, dtype=bool)
    r0, c0, r1, c1 = obj.bbox
    out[r0:r1, c0:c1] = obj.mask
    return out


def _rect(mark, shape):
    """A rectangle mark's pixels, from its corner vertices (inclusive)."""
    v = np.asarray(mark.vertices, dtype=float)
    out = np.zeros(shape, dtype=bool)
    r0, c0 = np.floor(v.min(axis=0) + 0.5).astype(int)
    r1, c1 = np.floor(v.max(axis=0) + 0.5).astype(int)
    out[max(r0, 0) : r1 + 1, max(c0, 0) : c1 + 1] = True
    return out


def _most_pairs(admissible):
    """The largest one-to-one matching, by trying every assignment of marks to objects."""
    n_obj, n_mark = admissible.shape
    best = 0
    for chosen in itertools.permutations(range(n_mark), min(n_obj, n_mark)):
        for objs in itertools.permutations(range(n_obj), len(chosen)):
            best = max(best, sum(admissible[i, j] for i, j in zip(objs, chosen)))
    return best


def _brute_force_hits(package, keys, submission, rule):
    hits = 0
    for item in package.items:
        key = keys.answer_keys[item.item_id]
        response = submission.responses.get(item.item_id)
        marks = response.marks if response else []
        if not key.objects or not marks:
            continue
        adm = np.zeros((len(key.objects), len(marks)), dtype=bool)
        for i, obj in enumerate(key.objects):
            om = _full_mask(obj, key.shape)
            for j, mark in enumerate(marks):
                if rule == "centroid":
                    r, c = (math.floor(x + 0.5) for x in mark.centroid)
                    adm[i, j] = bool(om[r, c])
                else:
                    mm = _rect(mark, key.shape)
                    inter = np.count_nonzero(om & mm)
                    union = np.count_nonzero(om | mm)
                    adm[i, j] = inter > 0 and (
                        inter / union >= 0.1 or inter >= 0.5 * om.sum() or inter >= 0.5 * mm.sum()
                    )
        hits += _most_pairs(adm)
    return hits


def test_centroid_rule_hits_the_objects_whose_box_centre_lies_on_them(package, submissions, keys):
    """The perfect trainee boxes every object's bbox; under the centroid rule a box hits when
    the pixel at its centre belongs to the object (hollow or L-shaped objects are missed)."""
    res = grade(package, [submissions["perfect"]], keys, rule="centroid")
    s = res.trainee("perfect").overall
    centre_on_object = 0
    for key in keys.answer_keys.values():
        for o in key.objects:
            r0, c0, r1, c1 = o.bbox
            r, c = math.floor((r0 + r1 - 1) / 2 + 0.5), math.floor((c0 + c1 - 1) / 2 + 0.5)
            centre_on_object += bool(o.mask[r - r0, c - c0])
    assert s.hits == centre_on_object
    assert s.hits == _brute_force_hits(package, keys, submissions["perfect"], "centroid")
    assert s.d_prime == pytest.approx(loglinear_d(centre_on_object, 6, 0, 2), abs=1e-12)


@pytest.mark.parametrize("behaviour", ["random", "clicks_everywhere", "misses:narcotics"])
def test_hits_and_false_alarms_match_a_brute_force_count(
    results, package, keys, submissions, behaviour
):
    """Counts from the submission and the keys alone; d' by hand from those counts."""
    sub = submissions[behaviour]
    hits = _brute_force_hits(package, keys, sub, "overlap")
    clean = [it.item_id for it in package.items if keys.answer_keys[it.item_id].is_clean]
    false_alarms = sum(bool(sub.responses.get(i) and sub.responses[i].marks) for i in clean)
    n_marks = sum(len(r.marks) for r in sub.responses.values())
    s = results.trainee(behaviour).overall
    assert (s.n_signal, s.n_noise) == (6, len(clean)) == (6, 2)
    assert (s.hits, s.false_alarms, s.n_marks) == (hits, false_alarms, n_marks)
    assert s.d_prime == pytest.approx(loglinear_d(hits, 6, false_alarms, 2), abs=1e-12)
    assert s.hit_rate == hits / 6 and s.fa_rate == false_alarms / 2


def test_random_trainees_graded_as_a_brute_force_count(package, keys):
    seen = set()
    for seed in range(1, 7):
        sub = simulate_trainee(package, "random", seed=seed, passphrase=keys)
        s = grade(package, [sub], keys).trainee("random").overall
        hits = _brute_force_hits(package, keys, sub, "overlap")
        clean = [i.item_id for i in package.items if keys.answer_keys[i.item_id].is_clean]
        fas = sum(bool(sub.responses.get(i) and sub.responses[i].marks) for i in clean)
        assert (s.hits, s.false_alarms) == (hits, fas)
        assert s.d_prime == pytest.approx(loglinear_d(hits, 6, fas, 2), abs=1e-12)
        seen.add((hits > 0, fas > 0))
    assert (True, True) in seen  # some seed finds objects and false-alarms on a clean scan


def _rated(sub, keys):
    """The submission's ratings split by the answer keys: scans with an object, clean ones."""
    signal, noise = [], []
    for item_id, response in sub.responses.items():
        (noise if keys.answer_keys[item_id].is_clean else signal).append(response.rating)
    return signal, noise


def _pairs_area(signal, noise):
    return np.mean([(s > n) + 0.5 * (s == n) for s in signal for n in noise])


def test_ratings_give_each_trainee_a_roc(results, submissions, keys):
    perfect = results.trainee("perfect").ratings
    # 6 scans with an object rated 4, 2 clean ones -4: every one of 12 pairs ranked right;
    # d' comes from the corrected area (12 + 0.5) / 13, as d' of hits uses (6 + 0.5) / 7.
    assert perfect.area == 1.0 and perfect.area_high == 1.0 and perfect.area_low < 1.0
    assert perfect.d_prime == pytest.approx(math.sqrt(2) * z(12.5 / 13), abs=1e-12)
    assert results.trainee("perfect").n_rated == (6, 2)
    misses = results.trainee("misses:narcotics").ratings
    signal, noise = _rated(submissions["misses:narcotics"], keys)
    # Suspect (3) where it marked, clear (-2) where it saw nothing: the three narcotics
    # scans tie with the clean ones. Of 6 x 2 pairs, 6 ranked right, 6 tied (half each): 9 / 12.
    assert sorted(signal) == [-2, -2, -2, 3, 3, 3] and noise == [-2, -2]
    assert misses.area == pytest.approx(_pairs_area(signal, noise)) == pytest.approx(3 / 4)
    assert misses.area_low < 3 / 4 < misses.area_high
    clicks = results.trainee("clicks_everywhere").ratings
    assert clicks.area == 0.5 and clicks.d_prime == pytest.approx(0.0, abs=1e-12)
    pooled = results.pooled_ratings()
    everyone = [_rated(s, keys) for s in submissions.values()]
    all_signal = [r for s, _ in everyone for r in s]
    all_noise = [r for _, n in everyone for r in n]
    assert pooled.area == pytest.approx(_pairs_area(all_signal, all_noise))


def test_no_roc_unless_both_kinds_of_scan_were_rated(package, submissions, keys):
    """Ratings on the scans with an object alone (or on the clean ones alone) give no ROC:
    its area needs pairs of one of each."""
    for rated_clean in (False, True):
        sub = Submission.start(package, "half-rater")
        for item_id, response in submissions["perfect"].responses.items():
            clean = keys.answer_keys[item_id].is_clean
            sub.record(item_id, marks=response.marks, time_spent_s=1.0,
                       rating=response.rating if clean == rated_clean else None)  # fmt: skip
        sub.sign(keys.token("half-rater"))
        result = grade(package, [sub], keys).trainee("half-rater")
        assert result.n_rated == ((0, 2) if rated_clean else (6, 0))
        assert result.ratings is None


def test_submissions_without_ratings_still_grade(package, submissions, keys, tmp_path):
    """A submission from before ratings (no 'rating' in its items) is signed over the same
    body as then, loads and grades; its ratings ROC is None, the rest as before."""
    old = Submission.start(package, "old-timer")
    for item_id, response in submissions["perfect"].responses.items():
        old.record(item_id, marks=response.marks, declaration_consistent=True,
                   time_spent_s=response.time_spent_s)  # fmt: skip
    path = old.save(tmp_path / "old.json", token=keys.token("old-timer"))
    items = json.loads(path.read_text())["items"]
    assert not any("rating" in it for it in items.values())
    res = grade(package, [path, submissions["perfect"]], keys)
    assert res.trainee("old-timer").ratings is None
    assert res.trainee("old-timer").overall.hit_rate == 1.0
    assert all(it.rating is None for it in res.trainee("old-timer").items)
    # The class ROC pools whoever rated.
    assert res.pooled_ratings().area == res.trainee("perfect").ratings.area
    loaded = ClassResults.load(res.save(tmp_path / "results.json"))
    assert loaded.trainee("old-timer").ratings is None
    assert loaded.trainee("perfect").ratings == res.trainee("perfect").ratings
    # A results file from before ratings (no 'rating' in its items) loads too.
    doc = json.loads((tmp_path / "results.json").read_text())
    for trainee in doc["trainees"]:
        for item in trainee["items"]:
            del item["rating"]
    older = ClassResults.from_dict(doc)
    assert older.trainee("perfect").ratings is None
    assert older.trainee("perfect").overall == res.trainee("perfect").overall


@pytest.mark.parametrize("rating", [0, 5, -5, 2.0, True, "4"])
def test_a_rating_off_the_scale_is_refused(package, rating):
    sub = Submission.start(package, "ana")
    with pytest.raises(SpecError, match="rating must be 1 to 4"):
        sub.record("item-000", marks=[], rating=rating)


def test_breakdowns_count_the_scans_that_hold_their_objects(results, keys):
    # By class, by concealment, by difficulty: the scans are those holding such objects (from
    # the keys), and marks are counted only overall.
    r = results.trainee("clicks_everywhere")
    for attr, field in [("by_class", "threat_class"), ("by_concealment", "concealment")]:
        for group, s in getattr(r, attr).items():
            holding = {
                item_id
                for item_id, key in keys.answer_keys.items()
                if any(getattr(o, field) == group for o in key.objects)
            }
            assert s.n_scans == len(holding) >= 1, (attr, group)
            assert (s.n_marks, s.false_marks) == (0, 0)
    assert r.overall.n_scans == len(keys.answer_keys) == 8 and r.overall.false_marks > 0


def test_two_submissions_of_one_trainee_are_refused(package, submissions, keys):
    twice = [submissions["random"], submissions["perfect"], submissions["random"]]
    with pytest.raises(SpecError, match=r"^two submissions from trainee 'random'$"):
        grade(package, twice, keys)


def test_a_damaged_results_file_is_named(results, tmp_path):
    path = results.save(tmp_path / "results.json")
    doc = json.loads(path.read_text(encoding="utf-8"))
    del doc["trainees"]
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(
        SpecError, match=rf"^{re.escape(str(path))}: invalid class results: KeyError\('trainees'\)$"
    ):
        ClassResults.load(path)


def test_results_from_before_assist_read_as_unassisted_and_a_bad_flag_is_named(results, tmp_path):
    """``assisted`` came later: a results file without it is read as no trainee assisted;
    one that is not true or false names the trainee."""
    path = results.save(tmp_path / "results.json")
    doc = json.loads(path.read_text(encoding="utf-8"))
    assisted = {t["trainee_id"]: t["assisted"] for t in doc["trainees"]}
    assert assisted == {b: b in ("perfect", "misses:narcotics") for b in assisted}  # ASSISTED
    for t in doc["trainees"]:
        del t["assisted"]
    path.write_text(json.dumps(doc), encoding="utf-8")
    assert [t.assisted for t in ClassResults.load(path).trainees] == [False] * 4
    doc["trainees"][1]["assisted"] = "yes"
    name = doc["trainees"][1]["trainee_id"]
    path.write_text(json.dumps(doc), encoding="utf-8")
    message = f"TypeError(\"trainee {name!r}: 'assisted' must be true or false\")"
    with pytest.raises(SpecError) as err:
        ClassResults.load(path)
    assert str(err.value) == f"{path}: invalid class results: {message}"


def test_graded_from_the_files_with_the_exam_id_and_assist_of_the_package(
    exam_path, submissions, keys, passphrase, tmp_path
):
    """Given the package's path and submission files (not opened objects), grading opens
    them; each result carries the exam's id and whether the package assigned that trainee
    Detector assist (the exam spec's ``assisted``: perfect and misses:narcotics)."""
    files = [
        s.save(tmp_path / f"{i}.json", token=keys.token(s.trainee_id))
        for i, s in enumerate(submissions.values())
    ]
    res = grade(str(exam_path), files, passphrase)
    with zipfile.ZipFile(exam_path) as zf:
        exam_id = json.loads(zf.read("exam.json"))["exam_id"]
    assert res.exam_id == exam_id
    assert {t.trainee_id: t.exam_id for t in res.trainees} == dict.fromkeys(submissions, exam_id)
    assert {t.trainee_id: t.assisted for t in res.trainees} == {
        b: b in ("perfect", "misses:narcotics") for b in submissions
    }


def test_a_file_that_is_not_class_results_is_named(tmp_path):
    path = tmp_path / "other.json"
    for doc in ([1, 2], {"format": "something else"}, {}):
        path.write_text(json.dumps(doc), encoding="utf-8")
        with pytest.raises(SpecError) as err:
            ClassResults.load(path)
        assert str(err.value) == f"{path}: not a version-1 scanlab class results file"
    with pytest.raises(SpecError, match=r"^<results>: not a version-1 scanlab class results"):
        ClassResults.from_dict([])
