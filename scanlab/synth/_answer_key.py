"""The AnswerKey: what is really in a scan (each concealment, its mask) and whether the
cargo declaration beside the image is true."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from scanlab.errors import SpecError
from scanlab.i18n import N_, _
from scanlab.synth._declaration import CargoDeclaration

__all__ = [
    "CONCEALMENT_METHODS",
    "DIFFICULTY_LEVELS",
    "THREAT_CLASSES",
    "AnswerKey",
    "Difficulty",
    "KeyObject",
    "mask_to_polygon",
]

#: What an object is. Trainees pick one of these when they mark a suspicion.
THREAT_CLASSES = (
    "narcotics",
    "cigarettes",
    "cash",
    "weapon",
    "stowaway",
    "vehicle",
    "compartment",
)
#: How it is hidden.
CONCEALMENT_METHODS = (
    "tyre",
    "spare_wheel",
    "in_cargo",
    "behind_cargo",
    "false_wall",
    "false_floor",
    "false_roof",
    "loose",
    "tip",
)
DIFFICULTY_LEVELS = ("easy", "medium", "hard")
# The names above as people read them (scanlab.i18n.term), for the message catalogues.
_SHOWN = (
    N_("narcotics"),
    N_("cigarettes"),
    N_("cash"),
    N_("weapon"),
    N_("stowaway"),
    N_("vehicle"),
    N_("compartment"),
    N_("tyre"),
    N_("spare wheel"),
    N_("in cargo"),
    N_("behind cargo"),
    N_("false wall"),
    N_("false floor"),
    N_("false roof"),
    N_("loose"),
    N_("tip"),
    N_("easy"),
    N_("medium"),
    N_("hard"),
)


@dataclass
class Difficulty:
    """Image-measured factors known from screener research to make a target hard to see.

    superposition : mean high-energy attenuation of everything else along the object's rays
    clutter : mean gradient magnitude (attenuation per pixel) of the surroundings
    size_px : object area in pixels
    contrast : |object - surroundings| mean attenuation divided by the local noise sigma
    level : easy, medium or hard, from the combined score (see :func:`difficulty_level`)
    """

    superposition: float
    clutter: float
    size_px: int
    contrast: float
    level: str

    def __post_init__(self) -> None:
        if self.level not in DIFFICULTY_LEVELS:
            raise SpecError(
                _("difficulty level must be one of {DIFFICULTY_LEVELS}, got {level!r}").format(
                    DIFFICULTY_LEVELS=DIFFICULTY_LEVELS, level=self.level
                )
            )


@dataclass
class KeyObject:
    """One concealed object: what, how, where (mask, polygon, box) and how hard to see.

    ``bbox`` is (row0, col0, row1, col1), half-open. ``mask`` is the object's boolean mask
    over the bbox. ``polygon`` lists (row, col) vertices of its outline.
    """

    object_id: str
    threat_class: str
    concealment: str
    material: str
    mass_kg: float
    bbox: tuple[int, int, int, int]
    mask: np.ndarray
    polygon: list[tuple[float, float]]
    difficulty: Difficulty
    description: str = ""

    def __post_init__(self) -> None:
        if self.threat_class not in THREAT_CLASSES:
            raise SpecError(
                _(
                    "object {object_id}: threat_class must be one of {THREAT_CLASSES}, got "
                    "{threat_class!r}"
                ).format(
                    object_id=self.object_id,
                    THREAT_CLASSES=THREAT_CLASSES,
                    threat_class=self.threat_class,
                )
            )
        if self.concealment not in CONCEALMENT_METHODS:
            raise SpecError(
                _("object {object_id}: concealment must be one of {CONCEALMENT_METHODS}").format(
                    object_id=self.object_id, CONCEALMENT_METHODS=CONCEALMENT_METHODS
                )
            )
        r0, c0, r1, c1 = self.bbox
        self.mask = np.asarray(self.mask, dtype=bool)
        if self.mask.shape != (r1 - r0, c1 - c0):
            raise SpecError(
                _("object {object_id}: mask shape does not match its bbox").format(
                    object_id=self.object_id
                )
            )

    def full_mask(self, shape: tuple[int, int]) -> np.ndarray:
        """The object's mask over a whole image of ``shape``."""
        out = np.zeros(shape, dtype=bool)
        r0, c0, r1, c1 = self.bbox
        out[r0:r1, c0:c1] = self.mask
        return out

    @property
    def area_px(self) -> int:
        return int(self.mask.sum())

    def to_dict(self) -> dict[str, Any]:
        d = {k: v for k, v in asdict(self).items() if k != "mask"}
        d["bbox"] = list(self.bbox)
        d["polygon"] = [list(p) for p in self.polygon]
        d["mask_rle"] = _rle_encode(self.mask)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> KeyObject:
        bbox = tuple(int(v) for v in d["bbox"])
        r0, c0, r1, c1 = bbox
        return cls(
            object_id=str(d["object_id"]),
            threat_class=str(d["threat_class"]),
            concealment=str(d["concealment"]),
            material=str(d["material"]),
            mass_kg=float(d["mass_kg"]),
            bbox=(r0, c0, r1, c1),
            mask=_rle_decode(d["mask_rle"], (r1 - r0, c1 - c0)),
            polygon=[(float(r), float(c)) for r, c in d["polygon"]],
            difficulty=Difficulty(**d["difficulty"]),
            description=str(d.get("description", "")),
        )


