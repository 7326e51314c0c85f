"""``scanlab train`` and ``scanlab detect`` on tiny models and small scans."""

from __future__ import annotations

import json

import pytest
import tifffile
import yaml
from typer.testing import CliRunner

from scanlab.cli import app
from scanlab.detect._data import as_display_export
from scanlab.io import write_scan
from scanlab.synth import SceneSpec, generate_scene

runner = CliRunner()


def test_train_a_recipe_file_then_detect_with_it(tmp_path, cache_dir):
    recipe = {
        "name": "tiny-cli",
        "seed": 5,
        "pitch_mm": 20.0,
        "concealed": {"spec": "train-concealed", "count": 2},
        "normal": {"spec": "train-normal", "count": 2},
        "calibration": {"spec": "train-normal", "count": 2, "start": 396},
        "widths": [4, 8],
        "epochs": 1,
        "steps_per_epoch": 2,
        "batch_size": 2,
        "patch_px": 64,
        "tile_px": 128,
        "overlap_px": 32,
        "precision": "bf16",
    }
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(recipe))
    out = tmp_path / "models" / "tiny-cli"
    result = runner.invoke(app, ["train", str(path), "--out", str(out), "--cache", str(cache_dir)])
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())  # rich wraps at the terminal width
    assert "thresholds at 1% false alarms" in said and "trained 2 steps" in said
    card = json.loads((out / "card.json").read_text())
    assert card["training"]["recipe"]["precision"] == "bf16"
    assert set(card["thresholds"]) == {"dual", "single", "display"}

    scene = generate_scene(SceneSpec("box_truck", "textiles", 0.5, ["pistol"]), 4242, pitch_mm=20.0)
    scans = tmp_path / "scans"
    tif = write_scan(scene.scan, scans / "truck.tif")[0]
    png = write_scan(as_display_export(scene.scan), scans / "export.png")[0]
    bad = scans / "broken.tif"
    bad.write_bytes(b"II*\x00not a tiff")
    args = ["detect", str(tif), str(bad), str(png), "--out", str(tmp_path / "found")]
    result = runner.invoke(app, [*args, "--model", str(out), "--threshold", "0.999"])
    # The broken file is reported by name and fails the command; the others are written.
    assert result.exit_code == 1
    assert "broken.tif" in result.output
    said = " ".join(result.output.split())
    assert "truck.tif" in said and "export.png" in said
    names = sorted(p.name for p in (tmp_path / "found").iterdir())
    assert names == [
        "export.anomaly.tif",
        "export.regions.json",
        "truck.anomaly.tif",
        "truck.regions.json",
    ]
    assert tifffile.imread(tmp_path / "found" / "truck.anomaly.tif").shape == scene.scan.shape
    record = json.loads((tmp_path / "found" / "export.regions.json").read_text())
    assert record["input_mode"] == "display" and record["threshold"] == pytest.approx(0.999)
    assert record["model"] == "tiny-cli"


def test_detect_names_a_missing_model(tmp_path):
    result = runner.invoke(app, ["detect", "x.tif", "--out", str(tmp_path), "--model", "nope"])
    assert result.exit_code == 1 and "no model named 'nope'" in " ".join(result.output.split())


def test_train_names_a_bad_recipe_field(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text(yaml.safe_dump({"name": "x", "precision": "fp8"}))
    result = runner.invoke(app, ["train", str(path)])
    assert result.exit_code == 1 and "precision" in result.output
