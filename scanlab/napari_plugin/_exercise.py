"""An exercise session: scans to mark, declarations to judge, work saved on every change, and
the answer keys read only when the trainee submits.

Plain Python (no Qt): the Exercise widget drives an :class:`ExerciseSession`, and so can a
script or a test. Two kinds of exercise exist: an exam package of :mod:`scanlab.exercises`
(keys encrypted; results need the practice passphrase, else the signed submission goes to the
instructor), and plain scan files with answer-key files beside them (keys read at submit).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from scanlab.errors import ScanlabError, SpecError
from scanlab.evaluate import Mark, MatchResult, match_marks, read_marks, write_marks
from scanlab.exercises._submission import CONFIDENCE_LEVELS
from scanlab.i18n import N_, _, format_datetime, ngettext, term
from scanlab.io import Scan, detect_format, read_scan
from scanlab.napari_plugin._layers import scrub_scan
from scanlab.synth import AnswerKey, CargoDeclaration

if TYPE_CHECKING:
    from scanlab.evaluate import RatingRoc
    from scanlab.exercises import ExamPackage, Scores

__all__ = [
    "CONFIDENCE_LEVELS",
    "PROGRESS_ENV",
    "ExamExercise",
    "ExerciseItem",
    "ExerciseResult",
    "ExerciseSession",
    "ExerciseSource",
    "FileExercise",
    "ItemResult",
    "assist_allowed",
    "default_progress_dir",
    "exercise_mode",
    "feedback_lines",
    "hit_rule_text",
    "is_package",
    "open_exercise",
]

#: Environment variable naming the folder where work in progress is saved.
PROGRESS_ENV = "SCANLAB_PROGRESS_DIR"
_STATE_KEY = "scanlab_exercise_progress"
_STATE_VERSION = 1
#: How many changes of an item's marks Ctrl+Z can take back.
_UNDO_STEPS = 50


def default_progress_dir() -> Path:
    """``$SCANLAB_PROGRESS_DIR``, else ``$XDG_DATA_HOME/scanlab/progress`` (~/.local/share)."""
    if os.environ.get(PROGRESS_ENV):
        return Path(os.environ[PROGRESS_ENV])
    data_home = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(data_home) / "scanlab" / "progress"


# --- what an exercise is --------------------------------------------------------------------


@dataclass(frozen=True)
class ExerciseItem:
    """One scan of an exercise as the trainee sees it: no answer, only the declaration."""

    item_id: str
    declaration: CargoDeclaration | None = None
    time_limit_s: float | None = None


class ExerciseSource(Protocol):
    """Where an exercise's scans come from, and (at submit only) its answer keys."""

    @property
    def exercise_id(self) -> str: ...

    @property
    def title(self) -> str: ...

    @property
    def items(self) -> Sequence[ExerciseItem]: ...

    def scan(self, item_id: str) -> Scan: ...

    def answer_keys(self) -> dict[str, AnswerKey]: ...

    def answer_key(self, item_id: str) -> AnswerKey: ...


class FileExercise:
    """Scan files, each with an answer-key file that is read only by :meth:`answer_keys`.

    A declaration shown beside a scan comes from ``<scan stem>.declaration.json`` (a
    :class:`~scanlab.synth.CargoDeclaration` as JSON) in the scan's folder or in a
    ``declarations/`` folder beside it; without one, no declaration is asked about.
    """

    def __init__(self, pairs: Sequence[tuple[Path, Path]], *, title: str = "") -> None:
        if not pairs:
            raise SpecError(_("an exercise needs at least one scan with its answer key"))
        self._pairs = {Path(s).stem: (Path(s), Path(k)) for s, k in pairs}
        self.items = [
            ExerciseItem(item_id, _sidecar_declaration(scan_path))
            for item_id, (scan_path, _) in self._pairs.items()
        ]
        self.title = title or Path(pairs[0][0]).parent.name
        digest = hashlib.sha256(
            "\n".join(str(p[0].resolve()) for p in self._pairs.values()).encode()
        )
        self.exercise_id = f"files-{digest.hexdigest()[:16]}"

    @classmethod
    def from_path(cls, path: str | Path) -> FileExercise:
        """From a scan file (key in ``../keys/<stem>.json`` or ``<stem>.key.json`` beside it)
        or a folder holding ``scans/`` and ``keys/`` (a dataset as :mod:`scanlab.synth`
        writes it; its manifest, which lists the concealed classes, is not read)."""
        path = Path(path)
        if path.is_dir():
            scans_dir = path / "scans" if (path / "scans").is_dir() else path
            scans = sorted(p for p in scans_dir.iterdir() if p.is_file() and _is_scan(p))
            pairs = [(s, k) for s in scans if (k := _key_for(s)) is not None]
            if not pairs:
                raise SpecError(
                    _("{path}: no scan with an answer key (keys/<scan>.json) found").format(
                        path=path
                    )
                )
            return cls(pairs, title=path.name)
        key = _key_for(path)
        if key is None:
            raise SpecError(
                _(
                    "{path}: no answer key found for this scan (looked for {first} and {second})"
                ).format(
                    path=path,
                    first=path.parent.parent / "keys" / (path.stem + ".json"),
                    second=path.with_suffix(".key.json"),
                )
            )
        return cls([(path, key)], title=path.stem)

    def scan(self, item_id: str) -> Scan:
        return read_scan(self._pairs[item_id][0])

    def answer_keys(self) -> dict[str, AnswerKey]:
        return {item_id: AnswerKey.load(key) for item_id, (_, key) in self._pairs.items()}

    def answer_key(self, item_id: str) -> AnswerKey:
        return AnswerKey.load(self._pairs[item_id][1])


