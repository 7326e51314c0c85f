"""Sample data: scans of the committed sample set with their answer keys (simulated if absent)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import scanlab
from scanlab.io import read_scan
from scanlab.napari_plugin._layers import LayerData, ScanRef, answer_key_layer, scan_layers
from scanlab.synth import AnswerKey, SceneSpec, generate_scene

__all__ = [
    "SAMPLES",
    "Sample",
    "load_sample",
    "sample_dataset_dir",
    "sample_scan_1",
    "sample_scan_2",
    "sample_scan_3",
]


@dataclass(frozen=True)
class Sample:
    """One scan of the sample set, and how to simulate it again when the set is absent."""

    scan_id: str
    spec: SceneSpec
    seed: int


#: The built-in samples: two containers with concealments and a clean one. Their names say
#: nothing of what is hidden (the answer-key layer does, when the trainee shows it).
SAMPLES: dict[str, Sample] = {
    s.scan_id: s
    for s in (
        Sample("sample-00000", SceneSpec("container_20ft", "mixed", 0.5, ["stowaway", "cash"]), 1),
        Sample(
            "sample-00002",
            SceneSpec("container_40ft", "textiles", 0.7, ["drugs_in_cargo", "pistol"]),
            2,
        ),
        Sample("sample-00004", SceneSpec("container_40ft", "machinery", 0.6, []), 3),
    )
}


def sample_dataset_dir() -> Path:
    """``datasets/sample`` of the source tree (absent in an installed wheel)."""
    return Path(scanlab.__file__).parents[1] / "datasets" / "sample"


def load_sample(scan_id: str, *, pitch_mm: float = 10.0) -> tuple[scanlab.Scan, AnswerKey]:
    """A sample scan and its key: from the sample set, or simulated when the set is absent."""
    root = sample_dataset_dir()
    scan_path = root / "scans" / f"{scan_id}.npz"
    key_path = root / "keys" / f"{scan_id}.json"
    if scan_path.is_file() and key_path.is_file():
        return read_scan(scan_path), AnswerKey.load(key_path)
    sample = SAMPLES[scan_id]
    scene = generate_scene(sample.spec, sample.seed, pitch_mm=pitch_mm, scan_id=scan_id)
    return scene.scan, scene.key


def _sample_layers(scan_id: str) -> list[LayerData]:
    scan, key = load_sample(scan_id)
    layers = scan_layers(scan, name=scan_id)
    ref = layers[-1][1]["metadata"]["scanlab"]
    assert isinstance(ref, ScanRef)
    if key.objects:
        layers.append(answer_key_layer(key, ref))
    return layers


def sample_scan_1() -> list[LayerData]:
    """20 ft container of mixed goods, with its answer key (hidden; toggle it)."""
    return _sample_layers("sample-00000")


def sample_scan_2() -> list[LayerData]:
    """40 ft container of textiles, with its answer key."""
    return _sample_layers("sample-00002")


def sample_scan_3() -> list[LayerData]:
    """40 ft container of machinery, with its answer key."""
    return _sample_layers("sample-00004")
