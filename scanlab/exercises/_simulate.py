"""Simulated trainees with known behaviour, for tests, demos and checking the grading."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from scanlab.errors import SpecError
from scanlab.evaluate import Mark
from scanlab.exercises._package import ExamKeys, ExamPackage
from scanlab.exercises._submission import Submission
from scanlab.synth import CONCEALMENT_METHODS, DIFFICULTY_LEVELS, THREAT_CLASSES, KeyObject

__all__ = ["BEHAVIOURS", "simulate_trainee"]

#: The behaviours :func:`simulate_trainee` knows; ``misses:<name>`` takes a threat class,
#: concealment method or difficulty level.
BEHAVIOURS = ("perfect", "random", "misses:<name>", "clicks_everywhere")
#: Side of the square marks of "clicks_everywhere", in pixels.
_TILE_PX = 16
_START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def simulate_trainee(
    package: ExamPackage,
    behaviour: str,
    *,
    seed: int,
    passphrase: str | ExamKeys,
    trainee_id: str | None = None,
) -> Submission:
    """A signed submission by a trainee who behaves exactly as told.

    Parameters
    ----------
    behaviour : str
        ``"perfect"``: one box on every object's bounding box, right class, right verdict.
        ``"random"``: 0-3 boxes of random size, place and class per scan; random verdicts.
        ``"misses:<name>"``: perfect, except that objects of that threat class, concealment
        method or difficulty level get no mark. ``"clicks_everywhere"``: the whole image tiled
        with 16-pixel boxes, every declaration judged "not consistent".
        Each also rates every scan clear or suspect with a confidence: "perfect" surely
        right (4 on a scan with an object, -4 on a clean one), "random" at random,
        "misses:<name>" suspect (3) when it marked something, else clear (-2: it is not sure),
        "clicks_everywhere" surely suspect everywhere.
    seed : int
        Seeds the random choices and the times spent (each a share of the item's limit).
    passphrase : str or ExamKeys
        The instructor's (or the keys it opened): a simulated trainee needs the answers
        (perfect, misses) and its token. The result is graded like any other submission.
    trainee_id : str, optional
        Defaults to the behaviour.
    """
    missing = _check_behaviour(behaviour)
    keys = package._keys(passphrase)
    trainee_id = trainee_id or behaviour
    rng = np.random.default_rng([seed, 0x7A1])
    sub = Submission.start(package, trainee_id)
    clock = _START
    for item in package.items:
        key = keys.answer_keys[item.item_id]
        rows, cols = item.shape
        truth = key.declaration_consistent if key.declaration is not None else None
        marks: list[Mark] = []
        if behaviour == "random":
            for k in range(int(rng.integers(0, 4))):
                h, w = (
                    int(rng.integers(5, max(rows // 3, 6))),
                    int(rng.integers(5, max(cols // 6, 6))),
                )
                r0, c0 = int(rng.integers(0, rows - h + 1)), int(rng.integers(0, cols - w + 1))
                cls = str(THREAT_CLASSES[int(rng.integers(len(THREAT_CLASSES)))])
                marks.append(_box(f"{item.item_id}-m{k}", (r0, c0, r0 + h, c0 + w), cls))
            verdict: bool | None = bool(rng.random() < 0.5)
            share = rng.uniform(0.2, 1.2)
            rating = int(rng.integers(1, 5)) * (1 if rng.random() < 0.5 else -1)
        elif behaviour == "clicks_everywhere":
            k = 0
            for r0 in range(0, rows, _TILE_PX):
                for c0 in range(0, cols, _TILE_PX):
                    box = (r0, c0, min(r0 + _TILE_PX, rows), min(c0 + _TILE_PX, cols))
                    marks.append(_box(f"{item.item_id}-m{k}", box, "narcotics"))
                    k += 1
            verdict = False
            share = 1.0
            rating = 4
        else:  # perfect, misses:<name>
            for k, obj in enumerate(key.objects):
                if missing is None or missing not in _names(obj):
                    marks.append(_box(f"{item.item_id}-m{k}", obj.bbox, obj.threat_class))
            verdict = truth
            share = rng.uniform(0.3, 0.9)
            if missing is None:
                rating = 4 if key.objects else -4
            else:
                rating = 3 if marks else -2
        spent = round(float(share * item.time_limit_s), 1)
        sub.record(
            item.item_id,
            marks=marks,
            declaration_consistent=verdict,
            time_spent_s=spent,
            started=clock,
            finished=clock + timedelta(seconds=spent),
            rating=rating,
        )
        clock += timedelta(seconds=spent + 2.0)
    return sub.sign(keys.token(trainee_id))


def _check_behaviour(behaviour: str) -> str | None:
    if behaviour in ("perfect", "random", "clicks_everywhere"):
        return None
    if isinstance(behaviour, str) and behaviour.startswith("misses:"):
        name = behaviour.removeprefix("misses:")
        if name in (*THREAT_CLASSES, *CONCEALMENT_METHODS, *DIFFICULTY_LEVELS):
            return name
        raise SpecError(
            f"behaviour {behaviour!r}: {name!r} is not a threat class {THREAT_CLASSES}, "
            f"concealment {CONCEALMENT_METHODS} or level {DIFFICULTY_LEVELS}"
        )
    raise SpecError(f"behaviour must be one of {BEHAVIOURS}, got {behaviour!r}")


def _names(obj: KeyObject) -> tuple[str, str, str]:
    return obj.threat_class, obj.concealment, obj.difficulty.level


def _box(mark_id: str, bbox: tuple[int, int, int, int], threat_class: str) -> Mark:
    """The rectangle covering exactly the pixels of a half-open bbox."""
    r0, c0, r1, c1 = bbox
    return Mark(mark_id, "rectangle", [(r0, c0), (r1 - 1, c1 - 1)], threat_class)
