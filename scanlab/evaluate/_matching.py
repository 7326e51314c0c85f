"""Matching a trainee's marks to the objects of an answer key: hits, misses and false alarms."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from scanlab.errors import SpecError
from scanlab.evaluate._marks import Mark, _check_unique_ids
from scanlab.synth._answer_key import AnswerKey

__all__ = ["MATCH_RULES", "Hit", "MatchResult", "match_marks"]

#: How a mark may hit an object (see :func:`match_marks`).
MATCH_RULES = ("overlap", "centroid")

#: A loose mark is accepted when it covers this fraction of the object, or when this
#: fraction of its own area lies on the object, whatever its IoU.
_LOOSE_FRACTION = 0.5


class Hit(NamedTuple):
    """One object found by one mark."""

    object_id: str
    mark_id: str
    iou: float
    class_correct: bool


@dataclass(frozen=True)
class MatchResult:
    """Outcome of matching one submission to one answer key.

    Attributes
    ----------
    hits : list of Hit
        ``(object_id, mark_id, iou, class_correct)``, in answer-key object order.
    misses : list of str
        Ids of objects no mark was assigned to, in answer-key order.
    false_alarms : list of str
        Ids of marks assigned to no object, in submission order.
    overlap : dict of str to float
        For every object, the best IoU any mark reached with it, assigned or not (0.0 when
        no mark touches it): feedback on how close a trainee came to a miss.
    """

    hits: list[Hit] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)
    false_alarms: list[str] = field(default_factory=list)
    overlap: dict[str, float] = field(default_factory=dict)

    @property
    def n_objects(self) -> int:
        return len(self.hits) + len(self.misses)

    @property
    def hit_rate(self) -> float:
        """Fraction of objects hit; NaN for a clean scan (no objects: hit rate undefined)."""
        return len(self.hits) / self.n_objects if self.n_objects else math.nan

    @property
    def n_false_alarms(self) -> int:
        return len(self.false_alarms)


def match_marks(
    key: AnswerKey,
    marks: Sequence[Mark],
    *,
    rule: str = "overlap",
    min_iou: float = 0.1,
    require_class: bool = False,
) -> MatchResult:
    """Decide which marks found which objects of an answer key, one mark per object.

    Parameters
    ----------
    key : AnswerKey
        The truth: ``key.objects`` with their masks, over an image of ``key.shape``.
    marks : sequence of Mark
        What was drawn; ``mark_id`` must be unique. Parts outside the image are ignored.
    rule : {"overlap", "centroid"}
        When a mark *may* hit an object:

        ``"overlap"``
            IoU of the two masks >= ``min_iou``, **or** the mark covers >= 50 % of the
            object, **or** >= 50 % of the mark's area lies on the object. The last two
            accept the loose boxes trainees draw around a small object (low IoU, object
            inside) and the tight box on part of a large one (low IoU, mark inside).
        ``"centroid"``
            The pixel holding the mark's centroid (:attr:`Mark.centroid`, rounded) belongs
            to the object's mask. ``min_iou`` is ignored.
    min_iou : float
        In (0, 1]; the IoU threshold of the ``"overlap"`` rule.
    require_class : bool
        If True, a mark may only hit an object of its own threat class; otherwise the class
        is only reported (``Hit.class_correct``).

    Returns
    -------
    MatchResult

    Notes
    -----
    Each object is hit by at most one mark and each mark hits at most one object: a second
    mark on an object already found is a false alarm. Among the admissible pairs the
    assignment maximises, in this order, the number of hits, the number of hits with the
    right class, and the summed IoU. It is solved exactly with the Hungarian algorithm on
    each connected group of objects and marks that may hit each other (groups are small, so
    thousands of marks cost little). Greedy best-IoU-first is not used because it can lose
    a hit: when the best mark of object A is the only mark of object B, greedy gives it to A
    and B is missed although A had another admissible mark.

    IoU is computed on the intersection of the two bounding boxes only, never on full images.

    Examples
    --------
    >>> import numpy as np
    >>> from scanlab.synth import AnswerKey, Difficulty, KeyObject
    >>> obj = KeyObject("o1", "cash", "in_cargo", "paper", 2.0, (10, 10, 20, 20),
    ...                 np.ones((10, 10), bool), [], Difficulty(0, 0, 100, 1.0, "easy"))
    >>> key = AnswerKey("scan-1", (64, 64), [obj])
    >>> marks = [Mark("a", "rectangle", [(8, 8), (21, 21)], "cash"),
    ...          Mark("b", "rectangle", [(40, 40), (50, 50)], "weapon")]
    >>> res = match_marks(key, marks)
    >>> res.hits
    [Hit(object_id='o1', mark_id='a', iou=0.5102040816326531, class_correct=True)]
    >>> res.false_alarms, res.hit_rate
    (['b'], 1.0)
    """
    if rule not in MATCH_RULES:
        raise SpecError(f"match_marks: rule must be one of {MATCH_RULES}, got {rule!r}")
    if not 0.0 < float(min_iou) <= 1.0:
        raise SpecError(f"match_marks: min_iou must be in (0, 1], got {min_iou!r}")
    marks = list(marks)
    _check_unique_ids(marks, source="match_marks: marks")
    objects = key.objects  # AnswerKey guarantees unique ids and boxes inside the image

    n_obj, n_mark = len(objects), len(marks)
    obj_masks = [np.asarray(o.mask, dtype=bool) for o in objects]
    obj_area = np.array([m.sum() for m in obj_masks], dtype=np.float64)
    obj_box = np.array([o.bbox for o in objects], dtype=np.int64).reshape(n_obj, 4)
    local = [m.local_mask(key.shape) for m in marks]
    mark_area = np.array([m.sum() for _, _, m in local], dtype=np.float64)
    mark_box = np.array(
        [(r0, c0, r0 + m.shape[0], c0 + m.shape[1]) for r0, c0, m in local], dtype=np.int64
    ).reshape(n_mark, 4)

    # Pairs whose boxes intersect: the only ones with any overlap.
    top = np.maximum(obj_box[:, None, 0], mark_box[None, :, 0])
    left = np.maximum(obj_box[:, None, 1], mark_box[None, :, 1])
    bottom = np.minimum(obj_box[:, None, 2], mark_box[None, :, 2])
    right = np.minimum(obj_box[:, None, 3], mark_box[None, :, 3])
    iou = np.zeros((n_obj, n_mark))
    admissible = np.zeros((n_obj, n_mark), dtype=bool)
    for i, j in zip(*np.nonzero((bottom > top) & (right > left)), strict=True):
        t, lf, b, rt = top[i, j], left[i, j], bottom[i, j], right[i, j]
        o0, o1 = obj_box[i, :2]
        m0, m1 = local[j][:2]
        inter = np.count_nonzero(
            obj_masks[i][t - o0 : b - o0, lf - o1 : rt - o1]
            & local[j][2][t - m0 : b - m0, lf - m1 : rt - m1]
        )
        if inter:
            iou[i, j] = inter / (obj_area[i] + mark_area[j] - inter)
            admissible[i, j] = (
                iou[i, j] >= min_iou
                or inter >= _LOOSE_FRACTION * obj_area[i]
                or inter >= _LOOSE_FRACTION * mark_area[j]
            )

    if rule == "centroid":
        admissible[:] = False
        for j, mark in enumerate(marks):
            pr, pc = (math.floor(v + 0.5) for v in mark.centroid)
            for i, (r0, c0, r1, c1) in enumerate(obj_box):
                if r0 <= pr < r1 and c0 <= pc < c1 and obj_masks[i][pr - r0, pc - c0]:
                    admissible[i, j] = True

    same_class = np.array(
        [[o.threat_class == m.threat_class for m in marks] for o in objects], dtype=bool
    ).reshape(n_obj, n_mark)
    if require_class:
        admissible &= same_class

    pairs = _assign(admissible, same_class, iou)
    by_object = dict(pairs)
    hits = []
    for i, obj in enumerate(objects):
        if i in by_object:
            j = by_object[i]
            hits.append(
                Hit(obj.object_id, marks[j].mark_id, float(iou[i, j]), bool(same_class[i, j]))
            )
    taken = set(by_object.values())
    return MatchResult(
        hits=hits,
        misses=[o.object_id for i, o in enumerate(objects) if i not in by_object],
        false_alarms=[m.mark_id for j, m in enumerate(marks) if j not in taken],
        overlap={
            o.object_id: float(iou[i].max()) if n_mark else 0.0 for i, o in enumerate(objects)
        },
    )


def _assign(
    admissible: np.ndarray, same_class: np.ndarray, iou: np.ndarray
) -> list[tuple[int, int]]:
    """Optimal one-to-one (object, mark) pairs among the admissible ones (see match_marks)."""
    pairs: list[tuple[int, int]] = []
    for objs, mks in _components(admissible):
        sub = admissible[np.ix_(objs, mks)]
        k = min(len(objs), len(mks)) + 1
        # Lexicographic goal as one weight: each hit outweighs all class bonuses, each class
        # bonus outweighs all IoUs (IoU <= 1, at most k - 1 pairs).
        weight = np.where(
            sub, k * k + k * same_class[np.ix_(objs, mks)] + iou[np.ix_(objs, mks)], 0.0
        )
        for a, b in _hungarian_max(weight):
            if sub[a, b]:
                pairs.append((objs[a], mks[b]))
    return pairs


def _components(adjacency: np.ndarray) -> list[tuple[list[int], list[int]]]:
    """Connected groups (objects, marks) of the bipartite graph, singletons left out."""
    n_obj, n_mark = adjacency.shape
    seen_obj = np.zeros(n_obj, dtype=bool)
    seen_mark = np.zeros(n_mark, dtype=bool)
    groups = []
    for start in np.flatnonzero(adjacency.any(axis=1)):
        if seen_obj[start]:
            continue
        objs, mks = [int(start)], list[int]()
        seen_obj[start] = True
        frontier = [int(start)]
        while frontier:
            new_marks = np.flatnonzero(adjacency[frontier].any(axis=0) & ~seen_mark)
            seen_mark[new_marks] = True
            mks.extend(int(j) for j in new_marks)
            new_objs = np.flatnonzero(adjacency[:, new_marks].any(axis=1) & ~seen_obj)
            seen_obj[new_objs] = True
            objs.extend(int(i) for i in new_objs)
            frontier = [int(i) for i in new_objs]
        groups.append((sorted(objs), sorted(mks)))
    return groups


def _hungarian_max(weight: np.ndarray) -> list[tuple[int, int]]:
    """Row-column pairs of maximum total ``weight``, every row or every column assigned.

    The O(n^2 m) shortest-augmenting-path Hungarian algorithm (Kuhn-Munkres with
    potentials, as in Jonker & Volgenant), vectorised over columns.
    """
    transpose = weight.shape[0] > weight.shape[1]
    cost = -(weight.T if transpose else weight)
    n, m = cost.shape
    u = np.zeros(n + 1)
    v = np.zeros(m + 1)
    owner = np.zeros(m + 1, dtype=np.int64)  # row (1-based) assigned to column j; 0 = none
    way = np.zeros(m + 1, dtype=np.int64)
    for i in range(1, n + 1):
        owner[0] = i
        j0 = 0
        minv = np.full(m + 1, np.inf)
        used = np.zeros(m + 1, dtype=bool)
        while True:
            used[j0] = True
            i0 = owner[j0]
            free = ~used[1:]
            reduced = cost[i0 - 1] - u[i0] - v[1:]
            better = free & (reduced < minv[1:])
            minv[1:][better] = reduced[better]
            way[1:][better] = j0
            j1 = int(np.argmin(np.where(free, minv[1:], np.inf))) + 1
            delta = minv[j1]
            u[owner[used]] += delta
            v[used] -= delta
            minv[~used] -= delta
            j0 = j1
            if owner[j0] == 0:
                break
        while j0:
            j1 = way[j0]
            owner[j0] = owner[j1]
            j0 = j1
    pairs = [(int(owner[j]) - 1, j - 1) for j in range(1, m + 1) if owner[j]]
    return [(b, a) for a, b in pairs] if transpose else pairs
