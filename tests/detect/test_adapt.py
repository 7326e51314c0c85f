"""Site adaptation on a tiny model and a handful of small scans: the new model, its card,
resuming, and refusing to overwrite shipped models."""

from __future__ import annotations

import hashlib
import json

import cv2
import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from scanlab.cli import app
from scanlab.detect import AdaptConfig, WeightsError, adapt, load_detector, models_dir
from scanlab.io import read_scan
from scanlab.synth import SceneSpec, generate_scene, render_display

runner = CliRunner()
TINY = {
    "steps": 4,
    "batch_size": 2,
    "patch_px": 64,
    "mine_every": 2,
    "mining_scans": 2,
    "checkpoint_every": 2,
    "heldout_share": 0.4,
    "precision": "fp32",
    "threads": 1,  # on a crowded machine two threads wait on each other at every layer
}


@pytest.fixture(scope="module")
def site_exports(tmp_path_factory):
    """Six clean 8-bit JPEG exports at 20 mm without metadata, as a site would give them."""
    folder = tmp_path_factory.mktemp("site")
    paths = []
    for i, (vehicle, cargo) in enumerate(
        [("container_20ft", "empty"), ("container_20ft", "mixed"), ("container_40ft", "tyres")] * 2
    ):
        scene = generate_scene(SceneSpec(vehicle, cargo, 0.7), 500 + i, pitch_mm=20.0)
        shown = render_display(scene.scan, contrast=0.55, rng=np.random.default_rng(i)).data[0]
        path = folder / f"clean-{i}.jpg"
        cv2.imwrite(str(path), shown, [cv2.IMWRITE_JPEG_QUALITY, 80])
        paths.append(path)
    return paths


def test_adapt_writes_a_calibrated_model_with_its_card(tiny_model_dir, site_exports, tmp_path):
    seen = set()
    result = adapt(
        site_exports,
        tmp_path / "models" / "port-a",
        base=tiny_model_dir,
        config=AdaptConfig(**TINY),
        progress=lambda stage, done, total: seen.add(stage),
    )
    assert seen == {"read", "train", "measure"}
    card = json.loads((result.out_dir / "card.json").read_text())
    assert card["name"] == "port-a"
    assert list(card["thresholds"]) == ["display"]  # only what the site's scans were
    data = card["training"]["data"][0]
    assert data["count"] == 6 and data["n_train"] == 4 and data["formats"] == {"jpeg": 6}
    digests = sorted(hashlib.sha256(p.read_bytes()).hexdigest() for p in site_exports)
    assert data["fingerprint"] == hashlib.sha256("".join(digests).encode()).hexdigest()
    assert data["pitch_mm"]["sources"]["estimate"] >= 5
    assert data["pitch_mm"]["median"] == pytest.approx(20.0, rel=0.03)
    assert card["training"]["adapted_from"]["name"] == "tiny"
    assert [h["step"] for h in card["training"]["history"]] == [2, 4]
    figures = card["metrics"]["site held-out clean scans"]
    assert figures["n_scans"] == 2
    # The threshold lies just above the highest held-out clean score (2 scans, 1 %: too few
    # to fit a tail, so fit_threshold keeps the empirical one), and the card says how.
    assert card["calibration"]["threshold_method"].startswith("fit_threshold")
    highest = card["calibration"]["clean_score_quantiles"]["display"][-1]
    assert highest - 1e-5 <= card["thresholds"]["display"] <= highest + 1e-4
    assert 0 <= figures["tip_image_auroc"] <= 1 and "before_adaptation" in figures
    # Two held-out scans are too few for grey-level ranges (5 needed): only the map is checked.
    assert card["calibration"]["domain"]["display"] == {}
    assert not (result.out_dir / "adapt-checkpoint.pt").exists()
    # The adapted model loads and reads the site's exports at their estimated pitch.
    detector = load_detector(result.out_dir)
    got = detector.detect(read_scan(site_exports[0]))
    assert got.threshold == pytest.approx(card["thresholds"]["display"])
    assert got.pitch_source == "estimate"


def test_adapt_resumes_where_it_stopped(tiny_model_dir, site_exports, tmp_path):
    config = AdaptConfig(**TINY)
    whole = adapt(site_exports, tmp_path / "whole", base=tiny_model_dir, config=config)

    def stop_after_two(stage: str, done: int, total: int) -> None:
        if stage == "train" and done == 2:
            raise KeyboardInterrupt

    out = tmp_path / "resumed"
    with pytest.raises(KeyboardInterrupt):
        adapt(site_exports, out, base=tiny_model_dir, config=config, progress=stop_after_two)
    assert (out / "adapt-checkpoint.pt").is_file()
    resumed = adapt(site_exports, out, base=tiny_model_dir, config=config)
    a = torch.load(whole.out_dir / "weights.pt", weights_only=True)
    b = torch.load(resumed.out_dir / "weights.pt", weights_only=True)
    assert all(torch.allclose(a[k], b[k], atol=1e-5) for k in a)
    assert resumed.card.training["history"][0] == whole.card.training["history"][0] | {
        "seconds": resumed.card.training["history"][0]["seconds"]
    }


def test_adapt_refuses_to_overwrite_shipped_or_base_models(tiny_model_dir, site_exports):
    for out in (
        models_dir() / "cargo-anomaly-v1",
        models_dir() / "cargo-anomaly-v2",
        tiny_model_dir,
    ):
        with pytest.raises(WeightsError, match="refusing to write over"):
            adapt(site_exports, out, base=tiny_model_dir, config=AdaptConfig(**TINY))
    with pytest.raises(Exception, match="at least 3 clean scans"):
        adapt(site_exports[:2], tiny_model_dir.parent / "x", base=tiny_model_dir)


def test_cli_adapt(tiny_model_dir, site_exports, tmp_path):
    out = tmp_path / "site-b"
    args = ["adapt", *map(str, site_exports), "--out", str(out), "--model", str(tiny_model_dir)]
    result = runner.invoke(
        app, [*args, "--steps", "2", "--heldout", "0.4", "--pitch", "20", "--threads", "1"]
    )
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert "display threshold" in said and "held-out clean scans" in said
    card = json.loads((out / "card.json").read_text())
    assert card["training"]["data"][0]["pitch_mm"]["sources"] == {"option": 6}
    assert card["training"]["recipe"]["steps"] == 2


def test_cross_fitted_false_alarms_match_the_order_statistics():
    """40 distinct clean scores, halved 200 times: a threshold just above the highest of 20
    is reached by each of the other 20 with probability 1 / 21 (exchangeable scores); one
    just above the second highest (5 % of 20 is one scan) with probability 2 / 21."""
    from scanlab.detect._adapt import _cross_fitted
    from scanlab.detect._postprocess import calibrate_threshold

    scores = np.random.default_rng(4).permutation(np.linspace(0.01, 0.99, 40))
    assert _cross_fitted(scores, 0.01, calibrate_threshold, 0) == pytest.approx(1 / 21, abs=0.006)
    assert _cross_fitted(scores, 0.05, calibrate_threshold, 0) == pytest.approx(2 / 21, abs=0.008)
