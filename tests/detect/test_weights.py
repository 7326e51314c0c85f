"""Loading weights by name or path, and clear errors for missing or corrupt files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from scanlab._specfiles import file_sha256
from scanlab.detect import DetectorWeights, WeightsError, cargo_unet, load_detector
from scanlab.detect.torch_model import CargoUNet
from scanlab.errors import ScanlabError
from scanlab.io import example_scan


def _reseal(folder: Path, **changes: object) -> None:
    """Make the card vouch for the file as it is now, so the loader has to read it."""
    card = json.loads((folder / "card.json").read_text())
    card["weights_sha256"] = file_sha256(folder / card.get("weights_file", "weights.pt"))
    card.update(changes)
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
        _reseal(tiny_model_dir)
    with pytest.raises(WeightsError, match=r"weights\.pt"):
        load_detector(tiny_model_dir)


def test_weights_that_do_not_fit_the_network(tiny_model_dir):
    state = torch.load(tiny_model_dir / "weights.pt", weights_only=True)
    state["extra.weight"] = state.pop("head.weight")
    torch.save(state, tiny_model_dir / "weights.pt")
    _reseal(tiny_model_dir)
    with pytest.raises(WeightsError, match=r"missing \['head.weight'\].*unexpected"):
        load_detector(tiny_model_dir)
    torch.save({"head.weight": "not a tensor"}, tiny_model_dir / "weights.pt")
    _reseal(tiny_model_dir)
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


# --- the audit's weights folders (issue #15) ---------------------------------------------------


@pytest.mark.parametrize("sha", ["", "0" * 63, "not hex" * 9])
def test_a_card_without_a_valid_sha256_is_refused(tiny_model_dir, sha):
    card = json.loads((tiny_model_dir / "card.json").read_text())
    card["weights_sha256"] = sha
    (tiny_model_dir / "card.json").write_text(json.dumps(card))
    # Changed weights: with the check skipped they would load silently.
    state = torch.load(tiny_model_dir / "weights.pt", weights_only=True)
    torch.save({k: v + 1 for k, v in state.items()}, tiny_model_dir / "weights.pt")
    with pytest.raises(WeightsError, match=r"weights_sha256.*loads no weights it cannot verify"):
        load_detector(tiny_model_dir)


@pytest.mark.parametrize("where", ["absolute", "parent", "link"])
def test_weights_file_must_lie_inside_the_model_folder(tiny_model_dir, tmp_path, where):
    outside = tmp_path / "elsewhere" / "weights.pt"
    outside.parent.mkdir()
    outside.write_bytes((tiny_model_dir / "weights.pt").read_bytes())
    if where == "absolute":
        name = str(outside)
    elif where == "parent":
        name = "../elsewhere/weights.pt"
    else:
        (tiny_model_dir / "linked.pt").symlink_to(outside)
        name = "linked.pt"
    (tiny_model_dir / "weights.pt").unlink()
    card = json.loads((tiny_model_dir / "card.json").read_text())
    card["weights_file"] = name  # the sha256 still matches the file outside
    (tiny_model_dir / "card.json").write_text(json.dumps(card))
    with pytest.raises(WeightsError, match="outside the model folder"):
        load_detector(tiny_model_dir)


class _RunsCode:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_weights_that_would_run_code_are_refused_without_unsafe_advice(tiny_model_dir, tmp_path):
    marker = tmp_path / "ran"
    torch.save({"head.weight": _RunsCode(marker)}, tiny_model_dir / "weights.pt")
    _reseal(tiny_model_dir)
    with pytest.raises(WeightsError) as info:
        load_detector(tiny_model_dir)
    message = str(info.value)
    assert not marker.exists()
    assert "never runs code" in message
    for advice in ("weights_only", "False", "safe_globals", "trust"):
        assert advice not in message
    assert "Unsupported global" in message  # torch's reason is kept


def test_weights_enum_names_the_shipped_models():
    assert DetectorWeights.DEFAULT is DetectorWeights.CARGO_ANOMALY_V2
    assert DetectorWeights.DEFAULT.path.name == "cargo-anomaly-v2"
    shipped = {w.value for w in DetectorWeights}
    assert shipped == {"cargo-anomaly-v1", "cargo-anomaly-v2"}
    assert all((DetectorWeights(name).path / "card.json").is_file() for name in shipped)
