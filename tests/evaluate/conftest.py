"""Answer keys built by hand for the evaluation tests: small masks, known geometry."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from scanlab.evaluate import Mark
from scanlab.synth import AnswerKey, Difficulty, KeyObject

ObjectFactory = Callable[..., KeyObject]


def _make_object(
    object_id: str,
    threat_class: str,
    bbox: tuple[int, int, int, int],
    mask: np.ndarray | None = None,
) -> KeyObject:
    r0, c0, r1, c1 = bbox
    if mask is None:
        mask = np.ones((r1 - r0, c1 - c0), dtype=bool)
    return KeyObject(
        object_id=object_id,
        threat_class=threat_class,
        concealment="in_cargo",
        material="test",
        mass_kg=1.0,
        bbox=bbox,
        mask=mask,
        polygon=[],
        difficulty=Difficulty(0.0, 0.0, int(mask.sum()), 1.0, "easy"),
    )


@pytest.fixture
def make_object() -> ObjectFactory:
    """``make_object(object_id, threat_class, bbox, mask=None)``; no mask = the full bbox."""
    return _make_object


@pytest.fixture
def four_object_key() -> AnswerKey:
    """64 x 96 scan, four objects of four classes in the top 42 rows; rows 48+ are empty."""
    triangle = np.tri(12, dtype=bool)  # weapon: a right triangle, 78 pixels
    return AnswerKey(
        "four",
        (64, 96),
        [
            _make_object("o1", "narcotics", (5, 5, 15, 15)),
            _make_object("o2", "cash", (5, 40, 13, 52)),
            _make_object("o3", "weapon", (30, 10, 42, 22), triangle),
            _make_object("o4", "cigarettes", (30, 60, 40, 80)),
        ],
    )


def box_mark(mark_id: str, bbox: tuple[int, int, int, int], threat_class: str, **kw) -> Mark:
    """The rectangle covering exactly the pixels of a half-open bbox."""
    r0, c0, r1, c1 = bbox
    return Mark(mark_id, "rectangle", [(r0, c0), (r1 - 1, c1 - 1)], threat_class, **kw)


@pytest.fixture
def box() -> Callable[..., Mark]:
    """``box(mark_id, bbox, threat_class, **kw)``: a rectangle mark covering a bbox exactly."""
    return box_mark
