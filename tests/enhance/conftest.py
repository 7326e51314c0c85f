"""Small seeded images shared by the enhancement tests."""

from __future__ import annotations

import numpy as np
import pytest


def scene(rows: int = 64, cols: int = 96, *, seed: int = 0) -> np.ndarray:
    """float32 attenuation: air, a container wall, two boxes, mild noise."""
    rng = np.random.default_rng(seed)
    att = np.zeros((rows, cols), dtype=np.float32)
    att[rows // 4 :, cols // 8 :] += 0.4
    att[rows // 3 : rows // 3 + 12, cols // 4 : cols // 4 + 20] += 2.0
    att[rows // 2 : rows // 2 + 16, cols // 2 : cols // 2 + 24] += 4.0
    att += rng.normal(0.0, 0.02, att.shape).astype(np.float32)
    return att


@pytest.fixture
def att() -> np.ndarray:
    return scene()


@pytest.fixture
def counts(att: np.ndarray) -> np.ndarray:
    return np.clip(60000.0 * np.exp(-att), 0, 65535).astype(np.uint16)
