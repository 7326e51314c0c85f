"""The Submission: a trainee's marks, declaration verdicts and times per item, signed with
the trainee's token; and the adapter that turns a detector's regions into one."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scanlab.errors import SpecError, TamperError
from scanlab.evaluate import Mark
from scanlab.evaluate._marks import _check_unique_ids
from scanlab.exercises._crypto import load_signed_json, sign_body, verify_body
from scanlab.exercises._package import ExamKeys, ExamPackage, _check_trainee_id
from scanlab.i18n import _, format_datetime
from scanlab.io._validate import check_regular_file

__all__ = [
    "CONFIDENCE_LEVELS",
    "Detection",
    "ItemResponse",
    "Submission",
    "submission_from_detections",
]

#: Confidence levels of a clear/suspect call on a scan: 1 (a guess) to 4 (sure).
CONFIDENCE_LEVELS = 4

_FORMAT_KEY = "scanlab_submission"
_FORMAT_VERSION = 1
_MAX_SUBMISSION_BYTES = 64 * 2**20

#: A detector region: ((row0, col0, row1, col1) half-open, score in [0, 1], threat class).
Detection = tuple[tuple[float, float, float, float], float, str]


@dataclass
class ItemResponse:
    """What a trainee did on one item.

    Attributes
    ----------
    marks : list of Mark
    declaration_consistent : bool or None
        The trainee's verdict on the declaration: True "consistent with the image", False
        "not consistent"; None when not given (not graded).
    time_spent_s : float
        Time spent on the item, summed over the times it was open.
    started, finished : datetime, optional
        When the item was first opened and last left.
    rating : int, optional
        The trainee's call on the whole scan with its confidence: 1 to
        :data:`CONFIDENCE_LEVELS` "suspect", -1 to -4 "clear", the size saying how sure
        (4: sure). None when not given (submissions from before ratings, detectors).
    assist_runs : int, optional
        How many times Detector assist was run on this scan.
    assist_visible_s : float, optional
        Seconds the detector's anomaly map or regions were on screen over this scan (shown
        and not hidden), summed over the times it was open. Both None when use was not
        recorded (submissions from before it, detectors); 0 when Detector assist was not used.
    """

    marks: list[Mark] = field(default_factory=list)
    declaration_consistent: bool | None = None
    time_spent_s: float = 0.0
    started: datetime | None = None
    finished: datetime | None = None
    rating: int | None = None
    assist_runs: int | None = None
    assist_visible_s: float | None = None

    def __post_init__(self) -> None:
        self.marks = list(self.marks)
        _check_unique_ids(self.marks, source="item response")
        if self.declaration_consistent is not None and not isinstance(
            self.declaration_consistent, bool
        ):
            raise SpecError(
                _(
                    "declaration_consistent must be True, False or None, got "
                    "{declaration_consistent!r}"
                ).format(declaration_consistent=self.declaration_consistent)
            )
        t = self.time_spent_s
        if isinstance(t, bool) or not isinstance(t, int | float) or not math.isfinite(t) or t < 0:
            raise SpecError(
                _("time_spent_s must be a number of seconds >= 0, got {t!r}").format(t=t)
            )
        self.time_spent_s = float(t)
        self.started = _time(self.started, "started")
        self.finished = _time(self.finished, "finished")
        r = self.rating
        if r is not None and (
            isinstance(r, bool) or not isinstance(r, int) or not 1 <= abs(r) <= CONFIDENCE_LEVELS
        ):
            raise SpecError(
                _(
                    "rating must be 1 to {CONFIDENCE_LEVELS} (suspect), -1 to "
                    "-{CONFIDENCE_LEVELS} (clear) or None, got {r!r}"
                ).format(CONFIDENCE_LEVELS=CONFIDENCE_LEVELS, r=r)
            )
        n = self.assist_runs
        if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 0):
            raise SpecError(_("assist_runs must be a count >= 0 or None, got {n!r}").format(n=n))
        v = self.assist_visible_s
        if v is not None:
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                raise SpecError(
                    _("assist_visible_s must be seconds >= 0 or None, got {v!r}").format(v=v)
                )
            if v < 0:
                raise SpecError(
                    _("assist_visible_s must be seconds >= 0 or None, got {v!r}").format(v=v)
                )
            self.assist_visible_s = float(v)
        if (n is None) != (v is None):
            raise SpecError(_("assist_runs and assist_visible_s are recorded together, or neither"))

    @property
    def assist_used(self) -> bool | None:
        """Whether the detector's output was on screen over this scan; None: not recorded."""
        return None if self.assist_visible_s is None else self.assist_visible_s > 0

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "marks": [m.to_dict() for m in self.marks],
            "declaration_consistent": self.declaration_consistent,
            "time_spent_s": self.time_spent_s,
            "started": self.started.isoformat() if self.started else None,
            "finished": self.finished.isoformat() if self.finished else None,
        }
        if self.rating is not None:  # absent, the body is signed as before ratings existed
            d["rating"] = self.rating
        if self.assist_runs is not None:  # likewise for the record of Detector assist
            d["assist_runs"] = self.assist_runs
            d["assist_visible_s"] = self.assist_visible_s
        return d

    @classmethod
    def from_dict(cls, d: Any) -> ItemResponse:
        if not isinstance(d, dict):
            raise SpecError(_("an item response must be a JSON object"))
        unknown = set(d) - set(cls.__dataclass_fields__)
        if unknown:
            raise SpecError(_("unknown field(s) {unknown}").format(unknown=sorted(unknown)))
        marks = d.get("marks", [])
        if not isinstance(marks, list):
            raise SpecError(_("field 'marks' must be a list"))
        return cls(
            marks=[Mark.from_dict(m) for m in marks],
            declaration_consistent=d.get("declaration_consistent"),
            time_spent_s=d.get("time_spent_s", 0.0),
            started=d.get("started"),
            finished=d.get("finished"),
            rating=d.get("rating"),
            assist_runs=d.get("assist_runs"),
            assist_visible_s=d.get("assist_visible_s"),
        )


