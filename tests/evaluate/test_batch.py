"""Batch evaluation over a dataset: serial and on Dask give the same results; it resumes,
and a damaged item is reported without stopping the run."""

from __future__ import annotations

import csv
import json
import os

import numpy as np
import pytest
from typer.testing import CliRunner

torch = pytest.importorskip("torch")

from scanlab.cli import app  # noqa: E402
from scanlab.detect import ModelCard  # noqa: E402
from scanlab.detect._weights import save_weights  # noqa: E402
from scanlab.detect.torch_model import CargoUNet  # noqa: E402
from scanlab.errors import SpecError  # noqa: E402
from scanlab.evaluate import evaluate_dataset, load_results  # noqa: E402
from scanlab.synth import DatasetSpec, build_dataset  # noqa: E402


@pytest.fixture(scope="module")
def dataset(built_once):
    spec = DatasetSpec.from_dict(
        {
            "name": "batch",
            "seed": 3,
            "count": 5,
            "clean_share": 0.4,
            "vehicles": {"container_20ft": 1},
            "cargo": {"textiles": 1, "tyres": 1},
            "concealments": {"pistol": 1, "drugs_in_cargo": 1, "stowaway": 1},
            "pitch_mm": 25.0,
            "format": "npz",
        }
    )
    return built_once("batch", lambda out: build_dataset(spec, out))


@pytest.fixture(scope="module")
def tiny_weights(tmp_path_factory):
    """A small randomly initialised network: real inference, meaningless scores."""
    torch.manual_seed(0)
    card = ModelCard(
        name="tiny",
        architecture={"name": "CargoUNet", "in_channels": 4, "widths": [4, 8]},
        pitch_mm=25.0,
        thresholds={"dual": 0.5, "single": 0.5, "display": 0.5},
        tile_px=64,
        overlap_px=32,
        smoothing_px=1,
    )
    return save_weights(CargoUNet(4, (4, 8)).eval(), card, tmp_path_factory.mktemp("w") / "tiny")


def _comparable(results):
    return {
        name: [{k: v for k, v in r.items() if k != "seconds"} for r in rows]
        for name, rows in results.per_scan.items()
    }


def test_serial_run_writes_results_tables_plots_and_html(dataset, tiny_weights, tmp_path):
    name = str(tiny_weights)
    results = evaluate_dataset(dataset, [name], tmp_path / "ev", n_bootstrap=50)
    rows = results.per_scan[name]
    assert len(rows) == 5
    assert not results.errors
    metrics = results.metrics[name]
    assert metrics["n_scans"] == 5
    for key in ("image_auroc", "pixel_auroc", "aupro_0.3", "detection_rate_at_fpr_0.01"):
        entry = metrics[key]
        assert np.isnan(entry["low"]) or entry["low"] <= entry["value"] <= entry["high"]
    n_objects = sum(len(r["objects"]) for r in rows)
    assert sum(v["n"] for v in metrics["recall_by_class"].values()) == n_objects
    for file in (
        "per_scan.csv",
        "per_scan.jsonl",
        "metrics.json",
        "roc.png",
        "froc.png",
        "report.html",
    ):
        assert (tmp_path / "ev" / file).stat().st_size > 0
    assert len((tmp_path / "ev" / "per_scan.jsonl").read_text().splitlines()) == 5


def test_resumes_without_recomputing_or_duplicating(dataset, tiny_weights, tmp_path):
    name = str(tiny_weights)
    first = evaluate_dataset(dataset, [name], tmp_path / "ev", n_bootstrap=20)
    folder = next((tmp_path / "ev" / "results").iterdir())
    files = sorted(folder.glob("*.json"))
    files[2].unlink()  # as if the run had been interrupted before this item
    kept = {f: f.stat().st_mtime_ns for f in files if f != files[2]}
    calls = []
    second = evaluate_dataset(
        dataset, [name], tmp_path / "ev", n_bootstrap=20, progress=lambda d, n: calls.append(d)
    )
    assert calls[0] == 4  # four results were already there
    assert all(f.stat().st_mtime_ns == t for f, t in kept.items())
    assert _comparable(second) == _comparable(first)
    assert len(load_results(tmp_path / "ev", [name]).per_scan[name]) == 5


