"""Typed detector output: an image score, a per-pixel anomaly map and its regions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Detection", "Region"]


@dataclass(frozen=True)
class Region:
    """One connected area of the anomaly map at or above the threshold.

    ``bbox`` is (row0, col0, row1, col1), half-open, in scan pixels (as
    :attr:`scanlab.synth.KeyObject.bbox`); ``score`` is the map's maximum inside the region
    and ``area`` its size in pixels.
    """

    bbox: tuple[int, int, int, int]
    score: float
    area: int

    def to_dict(self) -> dict[str, Any]:
        return {"bbox": list(self.bbox), "score": self.score, "area": self.area}


@dataclass(frozen=True, eq=False)
class Detection:
    """What a detector says about one scan.

    Attributes
    ----------
    score : float
        Image anomaly score: the maximum of ``anomaly_map``.
    anomaly_map : ndarray
        float32 (row, col), the scan's shape; higher means more anomalous.
    regions : list of Region
        Connected components of ``anomaly_map >= threshold``, highest score first.
    threshold : float
        Decision threshold, calibrated on clean scans at a stated false-alarm rate.
    input_mode : str
        How the scan was read: ``"dual"``, ``"single"`` (energy) or ``"display"``.
    """

    score: float
    anomaly_map: np.ndarray = field(repr=False)
    regions: list[Region]
    threshold: float
    input_mode: str = "dual"

    @property
    def is_anomalous(self) -> bool:
        """The scan is flagged: its score reaches the threshold (it then has a region)."""
        return self.score >= self.threshold

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable summary (without the map)."""
        return {
            "score": self.score,
            "threshold": self.threshold,
            "is_anomalous": self.is_anomalous,
            "input_mode": self.input_mode,
            "shape": list(self.anomaly_map.shape),
            "regions": [r.to_dict() for r in self.regions],
        }
