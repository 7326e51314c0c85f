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
        "cohorts.csv",
        "objects.csv",
        "humans_vs_detector.png",
        "cohorts.html",
    }
