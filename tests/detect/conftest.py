"""Tiny models and small simulated scans for the detector tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
# Two threads, or one where OMP_NUM_THREADS says so: mutation runs (benchmarks/mutate.py) fork
# each mutant's tests from a process that ran them already, and a forked child of a process
# whose OpenMP team had two threads waits forever at its first convolution.
torch.set_num_threads(min(2, torch.get_num_threads()))

from scanlab.detect import ModelCard  # noqa: E402
from scanlab.detect._weights import save_weights  # noqa: E402
from scanlab.detect.torch_model import CargoUNet  # noqa: E402


def tiny_card(**changes) -> ModelCard:
    fields = {
        "name": "tiny",
        "architecture": {"name": "CargoUNet", "in_channels": 4, "widths": [4, 8]},
        "pitch_mm": 20.0,
        "thresholds": {"dual": 0.5, "single": 0.5, "display": 0.5},
        "tile_px": 64,
        "overlap_px": 32,
        "smoothing_px": 1,
    }
    return ModelCard(**{**fields, **changes})


@pytest.fixture
def tiny_model_dir(tmp_path: Path) -> Path:
    """A randomly initialised tiny CargoUNet saved with its card."""
    torch.manual_seed(0)
    model = CargoUNet(4, (4, 8)).eval()
    return save_weights(model, tiny_card(), tmp_path / "tiny")


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One simulated-data cache for the whole session (datasets are built once)."""
    return tmp_path_factory.mktemp("scanlab-cache")


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(7)
