"""Adaptive practice: the next exam spec, weighted towards what a trainee misses most."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Sequence

from scanlab.errors import SpecError
from scanlab.exercises._grading import ObjectOutcome, TraineeResult
from scanlab.exercises._spec import ExamSpec
from scanlab.synth import CONCEALMENT_TYPES, DIFFICULTY_LEVELS

__all__ = ["KIND_PRODUCES", "recommend_next"]

#: What each of the simulator's concealment kinds puts in a scan: (threat classes,
#: concealment methods) its objects have, as drawn in scanlab.synth._concealments (where a
#: load has no tyre or spare wheel, the simulator falls back to the next kind; not listed).
KIND_PRODUCES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "false_wall": (("narcotics", "cigarettes"), ("false_wall",)),
    "false_floor": (("narcotics", "cash"), ("false_floor",)),
    "false_roof": (("narcotics", "cash"), ("false_roof",)),
    "cigarettes_behind_cargo": (("cigarettes",), ("behind_cargo",)),
    "vehicle": (("vehicle",), ("in_cargo",)),
    "drugs_in_tyre": (("narcotics",), ("tyre",)),
    "drugs_in_spare_wheel": (("narcotics",), ("spare_wheel",)),
    "drugs_in_cargo": (("narcotics",), ("in_cargo", "loose")),
    "cash": (("cash",), ("in_cargo", "loose")),
    "pistol": (("weapon",), ("in_cargo", "loose")),
    "rifle": (("weapon",), ("in_cargo", "loose")),
    "stowaway": (("stowaway",), ("in_cargo", "loose")),
}


def recommend_next(
    trainee_results: TraineeResult | Sequence[TraineeResult],
    *,
    base: ExamSpec | None = None,
) -> ExamSpec:
    """The spec of a practice set aimed at a trainee's weaknesses.

    Parameters
    ----------
    trainee_results : TraineeResult or sequence of them
        One trainee's results, from one exam or several (pooled).
    base : ExamSpec, optional
        Everything not re-weighted (count, pitch, time limit, vehicles...) comes from here.

    Returns
    -------
    ExamSpec
        With concealment and difficulty weights from the trainee's miss rates, a clean share
        raised to the false-alarm rate when that is higher (practice in clearing clean
        scans), and a seed no earlier exam of this trainee used.

    Notes
    -----
    Each group's weakness is its smoothed miss rate ``(misses + 1) / (objects + 2)``
    (Laplace), so a group never seen counts as 0.5: unknown, worth practising, but below a
    group missed every time. A concealment kind's weight is the mean of the weakness of the
    threat classes and of the concealment methods it produces (:data:`KIND_PRODUCES`); a
    difficulty level's weight is its weakness.
    """
    results = (
        [trainee_results] if isinstance(trainee_results, TraineeResult) else list(trainee_results)
    )
    if not results:
        raise SpecError("recommend_next: no results given")
    ids = {r.trainee_id for r in results}
    if len(ids) != 1:
        raise SpecError(f"recommend_next: results of several trainees {sorted(ids)}; pass one's")
    trainee = ids.pop()
    base = base or ExamSpec(name="practice")
    objects = [o for r in results for o in r.objects]

    def weakness(selected: list[ObjectOutcome]) -> float:
        return (sum(not o.hit for o in selected) + 1) / (len(selected) + 2)

    def mean_weakness(names: tuple[str, ...], attr: str) -> float:
        return sum(weakness([o for o in objects if getattr(o, attr) == n]) for n in names) / len(
            names
        )

    concealments = {
        kind: round(
            (
                mean_weakness(KIND_PRODUCES[kind][0], "threat_class")
                + mean_weakness(KIND_PRODUCES[kind][1], "concealment")
            )
            / 2,
            3,
        )
        for kind in CONCEALMENT_TYPES
        if kind in KIND_PRODUCES
    }
    difficulty = {
        level: round(weakness([o for o in objects if o.level == level]), 3)
        for level in DIFFICULTY_LEVELS
    }
    clean = [it for r in results for it in r.items if it.clean]
    fa_rate = sum(it.n_marks > 0 for it in clean) / len(clean) if clean else 0.0
    history = ",".join(sorted(r.exam_id for r in results))
    seed = int.from_bytes(hashlib.sha256(f"{trainee}|{history}".encode()).digest()[:4], "big")
    worst = sorted(concealments, key=lambda k: -concealments[k])[:3]
    return dataclasses.replace(
        base,
        name=f"practice-{trainee}",
        seed=seed % 2**31,
        concealments=concealments,
        difficulty=difficulty,
        clean_share=round(min(max(base.clean_share, fa_rate), 0.5), 2),
        description=(
            f"Practice for {trainee} after {len(results)} exam(s) ({len(objects)} objects): "
            f"weighted towards {', '.join(worst)}."
        ),
    )