class ExamExercise:
    """An exam package of :mod:`scanlab.exercises`: keys encrypted inside.

    Who answers is settled before any scan is shown: the trainee id with the submission
    token the instructor issued for it (checked against the token's check code, so a typo or
    another trainee's token is refused here, not at grading), or the passphrase of a
    practice package (checked now, not at submit).

    Parameters
    ----------
    package : ExamPackage
    trainee_id : str
        Who answers; the signed submission carries it.
    token : str, optional
        The trainee's submission token (from the instructor); signs the submission.
    passphrase : str, optional
        Given for practice packages only: it decrypts the keys at submit so that the trainee
        sees the results (and derives the token and scan code when none is given).
    scan_code : str, optional
        The code that opens a package's confidential (sealed) scans, which the instructor
        hands out when the exam starts (``scanlab exam build`` prints it); needed, and
        checked now, when the package holds such scans.

    Raises
    ------
    SpecError
        No trainee id, neither token nor passphrase, a token that is not the trainee's, or
        no scan code for a package with sealed scans.
    PassphraseError
        The passphrase does not open this package, or the scan code its sealed scans.
    """

    def __init__(
        self,
        package: ExamPackage,
        *,
        trainee_id: str,
        token: str | None = None,
        passphrase: str | None = None,
        scan_code: str | None = None,
    ) -> None:
        from scanlab.exercises._crypto import check_token, open_secrets

        trainee_id = trainee_id.strip() if isinstance(trainee_id, str) else trainee_id
        if not trainee_id or not isinstance(trainee_id, str) or not trainee_id.isprintable():
            raise SpecError(
                _("{path}: type your trainee id before the exam starts").format(path=package.path)
            )
        if passphrase is not None:
            secrets = open_secrets(passphrase, package._manifest["crypto"], what=str(package.path))
            if not token:
                token = secrets.token(package.exam_id, trainee_id)
            if package.sealed and not scan_code:
                scan_code = secrets.scan_code(package.exam_id)
        if not token:
            raise SpecError(
                _(
                    "{path}: this exam needs the submission token your instructor issued to "
                    "{trainee!r}"
                ).format(path=package.path, trainee=trainee_id)
            )
        try:
            check_token(package.exam_id, trainee_id, token)
        except SpecError as exc:
            raise SpecError(f"{package.path}: {exc}") from None
        if package.sealed:
            if not scan_code or not scan_code.strip():
                raise SpecError(
                    _(
                        "{path}: this exam holds confidential scans: type the scan code your "
                        "instructor hands out when the exam starts"
                    ).format(path=package.path)
                )
            package.unlock(scan_code.strip())  # PassphraseError: not this exam's code
        self.package = package
        self.trainee_id = trainee_id
        self.token: str = token
        self.passphrase = passphrase
        self.title = package.name or Path(package.path).stem
        self.exercise_id = f"exam-{package.exam_id}-{trainee_id}"
        self.items = [
            ExerciseItem(it.item_id, it.declaration, it.time_limit_s) for it in package.items
        ]

    @property
    def can_grade(self) -> bool:
        return self.passphrase is not None

    def scan(self, item_id: str) -> Scan:
        return self.package.scan(item_id)

    def answer_keys(self) -> dict[str, AnswerKey]:
        if self.passphrase is None:
            raise SpecError(
                _(
                    "{path}: this exam is graded by your instructor; the results need the "
                    "exam passphrase"
                ).format(path=self.package.path)
            )
        return dict(self.package.keys(self.passphrase).answer_keys)

    def answer_key(self, item_id: str) -> AnswerKey:
        return self.answer_keys()[item_id]

    def hand_in(self, session: ExerciseSession, path: Path) -> Path:
        """Write the submission signed with the trainee's token."""
        from scanlab.exercises import Submission

        sub = Submission.start(self.package, self.trainee_id)
        for item in self.items:
            runs, visible_s = session.assist_use(item.item_id)
            sub.record(
                item.item_id,
                marks=session.marks(item.item_id),
                declaration_consistent=session.declaration_answer(item.item_id),
                time_spent_s=session.time_spent_s(item.item_id),
                rating=session.rating(item.item_id),
                assist_runs=runs,
                assist_visible_s=round(visible_s, 3),
            )
        return sub.submit(path, token=self.token)


