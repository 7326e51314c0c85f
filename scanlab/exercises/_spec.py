"""The ExamSpec: how many items, which concealments, how many clean, how hard, how long."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from scanlab.errors import SpecError
from scanlab.i18n import _
from scanlab.synth import DIFFICULTY_LEVELS, DatasetSpec, HostSpec, load_dataset_spec

__all__ = ["ExamSpec", "load_exam_spec"]

_DATASET_DEFAULTS = DatasetSpec(name="defaults")
#: Fields of a dataset spec that mean nothing for an exam (the package fixes the format).
_DATASET_ONLY = ("format", "display_png")


@dataclass
class ExamSpec:
    """What an exam holds. Weights need not sum to 1.

    Attributes
    ----------
    name : str
    seed : int
        Exams with different seeds never share a scene.
    count : int
        Number of items.
    clean_share : float
        Share of items without any concealment: the noise trials that measure false alarms
        (rounded to a whole number of items).
    concealments : mapping of str to float
        Weights of the simulator's concealment kinds (:data:`scanlab.synth.CONCEALMENT_TYPES`).
    difficulty : mapping of str to float
        Weights of the levels easy / medium / hard among the items with a concealment, as
        measured from each image (:class:`scanlab.synth.Difficulty`). Items are allotted to
        levels in proportion (largest remainder), then drawn until the measured level fits,
        up to ``max_tries`` scenes per item. A list means equal weights.
    time_limit_s : float
        Time a trainee has for each item.
    pitch_mm : float
        Pixel size of the scans: 5 mm is a real scanner's, 20 mm makes small, fast exams.
    subpixels : int
        Scene samples per pixel and axis, as in :class:`scanlab.synth.DatasetSpec` (2: each
        pixel reads the mean transmission over its aperture, as a detector does).
    vehicles, cargo, declarations, fill, max_concealments, max_tries, scanner
        As in :class:`scanlab.synth.DatasetSpec`.
    language : str, optional
        The trainees' language (``ru``, ``ky``, ``fa``, ``ps``, ``en``): the Exercise widget
        speaks it unless the trainee chose another. Reports take their own (``--lang``).
    hosts : mapping, optional
        The site's own clean scans (:class:`scanlab.synth.HostSpec`): ``hosts.share`` of the
        items are made on them by threat image projection, the rest simulated; clean shares
        and difficulty levels apply to both alike.
    assisted : list of str
        Trainee ids who sit the exam with Detector assist; every other trainee sits it
        without (the napari Exercise widget hides the detector from them). Stored, signed,
        in the package; grading records it per trainee, and the cohort report compares the
        two groups on the same items (:func:`scanlab.exercises.compare_assist`). Empty (the
        default): nobody has the detector in the exam.
    """

    name: str
    seed: int = 0
    count: int = 20
    clean_share: float = 0.33
    concealments: dict[str, float] = field(
        default_factory=lambda: dict(_DATASET_DEFAULTS.concealments)
    )
    difficulty: dict[str, float] = field(
        default_factory=lambda: dict.fromkeys(DIFFICULTY_LEVELS, 1.0)
    )
    time_limit_s: float = 60.0
    pitch_mm: float = 5.0
    subpixels: int = 1
    vehicles: dict[str, float] = field(default_factory=lambda: dict(_DATASET_DEFAULTS.vehicles))
    cargo: dict[str, float] = field(default_factory=lambda: dict(_DATASET_DEFAULTS.cargo))
    declarations: dict[str, float] = field(
        default_factory=lambda: {
            "true": 0.75,
            "undeclared_goods": 0.08,
            "other_commodity": 0.08,
            "weight": 0.05,
            "false_empty": 0.04,
        }
    )
    fill: tuple[float, float] = (0.4, 0.95)
    max_concealments: int = 1
    max_tries: int = 20
    scanner: str = "scanlab-6MV-dual"
    description: str = ""
    hosts: dict[str, Any] | None = None
    language: str = ""
    assisted: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if isinstance(self.difficulty, list | tuple):
            self.difficulty = dict.fromkeys(self.difficulty, 1.0)
        if self.language:
            from scanlab.i18n import LANGUAGES, normalize_language

            code = normalize_language(str(self.language))
            if code is None:
                raise SpecError(
                    _(
                        "exam spec {name!r}: field 'language' {language!r} has no catalogue; "
                        "valid: {valid}"
                    ).format(name=self.name, language=self.language, valid=sorted(LANGUAGES))
                )
            self.language = code
        self.check()

    @classmethod
    def from_dict(cls, raw: Any, *, source: str | Path = "<exam spec>") -> ExamSpec:
        """Build and check a spec; :class:`SpecError` names the field that is wrong.

        The fields of a dataset spec that an exam does not use (``format``,
        ``display_png``) are ignored, so the shipped ``exam-easy|medium|hard`` dataset specs
        build exams as they are.
        """
        if not isinstance(raw, Mapping):
            raise SpecError(_("{path}: an exam spec must be a mapping").format(path=source))
        known = set(cls.__dataclass_fields__)
        raw = {k: v for k, v in raw.items() if k not in _DATASET_ONLY}
        unknown = set(raw) - known
        if unknown:
            raise SpecError(
                _("{path}: unknown field(s) {fields}; known: {known}").format(
                    path=source, fields=sorted(unknown), known=sorted(known)
                )
            )
        if "name" not in raw:
            raise SpecError(
                _("{path}: field {field!r} is required").format(path=source, field="name")
            )
        if raw.get("hosts") is not None:
            # Relative host paths are the spec file's neighbours, not the working folder's.
            base = Path(source).parent if Path(source).is_file() else None
            raw["hosts"] = HostSpec.from_dict(raw["hosts"], source=source, base=base).to_dict()
        try:
            return cls(**raw)
        except SpecError as exc:
            raise SpecError(f"{source}: {exc}") from None
        except TypeError as exc:
            raise SpecError(f"{source}: {exc}") from None

    def check(self) -> None:
        def fail(field_name: str, why: str) -> SpecError:
            return SpecError(
                _("exam spec {name!r}: field {field!r} {problem}").format(
                    name=self.name, field=field_name, problem=why
                )
            )

        weights = self.difficulty
        if not isinstance(weights, Mapping) or not weights:
            raise fail(
                "difficulty",
                _("must map levels of {levels} to weights").format(levels=DIFFICULTY_LEVELS),
            )
        for level, weight in weights.items():
            if level not in DIFFICULTY_LEVELS:
                raise fail(
                    "difficulty",
                    _("has unknown level {level!r}; valid: {levels}").format(
                        level=level, levels=DIFFICULTY_LEVELS
                    ),
                )
            if isinstance(weight, bool) or not isinstance(weight, int | float) or weight < 0:
                raise fail(
                    "difficulty",
                    _("weight of {level!r} must be a number >= 0").format(level=level),
                )
        if sum(weights.values()) <= 0:
            raise fail("difficulty", _("weights must not all be 0"))
        limit = self.time_limit_s
        if (
            isinstance(limit, bool)
            or not isinstance(limit, int | float)
            or not math.isfinite(limit)
            or limit <= 0
        ):
            raise fail(
                "time_limit_s",
                _("must be a number of seconds > 0, got {limit!r}").format(limit=limit),
            )
        if isinstance(self.assisted, str) or not isinstance(self.assisted, list | tuple):
            raise fail(
                "assisted",
                _("must be a list of trainee ids, got {value!r}").format(value=self.assisted),
            )
        for trainee_id in self.assisted:
            if not isinstance(trainee_id, str) or not trainee_id.strip():
                raise fail(
                    "assisted", _("holds {value!r}, not a trainee id").format(value=trainee_id)
                )
            # As the sign-in takes ids: stripped, printable, at most 100 characters.
            if (
                not trainee_id.isprintable()
                or len(trainee_id) > 100
                or trainee_id.strip() != trainee_id
            ):
                raise fail(
                    "assisted",
                    _(
                        "holds {value!r}: a trainee id is printable, at most 100 characters, "
                        "without surrounding spaces"
                    ).format(value=trainee_id),
                )
        if len(set(self.assisted)) != len(self.assisted):
            raise fail("assisted", _("names a trainee twice"))
        self.assisted = list(self.assisted)
        self.fill = self.dataset_spec().fill  # checks every field the two specs share

    def dataset_spec(self, *, clean_share: float | None = None) -> DatasetSpec:
        """The simulator's view of this spec (used to draw each item's scene)."""
        ds = DatasetSpec(
            name=self.name,
            seed=self.seed,
            count=self.count,
            clean_share=self.clean_share if clean_share is None else clean_share,
            vehicles=dict(self.vehicles),
            cargo=dict(self.cargo),
            concealments=dict(self.concealments),
            declarations=dict(self.declarations),
            fill=self.fill,
            max_concealments=self.max_concealments,
            difficulty=[lv for lv, w in self.difficulty.items() if w > 0],
            max_tries=self.max_tries,
            pitch_mm=self.pitch_mm,
            subpixels=self.subpixels,
            scanner=self.scanner,
            hosts=self.hosts,
        )
        ds.check(source=_("exam spec {name!r}").format(name=self.name))
        return ds

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["fill"] = list(self.fill)
        if d["subpixels"] == 1:
            del d["subpixels"]  # at its default, as packages recorded specs before it
        return d

    def public_dict(self) -> dict[str, Any]:
        """:meth:`to_dict` without any host path (what a package keeps of the spec)."""
        d = self.to_dict()
        if self.hosts is not None:
            d["hosts"] = HostSpec.from_dict(self.hosts).public_dict()
        return d


def load_exam_spec(name_or_path: str | Path) -> ExamSpec:
    """An exam spec from a YAML/JSON file, or a shipped dataset spec by name (``exam-hard``).

    Examples
    --------
    >>> spec = load_exam_spec("exam-hard")
    >>> spec.difficulty, spec.count
    ({'hard': 1.0}, 30)
    """
    path = Path(name_or_path)
    if not path.exists():
        # A shipped name; load_dataset_spec lists the names when it is none of them.
        return ExamSpec.from_dict(load_dataset_spec(name_or_path).to_dict(), source=path)
    try:
        text = path.read_text(encoding="utf-8")
        raw = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise SpecError(
            _("{path}: cannot parse the exam spec: {error}").format(path=path, error=exc)
        ) from None
    return ExamSpec.from_dict(raw, source=path)
