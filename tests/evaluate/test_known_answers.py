"""Known-answer detectors through batch evaluation: a perfect detector (its map is the
answer key's mask), an inverted one and a constant one give AUROC 1, 0 and 0.5, detection
rates 1 and 0 and per-class recall counted from the keys, in this process, through
``scanlab evaluate`` and on Dask workers."""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from scanlab.cli import app
from scanlab.errors import SpecError
from scanlab.evaluate import evaluate_dataset
from scanlab.synth import AnswerKey, DatasetSpec, build_dataset, load_manifest

DETECTORS = Path(__file__).with_name("known_detectors.py")
PERFECT, INVERTED, CONSTANT, BLIND = (
    f"{DETECTORS}:{name}" for name in ("perfect", "inverted", "constant", "blind_to_weapons")
)


@pytest.fixture(scope="module")
def dataset(built_once):
    spec = DatasetSpec.from_dict(
        {
            "name": "known",
            "seed": 5,
            "count": 9,
            "clean_share": 0.35,
            "vehicles": {"container_20ft": 1},
            "cargo": {"textiles": 1, "tyres": 1},
            "concealments": {"pistol": 1, "drugs_in_cargo": 1, "cash": 1},
            "pitch_mm": 25.0,
            "format": "npz",
        }
    )
    return built_once("known", lambda out: build_dataset(spec, out))


@pytest.fixture(scope="module")
def truth(dataset):
    """Counted straight from the answer keys: clean scans, objects per class."""
    keys = [AnswerKey.load(item["key_path"]) for item in load_manifest(dataset)]
    classes = Counter(o.threat_class for k in keys for o in k.objects)
    return {"n": len(keys), "clean": sum(k.is_clean for k in keys), "classes": classes}


def _value(metrics, name):
    return metrics[name]["value"]


def _check(metrics, truth):
    """The figures each known-answer detector must give, whatever ran it."""
    perfect, inverted, constant, blind = (metrics[d] for d in (PERFECT, INVERTED, CONSTANT, BLIND))
    assert truth["clean"] >= 2 and truth["n"] - truth["clean"] >= 2
    for m in (perfect, inverted, constant):
        assert m["n_scans"] == truth["n"] and m["n_errors"] == 0
    assert _value(perfect, "image_auroc") == 1.0
    assert _value(inverted, "image_auroc") == 0.0
    assert _value(constant, "image_auroc") == 0.5
    assert _value(perfect, "average_precision") == 1.0
    # F1-max: 1 for the perfect detector; the constant one ties every scan, so its only
    # threshold flags all of them: precision = the concealed share q, recall 1.
    q = (truth["n"] - truth["clean"]) / truth["n"]
    assert _value(perfect, "f1_max") == 1.0
    assert _value(constant, "f1_max") == pytest.approx(2 * q / (1 + q))
    # Pixel precision-recall: the perfect map ranks every object pixel above every other.
    assert _value(perfect, "pixel_average_precision") == pytest.approx(1.0)
    assert _value(perfect, "pixel_f1_max") == pytest.approx(1.0)
    for fpr in ("0.01", "0.05"):
        assert _value(perfect, f"detection_rate_at_fpr_{fpr}") == 1.0
        assert _value(inverted, f"detection_rate_at_fpr_{fpr}") == 0.0
        assert _value(constant, f"detection_rate_at_fpr_{fpr}") == 0.0
    assert _value(perfect, "pixel_auroc") == 1.0
    assert _value(inverted, "pixel_auroc") == 0.0
    assert _value(constant, "pixel_auroc") == 0.5
    assert _value(perfect, "aupro_0.3") == pytest.approx(1.0)
    assert _value(inverted, "aupro_0.3") == pytest.approx(0.0)
    # Clean scans: the perfect map is 0 there (below 0.5), the inverted 1, the constant
    # 0.5 stays below its 0.75.
    assert perfect["false_alarm_rate_at_threshold"] == 0.0
    assert inverted["false_alarm_rate_at_threshold"] == 1.0
    assert constant["false_alarm_rate_at_threshold"] == 0.0
    n = truth["classes"]

    def recall(m):
        return {c: {"recall": v["recall"], "n": v["n"]} for c, v in m["recall_by_class"].items()}

    assert recall(perfect) == {c: {"recall": 1.0, "n": k} for c, k in sorted(n.items())}
    for m in (inverted, constant):
        assert recall(m) == {c: {"recall": 0.0, "n": k} for c, k in sorted(n.items())}
    assert recall(blind) == {
        c: {"recall": 0.0 if c == "weapon" else 1.0, "n": k} for c, k in sorted(n.items())
    }
    assert {"weapon", "cash"} <= set(n)
    # FROC: every object is hit by a region of score 1 at every threshold, with no false
    # region; the blind detector reaches exactly the share of objects that are not weapons.
    assert perfect["froc"]["sensitivity"] == [1.0] * 49
    assert perfect["froc"]["mean_false_positives"] == [0.0] * 49
    share = 1 - n["weapon"] / sum(n.values())
    assert blind["froc"]["sensitivity"] == pytest.approx([share] * 49)


