"""The parts of batch evaluation checked on their own against hand values: how pixel maps are
scored and binned, how FROC counts are made, how tasks are chunked, how a Dask worker's
threads are shared out, and which pitch options are accepted. No network, no cluster."""

from __future__ import annotations

import math

import numpy as np
import pytest

from scanlab.errors import SpecError
from scanlab.evaluate import match_marks
from scanlab.evaluate._batch import (
    FROC_THRESHOLDS,
    PIXEL_LOGIT,
    _chunks,
    _evaluate_chunk,
    _froc_counts,
    _host_share,
    _pitch_setting,
    _region_mark,
    available_cores,
    pixel_ranks,
    pixel_scores,
)


class _Unbounded:
    map_range = (0.0, math.inf)


def test_pixel_scores_of_bounded_and_unbounded_maps():
    # In [0, 1] (the default without map_range): clipped, nothing else.
    assert pixel_scores(np.array([-0.5, 0.3, 1.5]), object(), 0.5).tolist() == [0.0, 0.3, 1.0]
    # Unbounded: map / (map + threshold), so the threshold lands at 0.5 (here 0.5 itself).
    assert pixel_scores(np.array([-1.0, 0.2, 0.5, 2.0]), _Unbounded(), 0.5) == pytest.approx(
        [0.0, 0.2 / 0.7, 0.5, 2.0 / 2.5]
    )
    # A threshold that is not a positive number scales by 1.
    for threshold in (0.0, -2.0, math.inf, math.nan):
        assert pixel_scores(np.array([1.0, 3.0]), _Unbounded(), threshold) == pytest.approx(
            [0.5, 0.75]
        )


def test_pixel_ranks_are_the_clipped_logit_on_zero_to_one():
    p = 1 / (1 + math.exp(8.0))  # logit -8: a quarter of the way from -16 to 16
    ranks = pixel_ranks(np.array([0.0, 1e-9, p, 0.5, 1 - p, 1.0, 1.5]))
    assert PIXEL_LOGIT == 16.0
    assert ranks == pytest.approx([0.0, 0.0, 0.25, 0.5, 0.75, 1.0, 1.0])
    # Order is kept where the logit is not clipped.
    q = np.array([1e-6, 1e-4, 0.01, 0.3, 0.9, 0.999])
    assert np.all(np.diff(pixel_ranks(q)) > 0)


def test_froc_counts_match_each_threshold_recounted_by_brute_force(four_object_key):
    # Regions of decreasing score: o1 exactly, o2 exactly, a false region, o3's box, one
    # more false region; scores straddle several FROC thresholds.
    regions = [
        {"bbox": [5, 5, 15, 15], "score": 0.95},
        {"bbox": [5, 40, 13, 52], "score": 0.7},
        {"bbox": [50, 50, 60, 60], "score": 0.6},
        {"bbox": [30, 10, 42, 22], "score": 0.31},
        {"bbox": [55, 5, 62, 12], "score": 0.05},
    ]
    hits, false = _froc_counts(four_object_key, regions, "overlap")
    assert len(hits) == len(false) == len(FROC_THRESHOLDS) == 49
    for t, h, f in zip(FROC_THRESHOLDS, hits, false, strict=True):
        kept = [_region_mark(i, r) for i, r in enumerate(regions) if r["score"] >= t]
        m = match_marks(four_object_key, kept, rule="overlap")
        assert (h, f) == (len(m.hits), len(m.false_alarms)), t
    # And by hand at a few thresholds: at 0.02 all five regions, 3 hits and 2 false.
    at = dict(zip(FROC_THRESHOLDS, zip(hits, false, strict=True), strict=True))
    assert at[0.02] == (3, 2)
    assert at[0.1] == (3, 1)
    assert at[0.32] == (2, 1)
    assert at[0.62] == (2, 0)
    assert at[0.72] == (1, 0)
    assert at[0.98] == (0, 0)


