"""Batch evaluation over a dataset: serial and on Dask give the same results; it resumes,
and a damaged item is reported without stopping the run."""

from __future__ import annotations

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
from scanlab.evaluate import evaluate_dataset, load_results  # noqa: E402
from scanlab.synth import DatasetSpec, build_dataset  # noqa: E402


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
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
    out = tmp_path_factory.mktemp("data")
    build_dataset(spec, out)
    return out


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
    parallel = evaluate_dataset(dataset, [name], tmp_path / "dask", workers=2, n_bootstrap=20)
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
    from scanlab.detect import WeightsError

    with pytest.raises(WeightsError, match="no model named 'local-background'"):
        evaluate_dataset(dataset, [str(tiny_weights), "local-background"], tmp_path / "ev")
    assert not (tmp_path / "ev" / "results").exists()
    result = CliRunner().invoke(
        app,
        ["evaluate", str(dataset), "-d", "local-background", "--out", str(tmp_path / "ev")],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 1
    assert "local-background" in result.output


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