def test_known_answers_in_process(dataset, truth, tmp_path):
    # No overlay pictures (three quarters of the run): the CLI test below draws them.
    results = evaluate_dataset(
        dataset, [PERFECT, INVERTED, CONSTANT, BLIND], tmp_path / "ev", n_bootstrap=50, n_overlays=0
    )
    assert not results.errors
    _check(results.metrics, truth)
    rows = {r["scan_id"]: r for r in results.per_scan[PERFECT]}
    for item in load_manifest(dataset):
        key = AnswerKey.load(item["key_path"])
        row = rows[item["scan_id"]]
        assert row["clean"] == key.is_clean
        assert row["flagged"] == (not key.is_clean)
        assert [o["object_id"] for o in row["objects"] if o["detected"]] == [
            o.object_id for o in key.objects
        ]
    on_disk = json.loads((tmp_path / "ev" / "metrics.json").read_text())["metrics"]
    _check(on_disk, truth)


def test_known_answers_through_the_cli(dataset, truth, tmp_path):
    args = ["evaluate", str(dataset), "--out", str(tmp_path / "ev"), "--workers", "0"]
    for name in (PERFECT, INVERTED, CONSTANT, BLIND):
        args += ["-d", name]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "400"})
    assert result.exit_code == 0, result.output
    row = next(line for line in result.output.splitlines() if "image_auroc" in line)
    cells = [c.strip() for c in row.split("│")[2:-1]]
    assert [c.split()[0] for c in cells] == ["1.000", "0.000", "0.500", "1.000"]
    _check(json.loads((tmp_path / "ev" / "metrics.json").read_text())["metrics"], truth)
    # The overlays: each detector's 3 highest-scoring clean scans and 3 lowest-scoring scans
    # with a missed object. Every map here is flat on the clean scans and on the scans it
    # misses, so the ties fall in the dataset's order, read from the answer keys.
    keys = [(i["scan_id"], AnswerKey.load(i["key_path"])) for i in load_manifest(dataset)]
    clean = [s for s, k in keys if k.is_clean][:3]
    concealed = [s for s, k in keys if not k.is_clean][:3]
    armed = [s for s, k in keys if any(o.threat_class == "weapon" for o in k.objects)][:3]
    drawn = {
        str(p.relative_to(tmp_path / "ev" / "overlays"))
        for p in (tmp_path / "ev" / "overlays").rglob("*.png")
    }
    expected = set()
    for name, missed in [
        ("perfect", []),
        ("inverted", concealed),
        ("constant", concealed),
        ("blind_to_weapons", armed),
    ]:
        expected |= {
            f"known_detectors.py_{name}/false-alarm-{k}-{s}.png" for k, s in enumerate(clean, 1)
        }
        expected |= {f"known_detectors.py_{name}/miss-{k}-{s}.png" for k, s in enumerate(missed, 1)}
    assert drawn == expected


