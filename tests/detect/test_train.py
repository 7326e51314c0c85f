"""A tiny training run end to end, and recipe checking."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
import yaml

from scanlab.detect import DataRef, TrainConfig, load_detector, load_recipe, recipe_names, train
from scanlab.detect._data import check_disjoint, effective_spec
from scanlab.errors import SpecError
from scanlab.synth import SceneSpec, generate_scene


def tiny_config(**changes) -> TrainConfig:
    fields = {
        "name": "tiny-test",
        "seed": 3,
        "pitch_mm": 20.0,
        "concealed": DataRef("train-concealed", 3),
        "normal": DataRef("train-normal", 2),
        "calibration": DataRef("train-normal", 2, start=398),
        "widths": [4, 8],
        "epochs": 2,
        "steps_per_epoch": 1,
        "positive_share": 0.4,
        "hard_negative_share": 0.3,
        "sharpness_share": 0.5,
        "batch_size": 2,
        "patch_px": 64,
        "tile_px": 128,
        "overlap_px": 32,
    }
    return TrainConfig(**{**fields, **changes})


def test_tiny_training_run_writes_weights_and_card(tmp_path, cache_dir):
    stages = set()
    result = train(
        tiny_config(),
        out_dir=tmp_path / "model",
        cache_dir=cache_dir,
        progress=lambda stage, i, n: stages.add(stage),
    )
    out = result.out_dir
    assert {p.name for p in out.iterdir()} == {
        "weights.pt",
        "card.json",
        "README.md",
        "recipe.yaml",
    }
    assert {"train", "calibrate", "data:concealed"} <= stages
    card = json.loads((out / "card.json").read_text())
    assert set(card["thresholds"]) == {"dual", "single", "display"}
    assert card["training"]["steps"] == 2 and card["training"]["seed"] == 3
    roles = {d["role"]: d for d in card["training"]["data"]}
    assert roles["concealed"]["spec"] == "train-concealed"
    assert len(roles["concealed"]["spec_fingerprint"]) == 64
    from scanlab.synth import simulator_version

    assert roles["concealed"]["simulator_version"] == simulator_version()
    assert card["calibration"]["data"]["seeds"] == [398, 399]
    assert "clean_scores" not in card["calibration"]  # the card keeps their quantiles only
    assert yaml.safe_load((out / "recipe.yaml").read_text())["name"] == "tiny-test"
    assert "tiny-test" in (out / "README.md").read_text()
    # Reloaded from disk, the detector gives the same map as the one training returned.
    scan = generate_scene(SceneSpec("container_20ft", "rice", 0.5), 77, pitch_mm=20.0).scan
    again = load_detector(out)
    np.testing.assert_array_equal(again(scan).anomaly_map, result.detector(scan).anomaly_map)


def test_shipped_recipe_is_valid_and_disjoint_from_heldout():
    assert "cargo-anomaly-v1" in recipe_names()
    config = load_recipe("cargo-anomaly-v1")
    refs = {
        role: effective_spec(ref, config.data_pitch(ref))
        for role, ref in (
            ("concealed", config.concealed),
            ("normal", config.normal),
            ("calibration", config.calibration),
        )
    }
    check_disjoint(refs)


def test_overlapping_data_is_refused():
    refs = {
        "normal": effective_spec(DataRef("train-normal", 100), 10.0),
        "calibration": effective_spec(DataRef("train-normal", 10, start=90), 10.0),
    }
    with pytest.raises(SpecError, match="share seeds"):
        check_disjoint(refs)
    with pytest.raises(SpecError, match="beyond"):
        effective_spec(DataRef("train-normal", 10, start=395), 10.0)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"widths": [8]}, "widths"),
        ({"patch_px": 66}, "patch_px"),
        ({"tip_share": 1.5}, "tip_share"),
        ({"epochs": 0}, "epochs"),
        ({"colour": "red"}, "unknown field"),
        ({"normal": {"spec": "train-normal"}}, "normal.count"),
        ({"normal": ["train-normal"]}, "normal"),
        ({"display_family": ["no-such-vendor"]}, "display_family"),
        ({"pitch_range_mm": [10, 4]}, "pitch_range_mm"),
        ({"readout_share": 2}, "readout_share"),
    ],
)
def test_bad_recipes_name_the_field(tmp_path, change, message):
    raw = {"name": "x", **change}
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(SpecError, match=message):
        load_recipe(path)


def test_unknown_recipe():
    with pytest.raises(SpecError, match="no such recipe"):
        load_recipe("no-such-recipe")


def test_an_interrupted_run_resumes_from_its_checkpoint(tmp_path, cache_dir):
    config = tiny_config(name="tiny-resume", epochs=2, steps_per_epoch=2)
    first = train(config, out_dir=tmp_path / "a", cache_dir=cache_dir)
    checkpoints = list((cache_dir / "checkpoints").glob("tiny-resume-*.pt"))
    assert len(checkpoints) == 1
    # The same recipe again finds the finished checkpoint: no step is repeated, and the
    # weights and the history are the first run's.
    steps = []
    again = train(
        config,
        out_dir=tmp_path / "b",
        cache_dir=cache_dir,
        progress=lambda stage, i, n: steps.append(i) if stage == "train" else None,
    )
    assert steps == []
    assert again.card.training["history"] == first.card.training["history"]
    assert (tmp_path / "a" / "weights.pt").read_bytes() == (
        tmp_path / "b" / "weights.pt"
    ).read_bytes()


def test_training_by_name_never_overwrites_the_shipped_model(monkeypatch):
    """The audit's case: ``scanlab train cargo-anomaly-v1`` without --out (issue #15)."""
    from typer.testing import CliRunner

    from scanlab._specfiles import file_sha256
    from scanlab.cli import app
    from scanlab.detect import DetectorWeights

    def no_training(*args, **kwargs):
        raise AssertionError("training started")

    monkeypatch.setattr("scanlab.detect._train.build_cached", no_training)
    shipped = DetectorWeights.DEFAULT.path
    before = {p.name: file_sha256(p) for p in shipped.iterdir()}
    with pytest.raises(SpecError, match="never overwrites"):
        train("cargo-anomaly-v1")
    result = CliRunner().invoke(app, ["train", "cargo-anomaly-v1"], env={"COLUMNS": "200"})
    assert result.exit_code == 1, result.output
    assert "--out" in result.output
    assert {p.name: file_sha256(p) for p in shipped.iterdir()} == before