def open_exercise(
    path: str | Path, *, fingerprint: str | None = None, **exam_options: Any
) -> ExerciseSource:
    """An exam package (a signed ``.zip``) or scan + key files, from ``path``.

    ``fingerprint``: the package's as the instructor gave it out (``scanlab exam build``
    prints it); a package signed with another key is refused. ``exam_options``
    (``trainee_id``, ``token``, ``passphrase``, ``scan_code``) go to :class:`ExamExercise`.
    """
    path = Path(path)
    if is_package(path):
        from scanlab.exercises import ExamPackage

        return ExamExercise(ExamPackage.open(path, fingerprint=fingerprint), **exam_options)
    return FileExercise.from_path(path)


def exercise_mode(source: ExerciseSource) -> str:
    """``"exam"`` when the answers go to an instructor to grade (an exam package opened
    without its passphrase): no results shown, no detector, no layer controls; otherwise
    ``"practice"``."""
    return "exam" if isinstance(source, ExamExercise) and not source.can_grade else "practice"


def assist_allowed(source: ExerciseSource) -> bool:
    """Whether Detector assist is shown: always in practice; in an exam, only to a trainee
    the package assigns to work with it (``ExamSpec.assisted``, signed into the package)."""
    if exercise_mode(source) == "practice":
        return True
    return isinstance(source, ExamExercise) and source.package.assist_for(source.trainee_id)


def is_package(path: str | Path) -> bool:
    """Whether ``path`` names an exam package file (a ``.zip``)."""
    path = Path(path)
    return path.is_file() and path.suffix.lower() == ".zip"


def _is_scan(path: Path) -> bool:
    if path.name.endswith((".json", ".key.json")):
        return False
    try:
        detect_format(path)
    except ScanlabError:
        return False
    return True


def _key_for(scan_path: Path) -> Path | None:
    for candidate in (
        scan_path.parent.parent / "keys" / f"{scan_path.stem}.json",
        scan_path.with_name(f"{scan_path.stem}.key.json"),
    ):
        if candidate.is_file():
            return candidate
    return None


def _sidecar_declaration(scan_path: Path) -> CargoDeclaration | None:
    name = f"{scan_path.stem}.declaration.json"
    for candidate in (scan_path.with_name(name), scan_path.parent.parent / "declarations" / name):
        if candidate.is_file():
            try:
                return CargoDeclaration.from_dict(json.loads(candidate.read_text("utf-8")))
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise SpecError(f"{candidate}: not a cargo declaration: {exc!r}") from None
    return None


def feedback_lines(result: ItemResult) -> list[str]:
    """What a trainee is told about one scored scan: their call, each object found or
    missed with its class, concealment, difficulty factors and overlap, and the hit rule."""
    lines = [_("This scan: {summary}").format(summary=result.summary())]
    if result.rating is not None:
        call = _("suspect") if result.rating > 0 else _("clear")
        right = _("right") if result.decision_correct else _("wrong")
        clean = _("clean") if result.key.is_clean else _("not clean")
        lines.append(
            _(
                "Your call: {call}, confidence {rating} of {levels} ({right}: the scan is {clean})"
            ).format(
                call=call,
                rating=abs(result.rating),
                levels=CONFIDENCE_LEVELS,
                right=right,
                clean=clean,
            )
        )
    hit = {h.object_id for h in result.match.hits}
    for obj in result.key.objects:
        d = obj.difficulty
        lines.append(
            "  "
            + _(
                "{outcome} {threat_class} ({concealment}, {level}): overlap IoU {iou:.2f}; "
                "superposition {superposition:.1f}, clutter {clutter:.2f}, {size} px, contrast "
                "{contrast:.1f} sigma"
            ).format(
                outcome=_("found") if obj.object_id in hit else _("MISSED"),
                threat_class=term(obj.threat_class),
                concealment=term(obj.concealment),
                level=term(d.level),
                iou=result.match.overlap.get(obj.object_id, 0.0),
                superposition=d.superposition,
                clutter=d.clutter,
                size=d.size_px,
                contrast=d.contrast,
            )
        )
    if result.key.inconsistencies:
        lines.append(
            "  " + _("Declaration problems:") + " " + "; ".join(result.key.inconsistencies)
        )
    lines.append(_("Hit rule: {rule}.").format(rule=result.hit_rule))
    return lines