@pytest.mark.slow
def test_known_answers_on_dask_workers(dataset, truth, tmp_path):
    results = evaluate_dataset(
        dataset, [PERFECT, INVERTED, CONSTANT, BLIND], tmp_path / "ev", workers=2, n_bootstrap=50
    )
    assert not results.errors
    _check(results.metrics, truth)


def test_a_detector_that_cannot_be_loaded_stops_the_run_before_any_task(dataset, tmp_path):
    with pytest.raises(SpecError, match="no callable 'no_such_factory'"):
        evaluate_dataset(dataset, [f"{DETECTORS}:no_such_factory"], tmp_path / "ev")
    with pytest.raises(SpecError, match="no file"):
        evaluate_dataset(dataset, [f"{tmp_path / 'missing.py'}:perfect"], tmp_path / "ev")
    assert not (tmp_path / "ev" / "results").exists()
    with pytest.raises(SpecError, match="nothing to evaluate"):
        evaluate_dataset(dataset, [], tmp_path / "ev2")


def test_a_map_beyond_one_keeps_its_pixel_ranking(dataset, tmp_path):
    """A detector whose map is unbounded (the baselines') is scored on its ranking of pixels:
    the perfect map raised to 5..15 keeps pixel AUROC 1 (clipped at 1 it would tie at 0.5)."""
    unbounded = f"{DETECTORS}:unbounded"
    metrics = evaluate_dataset(dataset, [unbounded], tmp_path / "eval", n_overlays=0).metrics
    assert _value(metrics[unbounded], "pixel_auroc") == 1.0
    assert _value(metrics[unbounded], "aupro_0.3") == pytest.approx(1.0, abs=1e-3)
    assert _value(metrics[unbounded], "image_auroc") == 1.0


def test_pixel_auroc_of_a_map_near_zero_is_the_exact_one(dataset, tmp_path):
    """Pixel scores all below 0.001 (as most of v2's map is) keep their ranking through the
    per-scan histograms: batch evaluation's pixel AUROC agrees with the exact Mann-Whitney
    figure of every pixel (1000 equal bins of the score tied them all: 0.5)."""
    from scipy.stats import mannwhitneyu

    from scanlab.evaluate._batch import _import_detector
    from scanlab.io import read_scan

    name = f"{DETECTORS}:faint"
    detector = _import_detector(str(DETECTORS), "faint", name)  # as evaluation loads it
    pos, neg = [], []
    for item in load_manifest(dataset):
        key = AnswerKey.load(item["key_path"])
        amap = detector(read_scan(item["scan_path"])).anomaly_map
        truth = key.label_image() > 0
        pos.append(amap[truth])
        neg.append(amap[~truth])
    pos_all, neg_all = np.concatenate(pos), np.concatenate(neg)
    exact = mannwhitneyu(pos_all, neg_all).statistic / (pos_all.size * neg_all.size)
    assert 0.6 < exact < 0.95 and neg_all.max() < 1e-3
    metrics = evaluate_dataset(dataset, [name], tmp_path / "eval", n_overlays=0).metrics[name]
    assert _value(metrics, "pixel_auroc") == pytest.approx(exact, abs=2e-3)