@dataclass
class Submission:
    """A trainee's answers to one exam, signed with their token.

    Start one with :meth:`start`, fill it with :meth:`record` as the trainee works, save it
    (signed) with :meth:`save` at any time to resume later with :meth:`load`, and hand it in
    with :meth:`submit`, after which it cannot change.

    Attributes
    ----------
    exam_id, manifest_sha256 : str
        The exam, and the exact version of its package, answered.
    trainee_id : str
    responses : dict of item id to ItemResponse
    submitted : datetime or None
        When it was handed in; None while in progress.
    signature : str
        HMAC-SHA256 (hex) of everything else under the trainee's token; empty until signed.
    """

    exam_id: str
    manifest_sha256: str
    trainee_id: str
    responses: dict[str, ItemResponse] = field(default_factory=dict)
    submitted: datetime | None = None
    signature: str = ""

    def __post_init__(self) -> None:
        _check_trainee_id(self.trainee_id)
        self.submitted = _time(self.submitted, "submitted")

    @classmethod
    def start(cls, package: ExamPackage, trainee_id: str) -> Submission:
        """An empty submission for ``package``."""
        return cls(package.exam_id, package.manifest_sha256, trainee_id)

    def record(
        self,
        item_id: str,
        *,
        marks: Sequence[Mark],
        declaration_consistent: bool | None = None,
        time_spent_s: float = 0.0,
        started: datetime | None = None,
        finished: datetime | None = None,
        rating: int | None = None,
        assist_runs: int | None = None,
        assist_visible_s: float | None = None,
    ) -> ItemResponse:
        """Set the response to one item (replacing any earlier one); unsigns the submission.
        ``rating``: the clear/suspect call with its confidence; ``assist_runs`` and
        ``assist_visible_s``: the use of Detector assist on it (see :class:`ItemResponse`)."""
        if self.submitted is not None:
            raise SpecError(
                _("submission of {trainee!r} was handed in at {when}; it cannot change").format(
                    trainee=self.trainee_id, when=format_datetime(self.submitted)
                )
            )
        if not isinstance(item_id, str) or not item_id:
            raise SpecError(
                _("item_id must be a non-empty string, got {item_id!r}").format(item_id=item_id)
            )
        try:
            response = ItemResponse(
                list(marks),
                declaration_consistent,
                time_spent_s,
                started,
                finished,
                rating,
                assist_runs,
                assist_visible_s,
            )
        except SpecError as exc:
            raise SpecError(_("item {item_id}: {exc}").format(item_id=item_id, exc=exc)) from None
        self.responses[item_id] = response
        self.signature = ""
        return response

    def body(self) -> dict[str, Any]:
        """Everything the signature covers, as JSON-ready data."""
        return {
            _FORMAT_KEY: _FORMAT_VERSION,
            "exam_id": self.exam_id,
            "manifest_sha256": self.manifest_sha256,
            "trainee_id": self.trainee_id,
            "submitted": self.submitted.isoformat() if self.submitted else None,
            "items": {k: r.to_dict() for k, r in self.responses.items()},
        }

    def sign(self, token: str) -> Submission:
        self.signature = sign_body(self.body(), token)
        return self

    def verify(self, secret: str | ExamKeys, *, what: str | None = None) -> None:
        """Check the signature with the trainee's token or, at grading, the exam's keys.

        Raises
        ------
        TamperError
            If anything changed since signing (a mark, a time, the trainee id...).
        """
        verify_body(
            self.body(),
            self.signature,
            _token(secret, self.trainee_id),
            what=what or f"submission of {self.trainee_id!r}",
        )

    def save(self, path: str | Path, *, token: str) -> Path:
        """Sign and write atomically (a crash leaves the previous file intact)."""
        from scanlab.io._common import atomic_open

        self.sign(token)
        path = Path(path)
        doc = {**self.body(), "signature": {"algorithm": "HMAC-SHA256", "value": self.signature}}
        with atomic_open(path, "w") as fh:
            fh.write(json.dumps(doc, indent=1))
        return path

    def submit(self, path: str | Path, *, token: str) -> Path:
        """Hand in: stamp the time, sign and save. Further :meth:`record` calls fail."""
        self.submitted = datetime.now(UTC)
        return self.save(path, token=token)

    @classmethod
    def load(
        cls,
        path: str | Path,
        secret: str | ExamKeys,
        *,
        package: ExamPackage | None = None,
    ) -> Submission:
        """Read and verify a submission file.

        Parameters
        ----------
        secret : str or ExamKeys
            The trainee's token (resuming in the trainee's tool), or the exam's keys
            (grading: each trainee's token is derived from them).
        package : ExamPackage, optional
            Also check the submission answers this package.

        Raises
        ------
        TamperError
            The file changed after it was signed.
        SpecError
            Not a submission file, or one for another exam.
        """
        path = Path(path)
        check_regular_file(path, what="submission")
        try:
            if path.stat().st_size > _MAX_SUBMISSION_BYTES:
                raise TamperError(_("{path}: submission larger than 64 MiB").format(path=path))
            raw = path.read_bytes()
        except OSError as exc:
            raise SpecError(
                _("{path}: cannot read submission: {error}").format(path=path, error=exc.strerror)
            ) from None
        doc = load_signed_json(raw, f"{path}: submission")
        if not isinstance(doc, dict) or doc.get(_FORMAT_KEY) != _FORMAT_VERSION:
            raise SpecError(_("{path}: not a version-1 scanlab submission").format(path=path))
        signature = doc.pop("signature", None)
        value = signature.get("value") if isinstance(signature, dict) else None
        trainee_id = doc.get("trainee_id")
        if not isinstance(trainee_id, str):
            raise TamperError(
                _("{path}: field {field!r} is missing").format(path=path, field="trainee_id")
            )
        # Verify the bytes as written, before anything is parsed into objects.
        verify_body(doc, value, _token(secret, trainee_id), what=str(path))
        try:
            items = doc["items"]
            if not isinstance(items, dict):
                raise SpecError(_("field 'items' must be an object"))
            sub = cls(
                exam_id=str(doc["exam_id"]),
                manifest_sha256=str(doc["manifest_sha256"]),
                trainee_id=trainee_id,
                responses={str(k): ItemResponse.from_dict(v) for k, v in items.items()},
                submitted=doc.get("submitted"),
                signature=str(value),
            )
        except KeyError as exc:
            raise SpecError(
                _("{path}: field {field!r} is missing").format(path=path, field=exc.args[0])
            ) from None
        except SpecError as exc:
            raise SpecError(_("{path}: {exc}").format(path=path, exc=exc)) from None
        if package is not None:
            sub.check_package(package, what=str(path))
        return sub

    def check_package(self, package: ExamPackage, *, what: str | None = None) -> None:
        """SpecError unless this submission answers exactly ``package``."""
        who = what or f"submission of {self.trainee_id!r}"
        if self.exam_id != package.exam_id:
            raise SpecError(
                _("{who}: answers exam {exam}, not {expected}").format(
                    who=who, exam=self.exam_id, expected=package.exam_id
                )
            )
        if self.manifest_sha256 != package.manifest_sha256:
            raise SpecError(
                _("{who}: answers another version of exam {exam} (items changed since)").format(
                    who=who, exam=self.exam_id
                )
            )
        unknown = sorted(set(self.responses) - set(package.item_ids))
        if unknown:
            raise SpecError(
                _("{who}: responses to unknown item(s) {items}").format(who=who, items=unknown)
            )