def hit_rule_text(rule: str, min_iou: float) -> str:
    """How a mark finds an object under :func:`scanlab.evaluate.match_marks`, in words."""
    if rule == "centroid":
        return _("a mark finds an object when the mark's centre lies on the object")
    return _(
        "a mark finds an object when they overlap by IoU >= {min_iou:.2f}, or the mark "
        "covers half the object, or half the mark lies on it (one mark per object)"
    ).format(min_iou=min_iou)


def _outlines(marks: Sequence[Mark]) -> list[tuple[Any, ...]]:
    return [(m.mark_id, m.shape, m.threat_class, tuple(m.vertices)) for m in marks]


# --- results --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemResult:
    """The outcome on one scan: matched marks and the declaration verdict."""

    item_id: str
    key: AnswerKey
    match: MatchResult
    declaration_answer: bool | None
    declaration_asked: bool = True
    rating: int | None = None
    rule: str = "overlap"
    min_iou: float = 0.1

    @property
    def hit_rule(self) -> str:
        """The rule a mark was scored by, in words."""
        return hit_rule_text(self.rule, self.min_iou)

    @property
    def decision_correct(self) -> bool | None:
        """Whether the clear/suspect decision matched the scan (None: not given)."""
        if self.rating is None:
            return None
        return (self.rating > 0) == (not self.key.is_clean)

    @property
    def declaration_correct(self) -> bool | None:
        if self.declaration_answer is None or not self.declaration_asked:
            return None
        return self.declaration_answer == self.key.declaration_consistent

    def summary(self) -> str:
        """One line, e.g. ``2 of 3 found, 1 false alarm; declaration: right``."""
        n = self.match.n_objects
        found = (
            _("{hits} of {count} found").format(hits=len(self.match.hits), count=n)
            if n
            else _("clean scan")
        )
        fa = self.match.n_false_alarms
        parts = [
            found,
            ngettext("{count} false alarm", "{count} false alarms", fa).format(count=fa),
        ]
        verdict = self.declaration_correct
        if verdict is not None:
            parts.append(
                _("declaration: {verdict}").format(verdict=_("right") if verdict else _("wrong"))
            )
        elif self.declaration_asked:
            parts.append(_("declaration: not answered"))
        return ", ".join(parts)


@dataclass(frozen=True)
class ExerciseResult:
    """All items' outcomes, and the scores over the exercise as :mod:`scanlab.exercises`
    grades an exam: signal trials are concealed objects (hit: a mark matched one), noise
    trials clean scans (false alarm: the scan got any mark)."""

    items: dict[str, ItemResult]
    submission: Path | None = None

    def scores(self) -> Scores:
        """Hit and false-alarm rates, d' and A' with intervals, and a reliability note."""
        from scanlab.exercises import Scores

        results = list(self.items.values())
        return Scores.from_counts(
            n_signal=sum(r.match.n_objects for r in results),
            hits=sum(len(r.match.hits) for r in results),
            hits_class_correct=sum(h.class_correct for r in results for h in r.match.hits),
            n_noise=sum(r.key.is_clean for r in results),
            false_alarms=sum(r.key.is_clean and bool(r.match.false_alarms) for r in results),
            n_marks=sum(len(r.match.hits) + r.match.n_false_alarms for r in results),
            false_marks=sum(r.match.n_false_alarms for r in results),
            n_scans=len(results),
        )

    def rating_roc(self) -> RatingRoc | None:
        """The trainee's ROC from their clear/suspect decisions with confidence: signal
        trials are scans with an object, noise trials clean scans. None unless both kinds
        were rated."""
        from scanlab.evaluate import rating_roc

        rated = [r for r in self.items.values() if r.rating is not None]
        signal = [r.rating for r in rated if not r.key.is_clean]
        noise = [r.rating for r in rated if r.key.is_clean]
        if not signal or not noise:
            return None
        return rating_roc(signal, noise)  # type: ignore[arg-type]

    def summary_lines(self) -> list[str]:
        s = self.scores()
        verdicts = [r.declaration_correct for r in self.items.values()]
        answered = [v for v in verdicts if v is not None]
        lines = [
            _("Objects found: {hits} of {count} ({correct} with the right class)").format(
                hits=s.hits, count=s.n_signal, correct=s.hits_class_correct
            ),
            _(
                "False alarms: {marks} mark(s) on nothing; {scans} of {clean} clean scan(s) marked"
            ).format(marks=s.false_marks, scans=s.false_alarms, clean=s.n_noise),
            _("Declarations judged right: {right} of {answered} answered").format(
                right=sum(answered), answered=len(answered)
            ),
        ]
        if not math.isnan(s.d_prime):
            lines.append(
                _("d' = {d:.2f} (95 % {low:.2f} to {high:.2f}), A' = {a:.2f}").format(
                    d=s.d_prime, low=s.d_prime_low, high=s.d_prime_high, a=s.a_prime
                )
            )
        roc = self.rating_roc()
        if roc is not None:
            d_a = "" if math.isnan(roc.d_a) else f", d_a = {roc.d_a:.2f}"
            lines.append(
                _(
                    "From your confidence ratings: ROC area {area:.2f} (95 % {area_low:.2f} to "
                    "{area_high:.2f}), d' = {d:.2f} (95 % {d_low:.2f} to {d_high:.2f}){d_a} "
                    "({n} criteria)"
                ).format(
                    area=roc.area,
                    area_low=roc.area_low,
                    area_high=roc.area_high,
                    d=roc.d_prime,
                    d_low=roc.d_prime_low,
                    d_high=roc.d_prime_high,
                    d_a=d_a,
                    n=len(roc.criteria),
                )
            )
        lines.append(s.reliability)
        return lines


