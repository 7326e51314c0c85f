"""Loading weights by name or path, and clear errors for missing or corrupt files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from scanlab.detect import DetectorWeights, WeightsError, cargo_unet, load_detector
from scanlab.detect.torch_model import CargoUNet
from scanlab.errors import ScanlabError
from scanlab.io import example_scan


def _drop_sha(folder: Path) -> None:
    """Make the card stop vouching for the file, so the loader has to read it."""
    card = json.loads((folder / "card.json").read_text())
    card["weights_sha256"] = ""
    (folder / "card.json").write_text(json.dumps(card))


def test_round_trip_gives_the_same_network(tiny_model_dir):
    model = cargo_unet(weights=tiny_model_dir)
    assert isinstance(model, CargoUNet) and model.widths == (4, 8)
    again = cargo_unet(weights=tiny_model_dir / "weights.pt")
    x = torch.randn(1, 4, 32, 32)
    with torch.inference_mode():
        assert torch.equal(model(x), again(x))
    assert cargo_unet().widths == (16, 32, 64, 96)  # weights=None: untrained default


def test_detector_from_a_folder(tiny_model_dir):
    det = load_detector(tiny_model_dir)
    scan = example_scan(rows=60, cols=150, seed=1)
    result = det(scan, pitch_mm=20.0)
    assert result.anomaly_map.shape == scan.shape and result.anomaly_map.dtype == np.float32
    assert result.input_mode == "dual" and result.threshold == pytest.approx(0.5)


@pytest.mark.parametrize("check_sha", [True, False])
@pytest.mark.parametrize("damage", ["truncated", "random bytes", "empty"])
def test_corrupt_weights_raise_a_clear_error(tiny_model_dir, damage, check_sha):
    path = tiny_model_dir / "weights.pt"
    data = path.read_bytes()
    if damage == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "random bytes":
        path.write_bytes(np.random.default_rng(0).bytes(len(data)))
    else:
        path.write_bytes(b"")
    if not check_sha:
        _drop_sha(tiny_model_dir)
    with pytest.raises(WeightsError, match=r"weights\.pt"):
        load_detector(tiny_model_dir)


def test_weights_that_do_not_fit_the_network(tiny_model_dir):
    state = torch.load(tiny_model_dir / "weights.pt", weights_only=True)
    state["extra.weight"] = state.pop("head.weight")
    torch.save(state, tiny_model_dir / "weights.pt")
    _drop_sha(tiny_model_dir)
    with pytest.raises(WeightsError, match=r"missing \['head.weight'\].*unexpected"):
        load_detector(tiny_model_dir)
    torch.save({"head.weight": "not a tensor"}, tiny_model_dir / "weights.pt")
    with pytest.raises(WeightsError, match="state dict"):
        load_detector(tiny_model_dir)


def test_missing_things(tiny_model_dir, tmp_path):
    with pytest.raises(WeightsError, match="no model named 'no-such-model'"):
        load_detector("no-such-model")
    with pytest.raises(WeightsError, match=r"no card\.json"):
        load_detector(tmp_path)
    (tiny_model_dir / "weights.pt").unlink()
    with pytest.raises(WeightsError, match="missing"):
        load_detector(tiny_model_dir)
    (tiny_model_dir / "card.json").write_text("{not json")
    with pytest.raises(WeightsError, match="not readable JSON"):
        load_detector(tiny_model_dir)
    (tiny_model_dir / "card.json").write_text(json.dumps({"scanlab_model_card": 1}))
    with pytest.raises(ScanlabError, match="misses a field"):
        load_detector(tiny_model_dir)


def test_weights_enum_names_the_shipped_model():
    assert DetectorWeights.DEFAULT is DetectorWeights.CARGO_ANOMALY_V1
    assert DetectorWeights.DEFAULT.path.name == "cargo-anomaly-v1"