def test_overlays_leave_out_a_scan_that_failed(dataset, tmp_path):
    # The constant detector ties every scan, so its top false alarm is the first clean scan
    # and its first miss the first concealed scan, in the dataset's order. With the first
    # clean scan failed, the false alarm drawn is the second.
    from scanlab.evaluate._report import write_overlays

    results = evaluate_dataset(dataset, [CONSTANT], tmp_path / "ev", n_bootstrap=20, n_overlays=0)
    items = load_manifest(dataset)
    keys = [(i["scan_id"], AnswerKey.load(i["key_path"])) for i in items]
    clean = [s for s, k in keys if k.is_clean]
    concealed = [s for s, k in keys if not k.is_clean]
    failed = {"detector": CONSTANT, "scan_id": clean[0], "error": "damaged"}
    results.per_scan[CONSTANT] = [
        failed if r["scan_id"] == clean[0] else r for r in results.per_scan[CONSTANT]
    ]
    drawn = write_overlays(results, items, tmp_path / "ev", n=1)
    assert [(o["kind"], o["scan_id"]) for o in drawn[CONSTANT]] == [
        ("false-alarm", clean[1]),
        ("miss", concealed[0]),
    ]
    for o in drawn[CONSTANT]:
        assert (tmp_path / "ev" / o["path"]).read_bytes()[:4] == b"\x89PNG"


# --- a serial run's bookkeeping, on the known-answer detectors (seconds, not minutes) ---------

REPORTING, FAILS_ON_CLEAN = (f"{DETECTORS}:{name}" for name in ("reporting", "fails_on_clean"))


def _without_seconds(rows):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in rows]


def test_results_lie_where_documented_and_read_back(dataset, tmp_path):
    import time

    from scanlab.evaluate import load_results

    out = tmp_path / "ev"
    started = time.perf_counter()
    results = evaluate_dataset(dataset, [PERFECT], out, n_bootstrap=20, n_overlays=0, limit=4)
    elapsed = time.perf_counter() - started
    ids = [item["scan_id"] for item in load_manifest(dataset)[:4]]
    # OUT/results/<folder>-<fingerprint>/<scan_id>.json, one file per scan and detector.
    (folder,) = (out / "results").iterdir()
    assert folder.name.startswith("known_detectors-perfect-")
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{i}.json" for i in ids)
    for scan_id in ids:
        saved = json.loads((folder / f"{scan_id}.json").read_text())
        assert saved["scan_id"] == scan_id and saved["detector"] == PERFECT
    rows = results.per_scan[PERFECT]
    assert [r["scan_id"] for r in rows] == sorted(ids)
    assert all(0.0 <= r["seconds"] <= elapsed for r in rows)
    assert load_results(out, [PERFECT]).per_scan[PERFECT] == rows


def test_a_second_run_reuses_what_is_done_and_recomputes_the_rest(dataset, tmp_path):
    out = tmp_path / "ev"
    first = evaluate_dataset(dataset, [PERFECT], out, n_bootstrap=20, n_overlays=0, limit=4)
    files = sorted(next((out / "results").iterdir()).glob("*.json"))
    files[1].unlink()  # as if the run had been interrupted before this item
    kept = {f: f.stat().st_mtime_ns for f in files if f != files[1]}
    calls: list[tuple[int, int]] = []
    second = evaluate_dataset(
        dataset, [PERFECT], out, n_bootstrap=20, n_overlays=0, limit=4,
        progress=lambda done, total: calls.append((done, total)),
    )  # fmt: skip
    assert calls == [(3, 4), (4, 4)]  # three were there; the fourth ran
    assert all(f.stat().st_mtime_ns == t for f, t in kept.items())
    assert files[1].is_file()
    assert _without_seconds(second.per_scan[PERFECT]) == _without_seconds(first.per_scan[PERFECT])
    # Other settings: nothing is reused, and every result records the new ones.
    calls.clear()
    centroid = evaluate_dataset(
        dataset, [PERFECT], out, n_bootstrap=20, n_overlays=0, limit=4, matching_rule="centroid",
        progress=lambda done, total: calls.append((done, total)),
    )  # fmt: skip
    assert calls == [(0, 4), (1, 4), (2, 4), (3, 4), (4, 4)]
    assert all(r["settings"]["matching_rule"] == "centroid" for r in centroid.per_scan[PERFECT])
    assert centroid.settings["matching_rule"] == "centroid"


