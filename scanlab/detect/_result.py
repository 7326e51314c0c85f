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
    pitch_mm : (float, float) or None
        The (row, col) pitch the scan was read at.
    pitch_source : str
        Where that pitch came from: ``"option"`` (given), ``"metadata"``, ``"estimate"``
        (measured on an ISO container in the image) or ``"default"`` (assumed).
    in_domain : bool
        False when the scan is unlike the clean scans the threshold was calibrated on (its
        image statistics or the share of its map that lights up lie outside theirs): the
        score and regions then say little; adapt the model to the site (``scanlab adapt``).
    warnings : tuple of str
        Why the result may not be trusted (out of domain, pitch assumed), for people.
    domain : dict
        The input statistics the domain check compared with the card's.
    """

    score: float
    anomaly_map: np.ndarray = field(repr=False)
    regions: list[Region]
    threshold: float
    input_mode: str = "dual"
    pitch_mm: tuple[float, float] | None = None
    pitch_source: str = ""
    in_domain: bool = True
    warnings: tuple[str, ...] = ()
    domain: dict[str, Any] = field(default_factory=dict, repr=False)

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
            "pitch_mm": list(self.pitch_mm) if self.pitch_mm else None,
            "pitch_source": self.pitch_source,
            "in_domain": self.in_domain,
            "warnings": list(self.warnings),
            "domain": self.domain,
            "shape": list(self.anomaly_map.shape),
            "regions": [r.to_dict() for r in self.regions],
        }
