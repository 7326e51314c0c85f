"""Fixtures of the napari plugin tests: a progress folder per test, the sample set, a stub
detector. Tests marked ``napari`` need a display: run them under ``xvfb-run``."""

from __future__ import annotations

import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from scanlab.napari_plugin._samples import sample_dataset_dir


@pytest.fixture(autouse=True)
def progress_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Work in progress goes to a fresh folder, never to the user's."""
    folder = tmp_path / "progress"
    monkeypatch.setenv("SCANLAB_PROGRESS_DIR", str(folder))
    return folder


@pytest.fixture
def exercise_dir(tmp_path: Path) -> Path:
    """Three sample scans with their keys, laid out as a dataset (scans/, keys/)."""
    source = sample_dataset_dir()
    if not source.is_dir():
        pytest.skip("the committed sample set datasets/sample is absent")
    out = tmp_path / "exercise"
    for sub in ("scans", "keys"):
        (out / sub).mkdir(parents=True)
    for scan_id in ("sample-00000", "sample-00003", "sample-00004"):
        shutil.copy(source / "scans" / f"{scan_id}.npz", out / "scans")
        shutil.copy(source / "keys" / f"{scan_id}.json", out / "keys")
    return out


@pytest.fixture
def found_box(exercise_dir: Path):
    """``found_box(scan_id, index)``: a box around an object of the key and its class, read
    by the test (never by the code under test) so that tests do not depend on where the
    simulator put things."""
    from scanlab.synth import AnswerKey

    def box(scan_id: str = "sample-00000", index: int = 0) -> tuple[np.ndarray, str]:
        obj = AnswerKey.load(exercise_dir / "keys" / f"{scan_id}.json").objects[index]
        r0, c0, r1, c1 = obj.bbox
        return np.array([[r0, c0], [r1 - 1, c1 - 1]], dtype=float), obj.threat_class

    return box


class StubDetector:
    """Flags a bright square in the middle of any scan; reports progress in 3 steps."""

    def detect(self, scan, progress=None):
        rows, cols = scan.shape
        amap = np.zeros((rows, cols), np.float32)
        amap[rows // 3 : rows // 2, cols // 3 : cols // 2] = 0.9
        for done in range(1, 4):
            if progress:
                progress(done, 3)
        region = SimpleNamespace(bbox=(rows // 3, cols // 3, rows // 2, cols // 2), score=0.9)
        return SimpleNamespace(score=0.9, anomaly_map=amap, regions=[region], threshold=0.5)


@pytest.fixture
def stub_detector() -> StubDetector:
    return StubDetector()


@pytest.fixture
def tiny_detector_dir(tmp_path: Path) -> Path:
    """A randomly initialised tiny CargoUNet (seeded) saved with its card: a real detector
    that reads a scan in well under a second."""
    torch = pytest.importorskip("torch")
    from scanlab.detect import ModelCard
    from scanlab.detect._weights import save_weights
    from scanlab.detect.torch_model import CargoUNet

    torch.manual_seed(0)
    card = ModelCard(
        name="tiny",
        architecture={"name": "CargoUNet", "in_channels": 4, "widths": [4, 8]},
        pitch_mm=20.0,
        thresholds={"dual": 0.5, "single": 0.5, "display": 0.5},
        tile_px=64,
        overlap_px=32,
        smoothing_px=1,
    )
    return save_weights(CargoUNet(4, (4, 8)).eval(), card, tmp_path / "tiny")