def test_failed_items_are_reported_and_retried_on_the_next_run(dataset, truth, tmp_path):
    import shutil

    copy = tmp_path / "data"
    shutil.copytree(dataset, copy)
    items = load_manifest(copy)
    keys = [AnswerKey.load(i["key_path"]) for i in items]
    concealed = [i for i, k in zip(items, keys, strict=True) if not k.is_clean]
    clean = [i for i, k in zip(items, keys, strict=True) if k.is_clean]
    key_path = Path(concealed[0]["key_path"])
    saved = key_path.read_bytes()
    key_path.unlink()
    out = tmp_path / "ev"
    first = evaluate_dataset(copy, [PERFECT, FAILS_ON_CLEAN], out, n_bootstrap=20, n_overlays=0)
    errors = {(e["detector"], e["scan_id"]): e["error"] for e in first.errors}
    missing = concealed[0]["scan_id"]
    # A ScanlabError says what is wrong; any other exception is named with its type.
    assert str(key_path) in errors[PERFECT, missing]
    assert errors[FAILS_ON_CLEAN, clean[0]["scan_id"]] == (
        f"RuntimeError: cannot read {Path(clean[0]['scan_path']).name}"
    )
    assert set(errors) == {(PERFECT, missing), (FAILS_ON_CLEAN, missing)} | {
        (FAILS_ON_CLEAN, i["scan_id"]) for i in clean
    }
    assert first.metrics[PERFECT]["n_scans"] == truth["n"] - 1
    assert first.metrics[PERFECT]["n_errors"] == 1
    assert first.metrics[FAILS_ON_CLEAN]["n_errors"] == truth["clean"] + 1
    assert all(r["detector"] == PERFECT for r in first.per_scan[PERFECT])
    key_path.write_bytes(saved)  # the key is restored: its items run again, and only they
    calls: list[int] = []
    second = evaluate_dataset(
        copy, [PERFECT], out, n_bootstrap=20, n_overlays=0, progress=lambda d, n: calls.append(d)
    )
    assert calls == [truth["n"] - 1, truth["n"]]
    assert not second.errors
    assert _value(second.metrics[PERFECT], "image_auroc") == 1.0


def test_input_mode_and_pitch_reach_the_detector_and_are_recorded(dataset, tmp_path):
    out = tmp_path / "ev"
    recorded = evaluate_dataset(dataset, [REPORTING], out, n_bootstrap=20, n_overlays=0, limit=3)
    pitches = {tuple(r["pitch_mm"]) for r in recorded.per_scan[REPORTING]}
    assert pitches == {(25.0, 25.0)}  # the dataset's own
    assert {r["pitch_source"] for r in recorded.per_scan[REPORTING]} == {"metadata"}
    assert all(r["in_domain"] for r in recorded.per_scan[REPORTING])  # dual energy as recorded
    single = evaluate_dataset(
        dataset, [REPORTING], out, n_bootstrap=20, n_overlays=0, limit=3,
        input_mode="single", pitch_mm=(20, 22.5),
    )  # fmt: skip
    for row in single.per_scan[REPORTING]:
        assert row["settings"] == {
            "matching_rule": "overlap",
            "input": "single",
            "pitch_mm": [20.0, 22.5],
        }
        assert row["pitch_mm"] == [20.0, 22.5] and row["pitch_source"] == "option"
        assert row["in_domain"] is False  # the high-energy channel alone reached it
    assert single.settings["input"] == "single"
    square = evaluate_dataset(
        dataset, [REPORTING], out, n_bootstrap=20, n_overlays=0, limit=3, pitch_mm=7.5
    )
    assert {tuple(r["pitch_mm"]) for r in square.per_scan[REPORTING]} == {(7.5, 7.5)}
    assert square.settings["pitch_mm"] == 7.5


