"""Cohorts aggregated and compared with a detector graded on the same items."""

from __future__ import annotations

import numpy as np
import pytest

from scanlab.detect import Detection, Region
from scanlab.exercises import compare_cohorts, grade, simulate_trainee, write_cohort_report


class OracleDetector:
    """A stand-in detector that boxes every true object of the items it is shown: the
    comparison must then credit it with every hit (and the reverse for a blind one)."""

    name = "oracle"

    def __init__(self, keys, blind=False):
        self.boxes = {k.scan_id: [o.bbox for o in k.objects] for k in keys.answer_keys.values()}
        self.blind = blind

    def __call__(self, scan):
        boxes = [] if self.blind else self.boxes.get(scan.metadata.scan_id, [])
        return Detection(
            score=1.0 if boxes else 0.0,
            anomaly_map=np.zeros(scan.shape, np.float32),
            regions=[Region(tuple(b), 0.9, 1) for b in boxes],
            threshold=0.5,
        )


def test_cohorts_and_detector_on_the_same_items(package, keys, results, tmp_path):
    scan_ids = {package.scan(i).metadata.scan_id for i in package.item_ids}
    if not any(k.scan_id in scan_ids for k in keys.answer_keys.values()):
        pytest.skip("package scans carry no scan id to map keys by")
    second = grade(
        package,
        [simulate_trainee(package, "random", seed=5, passphrase=keys, trainee_id="zoe")],
        keys,
    )
    paths = {package.exam_id: package}
    oracle = compare_cohorts(
        [results, second],
        detector=OracleDetector(keys),
        packages=paths,
        passphrase="correct horse battery staple",
    )
    assert [c["trainees"] for c in oracle.cohorts] == [4, 1]
    for cohort in oracle.cohorts:
        assert cohort["detector"]["hit_rate"] == 1.0
    assert all(o["detector_found"] for o in oracle.objects)
    perfect = results.trainees[0]
    assert perfect.trainee_id == "perfect"
    # The share of trainees who found each object is the mean of their hits.
    first = [o for o in oracle.objects if o["exam"] == results.exam_name][: len(perfect.objects)]
    for o in first:
        hits = [
            next(
                x.hit
                for x in t.objects
                if x.object_id == o["object_id"] and x.item_id == o["item_id"]
            )
            for t in results.trainees
        ]
        assert o["humans_found"] == pytest.approx(np.mean(hits))
    blind = compare_cohorts(
        [results],
        detector=OracleDetector(keys, blind=True),
        packages=paths,
        passphrase="correct horse battery staple",
    )
    assert blind.cohorts[0]["detector"]["hit_rate"] == 0.0
    files = write_cohort_report(oracle, tmp_path / "rep")
    assert {p.name for p in files} == {
        "assist.csv",  # the test exam gives two of its trainees Detector assist
        "cohorts.csv",
        "objects.csv",
        "humans_vs_detector.png",
        "trainees.png",
        "ratings.png",
        "cohorts.html",
    }


def test_cohorts_are_labelled_by_file_or_name(results, tmp_path):
    spring, autumn = tmp_path / "spring.json", tmp_path / "autumn.json"
    results.save(spring)
    results.save(autumn)
    by_file = compare_cohorts([spring, autumn])
    assert [c["cohort"] for c in by_file.cohorts] == ["spring", "autumn"]
    named = compare_cohorts([spring, autumn], names=["A", "A"])
    assert [c["cohort"] for c in named.cohorts] == ["A (1)", "A (2)"]  # never merged
    # Identical trainees in both cohorts keep their own entries (and legend lines).
    assert named.trainees["A (1)"] == named.trainees["A (2)"]
    assert len(named.trainees["A (1)"]) == len(results.trainees)
    write_cohort_report(by_file, tmp_path / "rep")
    page = (tmp_path / "rep" / "cohorts.html").read_text()
    assert "spring" in page and "autumn" in page


def test_tied_trainees_stay_apart_in_the_chart(results, tmp_path, monkeypatch):
    """Two identical cohorts: every trainee of both is a point of its own, none on another,
    each with its own legend entry (cohort and trainee id)."""
    import matplotlib.pyplot as plt

    figures = []
    close = plt.close
    monkeypatch.setattr(plt, "close", lambda fig=None: figures.append(fig) or close(fig))
    named = compare_cohorts([results, results], names=["A", "A"])
    write_cohort_report(named, tmp_path / "rep")
    (ax,) = next(f for f in figures if f.axes[0].get_title() == "trainees by cohort").axes
    points = [tuple(np.round(c.get_offsets()[0], 9)) for c in ax.collections]
    humans = [t.trainee_id for t in results.trainees]
    assert len(points) == 2 * len(humans) == len(set(points))
    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    assert sorted(labels) == sorted(f"{c}: {t}" for c in ("A (1)", "A (2)") for t in humans)


def test_assist_comparison_pools_the_same_items(results):
    """Hit rate and d' with and without Detector assist, against counts made by hand."""
    from scanlab.evaluate import d_prime, rates_with_correction
    from scanlab.exercises import compare_assist

    humans = results.trainees
    assisted = {humans[0].trainee_id}
    report = compare_assist(humans, assisted, n_bootstrap=200)
    assert report["used"] is None  # simulated submissions record no use of it

    def pooled(ts):
        hits = sum(len(it.hits) for t in ts for it in t.items)
        signal = sum(len(it.hits) + len(it.misses) for t in ts for it in t.items)
        fas = sum(it.clean and it.n_marks > 0 for t in ts for it in t.items)
        noise = sum(it.clean for t in ts for it in t.items)
        return hits, signal, fas, noise

    for group, ts in (("with", humans[:1]), ("without", humans[1:])):
        hits, signal, fas, noise = pooled(ts)
        g = report[group]
        assert (g["hits"], g["signal_trials"], g["false_alarms"], g["noise_trials"]) == (
            hits,
            signal,
            fas,
            noise,
        )
        assert g["hit_rate"][0] == pytest.approx(hits / signal)
        assert g["hit_rate"][1] <= hits / signal <= g["hit_rate"][2]
        h, f = rates_with_correction(hits, signal, fas, noise)
        assert g["d_prime"][0] == pytest.approx(d_prime(h, f))
    diff = report["difference"]["d_prime"]
    assert diff[0] == pytest.approx(report["with"]["d_prime"][0] - report["without"]["d_prime"][0])
    assert diff[1] <= diff[0] <= diff[2]
    with pytest.raises(Exception, match="both with and without"):
        compare_assist(humans, set())