def test_a_damaged_item_is_reported_and_the_run_goes_on(dataset, tiny_weights, tmp_path):
    import shutil

    copy = tmp_path / "data"
    shutil.copytree(dataset, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    (copy / manifest["items"][1]["scan"]).write_bytes(b"PK\x03\x04 not really a zip")
    (copy / manifest["items"][3]["key"]).unlink()
    results = evaluate_dataset(copy, [str(tiny_weights)], tmp_path / "ev", n_bootstrap=20)
    assert len(results.errors) == 2
    assert {e["scan_id"] for e in results.errors} == {
        manifest["items"][1]["scan_id"],
        manifest["items"][3]["scan_id"],
    }
    assert results.metrics[str(tiny_weights)]["n_scans"] == 3
    assert manifest["items"][1]["scan_id"] in (tmp_path / "ev" / "report.html").read_text()


@pytest.mark.slow
def test_dask_cluster_gives_the_serial_results(dataset, tiny_weights, tmp_path):
    name = str(tiny_weights)
    serial = evaluate_dataset(dataset, [name], tmp_path / "serial", n_bootstrap=20)
    # As many threads per worker as this process has: float32 sums then run in the same order.
    parallel = evaluate_dataset(
        dataset,
        [name],
        tmp_path / "dask",
        workers=2,
        threads_per_worker=torch.get_num_threads(),
        n_bootstrap=20,
        chunk_size=2,
    )
    assert _comparable(parallel) == _comparable(serial)
    assert parallel.metrics[name]["image_auroc"] == serial.metrics[name]["image_auroc"]


def test_cli_evaluate(dataset, tiny_weights, tmp_path):
    result = CliRunner().invoke(
        app,
        [
            "evaluate",
            str(dataset),
            "-d",
            str(tiny_weights),
            "--out",
            str(tmp_path / "ev"),
            "--workers",
            "0",
        ],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    assert "image_auroc" in result.output
    assert (tmp_path / "ev" / "report.html").exists()
    assert np.isfinite(
        json.loads((tmp_path / "ev" / "metrics.json").read_text())["metrics"][str(tiny_weights)][
            "pixel_auroc"
        ]["value"]
    )
    assert os.path.exists(tmp_path / "ev" / "per_scan.csv")


# --- the audit's cases (issue #15) --------------------------------------------------------------


def _copy(dataset, tmp_path):
    import shutil

    copy = tmp_path / "data"
    shutil.copytree(dataset, copy)
    return copy, json.loads((copy / "manifest.json").read_text())


@pytest.mark.parametrize("scan_id", ["../../../escaped", "ABSOLUTE", "a/b", ".."])
def test_a_scan_id_cannot_write_outside_out(dataset, tiny_weights, tmp_path, scan_id):
    from scanlab.errors import SpecError

    copy, manifest = _copy(dataset, tmp_path)
    if scan_id == "ABSOLUTE":
        scan_id = str(tmp_path / "escaped")
    manifest["items"][0]["scan_id"] = scan_id
    (copy / "manifest.json").write_text(json.dumps(manifest))
    out = tmp_path / "deep" / "er" / "ev"
    with pytest.raises(SpecError, match="not a plain file name"):
        evaluate_dataset(copy, [str(tiny_weights)], out, n_bootstrap=20)
    assert not list(tmp_path.rglob("escaped*"))
    assert not (out / "results").exists()


def test_a_failed_item_is_retried_on_the_next_run(dataset, tiny_weights, tmp_path):
    copy, manifest = _copy(dataset, tmp_path)
    scan = copy / manifest["items"][1]["scan"]
    saved = scan.read_bytes()
    scan.unlink()
    name = str(tiny_weights)
    first = evaluate_dataset(copy, [name], tmp_path / "ev", n_bootstrap=20)
    assert [e["scan_id"] for e in first.errors] == [manifest["items"][1]["scan_id"]]
    assert "no such file" in first.errors[0]["error"]
    scan.write_bytes(saved)  # the scan is restored
    second = evaluate_dataset(copy, [name], tmp_path / "ev", n_bootstrap=20)
    assert not second.errors
    assert second.metrics[name]["n_scans"] == 5
    reference = evaluate_dataset(copy, [name], tmp_path / "fresh", n_bootstrap=20)
    assert _comparable(second) == _comparable(reference)


def _tiny_model(folder, seed):
    torch.manual_seed(seed)
    card = ModelCard(
        name="mine",
        architecture={"name": "CargoUNet", "in_channels": 4, "widths": [4, 8]},
        pitch_mm=25.0,
        thresholds={"dual": 0.5, "single": 0.5, "display": 0.5},
        tile_px=64,
        overlap_px=32,
        smoothing_px=1,
    )
    return save_weights(CargoUNet(4, (4, 8)).eval(), card, folder)


def _scores(results, name):
    return [r["score"] for r in results.per_scan[name]]


def test_results_are_keyed_by_the_weights_not_the_folder_name(dataset, tmp_path):
    a = _tiny_model(tmp_path / "a" / "mine", seed=1)
    b = _tiny_model(tmp_path / "b" / "mine", seed=2)
    out = tmp_path / "ev"
    both = evaluate_dataset(dataset, [str(a), str(b)], out, n_bootstrap=20, limit=2)
    alone_b = evaluate_dataset(dataset, [str(b)], tmp_path / "b-alone", n_bootstrap=20, limit=2)
    assert _scores(both, str(b)) == _scores(alone_b, str(b))
    assert _scores(both, str(a)) != _scores(both, str(b))
    assert len(list((out / "results").iterdir())) == 2
    # Retrained in place: the old results are not reused.
    _tiny_model(a, seed=3)
    again = evaluate_dataset(dataset, [str(a)], out, n_bootstrap=20, limit=2)
    fresh = evaluate_dataset(dataset, [str(a)], tmp_path / "a-fresh", n_bootstrap=20, limit=2)
    assert _scores(again, str(a)) == _scores(fresh, str(a))
    assert _scores(again, str(a)) != _scores(both, str(a))


def test_an_unknown_detector_is_an_error_before_anything_runs(dataset, tiny_weights, tmp_path):
    # (local-background and padim are baselines, fitted by the run: known names.)
    from scanlab.detect import WeightsError

    with pytest.raises(WeightsError, match="no model named 'no-such-model'"):
        evaluate_dataset(dataset, [str(tiny_weights), "no-such-model"], tmp_path / "ev")
    assert not (tmp_path / "ev" / "results").exists()
    result = CliRunner().invoke(
        app,
        ["evaluate", str(dataset), "-d", "no-such-model", "--out", str(tmp_path / "ev")],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 1
    assert "no-such-model" in result.output


def test_cli_exits_non_zero_when_items_fail(dataset, tiny_weights, tmp_path):
    copy, manifest = _copy(dataset, tmp_path)
    (copy / manifest["items"][0]["scan"]).unlink()
    args = ["evaluate", str(copy), "-d", str(tiny_weights), "--out", str(tmp_path / "ev")]
    result = CliRunner().invoke(app, [*args, "--workers", "0"], env={"COLUMNS": "200"})
    assert result.exit_code == 1
    assert "1 item(s) failed" in result.output
    assert (tmp_path / "ev" / "report.html").exists()  # what ran is still reported


@pytest.mark.slow
def test_relative_paths_under_a_scheduler_reach_workers_in_other_folders(
    dataset, tiny_weights, tmp_path, monkeypatch
):
    """The audit ran ``--scheduler`` with a relative dataset path: each worker resolved it
    against its own folder and the run reported 0 scans with exit status 0."""
    from dask.distributed import Client, LocalCluster

    elsewhere = tmp_path / "worker-home"
    elsewhere.mkdir()
    monkeypatch.chdir(dataset.parent)
    with (
        LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=":0") as cluster,
        Client(cluster) as client,
    ):
        client.run(os.chdir, str(elsewhere))
        results = evaluate_dataset(
            dataset.name,
            [os.path.relpath(tiny_weights)],
            os.path.relpath(tmp_path / "ev"),
            scheduler=cluster.scheduler_address,
            n_bootstrap=20,
            limit=2,
        )
    name = os.path.relpath(tiny_weights)
    assert not results.errors
    assert results.metrics[name]["n_scans"] == 2
    assert not (elsewhere / os.path.relpath(tmp_path / "ev")).exists()


@pytest.mark.slow
def test_a_running_cluster_gets_batched_tasks_pinned_to_its_cores(
    dataset, tiny_weights, tmp_path, monkeypatch
):
    """On a scheduler started elsewhere (here one worker with 2 Dask threads), scans go in
    chunks of about a quarter per worker, and each task pins torch and OpenCV to the
    worker machine's cores shared out among its task slots (2), not torch's default."""
    from dask.distributed import Client, LocalCluster

    import scanlab.evaluate._batch as batch

    chunks: list[list[str]] = []

    def recording(tasks, size):
        out = batch_chunks(tasks, size)
        chunks.extend([item["scan_id"] for item in items] for items, _, _ in out)
        return out

    batch_chunks = batch._chunks
    monkeypatch.setattr(batch, "_chunks", recording)

    def threads() -> tuple[int, int]:
        import cv2

        return torch.get_num_threads(), cv2.getNumThreads()

    def oversubscribe() -> None:
        import cv2

        torch.set_num_threads(7)
        cv2.setNumThreads(7)

    with (
        LocalCluster(n_workers=1, threads_per_worker=2, dashboard_address=":0") as cluster,
        Client(cluster) as client,
    ):
        client.run(oversubscribe)
        # Reached through a scheduler file, as dask-mpi and HPC batch scripts hand it over.
        scheduler_file = tmp_path / "scheduler.json"
        scheduler_file.write_text(json.dumps({"address": cluster.scheduler_address}))
        results = evaluate_dataset(
            dataset, [str(tiny_weights)], tmp_path / "ev", scheduler=str(scheduler_file),
            n_bootstrap=20,
        )  # fmt: skip
        pinned = set(client.run(threads).values())
    with pytest.raises(SpecError, match=r"no-such\.json: no such Dask scheduler file"):
        evaluate_dataset(
            dataset, [str(tiny_weights)], tmp_path / "ev2", scheduler=str(tmp_path / "no-such.json")
        )
    cores = len(os.sched_getaffinity(0))
    assert pinned == {(max(1, cores // 2), max(1, cores // 2))}
    # 5 scans, 1 worker: ceil(5 / 4) = 2 per task.
    assert [len(c) for c in chunks] == [2, 2, 1]
    assert sorted(s for c in chunks for s in c) == sorted(
        r["scan_id"] for r in results.per_scan[str(tiny_weights)]
    )


@pytest.fixture(scope="module")
def other_weights(tmp_path_factory):
    """A second random network, so that two detectors can be compared."""
    torch.manual_seed(1)
    card = ModelCard(
        name="tiny2",
        architecture={"name": "CargoUNet", "in_channels": 4, "widths": [4, 8]},
        pitch_mm=25.0,
        thresholds={"dual": 0.5, "single": 0.5, "display": 0.5},
        tile_px=64,
        overlap_px=32,
        smoothing_px=1,
    )
    return save_weights(CargoUNet(4, (4, 8)).eval(), card, tmp_path_factory.mktemp("w") / "tiny2")


def test_two_detectors_compared_with_brute_force_counts(
    dataset, tiny_weights, other_weights, tmp_path
):
    import csv

    a, b = str(tiny_weights), str(other_weights)
    results = evaluate_dataset(
        dataset, [a, b], tmp_path / "ev", n_bootstrap=30, fprs=[0.2, 0.5], n_overlays=1
    )
    (comparison,) = results.comparisons
    assert (comparison["a"], comparison["b"]) == (a, b)
    rows = {n: {r["scan_id"]: r for r in results.per_scan[n]} for n in (a, b)}
    ids = sorted(rows[a])
    clean = [rows[a][i]["clean"] for i in ids]
    assert comparison["n_clean"] == sum(clean) == 2
    # McNemar's discordant counts, recounted by hand: threshold = the (k+1)-th highest clean
    # score with k = floor(fpr * n_clean); a concealed scan is detected above it.
    for fpr in (0.2, 0.5):
        detected = {}
        for n in (a, b):
            negatives = sorted(
                (rows[n][i]["score"] for i in ids if rows[n][i]["clean"]), reverse=True
            )
            t = negatives[int(fpr * len(negatives))]
            detected[n] = [rows[n][i]["score"] > t for i in ids if not rows[n][i]["clean"]]
        mc = comparison["mcnemar"][f"{fpr:g}"]
        assert mc["only_a"] == sum(x and not y for x, y in zip(detected[a], detected[b]))
        assert mc["only_b"] == sum(y and not x for x, y in zip(detected[a], detected[b]))
    # The AUROC difference is the difference of the two detectors' own AUROCs.
    diff = results.metrics[a]["image_auroc"]["value"] - results.metrics[b]["image_auroc"]["value"]
    assert comparison["auroc_difference"] == pytest.approx(diff)
    saved = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    assert saved["comparisons"][0]["delong"]["p_value"] == pytest.approx(
        comparison["delong"]["p_value"], nan_ok=True
    )
    assert saved["settings"]["fprs"] == [0.2, 0.5]
    # 2 clean scans cannot resolve a 20 % false-alarm rate (needs 5): warned, 50 % is fine.
    warnings = results.metrics[a]["warnings"]
    assert len(warnings) == 1 and "0.2" in warnings[0]
    page = (tmp_path / "ev" / "report.html").read_text()
    assert "Paired comparison" in page and "McNemar" in page and "only 2 clean scans" in page
    assert "Recall per concealment method" in page and "Recall per threat class" in page
    # Recall per concealment method: every object once, with an interval around it.
    by_method = results.metrics[a]["recall_by_concealment"]
    n_objects = sum(len(r["objects"]) for r in results.per_scan[a])
    assert sum(v["n"] for v in by_method.values()) == n_objects
    for v in by_method.values():
        assert 0.0 <= v["low"] <= v["recall"] <= v["high"] <= 1.0
    # ROC points: one per distinct score plus the origin, per detector.
    with open(tmp_path / "ev" / "roc.csv", newline="") as fh:
        roc = list(csv.DictReader(fh))
    assert (
        len([r for r in roc if r["detector"] == a]) == len({rows[a][i]["score"] for i in ids}) + 1
    )
    assert (tmp_path / "ev" / "froc.csv").read_text().count("\n") == 1 + 2 * 49
    # One overlay of the top false alarm and one of the top miss per detector, on disk.
    for n in (a, b):
        kinds = [o["kind"] for o in results.overlays[n]]
        assert kinds.count("false-alarm") == 1
        for o in results.overlays[n]:
            assert (tmp_path / "ev" / o["path"]).stat().st_size > 1000


def test_changed_settings_recompute_and_input_modes_reach_the_detector(
    dataset, tiny_weights, tmp_path
):
    name = str(tiny_weights)
    dual = evaluate_dataset(dataset, [name], tmp_path / "ev", n_bootstrap=20, n_overlays=0)
    display = evaluate_dataset(
        dataset, [name], tmp_path / "ev", n_bootstrap=20, n_overlays=0, input_mode="display"
    )
    assert all(r["settings"]["input"] == "display" for r in display.per_scan[name])
    assert [r["score"] for r in display.per_scan[name]] != [r["score"] for r in dual.per_scan[name]]
    single = evaluate_dataset(
        dataset, [name], tmp_path / "ev", n_bootstrap=20, n_overlays=0, input_mode="single"
    )
    assert [r["score"] for r in single.per_scan[name]] != [r["score"] for r in dual.per_scan[name]]
    with pytest.raises(SpecError, match="input mode"):
        evaluate_dataset(dataset, [name], tmp_path / "ev", input_mode="colour")


@pytest.mark.parametrize(
    ("option", "value", "said"),
    [
        ("limit", 0, "limit must be at least 1, got 0"),  # sliced: every scan
        ("limit", -2, "limit must be at least 1, got -2"),  # sliced: all but the last two
        ("workers", -1, "workers must be at least 0, got -1"),  # a cluster that never ends
        ("threads_per_worker", 0, "threads per worker must be at least 1, got 0"),
        ("chunk_size", 0, "chunk size must be at least 1, got 0"),
        ("n_overlays", -1, "overlays must be at least 0, got -1"),
    ],
)
def test_counts_out_of_range_are_refused_before_any_work(dataset, tmp_path, option, value, said):
    with pytest.raises(SpecError, match=said):
        evaluate_dataset(dataset, ["local-background"], tmp_path / "ev", **{option: value})
    assert not (tmp_path / "ev").exists()


def test_local_background_baseline_is_fitted_and_compared(dataset, tiny_weights, tmp_path):
    name = str(tiny_weights)
    results = evaluate_dataset(
        dataset,
        [name, "local-background"],
        tmp_path / "ev",
        n_bootstrap=20,
        n_overlays=0,
        baseline_data=dataset,
    )
    assert (tmp_path / "ev" / "baselines" / "local-background.npz").is_file()
    rows = results.per_scan["local-background"]
    assert len(rows) == 5 and not results.errors
    # Calibrated on the second clean scan (the first half fits; only PaDiM uses it): that
    # scan's own score is below the threshold, by construction of calibrate_threshold.
    assert all(np.isfinite(r["threshold"]) for r in rows)
    assert results.comparisons[0]["b"] == "local-background"


def test_cli_evaluate_options(dataset, tiny_weights, tmp_path):
    result = CliRunner().invoke(
        app,
        [
            "evaluate",
            str(dataset),
            "-d",
            str(tiny_weights),
            "--out",
            str(tmp_path / "ev"),
            "--workers",
            "0",
            "--fa",
            "0.001,0.5",
            "--match",
            "centroid",
            "--bootstrap",
            "20",
            "--pitch",
            "20,22.5",
            "--overlays",
            "0",
        ],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    saved = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    assert saved["settings"]["matching_rule"] == "centroid"
    assert saved["settings"]["pitch_mm"] == [20.0, 22.5]
    # Each scan's result records the pitch it was read at and that it was given.
    rows = [
        json.loads(line) for line in (tmp_path / "ev" / "per_scan.jsonl").read_text().splitlines()
    ]
    for row in rows:
        assert row["pitch_mm"] == [20.0, 22.5] and row["pitch_source"] == "option"
    with open(tmp_path / "ev" / "per_scan.csv", newline="") as fh:
        assert {r["pitch_mm"] for r in csv.DictReader(fh)} == {"20 x 22.5"}
    assert "detection_rate_at_fpr_0.001" in saved["metrics"][str(tiny_weights)]
    assert "warning" in result.output and "1000" in result.output
    bad = CliRunner().invoke(app, ["evaluate", str(dataset), "-d", "x", "--fa", "2"])
    assert bad.exit_code != 0 and "--fa" in bad.output


def test_cli_compares_a_detector_with_a_baseline_on_single_energy(dataset, tiny_weights, tmp_path):
    """A README row's options through the CLI: --input, a baseline (-d local-background
    fitted on --baseline-data), the paired comparison in the summary, metrics.json and
    report, with F1-max and pixel precision-recall among the metrics."""
    name = str(tiny_weights)
    args = ["evaluate", str(dataset), "-d", name, "-d", "local-background", "--workers", "0"]
    options = ["--input", "single", "--baseline-data", str(dataset), "--fa", "0.5"]
    out = tmp_path / "ev"
    result = CliRunner().invoke(
        app,
        [*args, *options, "--bootstrap", "20", "--overlays", "0", "--out", str(out)],
        env={"COLUMNS": "250"},
    )
    assert result.exit_code == 0, result.output
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["settings"]["input"] == "single"
    (comparison,) = saved["comparisons"]
    assert (comparison["a"], comparison["b"]) == (name, "local-background")
    row = next(line for line in result.output.splitlines() if " - local-background" in line)
    assert f"{comparison['auroc_difference']:+.3f}" in row
    assert f"{comparison['delong']['p_value']:.3g}" in row
    mc = comparison["mcnemar"]["0.5"]
    assert f"{mc['only_a']}/{mc['only_b']}, p={mc['p_value']:.3g}" in row
    for key in ("f1_max", "pixel_average_precision", "pixel_f1_max"):
        assert key in result.output
        for metrics in saved["metrics"].values():
            assert 0.0 <= metrics[key]["value"] <= 1.0
    page = (out / "report.html").read_text()
    assert "Paired comparison" in page and "DeLong" in page and "pixel F1-max" in page


def test_read_as_leaves_display_exports_and_sets_the_pitch():
    from scanlab.evaluate._batch import _read_as
    from scanlab.io import example_scan
    from scanlab.synth import render_display

    scan = example_scan(rows=32, cols=64)
    shown = render_display(scan)
    assert _read_as(shown, {"input": "display"}) is shown  # already an export: untouched
    single = _read_as(scan, {"input": "single", "pitch_mm": 7.5})
    assert single.n_channels == 1 and single.metadata.pitch_mm == (7.5, 7.5)
    np.testing.assert_array_equal(single.data[0], scan.data[0])
