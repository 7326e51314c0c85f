"""Grading: submissions matched to the answer keys, and per-trainee scores (hit and
false-alarm rates, d', A', time) overall and by threat class, concealment and difficulty,
and the ROC of the trainees' clear/suspect ratings, each trainee's and the class's."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scanlab.errors import SpecError
from scanlab.evaluate import (
    RatingRoc,
    a_prime,
    d_prime_ci,
    match_marks,
    rate_ci,
    rates_with_correction,
    rating_roc,
    reliability_note,
)
from scanlab.exercises._package import ExamKeys, ExamPackage
from scanlab.exercises._submission import ItemResponse, Submission
from scanlab.i18n import _
from scanlab.synth import CONCEALMENT_METHODS, DIFFICULTY_LEVELS, THREAT_CLASSES

__all__ = [
    "ClassResults",
    "ItemOutcome",
    "ObjectOutcome",
    "Scores",
    "TraineeResult",
    "grade",
]

_FORMAT_KEY = "scanlab_class_results"
_FORMAT_VERSION = 1


@dataclass(frozen=True)
class Scores:
    """Signal-detection scores from counts, with their uncertainty.

    A *signal trial* is one concealed object (a hit: a mark matched it); a *noise trial* is
    one clean scan (a false alarm: it got any mark). For the declaration verdicts, signal
    trials are false declarations (hit: judged "not consistent") and noise trials true ones.

    Rates are raw; ``d_prime`` and ``a_prime`` use log-linearly corrected rates
    (Hautus 1995: ``(count + 0.5) / (trials + 1)``), so a perfect score stays finite. The
    ``*_low``/``*_high`` bounds are 95 % intervals (Wilson for rates, Gourevitch-Galanter
    for d'). ``reliability`` says how far the number of trials is from the ~100 a reliable
    score needs. NaN where a figure is undefined (no trials of a kind).
    """

    n_signal: int
    hits: int
    hits_class_correct: int
    n_noise: int
    false_alarms: int
    n_marks: int
    false_marks: int
    n_scans: int
    mean_time_s: float
    hit_rate: float = math.nan
    hit_rate_low: float = math.nan
    hit_rate_high: float = math.nan
    fa_rate: float = math.nan
    fa_rate_low: float = math.nan
    fa_rate_high: float = math.nan
    fa_per_mark: float = math.nan
    false_marks_per_scan: float = math.nan
    d_prime: float = math.nan
    d_prime_low: float = math.nan
    d_prime_high: float = math.nan
    a_prime: float = math.nan
    reliability: str = ""

    @classmethod
    def from_counts(
        cls,
        *,
        n_signal: int,
        hits: int,
        n_noise: int,
        false_alarms: int,
        hits_class_correct: int = 0,
        n_marks: int = 0,
        false_marks: int = 0,
        n_scans: int = 0,
        mean_time_s: float = math.nan,
    ) -> Scores:
        """Scores from counts: objects and hits, clean scans and clean scans marked.

        Examples
        --------
        A perfect trainee on 6 objects and 2 clean scans: the log-linear rates are 6.5 / 7
        and 0.5 / 3, so d' = z(0.9286) - z(0.1667) = 1.4652 + 0.9674.

        >>> s = Scores.from_counts(n_signal=6, hits=6, n_noise=2, false_alarms=0)
        >>> s.hit_rate, s.fa_rate, round(s.d_prime, 4), round(s.a_prime, 4)
        (1.0, 0.0, 2.4327, 0.9337)
        """
        derived: dict[str, Any] = {}
        if n_signal:
            ci = rate_ci(hits, n_signal)
            derived.update(hit_rate=ci.estimate, hit_rate_low=ci.low, hit_rate_high=ci.high)
        if n_noise:
            ci = rate_ci(false_alarms, n_noise)
            derived.update(fa_rate=ci.estimate, fa_rate_low=ci.low, fa_rate_high=ci.high)
        if n_marks:
            derived["fa_per_mark"] = false_marks / n_marks
        if n_scans:
            derived["false_marks_per_scan"] = false_marks / n_scans
        if n_signal and n_noise:
            h, f = rates_with_correction(hits, n_signal, false_alarms, n_noise)
            d = d_prime_ci(h, f, n_signal, n_noise)
            derived.update(
                d_prime=d.estimate, d_prime_low=d.low, d_prime_high=d.high, a_prime=a_prime(h, f)
            )
        n = n_signal + n_noise
        derived["reliability"] = (
            reliability_note(n)
            if n_signal and n_noise
            else f"{n} trials: no score without both signal and noise trials"
        )
        return cls(
            n_signal,
            hits,
            hits_class_correct,
            n_noise,
            false_alarms,
            n_marks,
            false_marks,
            n_scans,
            float(mean_time_s),
            **derived,
        )

    def to_dict(self) -> dict[str, Any]:
        return {k: _none_if_nan(v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Scores:
        counts = (
            "n_signal",
            "hits",
            "n_noise",
            "false_alarms",
            "hits_class_correct",
            "n_marks",
            "false_marks",
            "n_scans",
        )
        t = d.get("mean_time_s")
        return cls.from_counts(
            **{k: int(d[k]) for k in counts}, mean_time_s=math.nan if t is None else float(t)
        )


@dataclass(frozen=True)
class ObjectOutcome:
    """One concealed object of one item, found or not."""

    item_id: str
    object_id: str
    threat_class: str
    concealment: str
    level: str
    contrast: float
    hit: bool
    class_correct: bool
    iou: float


@dataclass(frozen=True)
class ItemOutcome:
    """One item of one trainee: what was found, what was wrongly marked, verdict and time."""

    item_id: str
    clean: bool
    hits: list[str]
    misses: list[str]
    false_marks: list[str]
    n_marks: int
    declaration_consistent: bool | None
    verdict: bool | None
    time_spent_s: float
    time_limit_s: float
    answered: bool
    #: The clear/suspect call with its confidence (-4..-1 clear, 1..4 suspect); None: not
    #: given (a submission from before ratings, or a detector's).
    rating: int | None = None
    #: Detector assist on this item: runs, and seconds its output was on screen; None: not
    #: recorded (a submission from before it, or a detector's).
    assist_runs: int | None = None
    assist_visible_s: float | None = None

    @property
    def assist_used(self) -> bool | None:
        """Whether the detector's output was on screen over this item; None: not recorded."""
        return None if self.assist_visible_s is None else self.assist_visible_s > 0

    @property
    def over_time(self) -> bool:
        return self.time_spent_s > self.time_limit_s

    @property
    def verdict_correct(self) -> bool | None:
        if self.declaration_consistent is None or self.verdict is None:
            return None
        return self.verdict == self.declaration_consistent


@dataclass
class TraineeResult:
    """Everything graded for one trainee on one exam."""

    trainee_id: str
    exam_id: str
    overall: Scores
    by_class: dict[str, Scores]
    by_concealment: dict[str, Scores]
    by_difficulty: dict[str, Scores]
    declaration: Scores
    items: list[ItemOutcome]
    objects: list[ObjectOutcome]
    #: Sat the exam with Detector assist (the package's assignment, ``ExamSpec.assisted``).
    assisted: bool = False
    #: ROC of the ratings (signal trials: scans with an object; noise: clean scans); None
    #: unless both kinds were rated.
    ratings: RatingRoc | None = None

    @property
    def n_rated(self) -> tuple[int, int]:
        """Rated scans with an object, and rated clean scans."""
        rated = [it for it in self.items if it.rating is not None]
        return sum(not it.clean for it in rated), sum(it.clean for it in rated)

    @property
    def mean_time_s(self) -> float:
        return self.overall.mean_time_s

    @property
    def n_over_time(self) -> int:
        return sum(it.over_time for it in self.items)

    @property
    def n_unanswered(self) -> int:
        return sum(not it.answered for it in self.items)

    def to_dict(self) -> dict[str, Any]:
        return {
            "trainee_id": self.trainee_id,
            "exam_id": self.exam_id,
            "assisted": self.assisted,
            "items": [asdict(it) for it in self.items],
            "objects": [asdict(o) for o in self.objects],
            # Scores are stored for readers of the JSON; loading recomputes them from the
            # outcomes, so the file cannot say one thing in its scores and another in its items.
            "scores": {
                "overall": self.overall.to_dict(),
                "declaration": self.declaration.to_dict(),
                "by_class": {k: v.to_dict() for k, v in self.by_class.items()},
                "by_concealment": {k: v.to_dict() for k, v in self.by_concealment.items()},
                "by_difficulty": {k: v.to_dict() for k, v in self.by_difficulty.items()},
                "ratings": _roc_dict(self.ratings),
            },
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TraineeResult:
        items = [ItemOutcome(**it) for it in d["items"]]
        objects = [ObjectOutcome(**o) for o in d["objects"]]
        result = _trainee_result(str(d["trainee_id"]), str(d["exam_id"]), items, objects)
        assisted = d.get("assisted", False)  # absent from results graded before it
        if not isinstance(assisted, bool):
            raise TypeError(
                _("trainee {trainee!r}: 'assisted' must be true or false").format(
                    trainee=d["trainee_id"]
                )
            )
        result.assisted = assisted
        return result


@dataclass
class ClassResults:
    """A graded exam: one :class:`TraineeResult` per trainee, and how they were graded."""

    exam_id: str
    exam_name: str
    exam_created: str
    rule: str
    min_iou: float
    require_class: bool
    difficulty: dict[str, dict[str, float]]
    trainees: list[TraineeResult] = field(default_factory=list)
    graded_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def pooled_ratings(self) -> RatingRoc | None:
        """The class's ROC: every trainee's rated scans pooled (each trainee's criteria
        differ, so this curve lies at or below the average trainee's; read both)."""
        return _ratings_roc([it for t in self.trainees for it in t.items])

    def trainee(self, trainee_id: str) -> TraineeResult:
        for t in self.trainees:
            if t.trainee_id == trainee_id:
                return t
        raise SpecError(
            _("exam {exam}: no trainee {trainee!r}").format(exam=self.exam_name, trainee=trainee_id)
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            _FORMAT_KEY: _FORMAT_VERSION,
            "exam_id": self.exam_id,
            "exam_name": self.exam_name,
            "exam_created": self.exam_created,
            "graded_at": self.graded_at,
            "rule": self.rule,
            "min_iou": self.min_iou,
            "require_class": self.require_class,
            "difficulty": self.difficulty,
            "trainees": [t.to_dict() for t in self.trainees],
        }

    @classmethod
    def from_dict(cls, d: Any, *, source: str | Path = "<results>") -> ClassResults:
        if not isinstance(d, dict) or d.get(_FORMAT_KEY) != _FORMAT_VERSION:
            raise SpecError(
                _("{path}: not a version-1 scanlab class results file").format(path=source)
            )
        try:
            return cls(
                exam_id=str(d["exam_id"]),
                exam_name=str(d["exam_name"]),
                exam_created=str(d["exam_created"]),
                rule=str(d["rule"]),
                min_iou=float(d["min_iou"]),
                require_class=bool(d["require_class"]),
                difficulty={str(k): dict(v) for k, v in d["difficulty"].items()},
                trainees=[TraineeResult.from_dict(t) for t in d["trainees"]],
                graded_at=str(d["graded_at"]),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise SpecError(
                _("{path}: invalid class results: {error}").format(path=source, error=repr(exc))
            ) from None

    def save(self, path: str | Path) -> Path:
        """Write the results as JSON, readable by the owner only (0600): they tell, item by
        item, which scans were clean and what each object was, most of the answer key."""
        from scanlab.io._common import atomic_open

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_open(path, "w", private=True) as fh:
            fh.write(json.dumps(self.to_dict(), indent=1))
        return path

    @classmethod
    def load(cls, path: str | Path) -> ClassResults:
        path = Path(path)
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise SpecError(
                _("{path}: cannot read results: {error}").format(path=path, error=exc.strerror)
            ) from None
        except ValueError as exc:
            raise SpecError(
                _("{path}: results are not valid JSON: {error}").format(path=path, error=exc)
            ) from None
        return cls.from_dict(doc, source=path)


def grade(
    package: ExamPackage | str | Path,
    submissions: Iterable[Submission | str | Path],
    passphrase: str | ExamKeys,
    *,
    rule: str = "overlap",
    min_iou: float = 0.1,
    require_class: bool = False,
) -> ClassResults:
    """Grade every submission to one exam.

    Parameters
    ----------
    package : ExamPackage or path
    submissions : Submission objects or submission files
        Each one's signature is checked against the token derived for its trainee id.
    passphrase : str or ExamKeys
        The instructor's, which decrypts the answer keys (or the keys it already opened).
    rule, min_iou, require_class
        How a mark hits an object: see :func:`scanlab.evaluate.match_marks` (``"overlap"``:
        IoU >= ``min_iou`` or half of either region on the other; ``"centroid"``: the mark's
        centre lies on the object). With ``require_class`` the mark's threat class must be
        right too; otherwise it is reported (``hits_class_correct``) but not required.

    Raises
    ------
    TamperError
        A submission changed after it was signed; the message names the file and trainee.
    SpecError
        A submission for another exam or version, or two from the same trainee.
    """
    pkg = package if isinstance(package, ExamPackage) else ExamPackage.open(package)
    keys = pkg._keys(passphrase)
    results = []
    seen: set[str] = set()
    for entry in submissions:
        if isinstance(entry, Submission):
            entry.verify(keys)
            entry.check_package(pkg)
            sub = entry
        else:
            sub = Submission.load(entry, keys, package=pkg)
        if sub.trainee_id in seen:
            raise SpecError(
                _("two submissions from trainee {trainee!r}").format(trainee=sub.trainee_id)
            )
        seen.add(sub.trainee_id)
        result = _grade_one(pkg, keys, sub, rule=rule, min_iou=min_iou, require_class=require_class)
        result.assisted = pkg.assist_for(sub.trainee_id)
        results.append(result)
    return ClassResults(
        exam_id=pkg.exam_id,
        exam_name=pkg.name,
        exam_created=pkg.created,
        rule=rule,
        min_iou=float(min_iou),
        require_class=require_class,
        difficulty=keys.difficulty_summary(),
        trainees=results,
    )


def _grade_one(
    pkg: ExamPackage,
    keys: ExamKeys,
    sub: Submission,
    *,
    rule: str,
    min_iou: float,
    require_class: bool,
) -> TraineeResult:
    items: list[ItemOutcome] = []
    objects: list[ObjectOutcome] = []
    for exam_item in pkg.items:
        key = keys.answer_keys[exam_item.item_id]
        response = sub.responses.get(exam_item.item_id)
        answered = response is not None
        response = response or ItemResponse()
        match = match_marks(
            key, response.marks, rule=rule, min_iou=min_iou, require_class=require_class
        )
        hit_by = {h.object_id: h for h in match.hits}
        for obj in key.objects:
            hit = hit_by.get(obj.object_id)
            objects.append(
                ObjectOutcome(
                    item_id=exam_item.item_id,
                    object_id=obj.object_id,
                    threat_class=obj.threat_class,
                    concealment=obj.concealment,
                    level=obj.difficulty.level,
                    contrast=float(obj.difficulty.contrast),
                    hit=hit is not None,
                    class_correct=bool(hit and hit.class_correct),
                    iou=float(match.overlap.get(obj.object_id, 0.0)),
                )
            )
        items.append(
            ItemOutcome(
                item_id=exam_item.item_id,
                clean=key.is_clean,
                hits=[h.object_id for h in match.hits],
                misses=list(match.misses),
                false_marks=list(match.false_alarms),
                n_marks=len(response.marks),
                declaration_consistent=(
                    key.declaration_consistent if key.declaration is not None else None
                ),
                verdict=response.declaration_consistent,
                time_spent_s=response.time_spent_s,
                time_limit_s=exam_item.time_limit_s,
                answered=answered,
                rating=response.rating,
                assist_runs=response.assist_runs,
                assist_visible_s=response.assist_visible_s,
            )
        )
    return _trainee_result(sub.trainee_id, sub.exam_id, items, objects)


def _trainee_result(
    trainee_id: str, exam_id: str, items: list[ItemOutcome], objects: list[ObjectOutcome]
) -> TraineeResult:
    clean = [it for it in items if it.clean]
    n_noise = len(clean)
    false_alarms = sum(it.n_marks > 0 for it in clean)
    by_item = {it.item_id: it for it in items}

    def scores(selected: list[ObjectOutcome], *, marks: bool = False) -> Scores:
        its = items if marks else [by_item[i] for i in dict.fromkeys(o.item_id for o in selected)]
        answered = [it.time_spent_s for it in its if it.answered]
        return Scores.from_counts(
            n_signal=len(selected),
            hits=sum(o.hit for o in selected),
            hits_class_correct=sum(o.class_correct for o in selected),
            n_noise=n_noise,
            false_alarms=false_alarms,
            n_marks=sum(it.n_marks for it in items) if marks else 0,
            false_marks=sum(len(it.false_marks) for it in items) if marks else 0,
            n_scans=len(items) if marks else len(its),
            mean_time_s=sum(answered) / len(answered) if answered else math.nan,
        )

    def groups(attr: Callable[[ObjectOutcome], str], order: Sequence[str]) -> dict[str, Scores]:
        return {
            g: scores([o for o in objects if attr(o) == g])
            for g in order
            if any(attr(o) == g for o in objects)
        }

    judged = [it for it in items if it.verdict_correct is not None]  # declaration and verdict
    false_decl = [it for it in judged if it.declaration_consistent is False]
    true_decl = [it for it in judged if it.declaration_consistent is True]
    declaration = Scores.from_counts(
        n_signal=len(false_decl),
        hits=sum(it.verdict is False for it in false_decl),
        n_noise=len(true_decl),
        false_alarms=sum(it.verdict is False for it in true_decl),
    )
    return TraineeResult(
        trainee_id=trainee_id,
        exam_id=exam_id,
        overall=scores(objects, marks=True),
        by_class=groups(lambda o: o.threat_class, THREAT_CLASSES),
        by_concealment=groups(lambda o: o.concealment, CONCEALMENT_METHODS),
        by_difficulty=groups(lambda o: o.level, DIFFICULTY_LEVELS),
        declaration=declaration,
        items=items,
        objects=objects,
        ratings=_ratings_roc(items),
    )


def _ratings_roc(items: Sequence[ItemOutcome]) -> RatingRoc | None:
    rated = [it for it in items if it.rating is not None]
    signal = [it.rating for it in rated if not it.clean and it.rating is not None]
    noise = [it.rating for it in rated if it.clean and it.rating is not None]
    return rating_roc(signal, noise) if signal and noise else None


def _roc_dict(roc: RatingRoc | None) -> dict[str, Any] | None:
    return None if roc is None else {k: _none_if_nan(v) for k, v in asdict(roc).items()}


def _none_if_nan(value: Any) -> Any:
    return None if isinstance(value, float) and math.isnan(value) else value