def test_assist_assignment_comes_from_the_package(package, results, tmp_path):
    """Grading records each trainee's assignment from the package, and the cohort report
    compares the two groups with no list passed again; a list given replaces it."""
    import json

    from scanlab.exercises import ClassResults

    assert {t.trainee_id: t.assisted for t in results.trainees} == {
        "perfect": True,
        "random": False,
        "misses:narcotics": True,
        "clicks_everywhere": False,
    }
    path = results.save(tmp_path / "spring.json")
    (entry,) = compare_cohorts([path]).assist
    for group, ids in (("with", package.assisted), ("without", {"random", "clicks_everywhere"})):
        members = [t for t in results.trainees if t.trainee_id in ids]
        g = entry[group]
        assert g["trainees"] == len(members) == 2
        # Pooled by hand over the group's items (all items: every trainee answered all).
        assert g["hits"] == sum(len(it.hits) for t in members for it in t.items)
        assert g["noise_trials"] == sum(it.clean for t in members for it in t.items)

    (replaced,) = compare_cohorts([path], assisted={"random"}).assist
    assert (replaced["with"]["trainees"], replaced["without"]["trainees"]) == (1, 3)

    # Results graded before the assignment existed hold none: no comparison, no error.
    doc = json.loads(path.read_text())
    for t in doc["trainees"]:
        del t["assisted"]
    old = tmp_path / "old.json"
    old.write_text(json.dumps(doc))
    assert not any(t.assisted for t in ClassResults.load(old).trainees)
    assert compare_cohorts([old]).assist == []
    doc["trainees"][0]["assisted"] = "yes"
    old.write_text(json.dumps(doc))
    with pytest.raises(Exception, match="'assisted' must be true or false"):
        ClassResults.load(old)


def brute_force_area(pairs) -> float:
    """P(a scan with an object is rated above a clean one), ties half: every pair counted."""
    signal = [r for r, is_signal in pairs if is_signal]
    noise = [r for r, is_signal in pairs if not is_signal]
    wins = sum((s > n) + 0.5 * (s == n) for s in signal for n in noise)
    return wins / (len(signal) * len(noise))


def _rated(trainee, items=None):
    return [
        (it.rating, not it.clean)
        for it in trainee.items
        if it.rating is not None and (items is None or it.item_id in items)
    ]


def test_cohorts_compare_the_ratings_roc(results, tmp_path):
    """Each cohort's clear/suspect ratings pooled into one ROC, and each trainee's own area,
    against pair counts made here; the same in the CSV, the page and the assist table."""
    import csv

    from scanlab.exercises import compare_assist

    spring = tmp_path / "spring.json"
    results.save(spring)
    comparison = compare_cohorts([spring])
    cohort = comparison.cohorts[0]
    humans = results.trainees
    pooled = [p for t in humans for p in _rated(t)]
    assert cohort["rated_signal"] == sum(s for _, s in pooled)
    assert cohort["rated_noise"] == sum(not s for _, s in pooled)
    area, low, high = cohort["rating_area"]
    assert area == pytest.approx(brute_force_area(pooled))
    assert low <= area <= high and 0.0 <= low and high <= 1.0
    own = {t.trainee_id: brute_force_area(_rated(t)) for t in humans}
    assert comparison.rating_areas["spring"] == pytest.approx(own)
    assert cohort["mean_rating_area"] == pytest.approx(np.mean(list(own.values())))
    # misses:narcotics: 3 scans rated suspect, 3 clear like the 2 clean ones: (6 + 6 / 2) / 12.
    assert own["perfect"] == 1.0 and own["misses:narcotics"] == pytest.approx(3 / 4)

    write_cohort_report(comparison, tmp_path / "rep")
    rows = list(csv.DictReader((tmp_path / "rep" / "cohorts.csv").read_text().splitlines()))
    assert float(rows[0]["rating_area"]) == pytest.approx(area)
    assert float(rows[0]["rating_area_low"]) == pytest.approx(low)
    assert float(rows[0]["hit_rate_high"]) == pytest.approx(cohort["hit_rate"][2])
    page = (tmp_path / "rep" / "cohorts.html").read_text()
    assert f"{area:.2f} [{low:.2f}, {high:.2f}]" in page and "ratings.png" in page
    png = (tmp_path / "rep" / "ratings.png").read_bytes()
    assert png.startswith(b"\x89PNG")

    # With and without Detector assist: the ratings of the items both groups answered.
    report = compare_assist(humans, {"perfect"}, n_bootstrap=200)
    with_area = brute_force_area(_rated(humans[0]))
    without_area = brute_force_area([p for t in humans[1:] for p in _rated(t)])
    assert report["with"]["rating_area"][0] == pytest.approx(with_area)
    assert report["without"]["rating_area"][0] == pytest.approx(without_area)
    diff = report["difference"]["rating_area"]
    assert diff[0] == pytest.approx(with_area - without_area)
    assert diff[1] <= diff[0] <= diff[2]