@dataclass
class AnswerKey:
    """Everything an instructor knows about one scan.

    ``declaration_consistent`` says whether the cargo declaration matches the true load;
    ``inconsistencies`` says why not (empty when it does).
    """

    scan_id: str
    shape: tuple[int, int]
    objects: list[KeyObject] = field(default_factory=list)
    declaration: CargoDeclaration | None = None
    declaration_consistent: bool = True
    inconsistencies: list[str] = field(default_factory=list)
    true_load: list[dict[str, Any]] = field(default_factory=list)
    attributes: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        ids = [o.object_id for o in self.objects]
        if len(set(ids)) != len(ids):
            raise SpecError(
                _("answer key {scan_id}: object ids are not unique: {ids}").format(
                    scan_id=self.scan_id, ids=ids
                )
            )
        rows, cols = self.shape
        for o in self.objects:
            r0, c0, r1, c1 = o.bbox
            if not (0 <= r0 < r1 <= rows and 0 <= c0 < c1 <= cols):
                raise SpecError(
                    _(
                        "answer key {scan_id}: object {object_id} bbox {bbox} lies outside the "
                        "{shape} image"
                    ).format(
                        scan_id=self.scan_id, object_id=o.object_id, bbox=o.bbox, shape=self.shape
                    )
                )

    @property
    def is_clean(self) -> bool:
        """No concealment in the image (the declaration may still be false)."""
        return not self.objects

    def label_image(self) -> np.ndarray:
        """int32 image: 0 background, i + 1 where object i lies (later objects on top)."""
        out = np.zeros(self.shape, dtype=np.int32)
        for i, obj in enumerate(self.objects, start=1):
            r0, c0, r1, c1 = obj.bbox
            out[r0:r1, c0:c1][obj.mask] = i
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "scanlab_answer_key": 1,
            "scan_id": self.scan_id,
            "shape": list(self.shape),
            "objects": [o.to_dict() for o in self.objects],
            "declaration": self.declaration.to_dict() if self.declaration else None,
            "declaration_consistent": self.declaration_consistent,
            "inconsistencies": list(self.inconsistencies),
            "true_load": self.true_load,
            "attributes": self.attributes,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1)

    @classmethod
    def from_dict(cls, d: dict[str, Any], *, source: str | Path = "<answer key>") -> AnswerKey:
        if not isinstance(d, dict) or "scanlab_answer_key" not in d:
            raise SpecError(_("{source}: not a scanlab answer key").format(source=source))
        try:
            rows, cols = (int(v) for v in d["shape"])
            return cls(
                scan_id=str(d["scan_id"]),
                shape=(rows, cols),
                objects=[KeyObject.from_dict(o) for o in d.get("objects", [])],
                declaration=(
                    CargoDeclaration.from_dict(d["declaration"]) if d.get("declaration") else None
                ),
                declaration_consistent=bool(d.get("declaration_consistent", True)),
                inconsistencies=[str(s) for s in d.get("inconsistencies", [])],
                true_load=list(d.get("true_load", [])),
                attributes=dict(d.get("attributes", {})),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise SpecError(
                _("{source}: invalid answer key: {exc!r}").format(source=source, exc=exc)
            ) from None

    @classmethod
    def from_json(cls, text: str, *, source: str | Path = "<answer key>") -> AnswerKey:
        try:
            return cls.from_dict(json.loads(text), source=source)
        except json.JSONDecodeError as exc:
            raise SpecError(
                _("{source}: answer key is not valid JSON: {exc}").format(source=source, exc=exc)
            ) from None

    def save(self, path: str | Path) -> Path:
        from scanlab.io._common import atomic_open

        path = Path(path)
        with atomic_open(path, "w") as fh:
            fh.write(self.to_json())
        return path

    @classmethod
    def load(cls, path: str | Path) -> AnswerKey:
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise SpecError(
                _("{path}: cannot read answer key: {strerror}").format(
                    path=path, strerror=exc.strerror
                )
            ) from None
        return cls.from_json(text, source=path)


def mask_to_polygon(
    mask: np.ndarray, *, offset: tuple[int, int] = (0, 0)
) -> list[tuple[float, float]]:
    """Outline of the largest region of ``mask`` as (row, col) vertices.

    Vertices are the centres of the boundary pixels (napari's convention and that of
    :class:`scanlab.evaluate.Mark`), so filling the polygon gives back the mask.
    """
    contours, _ = cv2.findContours(
        mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE
    )
    if not contours:
        return []
    largest = max(contours, key=cv2.contourArea)
    approx = cv2.approxPolyDP(largest, 0.75, True)[:, 0, :]
    return [(float(r + offset[0]), float(c + offset[1])) for c, r in approx]


def _rle_encode(mask: np.ndarray) -> list[int]:
    """Run lengths of a boolean mask in row-major order, starting with a run of False."""
    flat = mask.ravel()
    if flat.size == 0:
        return []
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    runs = np.diff(np.concatenate([[0], change, [flat.size]])).tolist()
    return ([0] if flat[0] else []) + [int(v) for v in runs]


def _rle_decode(runs: list[int], shape: tuple[int, int]) -> np.ndarray:
    values = np.zeros(len(runs), dtype=bool)
    values[1::2] = True
    flat = np.repeat(values, np.asarray(runs, dtype=np.int64))
    size = shape[0] * shape[1]
    if flat.size != size:
        raise SpecError(
            _("mask run lengths cover {size} pixels, expected {expected}").format(
                size=flat.size, expected=size
            )
        )
    return flat.reshape(shape)
