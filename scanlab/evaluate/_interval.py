"""The ConfidenceInterval every uncertainty estimate in scanlab.evaluate returns."""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["ConfidenceInterval"]


class ConfidenceInterval(NamedTuple):
    """A point estimate with its standard error and a two-sided interval.

    Attributes
    ----------
    estimate : float
        The value computed from all the data.
    low, high : float
        Interval bounds at the requested level (0.95 unless stated).
    se : float
        Standard error of the estimate (analytic, or the bootstrap standard deviation).
    """

    estimate: float
    low: float
    high: float
    se: float
