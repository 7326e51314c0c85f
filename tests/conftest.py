"""Fixtures shared by all tests: small, seeded scans. Qt tests run on a Qt 6 binding."""

from __future__ import annotations

import os

import numpy as np
import pytest

from scanlab.io import Scan, example_scan
from scanlab.napari_plugin._launch import prefer_qt6

# Before qtpy, napari or pytest-qt choose a binding: the same one for all of them.
if (_api := prefer_qt6()) is not None:
    os.environ.setdefault("PYTEST_QT_API", _api)


@pytest.fixture
def dual_scan() -> Scan:
    """A 48 x 160 dual-energy counts scan with full metadata."""
    return example_scan(rows=48, cols=160, seed=3)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)