def submission_from_detections(
    package: ExamPackage,
    detections: Mapping[str, Iterable[Detection]],
    *,
    detector_id: str,
    token: str,
    threshold: float = 0.5,
    time_spent_s: Mapping[str, float] | None = None,
) -> Submission:
    """Grade a detector as one more trainee: its regions above ``threshold`` become marks.

    Parameters
    ----------
    detections : mapping of item id to iterable of (bbox, score, threat_class)
        ``bbox`` is (row0, col0, row1, col1), half-open pixel rows and columns as in
        :class:`scanlab.synth.KeyObject`; ``score`` in [0, 1] becomes the mark's confidence.
        Items not in the mapping get no marks.
    detector_id : str
        Its "trainee id" in the results; ``token`` is ``keys.token(detector_id)``.
    threshold : float
        The operating point: a trainee marks or does not, so regions scoring below it are
        dropped. Sweep it (or use :func:`scanlab.evaluate.froc`) for the full curve.
    time_spent_s : mapping, optional
        Run time per item.

    The detector gives no verdict on declarations; that part is left ungraded. The
    submission is signed with ``token``, so it is graded exactly like a trainee's.
    """
    if not 0.0 <= float(threshold) <= 1.0:
        raise SpecError(
            _("threshold must be in [0, 1], got {threshold!r}").format(threshold=threshold)
        )
    sub = Submission.start(package, detector_id)
    times = dict(time_spent_s or {})
    for item_id, regions in detections.items():
        package.item(item_id)  # SpecError for an unknown item
        marks = []
        for k, region in enumerate(regions):
            try:
                (r0, c0, r1, c1), score, threat_class = region
                r0, c0, r1, c1, score = (float(v) for v in (r0, c0, r1, c1, score))
            except (TypeError, ValueError):
                raise SpecError(
                    _(
                        "detections[{item_id!r}][{k}]: expected ((row0, col0, row1, col1), "
                        "score, class), got {region!r}"
                    ).format(item_id=item_id, k=k, region=region)
                ) from None
            if score < threshold:
                continue
            if not (r1 > r0 and c1 > c0):
                raise SpecError(
                    _("detections[{item_id!r}][{k}]: empty bbox {value}").format(
                        item_id=item_id, k=k, value=(r0, c0, r1, c1)
                    )
                )
            # Half-open bbox -> the rectangle through the centres of its outer pixels.
            marks.append(
                Mark(
                    f"{item_id}-d{k}",
                    "rectangle",
                    [(r0, c0), (r1 - 1, c1 - 1)],
                    str(threat_class),
                    confidence=score,
                )
            )
        sub.record(item_id, marks=marks, time_spent_s=float(times.get(item_id, 0.0)))
    return sub.sign(token)


def _token(secret: str | ExamKeys, trainee_id: str) -> str:
    return secret.token(trainee_id) if isinstance(secret, ExamKeys) else secret


def _time(value: Any, name: str) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            pass
    raise SpecError(
        _("{name} must be an ISO 8601 time, got {value!r}").format(name=name, value=value)
    )