def test_v2_recipe_spreads_its_data_over_pitches_and_vendors():
    config = load_recipe("cargo-anomaly-v2")
    assert "log" not in config.display_family  # the foreign scanner of bench_adapt
    parts = config.data_parts(config.concealed)
    assert [p for _, p in parts] == [4.0, 6.0, 8.0, 10.0]
    assert sum(r.count for r, _ in parts) == config.concealed.count
    # Consecutive, non-overlapping seeds: part k starts where part k - 1 ends.
    refs = [r for r, _ in parts]
    assert refs[0].start == config.concealed.start == 0
    assert all(b.start == a.start + a.count for a, b in itertools.pairwise(refs))
    assert max(r.count for r in refs) - min(r.count for r in refs) <= 1


def test_warm_start_begins_from_the_named_weights(tmp_path, cache_dir, tiny_model_dir):
    """init_from: training starts from another model's weights (at learning rate 0 the
    network's parameters stay exactly those), and the card records which weights."""
    import torch

    config = tiny_config(
        name="tiny-warm", init_from=str(tiny_model_dir), learning_rate=0.0, weight_decay=0.0
    )
    from scanlab.detect.torch_model import CargoUNet

    params = [name for name, _ in CargoUNet(4, (4, 8)).named_parameters()]  # not BN statistics
    start = torch.load(tiny_model_dir / "weights.pt", weights_only=True)

    def same_as_start(folder):
        weights = torch.load(folder / "weights.pt", weights_only=True)
        return all(torch.equal(weights[k], start[k]) for k in params)

    result = train(config, out_dir=tmp_path / "warm", cache_dir=cache_dir)
    assert params and same_as_start(result.out_dir)
    record = result.card.training["init_from"]
    assert (
        record["weights_sha256"]
        == json.loads((tiny_model_dir / "card.json").read_text())["weights_sha256"]
    )
    assert "init_from" in (result.out_dir / "README.md").read_text()
    # From scratch (the same recipe without init_from) the parameters are others.
    scratch = train(
        tiny_config(name="tiny-cold", learning_rate=0.0, weight_decay=0.0),
        out_dir=tmp_path / "cold",
        cache_dir=cache_dir,
    )
    assert not same_as_start(scratch.out_dir)
    wider = tiny_config(widths=[4, 8, 16], init_from=str(tiny_model_dir))
    with pytest.raises(SpecError, match=r"init_from .* widths"):
        train(wider, out_dir=tmp_path / "wider", cache_dir=cache_dir)
    assert not (tmp_path / "wider").exists()


