"""Known-answer detectors through batch evaluation: a perfect detector (its map is the
answer key's mask), an inverted one and a constant one give AUROC 1, 0 and 0.5, detection
rates 1 and 0 and per-class recall counted from the keys, in this process, through
``scanlab evaluate`` and on Dask workers."""

from __future__ import annotations

import json
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