def test_region_marks_cover_the_region_box_with_their_own_ids():
    marks = [_region_mark(i, {"bbox": [2, 3, 6, 9], "score": s}) for i, s in enumerate([1.4, -1])]
    assert [m.mark_id for m in marks] == ["r0", "r1"]
    assert marks[0].shape == "rectangle"
    assert marks[0].vertices == [(2, 3), (5, 8)]  # the last row and column inside the box
    assert [m.confidence for m in marks] == [1.0, 0.0]  # scores clipped to [0, 1]


def test_chunks_group_each_detectors_tasks():
    a, b = object(), object()
    tasks = [({"scan_id": s}, "a", a) for s in "pqrst"] + [({"scan_id": "u"}, "b", b)]
    chunks = _chunks(tasks, 2)
    assert [([i["scan_id"] for i in items], name) for items, name, _ in chunks] == [
        (["p", "q"], "a"),
        (["r", "s"], "a"),
        (["t"], "a"),
        (["u"], "b"),
    ]
    assert [model for _, _, model in chunks] == [a, a, a, b]


@pytest.fixture
def eight_cores(monkeypatch):
    """This process may run on 8 cores (its affinity, as a job queue sets it)."""
    import os

    if hasattr(os, "sched_getaffinity"):
        monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(8)))
    else:
        monkeypatch.setattr(os, "cpu_count", lambda: 8)


def test_a_workers_threads_are_its_machines_cores_shared_among_its_task_slots(
    eight_cores, monkeypatch
):
    pytest.importorskip("dask.distributed")
    import dask.distributed

    class Worker:
        address = "tcp://10.1.2.3:39001"

    monkeypatch.setattr(dask.distributed, "get_worker", lambda: Worker())
    assert available_cores() == 8
    assert _host_share({"10.1.2.3": 4, "10.9.9.9": 1}) == 2
    assert _host_share({"10.1.2.3": 3}) == 2  # 8 // 3
    assert _host_share({"10.9.9.9": 4}) == 8  # no slots counted on this machine: all its cores
    assert _host_share({"10.1.2.3": 16}) == 1  # never fewer than one


@pytest.mark.parametrize(
    ("value", "setting"),
    [(0.5, 0.5), (25, 25.0), ((20, 22.5), [20.0, 22.5]), ([7.5], 7.5), (999.0, 999.0)],
)
def test_pitch_options_kept_as_numbers(value, setting):
    assert _pitch_setting(value) == setting
    assert all(isinstance(v, float) for v in np.atleast_1d(_pitch_setting(value)))


@pytest.mark.parametrize("value", [0, -1.0, 1000, (20, 0), (1, 2, 3), (), ("a", 2), "25"])
def test_pitch_options_out_of_range_are_refused(value):
    with pytest.raises(SpecError, match="pitch must be one or two positive numbers of mm"):
        _pitch_setting(value)


def test_a_task_on_a_cluster_started_elsewhere_pins_its_libraries_to_its_share(
    eight_cores, monkeypatch
):
    """Without threads of its own (a scheduler this process did not start), a task pins
    OpenCV and torch to its machine's cores shared among the task slots there: 8 // 4."""
    pytest.importorskip("dask.distributed")
    import cv2
    import dask.distributed

    class Worker:
        address = "tls://10.1.2.3:39001"

    monkeypatch.setattr(dask.distributed, "get_worker", lambda: Worker())
    torch = pytest.importorskip("torch")
    before = cv2.getNumThreads(), torch.get_num_threads()
    try:
        cv2.setNumThreads(7)
        torch.set_num_threads(7)
        assert _evaluate_chunk([], "any", None, "out", {}, None, {"10.1.2.3": 4}) == []
        assert (cv2.getNumThreads(), torch.get_num_threads()) == (2, 2)
        _evaluate_chunk([], "any", None, "out", {}, 3, {"10.1.2.3": 4})
        assert (cv2.getNumThreads(), torch.get_num_threads()) == (3, 3)  # its own threads
    finally:
        cv2.setNumThreads(before[0])
        torch.set_num_threads(before[1])
