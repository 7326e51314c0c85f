"""Fixtures shared by all tests: small, seeded scans."""

from __future__ import annotations

import numpy as np
import pytest

from scanlab.io import Scan, example_scan


@pytest.fixture
def dual_scan() -> Scan:
    """A 48 x 160 dual-energy counts scan with full metadata."""
    return example_scan(rows=48, cols=160, seed=3)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)
