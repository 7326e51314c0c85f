"""Known-answer detectors for the evaluation tests: each reads the answer key that lies next
to the scan it is given (``<dataset>/keys/<scan id>.json``), so its metrics are known before
any evaluation runs. Loaded by ``scanlab.evaluate`` as ``"known_detectors.py:<factory>"``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from scanlab.synth import AnswerKey


@dataclass(frozen=True)
class Region:
    bbox: tuple[int, int, int, int]
    score: float


@dataclass(frozen=True)
class Result:
    score: float
    anomaly_map: np.ndarray
    threshold: float
    regions: list[Region] = field(default_factory=list)

    @property
    def is_anomalous(self) -> bool:
        return self.score >= self.threshold


def key_of(scan) -> AnswerKey:
    path = Path(scan.source)
    return AnswerKey.load(path.parent.parent / "keys" / f"{path.name.split('.')[0]}.json")


class KnownDetector:
    """``kind``: "perfect" (map = the key's mask, one region per object), "inverted"
    (map = 1 - mask, concealed scans score lowest, no regions), "constant" (0.5 everywhere),
    or "blind:<class>" (perfect, except that objects of that threat class are not found)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.name = kind

    def __call__(self, scan) -> Result:
        key = key_of(scan)
        mask = (key.label_image() > 0).astype(np.float32)
        if self.kind == "constant":
            return Result(0.5, np.full(mask.shape, 0.5, np.float32), 0.75)
        if self.kind == "inverted":
            return Result(1.0 - float(mask.max()), 1.0 - mask, 0.5)
        blind = self.kind.removeprefix("blind:") if self.kind.startswith("blind:") else None
        regions = [Region(o.bbox, 1.0) for o in key.objects if o.threat_class != blind]
        return Result(float(mask.max()), mask, 0.5, regions)

    def detect(self, scan) -> Result:
        return self(scan)


def perfect() -> KnownDetector:
    return KnownDetector("perfect")


def inverted() -> KnownDetector:
    return KnownDetector("inverted")


def constant() -> KnownDetector:
    return KnownDetector("constant")


def blind_to_weapons() -> KnownDetector:
    return KnownDetector("blind:weapon")


class UnboundedDetector(KnownDetector):
    """The perfect detector's ranking on a map that is not in [0, 1], as the baselines' are
    (``map_range``): 5 on normal pixels, 15 on objects, threshold 10."""

    map_range = (0.0, float("inf"))

    def __call__(self, scan) -> Result:
        result = super().__call__(scan)
        return Result(
            5.0 + 10.0 * result.score, 5.0 + 10.0 * result.anomaly_map, 10.0, result.regions
        )


def unbounded() -> UnboundedDetector:
    return UnboundedDetector("perfect")


class FaintDetector(KnownDetector):
    """A map that never leaves [0, 0.001), as most of a trained detector's map lies near 0:
    1e-4 x (1 + u + 2 x mask), u uniform in [0, 3) per pixel (seeded by the scan's id), so
    object and other pixels overlap and pixel AUROC is neither 0.5 nor 1."""

    def __call__(self, scan) -> Result:
        result = super().__call__(scan)
        seed = int.from_bytes(key_of(scan).scan_id.encode()[-4:], "little")
        u = np.random.default_rng(seed).uniform(0.0, 3.0, result.anomaly_map.shape)
        amap = (1e-4 * (1.0 + u + 2.0 * result.anomaly_map)).astype(np.float32)
        return Result(float(amap.max()), amap, 0.5, [])


def faint() -> FaintDetector:
    return FaintDetector("perfect")


@dataclass(frozen=True)
class ReadResult(Result):
    """What a detector reports of how it read the scan, as scanlab's own does."""

    pitch_mm: tuple[float, float] | None = None
    pitch_source: str = ""
    in_domain: bool = True


class ReportingDetector(KnownDetector):
    """The perfect detector, reporting the scan's pitch as it was given (``pitch_source``
    "metadata") and whether the scan came with both energies (``in_domain``), so that tests
    see how batch evaluation read each scan."""

    def __call__(self, scan) -> ReadResult:
        r = super().__call__(scan)
        return ReadResult(
            r.score,
            r.anomaly_map,
            r.threshold,
            r.regions,
            pitch_mm=scan.metadata.pitch_mm,
            pitch_source="metadata",
            in_domain=scan.is_dual_energy,
        )


def reporting() -> ReportingDetector:
    return ReportingDetector("perfect")


class FailsOnCleanDetector(KnownDetector):
    """The perfect detector, except that it raises an error of its own (not a ScanlabError)
    on every clean scan, as a researcher's detector with a bug might."""

    def __call__(self, scan) -> Result:
        if key_of(scan).is_clean:
            raise RuntimeError(f"cannot read {Path(scan.source).name}")
        return super().__call__(scan)


def fails_on_clean() -> FailsOnCleanDetector:
    return FailsOnCleanDetector("perfect")