def test_warnings_name_the_clean_scans_a_false_alarm_rate_needs(dataset, truth, tmp_path):
    metrics = evaluate_dataset(
        dataset, [PERFECT], tmp_path / "ev", n_bootstrap=20, n_overlays=0, fprs=[0.01, 0.25, 0.5]
    ).metrics[PERFECT]
    assert truth["clean"] == 3  # 3 x 0.25 < 1 <= 3 x 0.5
    assert metrics["n_clean"] == 3 and metrics["n_objects"] == sum(truth["classes"].values())
    assert metrics["warnings"] == [
        f"only 3 clean scans: a false-alarm rate of {rate} needs at least {needed} to mean "
        "anything (below that, no false alarm is allowed and every such rate gives the same "
        "detection rate)"
        for rate, needed in (("0.01", 100), ("0.25", 4))
    ]
    assert set(metrics) >= {"detection_rate_at_fpr_0.01", "detection_rate_at_fpr_0.5"}


@pytest.mark.parametrize(
    ("problem", "said"),
    [("twice", "scan_id '{id}' occurs twice"), ("empty", "scan_id '' is not a plain file name")],
)
def test_a_bad_scan_id_is_refused_naming_the_manifest(dataset, tmp_path, problem, said):
    import shutil

    copy = tmp_path / "data"
    shutil.copytree(dataset, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    first = manifest["items"][0]["scan_id"]
    manifest["items"][1]["scan_id"] = first if problem == "twice" else ""
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(SpecError) as info:
        evaluate_dataset(copy, [PERFECT], tmp_path / "ev")
    assert str(info.value).startswith(f"{copy}: {said.format(id=first)}")
    assert not (tmp_path / "ev" / "results").exists()


def test_a_missing_scheduler_file_is_refused_before_any_work(dataset, tmp_path):
    with pytest.raises(SpecError, match=r"no-such\.json: no such Dask scheduler file"):
        evaluate_dataset(
            dataset, [PERFECT], tmp_path / "ev", scheduler=str(tmp_path / "no-such.json")
        )
    assert not (tmp_path / "ev").exists()


def test_a_detector_module_that_cannot_be_imported_is_named(dataset, tmp_path):
    with pytest.raises(
        SpecError, match="'no_such_module_h18:factory': cannot import no_such_module_h18"
    ):
        evaluate_dataset(dataset, ["no_such_module_h18:factory"], tmp_path / "ev")


class _Future:
    def __init__(self, run):
        self._run = run

    def result(self):
        return self._run()


class _Client:
    """Dask's client as batch evaluation uses it, running each task in this process when its
    result is asked for. Dask itself is run by the slow tests: a cluster started in a process
    forked from one that ran a cluster before (as mutmut runs each mutant) never starts."""

    def __init__(self, address=None, *, scheduler_file=None, log):
        self.log = log
        log.append(("client", address, scheduler_file))

    def scheduler_info(self):
        # Two workers of 2 threads on one machine; the second does not say its host.
        return {
            "workers": {
                "tcp://10.1.2.3:4001": {"host": "10.1.2.3", "nthreads": 2},
                "tcp://10.1.2.3:4002": {"nthreads": 2},
            }
        }

    def submit(self, fn, *args, pure=True):
        assert pure is False  # every task writes its own result files
        self.log.append(("task", [item["scan_id"] for item in args[0]], args[5]))
        return _Future(lambda: fn(*args))

    def close(self):
        self.log.append(("client closed",))


@pytest.fixture
def dask_in_this_process(monkeypatch):
    """Dask's client and local cluster replaced by stand-ins that log what they are asked
    for; tasks run on worker 10.1.2.3 of a machine of 8 cores. Returns the log."""
    dd = pytest.importorskip("dask.distributed")
    import os

    log: list[tuple] = []

    class Cluster:
        def __init__(self, **kwargs):
            log.append(("cluster", kwargs))

        def close(self):
            log.append(("cluster closed",))

    class Worker:
        address = "tcp://10.1.2.3:4001"

    monkeypatch.setattr(dd, "Client", lambda *a, **kw: _Client(*a, **kw, log=log))
    monkeypatch.setattr(dd, "LocalCluster", Cluster)
    # Completed last first: the results are collected whatever the order.
    monkeypatch.setattr(dd, "as_completed", lambda futures: list(reversed(futures)))
    monkeypatch.setattr(dd, "get_worker", lambda: Worker())
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(8)), raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    import cv2

    try:  # batch evaluation pins torch's threads too, where it is installed
        import torch
    except ImportError:
        torch = None
    threads = cv2.getNumThreads(), torch.get_num_threads() if torch else None
    yield log
    cv2.setNumThreads(threads[0])  # the tasks ran in this process and pinned its libraries
    if torch:
        torch.set_num_threads(threads[1])