# --- the session ----------------------------------------------------------------------------


@dataclass
class _ItemState:
    marks: list[Mark] = field(default_factory=list)
    declaration_consistent: bool | None = None
    time_spent_s: float = 0.0
    visited: bool = False
    rating: int | None = None  # -4..-1 clear, 1..4 suspect; the size is the confidence
    checked: bool = False  # practice: the key was shown for this scan, answers are final
    assist_runs: int = 0  # Detector assist runs on this scan
    assist_visible_s: float = 0.0  # seconds its map or regions were on screen over it


class ExerciseSession:
    """A trainee working through an exercise; everything they do is on disk at once.

    Marks are written with :func:`scanlab.evaluate.write_marks` (atomic) on every change, the
    declaration verdicts, times, visits and current item to ``state.json`` (atomic too), in
    ``progress_dir / source.exercise_id``. Opening the same exercise again restores them, so
    a crash loses nothing. The answer keys are not read until :meth:`submit`.

    The clock of a scan runs from :meth:`scan_shown` (the scan is on screen: loading is not
    counted) until the trainee moves on. A scan whose time limit is spent takes no more
    answers, and when the whole exercise's time (the sum of the scans' limits) is spent,
    nothing does: :meth:`submit` is what is left.

    Examples
    --------
    >>> import tempfile
    >>> from scanlab.napari_plugin._samples import sample_dataset_dir
    >>> source = FileExercise.from_path(sample_dataset_dir())            # doctest: +SKIP
    >>> session = ExerciseSession(source, progress_dir=tempfile.mkdtemp()) # doctest: +SKIP
    >>> session.set_marks("sample-00000", [Mark("m1", "rectangle", [(290, 480), (322, 660)],
    ...                   "stowaway")])                                   # doctest: +SKIP
    >>> session.submit().items["sample-00000"].match.hits[0].mark_id     # doctest: +SKIP
    'm1'
    """

    def __init__(self, source: ExerciseSource, *, progress_dir: str | Path | None = None) -> None:
        self.source = source
        self.folder = Path(progress_dir or default_progress_dir()) / source.exercise_id
        self.items: list[ExerciseItem] = list(source.items)
        self._state = {item.item_id: _ItemState() for item in self.items}
        self.current = 0
        self.submitted: datetime | None = None
        self.result: ExerciseResult | None = None
        self._clock_from: float | None = None  # when the shown scan's clock started; None: stopped
        self._assist_from: float | None = None  # since when Detector assist's output is shown
        self._undo: dict[str, list[list[Mark]]] = {}
        self._restore()

    # --- navigation ---------------------------------------------------------------------------

    @property
    def item(self) -> ExerciseItem:
        return self.items[self.current]

    def go_to(self, index: int) -> ExerciseItem:
        """Make item ``index`` (clamped to the exercise) the current one; its clock waits
        for :meth:`scan_shown`."""
        self._add_elapsed()
        self._clock_from = self._assist_from = None  # the detector's layers go with the scan
        self.current = min(max(int(index), 0), len(self.items) - 1)
        self._save_state()
        return self.item

    def scan_shown(self) -> None:
        """The current scan is on screen: it counts as visited and its clock runs from now."""
        self._add_elapsed()
        self._state[self.item.item_id].visited = True
        self._clock_from = time.monotonic()
        self._save_state()

    def visited(self, item_id: str | None = None) -> bool:
        return self._state[item_id or self.item.item_id].visited

    def scan(self, item_id: str | None = None) -> Scan:
        """The scan of an item (default: the current one), without revealing metadata."""
        return scrub_scan(self.source.scan(item_id or self.item.item_id))

    # --- the trainee's answers ----------------------------------------------------------------

    def marks(self, item_id: str | None = None) -> list[Mark]:
        return list(self._state[item_id or self.item.item_id].marks)

    def set_marks(self, item_id: str, marks: Iterable[Mark]) -> None:
        """Replace the marks of one item and write them to disk at once (the marks before
        the change can be had back with :meth:`undo_marks`)."""
        self._check_open(item_id)
        marks = list(marks)
        before = self._state[item_id].marks
        if _outlines(marks) == _outlines(before):
            self._state[item_id].marks = marks  # same marks (times may differ): not a step
            return
        write_marks(self._marks_path(item_id), marks)
        self._undo.setdefault(item_id, []).append(before)
        del self._undo[item_id][:-_UNDO_STEPS]
        self._state[item_id].marks = marks
        self._save_state()

    def undo_marks(self, item_id: str | None = None) -> list[Mark] | None:
        """Put back an item's marks as they were before their last change (in this session)
        and return them; None when there is nothing to undo."""
        item_id = item_id or self.item.item_id
        self._check_open(item_id)
        history = self._undo.get(item_id)
        if not history:
            return None
        marks = history.pop()
        write_marks(self._marks_path(item_id), marks)
        self._state[item_id].marks = marks
        self._save_state()
        return list(marks)

    def new_mark_id(self, item_id: str | None = None) -> str:
        """An id no mark of the item has yet (``m1``, ``m2``...)."""
        taken = {m.mark_id for m in self._state[item_id or self.item.item_id].marks}
        n = len(taken) + 1
        while f"m{n}" in taken:
            n += 1
        return f"m{n}"

    def declaration_answer(self, item_id: str | None = None) -> bool | None:
        return self._state[item_id or self.item.item_id].declaration_consistent

    def set_declaration_answer(self, item_id: str, consistent: bool | None) -> None:
        """The trainee's verdict: True "consistent with the image", False "not", None unset."""
        self._check_open(item_id)
        self._state[item_id].declaration_consistent = consistent
        self._save_state()

    def set_decision(self, item_id: str, suspect: bool | None, confidence: int = 0) -> None:
        """The trainee's call on the whole scan before anything is checked: clear or
        suspect, with a confidence from 1 (a guess) to 4 (sure); None takes it back. Stored
        as one rating, -4 (sure clear) to 4 (sure suspect), from which the ROC comes."""
        self._check_open(item_id)
        if suspect is None:
            rating = None
        elif isinstance(confidence, int) and 1 <= confidence <= CONFIDENCE_LEVELS:
            rating = confidence if suspect else -confidence
        else:
            raise SpecError(f"confidence must be 1 to {CONFIDENCE_LEVELS}, got {confidence!r}")
        self._state[item_id].rating = rating
        self._save_state()

    def rating(self, item_id: str | None = None) -> int | None:
        return self._state[item_id or self.item.item_id].rating

    # --- Detector assist, as used -------------------------------------------------------------

    def assist_ran(self, item_id: str | None = None) -> None:
        """Detector assist was run on an item's scan (default: the current one)."""
        item_id = item_id or self.item.item_id
        if self.submitted is None and not self._state[item_id].checked:
            self._state[item_id].assist_runs += 1
            self._save_state()

    def set_assist_visible(self, visible: bool) -> None:
        """Detector assist's anomaly map or regions over the current scan came on screen
        (True) or went (False). Their time on screen counts like the scan's own: while it
        is shown, until it is submitted (or, in practice, checked)."""
        self._add_elapsed()
        if visible and self._assist_from is None:
            self._assist_from = time.monotonic()
        elif not visible and self._assist_from is not None:
            self._assist_from = None
        else:
            return
        self._save_state()

    def assist_use(self, item_id: str | None = None) -> tuple[int, float]:
        """How often Detector assist ran on an item's scan, and for how many seconds its
        output was on screen over it (counting the time it is shown now)."""
        item_id = item_id or self.item.item_id
        state = self._state[item_id]
        seconds = state.assist_visible_s
        start = self._assist_from
        if item_id == self.item.item_id and start is not None and self._open(item_id):
            seconds += time.monotonic() - start
        return state.assist_runs, seconds

    @property
    def practice(self) -> bool:
        """Results may be shown to the trainee (not an exam graded by an instructor)."""
        return exercise_mode(self.source) == "practice"

    def checked(self, item_id: str | None = None) -> bool:
        return self._state[item_id or self.item.item_id].checked

    def check_item(
        self, item_id: str | None = None, *, rule: str = "overlap", min_iou: float = 0.1
    ) -> ItemResult:
        """Practice: score one scan now (immediate feedback). Its decision must be given
        first; after the check its answers are final. Only that scan's key is read."""
        item_id = item_id or self.item.item_id
        if not self.practice:
            raise SpecError(_("in an exam the results come from your instructor, after it"))
        state = self._state[item_id]
        if not state.checked:
            self._check_open(item_id)
            if state.rating is None:
                raise SpecError(
                    _(
                        "{item}: say whether the scan is clear or suspect, and how sure you "
                        "are, before the marks are checked"
                    ).format(item=item_id)
                )
            self._add_elapsed()
            state.checked = True
            self._save_state()
        item = next(it for it in self.items if it.item_id == item_id)
        return self._item_result(item, self.source.answer_key(item_id), rule, min_iou)

    def _item_result(
        self, item: ExerciseItem, key: AnswerKey, rule: str, min_iou: float
    ) -> ItemResult:
        """One scan's marks and verdict matched to its key."""
        state = self._state[item.item_id]
        return ItemResult(
            item.item_id,
            key,
            match_marks(key, state.marks, rule=rule, min_iou=min_iou),
            state.declaration_consistent,
            declaration_asked=item.declaration is not None,
            rating=state.rating,
            rule=rule,
            min_iou=min_iou,
        )

    def time_spent_s(self, item_id: str | None = None) -> float:
        item_id = item_id or self.item.item_id
        spent = self._state[item_id].time_spent_s
        start = self._clock_from
        running = start is not None and not self.submitted and not self._state[item_id].checked
        if item_id == self.item.item_id and running and start is not None:
            spent += time.monotonic() - start
        return spent

    def time_left_s(self, item_id: str | None = None) -> float | None:
        """Seconds left on a scan's time limit (None: no limit)."""
        item_id = item_id or self.item.item_id
        limit = next(it.time_limit_s for it in self.items if it.item_id == item_id)
        return None if limit is None else limit - self.time_spent_s(item_id)

    @property
    def time_limit_s(self) -> float | None:
        """The whole exercise's time: the sum of its scans' limits (None if one has none)."""
        limits = [it.time_limit_s for it in self.items]
        return None if any(v is None for v in limits) else float(sum(limits))  # type: ignore[arg-type]

    def exercise_time_left_s(self) -> float | None:
        limit = self.time_limit_s
        if limit is None:
            return None
        return limit - sum(self.time_spent_s(it.item_id) for it in self.items)

    def out_of_time(self, item_id: str | None = None) -> bool:
        """No more answers on this scan: its own time, or the exercise's, is spent."""
        if self._state[item_id or self.item.item_id].checked:
            return False  # its clock stopped when it was checked
        left = self.time_left_s(item_id)
        total = self.exercise_time_left_s()
        return (left is not None and left <= 0) or (total is not None and total <= 0)

    def open_questions(self) -> dict[str, list[str]]:
        """What a trainee may have forgotten, to list before submitting: item ids not
        visited, without a mark (a clean scan has none: that is a choice too), without the
        clear/suspect call, and with the declaration question unanswered."""
        items = self.items
        return {
            N_("not visited"): [it.item_id for it in items if not self.visited(it.item_id)],
            N_("no marks"): [it.item_id for it in items if not self._state[it.item_id].marks],
            N_("no clear/suspect call"): [
                it.item_id for it in items if self._state[it.item_id].rating is None
            ],
            N_("declaration not answered"): [
                it.item_id
                for it in items
                if it.declaration is not None and self.declaration_answer(it.item_id) is None
            ],
        }

    # --- submitting ---------------------------------------------------------------------------

    def submit(self, *, rule: str = "overlap", min_iou: float = 0.1) -> ExerciseResult:
        """Hand in: freeze the answers, read the keys and match the marks to them.

        For an exam package the signed submission is written to ``submission.json`` in the
        progress folder. Raises :class:`SpecError` (answers still frozen and saved) when the
        keys cannot be read, e.g. an exam graded by the instructor.
        """
        if self.submitted is None:
            self._add_elapsed()
            self.submitted = datetime.now(UTC)
            self._save_state()
        submission = None
        if isinstance(self.source, ExamExercise):
            submission = self.source.hand_in(self, self.folder / "submission.json")
        keys = self.source.answer_keys()
        items = {}
        for item in self.items:
            items[item.item_id] = self._item_result(item, keys[item.item_id], rule, min_iou)
        self.result = ExerciseResult(items, submission)
        return self.result

    # --- persistence --------------------------------------------------------------------------

    def _marks_path(self, item_id: str) -> Path:
        return self.folder / "marks" / f"{item_id}.json"

    def _check_open(self, item_id: str | None = None) -> None:
        if self.submitted is not None:
            raise SpecError(
                _("exercise {title!r} was submitted at {when}; answers cannot change").format(
                    title=self.source.title, when=format_datetime(self.submitted)
                )
            )
        if item_id is not None and self._state[item_id].checked:
            raise SpecError(_("{item} was checked; its answers cannot change").format(item=item_id))
        if item_id is not None and self.out_of_time(item_id):
            raise SpecError(
                _("the time for {item} is up; its answers cannot change").format(item=item_id)
            )

    def _open(self, item_id: str) -> bool:
        """The item's clocks run (not yet submitted, nor checked in practice)."""
        return self.submitted is None and not self._state[item_id].checked

    def _add_elapsed(self) -> None:
        now = time.monotonic()
        state = self._state[self.item.item_id]
        if not self._open(self.item.item_id):
            return
        if self._clock_from is not None:
            state.time_spent_s += now - self._clock_from
            self._clock_from = now
        if self._assist_from is not None:
            state.assist_visible_s += now - self._assist_from
            self._assist_from = now

    def _save_state(self) -> None:
        from scanlab.io._common import atomic_open

        self._add_elapsed()
        doc = {
            _STATE_KEY: _STATE_VERSION,
            "exercise_id": self.source.exercise_id,
            "current": self.items[self.current].item_id,
            "submitted": self.submitted.isoformat() if self.submitted else None,
            "items": {
                item_id: {
                    "declaration_consistent": s.declaration_consistent,
                    "time_spent_s": round(s.time_spent_s, 3),
                    "visited": s.visited,
                    "rating": s.rating,
                    "checked": s.checked,
                    "assist_runs": s.assist_runs,
                    "assist_visible_s": round(s.assist_visible_s, 3),
                }
                for item_id, s in self._state.items()
            },
        }
        self.folder.mkdir(parents=True, exist_ok=True)
        with atomic_open(self.folder / "state.json", "w") as fh:
            fh.write(json.dumps(doc, indent=1))

    def _restore(self) -> None:
        (self.folder / "marks").mkdir(parents=True, exist_ok=True)
        for item_id, state in self._state.items():
            path = self._marks_path(item_id)
            if path.is_file():
                state.marks = read_marks(path)
        path = self.folder / "state.json"
        if not path.is_file():
            return
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            if doc.get(_STATE_KEY) != _STATE_VERSION:
                raise ValueError(f"{_STATE_KEY} is not {_STATE_VERSION}")
            ids = [item.item_id for item in self.items]
            if doc.get("current") in ids:
                self.current = ids.index(doc["current"])
            if doc.get("submitted"):
                self.submitted = datetime.fromisoformat(doc["submitted"])
            for item_id, saved in doc.get("items", {}).items():
                if item_id in self._state:
                    answer = saved.get("declaration_consistent")
                    self._state[item_id].declaration_consistent = (
                        answer if isinstance(answer, bool) else None
                    )
                    self._state[item_id].time_spent_s = float(saved.get("time_spent_s", 0.0))
                    self._state[item_id].visited = saved.get("visited") is True
                    rating = saved.get("rating")
                    self._state[item_id].rating = (
                        rating
                        if isinstance(rating, int) and 1 <= abs(rating) <= CONFIDENCE_LEVELS
                        else None
                    )
                    self._state[item_id].checked = saved.get("checked") is True
                    runs = saved.get("assist_runs", 0)  # absent from progress saved before
                    self._state[item_id].assist_runs = max(int(runs), 0)
                    seconds = float(saved.get("assist_visible_s", 0.0))
                    self._state[item_id].assist_visible_s = max(seconds, 0.0)
        except (OSError, ValueError, TypeError, AttributeError) as exc:
            raise SpecError(
                _("{path}: saved progress is damaged: {error}").format(path=path, error=exc)
            ) from None
