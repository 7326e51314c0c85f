"""The Mark: one suspicion a trainee (or a detector) drew on a scan, and its JSON file."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from scanlab.errors import SpecError
from scanlab.i18n import _
from scanlab.synth._answer_key import THREAT_CLASSES

__all__ = ["MARK_SHAPES", "Mark", "read_marks", "write_marks"]

#: The outlines a mark may have.
MARK_SHAPES = ("rectangle", "polygon")

_FORMAT_KEY = "scanlab_marks"
_FORMAT_VERSION = 1


@dataclass
class Mark:
    """One region a trainee drew on a scan and the threat class they gave it.

    Coordinates are image pixels (row, col) with pixel centres at integers, as in napari:
    a mark covers the pixels whose centres lie inside or on its outline.

    Parameters
    ----------
    mark_id : str
        Unique within a submission; graders report false alarms by this id.
    shape : {"rectangle", "polygon"}
        A rectangle has 2 vertices (opposite corners, axis-aligned) or 4 (its corners in
        order, as napari stores them, possibly rotated). A polygon has at least 3.
    vertices : sequence of (row, col)
        Outline in image pixels; any finite values (parts outside the image are clipped).
    threat_class : str
        One of :data:`scanlab.synth.THREAT_CLASSES`.
    confidence : float
        In [0, 1]. Trainees leave 1.0; detectors give their score, which FROC sweeps.
    created, modified : datetime or ISO 8601 str, optional
        When the mark was drawn and last edited; strings are parsed to ``datetime``.

    Raises
    ------
    SpecError
        Naming the field: unknown shape or class, too few vertices, non-finite coordinates,
        confidence outside [0, 1], or a timestamp that is not ISO 8601.

    Examples
    --------
    >>> m = Mark("m1", "rectangle", [(10, 20), (19, 29)], "cash")
    >>> m.bbox
    (10, 20, 20, 30)
    >>> int(m.mask((40, 40)).sum())
    100
    >>> m.centroid
    (14.5, 24.5)
    >>> Mark.from_dict(m.to_dict()) == m
    True
    """

    mark_id: str
    shape: str
    vertices: Sequence[tuple[float, float]]
    threat_class: str
    confidence: float = 1.0
    created: datetime | str | None = None
    modified: datetime | str | None = None

    def __post_init__(self) -> None:
        who = f"mark {self.mark_id!r}"
        if not isinstance(self.mark_id, str) or not self.mark_id:
            raise SpecError(
                _("mark_id must be a non-empty string, got {mark_id!r}").format(
                    mark_id=self.mark_id
                )
            )
        if self.shape not in MARK_SHAPES:
            raise SpecError(
                _("{who}: shape must be one of {shapes}, got {shape!r}").format(
                    who=who, shapes=MARK_SHAPES, shape=self.shape
                )
            )
        if self.threat_class not in THREAT_CLASSES:
            raise SpecError(
                _("{who}: threat_class must be one of {classes}, got {threat_class!r}").format(
                    who=who, classes=THREAT_CLASSES, threat_class=self.threat_class
                )
            )
        self.vertices = _check_vertices(self.vertices, self.shape, who)
        try:
            confidence = float(self.confidence)
        except (TypeError, ValueError):
            raise SpecError(
                _("{who}: confidence must be a number in [0, 1]").format(who=who)
            ) from None
        if not 0.0 <= confidence <= 1.0:
            raise SpecError(
                _("{who}: confidence must be in [0, 1], got {confidence!r}").format(
                    who=who, confidence=self.confidence
                )
            )
        self.confidence = confidence
        self.created = _check_time(self.created, "created", who)
        self.modified = _check_time(self.modified, "modified", who)

    @property
    def outline(self) -> np.ndarray:
        """(n, 2) float64 array of the (row, col) corners, 4 for a 2-vertex rectangle."""
        v = np.asarray(self.vertices, dtype=np.float64)
        if len(v) == 2:
            (r0, c0), (r1, c1) = v
            v = np.array([[r0, c0], [r0, c1], [r1, c1], [r1, c0]])
        return v

    @property
    def bbox(self) -> tuple[int, int, int, int]:
        """(row0, col0, row1, col1), half-open: the pixels whose centres the outline can reach.

        Not clipped to any image; empty (row1 <= row0) for a mark thinner than a pixel.
        """
        v = self.outline
        lo = np.ceil(v.min(axis=0))
        hi = np.floor(v.max(axis=0)) + 1
        return int(lo[0]), int(lo[1]), int(hi[0]), int(hi[1])

    @property
    def centroid(self) -> tuple[float, float]:
        """Centre of area of the outline (the mean vertex for a degenerate outline)."""
        v = self.outline
        r, c = v[:, 0], v[:, 1]
        r1, c1 = np.roll(r, -1), np.roll(c, -1)
        cross = r * c1 - r1 * c
        area2 = cross.sum()
        span = max(float(np.ptp(r)), float(np.ptp(c)), 1.0)
        if abs(area2) <= 1e-12 * span * span:
            return float(r.mean()), float(c.mean())
        return (
            float(((r + r1) * cross).sum() / (3.0 * area2)),
            float(((c + c1) * cross).sum() / (3.0 * area2)),
        )

    def mask(self, shape: tuple[int, int]) -> np.ndarray:
        """Boolean mask over an image of ``shape`` (rows, cols); clipped at the image edge."""
        out = np.zeros(shape, dtype=bool)
        r0, c0, local = self.local_mask(shape)
        out[r0 : r0 + local.shape[0], c0 : c0 + local.shape[1]] = local
        return out

    def local_mask(self, shape: tuple[int, int]) -> tuple[int, int, np.ndarray]:
        """``(row0, col0, mask)``: the mask over its bbox clipped to an image of ``shape``.

        Rasterising only the bbox keeps matching fast when a scan has many marks.
        """
        from skimage.draw import polygon

        rows, cols = int(shape[0]), int(shape[1])
        b0, b1, b2, b3 = self.bbox
        r0, c0 = min(max(b0, 0), rows), min(max(b1, 0), cols)
        r1, c1 = max(min(b2, rows), r0), max(min(b3, cols), c0)
        local = np.zeros((r1 - r0, c1 - c0), dtype=bool)
        if local.size:
            v = self.outline
            rr, cc = polygon(v[:, 0] - r0, v[:, 1] - c0, shape=local.shape)
            local[rr, cc] = True
        return r0, c0, local

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict; timestamps as ISO 8601 strings (or None)."""
        return {
            "mark_id": self.mark_id,
            "shape": self.shape,
            "vertices": [[float(r), float(c)] for r, c in self.vertices],
            "threat_class": self.threat_class,
            "confidence": float(self.confidence),
            "created": _iso(self.created),
            "modified": _iso(self.modified),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Mark:
        """Inverse of :meth:`to_dict`, validated (a missing field raises SpecError naming it)."""
        if not isinstance(d, dict):
            raise SpecError(
                _("a mark must be a JSON object, got {type}").format(type=type(d).__name__)
            )
        missing = [k for k in ("mark_id", "shape", "vertices", "threat_class") if k not in d]
        if missing:
            raise SpecError(
                _("mark {mark_id!r}: missing field(s) {missing}").format(
                    mark_id=d.get("mark_id", "?"), missing=missing
                )
            )
        unknown = sorted(set(d) - {f for f in cls.__dataclass_fields__})
        if unknown:
            raise SpecError(
                _("mark {mark_id!r}: unknown field(s) {unknown}").format(
                    mark_id=d["mark_id"], unknown=unknown
                )
            )
        return cls(
            mark_id=d["mark_id"],
            shape=d["shape"],
            vertices=d["vertices"],
            threat_class=d["threat_class"],
            confidence=d.get("confidence", 1.0),
            created=d.get("created"),
            modified=d.get("modified"),
        )


def write_marks(path: str | Path, marks: Iterable[Mark]) -> Path:
    """Write marks to a JSON file (atomically: a crash leaves the old file intact).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> marks = [Mark("a", "polygon", [(0, 0), (0, 4), (4, 0)], "weapon")]
    >>> p = write_marks(folder / "marks.json", marks)
    >>> [m.mark_id for m in read_marks(p)]
    ['a']
    """
    from scanlab.io._common import atomic_open

    marks = list(marks)
    _check_unique_ids(marks, source=str(path))
    doc = {_FORMAT_KEY: _FORMAT_VERSION, "marks": [m.to_dict() for m in marks]}
    path = Path(path)
    with atomic_open(path, "w") as fh:
        fh.write(json.dumps(doc, indent=1))
    return path


def read_marks(path: str | Path) -> list[Mark]:
    """Read the marks that :func:`write_marks` wrote; SpecError names the file and field."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SpecError(
            _("{path}: cannot read marks: {strerror}").format(path=path, strerror=exc.strerror)
        ) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SpecError(
            _("{path}: marks file is not valid JSON: {exc}").format(path=path, exc=exc)
        ) from None
    if not isinstance(doc, dict) or _FORMAT_KEY not in doc:
        raise SpecError(
            _("{path}: not a scanlab marks file (no {key!r} field)").format(
                path=path, key=_FORMAT_KEY
            )
        )
    if doc[_FORMAT_KEY] != _FORMAT_VERSION:
        raise SpecError(
            _("{path}: {key} version {version!r} is not supported").format(
                path=path, key=_FORMAT_KEY, version=doc[_FORMAT_KEY]
            )
        )
    items = doc.get("marks")
    if not isinstance(items, list):
        raise SpecError(_("{path}: field 'marks' must be a list").format(path=path))
    try:
        marks = [Mark.from_dict(d) for d in items]
    except SpecError as exc:
        raise SpecError(_("{path}: {exc}").format(path=path, exc=exc)) from None
    _check_unique_ids(marks, source=str(path))
    return marks


def _check_unique_ids(marks: Sequence[Mark], *, source: str) -> None:
    seen: set[str] = set()
    for m in marks:
        if m.mark_id in seen:
            raise SpecError(
                _("{source}: mark_id {mark_id!r} occurs more than once").format(
                    source=source, mark_id=m.mark_id
                )
            )
        seen.add(m.mark_id)


def _check_vertices(vertices: Any, shape: str, who: str) -> list[tuple[float, float]]:
    try:
        out = [(float(r), float(c)) for r, c in vertices]
    except (TypeError, ValueError):
        raise SpecError(
            _("{who}: vertices must be a list of (row, col) number pairs").format(who=who)
        ) from None
    if not all(math.isfinite(r) and math.isfinite(c) for r, c in out):
        raise SpecError(_("{who}: vertices must be finite, got {out}").format(who=who, out=out))
    if shape == "polygon" and len(out) < 3:
        raise SpecError(
            _("{who}: a polygon needs at least 3 vertices, got {count}").format(
                who=who, count=len(out)
            )
        )
    if shape == "rectangle" and len(out) not in (2, 4):
        raise SpecError(
            _("{who}: a rectangle needs 2 (corners) or 4 vertices, got {count}").format(
                who=who, count=len(out)
            )
        )
    return out


def _check_time(value: Any, field: str, who: str) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            pass
    raise SpecError(
        _("{who}: {field} must be an ISO 8601 string or datetime, got {value!r}").format(
            who=who, field=field, value=value
        )
    )


def _iso(value: datetime | str | None) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else value