def test_local_worker_processes_give_the_serial_results(dataset, tmp_path, dask_in_this_process):
    """``workers=2`` asks for a local cluster of two worker processes, one task at a time each,
    their numeric libraries sharing this machine's cores (8 // 2), and gives the serial
    results, whatever order the tasks finish in."""
    import cv2

    log = dask_in_this_process
    calls: list[tuple[int, int]] = []
    parallel = evaluate_dataset(
        dataset, [PERFECT], tmp_path / "dask", workers=2, n_bootstrap=20, n_overlays=0,
        limit=4, progress=lambda done, total: calls.append((done, total)),
    )  # fmt: skip
    env = {"OMP_NUM_THREADS": "4", "MKL_NUM_THREADS": "4", "OPENBLAS_NUM_THREADS": "4"}
    cluster_args = dict(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0")
    ids = [item["scan_id"] for item in load_manifest(dataset)[:4]]
    # 4 scans on 2 workers: chunks of ceil(4 / (4 x 2)) = 1 scan, each task given 4 threads.
    assert log[0] == ("cluster", {**cluster_args, "env": env})
    assert log[1][0] == "client" and type(log[1][1]).__name__ == "Cluster" and log[1][2] is None
    assert log[2:6] == [("task", [i], 4) for i in ids]
    assert log[6:] == [("client closed",), ("cluster closed",)]
    assert cv2.getNumThreads() == 4
    assert calls == [(k, 4) for k in range(5)]
    serial = evaluate_dataset(
        dataset, [PERFECT], tmp_path / "serial", n_bootstrap=20, n_overlays=0, limit=4
    )
    assert not parallel.errors
    assert _without_seconds(parallel.per_scan[PERFECT]) == _without_seconds(
        serial.per_scan[PERFECT]
    )
    assert parallel.metrics[PERFECT] == serial.metrics[PERFECT] | {
        "seconds_per_scan": parallel.metrics[PERFECT]["seconds_per_scan"]
    }


def test_a_running_scheduler_gets_tasks_pinned_to_each_machines_share(
    dataset, tmp_path, dask_in_this_process
):
    """On a scheduler started elsewhere (by its address, or its scheduler file) nothing is
    started or closed but the client, and each task pins its libraries to its machine's cores
    shared among the Dask threads of the workers there: 8 // 4. 5 scans of 2 detectors on 2
    workers: chunks of ceil(10 / 16) = 1 scan."""
    import cv2

    log = dask_in_this_process
    results = evaluate_dataset(
        dataset, [PERFECT, CONSTANT], tmp_path / "ev", scheduler="tcp://10.1.2.3:8786",
        n_bootstrap=20, n_overlays=0, limit=5,
    )  # fmt: skip
    ids = sorted(item["scan_id"] for item in load_manifest(dataset)[:5])
    assert log[0] == ("client", "tcp://10.1.2.3:8786", None)
    tasks = [entry for entry in log if entry[0] == "task"]
    assert [t[1] for t in tasks] == [[i] for i in ids] * 2
    assert {t[2] for t in tasks} == {None}  # no threads of its own: its machine's share
    assert log[-1] == ("client closed",) and len(log) == 12
    assert cv2.getNumThreads() == 2
    assert [r["scan_id"] for r in results.per_scan[CONSTANT]] == ids
    assert not results.errors
    file = tmp_path / "scheduler.json"
    file.write_text(json.dumps({"address": "tcp://10.1.2.3:8786"}))
    log.clear()
    evaluate_dataset(
        dataset, [PERFECT], tmp_path / "ev2", scheduler=str(file), n_bootstrap=20, n_overlays=0,
        limit=1,
    )  # fmt: skip
    assert log[0] == ("client", None, str(file))


def test_intervals_of_the_known_answers_and_none_from_one_scan_of_each_kind(
    dataset, truth, tmp_path
):
    """Every resample of the perfect detector's scans that holds both kinds gives 1, of the
    constant one's 0.5, so their bootstrap intervals are those points. With one clean and
    one concealed scan, most resamples hold one kind only (8 of 10 with seed 0): the figure
    is given, without an interval."""
    from scanlab.evaluate._batch import summarise

    results = evaluate_dataset(
        dataset, [PERFECT, CONSTANT], tmp_path / "ev", n_bootstrap=50, n_overlays=0
    )
    perfect, constant = results.metrics[PERFECT], results.metrics[CONSTANT]
    for key in ("image_auroc", "average_precision", "f1_max", "detection_rate_at_fpr_0.05"):
        assert perfect[key] == {"value": 1.0, "low": 1.0, "high": 1.0}, key
    assert perfect["pixel_auroc"] == {"value": 1.0, "low": 1.0, "high": 1.0}
    assert constant["image_auroc"] == {"value": 0.5, "low": 0.5, "high": 0.5}
    assert constant["pixel_auroc"] == {"value": 0.5, "low": 0.5, "high": 0.5}
    # Recall per class with its Wilson interval, by hand: all n found gives [n / (n + z^2), 1],
    # none found [0, z^2 / (n + z^2)].
    z2 = 1.959963984540054**2
    n = truth["classes"]
    assert perfect["recall_by_class"] == {
        c: {"recall": 1.0, "low": pytest.approx(k / (k + z2)), "high": 1.0, "n": k}
        for c, k in sorted(n.items())
    }
    assert constant["recall_by_class"] == {
        c: {"recall": 0.0, "low": 0.0, "high": pytest.approx(z2 / (k + z2)), "n": k}
        for c, k in sorted(n.items())
    }
    one_of_each = list({r["clean"]: r for r in results.per_scan[PERFECT]}.values())
    assert sorted(r["clean"] for r in one_of_each) == [False, True]
    auroc = summarise(one_of_each, n_bootstrap=10)["image_auroc"]
    assert auroc["value"] == 1.0
    assert set(auroc) == {"value", "low", "high"}
    assert math.isnan(auroc["low"]) and math.isnan(auroc["high"])


def test_a_run_draws_as_many_overlays_as_asked(dataset, tmp_path):
    # The constant detector ties every scan: its top false alarm is the first clean scan and
    # its top miss the first concealed one, in the dataset's order.
    keys = [(i["scan_id"], AnswerKey.load(i["key_path"])) for i in load_manifest(dataset)]
    first_clean = next(s for s, k in keys if k.is_clean)
    first_concealed = next(s for s, k in keys if not k.is_clean)
    results = evaluate_dataset(dataset, [CONSTANT], tmp_path / "ev", n_bootstrap=20, n_overlays=1)
    assert [(o["kind"], o["scan_id"]) for o in results.overlays[CONSTANT]] == [
        ("false-alarm", first_clean),
        ("miss", first_concealed),
    ]
    assert len(list((tmp_path / "ev" / "overlays").rglob("*.png"))) == 2