def test_tiny_run_with_vendor_exports_pitches_and_readout(tmp_path, cache_dir):
    config = tiny_config(
        name="tiny-v2",
        concealed=DataRef("train-concealed", 4),
        normal=DataRef("train-normal", 2),
        pitch_range_mm=[10.0, 20.0],
        display_family=["linear", "gamma-lifted"],
        display_share=0.6,
        readout_share=0.5,
        epochs=1,
    )
    result = train(config, out_dir=tmp_path / "v2", cache_dir=cache_dir)
    data = {d["spec"] + "@" + str(d["pitch_mm"]): d["count"] for d in result.card.training["data"]}
    assert data == {
        "train-concealed@10.0": 1,
        "train-concealed@13.333": 1,
        "train-concealed@16.667": 1,
        "train-concealed@20.0": 1,
        "train-normal@10.0": 1,
        "train-normal@13.333": 1,
    }
    assert result.card.training["recipe"]["display_family"] == ["linear", "gamma-lifted"]


@pytest.mark.slow
def test_training_lowers_the_loss(tmp_path, cache_dir):
    """The loss on the fixed validation batches and each epoch's mean training loss fall as
    the network learns (a broken gradient step, loss sign or optimiser leaves them flat).
    Measured: training 2.56 -> 2.19, validation 2.36 -> 2.25 over 4 epochs of 6 steps."""
    config = tiny_config(
        name="tiny-learn", epochs=4, steps_per_epoch=6, batch_size=4, learning_rate=3e-2
    )
    history = train(config, out_dir=tmp_path / "m", cache_dir=cache_dir).card.training["history"]
    assert len(history) == 4
    train_loss = [h["train_loss"] for h in history]
    val_loss = [h["val_loss"] for h in history]
    assert train_loss[-1] < 0.95 * train_loss[0], train_loss
    assert val_loss[-1] < 0.98 * val_loss[0], val_loss


def test_the_data_cache_is_not_reused_by_another_simulator(tmp_path, monkeypatch):
    import scanlab.synth._dataset as dataset_module
    from scanlab.detect._data import build_cached

    spec = effective_spec(DataRef("train-normal", 1), 25.0)[0]
    first = build_cached(spec, tmp_path)
    again = build_cached(spec, tmp_path)
    assert [i["scan_path"] for i in again] == [i["scan_path"] for i in first]
    mtime = first[0]["scan_path"].stat().st_mtime_ns
    monkeypatch.setattr(dataset_module, "simulator_version", lambda: "f" * 64)
    other = build_cached(spec, tmp_path)
    assert other[0]["scan_path"].parent.parent != first[0]["scan_path"].parent.parent
    assert first[0]["scan_path"].stat().st_mtime_ns == mtime  # the old build is left as it was
    manifest = json.loads((other[0]["scan_path"].parents[1] / "manifest.json").read_text())
    assert manifest["simulator_version"] == "f" * 64
    assert len(list((tmp_path / "datasets").iterdir())) == 2


def test_calibrated_thresholds_flag_the_stated_share_of_clean_scans_as_detect_scores_them(
    tmp_path,
):
    """The scores calibration draws its thresholds from are the scores detection compares
    with them (same pre-processing, tiling and smoothing), so each threshold flags, by
    ``Detector.detect``, floor(rate * n) of the clean scans: 1 of 10 at 10 %. (The shipped
    model: an untrained one scores every scan alike.)"""
    from scanlab.detect._train import _calibration_variants, calibrate
    from scanlab.io import read_scan
    from scanlab.synth import DatasetSpec, build_dataset, load_manifest

    vehicles = {"container_20ft": 1, "box_truck": 1}
    raw = {"name": "cal", "seed": 7_000_100, "count": 10, "clean_share": 1.0, "pitch_mm": 20.0}
    spec = DatasetSpec.from_dict({**raw, "vehicles": vehicles, "format": "npz"})
    items = load_manifest(build_dataset(spec, tmp_path / "cal"))
    detector = load_detector("cargo-anomaly-v2")
    found = calibrate(detector, items, 0.1)
    detector.card.thresholds = found["thresholds"]
    variants = [_calibration_variants(read_scan(item["scan_path"])) for item in items]
    for mode in ("dual", "single", "display"):
        detections = [detector.detect(v[mode]) for v in variants]
        scores = [d.score for d in detections]
        assert found["clean_scores"][mode] == pytest.approx(scores, abs=1e-7)
        assert len(set(scores)) == len(scores)  # no ties: exactly one scan lies above
        assert sum(d.is_anomalous for d in detections) == 1
        assert sorted(scores)[-2] < found["thresholds"][mode] <= max(scores)
        assert found["clean_score_quantiles"][mode][-1] == pytest.approx(max(scores), abs=1e-5)
