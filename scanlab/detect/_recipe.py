"""Training recipes: the YAML that says how a detector's weights were made (data specs,
seed, pitch, model size, steps, augmentation, calibration). Checked field by field."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scanlab._specfiles import read_spec_file, shipped_names
from scanlab.errors import SpecError
from scanlab.i18n import _

__all__ = ["DataRef", "TrainConfig", "load_recipe", "recipe_names"]

RECIPE_DIR = Path(__file__).parent / "recipes"


@dataclass
class DataRef:
    """Part of a dataset spec: ``count`` scenes starting at item ``start``, at ``pitch_mm``
    (default: the recipe's pitch). Item ``i`` of the spec has seed ``spec.seed + i``."""

    spec: str
    count: int
    start: int = 0
    pitch_mm: float | None = None


@dataclass
class TrainConfig:
    """A training recipe. Every field has a default except ``name``.

    Attributes
    ----------
    name : str
        Weights name written into the card.
    seed : int
        Seeds network initialisation, patch sampling and augmentation.
    pitch_mm : float
        Pitch the network works at. Training scans are simulated at their own pitch (by
        default this one) and resampled to it, as scans are at inference.
    concealed, normal : DataRef
        Training scenes with concealments (masks from the answer keys) and clean ones.
    calibration : DataRef
        Clean scans, disjoint from training, on which the thresholds are calibrated.
    widths : list of int
        U-Net channels per level.
    epochs, steps_per_epoch, batch_size, patch_px : int
        Optimisation length and patch size (pixels at ``pitch_mm``); a checkpoint is
        written after every epoch and training resumes from it.
    learning_rate, weight_decay : float
        AdamW with a one-cycle schedule.
    positive_share : float
        Share of patches centred on a concealment.
    matched_negative_share : float
        Share of patches cut from a clean scan of the same vehicle type at the place of a
        concealment: the same tyre, roof or chassis without anything hidden, so that the
        network learns the anomaly rather than where concealments usually are.
    hard_negative_share : float
        Share of patches centred on the hottest spots of clean scans under the network
        itself, mined again before every epoch (online hard-negative mining): the image
        score is the map's maximum, so these spots set the false-alarm rate.
    tip_share : float
        Share of patches given a threat by threat image projection (TIP).
    display_share, single_energy_share : float
        Share of patches shown as a display export (random display curve, JPEG) or with the
        low-energy channel removed.
    sharpness_share : float
        Share of patches blurred or sharpened by a random amount: scanners differ in pitch
        and spot size, and a scan taken at the model's pitch is sharper than one resampled
        to it.
    false_alarm_rate : float
        Share of clean calibration scans each threshold may flag.
    tile_px, overlap_px, smoothing_px : int
        Inference tiling and the box smoothing of the map (pixels at ``pitch_mm``).
    threads : int
        CPU threads for torch.
    precision : str
        ``"bf16"`` trains under bfloat16 autocast with channels-last tensors (about three
        times faster on CPUs with AVX-512 BF16, and on recent GPUs); ``"fp32"`` does not.
        Inference is always float32.
    mining_scenes : int
        Clean training scenes searched for hard negatives before each epoch.
    readout_share : float
        Share of patches given another detector read-out (gain, offset, extra noise).
    display_family : list of str
        Vendor pipelines (:data:`scanlab.synth.VENDOR_PIPELINES`) display patches are
        exported through, drawn around one of them each time; empty: scanlab's own curve
        with a little variation (v1).
    pitch_range_mm : list of float
        ``[low, high]``: the concealed and normal scenes are simulated in four equal parts
        at pitches spread over this range (then resampled to ``pitch_mm``, as scans are);
        empty: at their data pitch.
    init_from : str
        A model (shipped name or folder) whose weights training starts from (a warm start:
        its architecture must be this recipe's); empty: from scratch.
    """

    name: str
    description: str = ""
    seed: int = 0
    pitch_mm: float = 10.0
    concealed: DataRef = field(default_factory=lambda: DataRef("train-concealed", 300))
    normal: DataRef = field(default_factory=lambda: DataRef("train-normal", 200))
    calibration: DataRef = field(
        default_factory=lambda: DataRef("train-normal", 100, start=300, pitch_mm=5.0)
    )
    widths: list[int] = field(default_factory=lambda: [16, 32, 64, 96])
    epochs: int = 10
    steps_per_epoch: int = 150
    batch_size: int = 16
    patch_px: int = 128
    learning_rate: float = 2e-3
    weight_decay: float = 1e-4
    positive_share: float = 0.45
    matched_negative_share: float = 0.3
    hard_negative_share: float = 0.0
    tip_share: float = 0.3
    display_share: float = 0.25
    single_energy_share: float = 0.2
    sharpness_share: float = 0.0
    false_alarm_rate: float = 0.01
    tile_px: int = 512
    overlap_px: int = 96
    smoothing_px: int = 3
    threads: int = 2
    precision: str = "fp32"
    mining_scenes: int = 24
    readout_share: float = 0.0
    display_family: list[str] = field(default_factory=list)
    pitch_range_mm: list[float] = field(default_factory=list)
    init_from: str = ""

    @classmethod
    def from_dict(cls, raw: Any, *, source: str | Path = "<recipe>") -> TrainConfig:
        if not isinstance(raw, dict):
            raise SpecError(
                _("{source}: a training recipe must be a mapping").format(source=source)
            )
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(raw) - known
        if unknown:
            raise SpecError(
                _("{source}: unknown field(s) {unknown}; known: {known}").format(
                    source=source, unknown=sorted(unknown), known=sorted(known)
                )
            )
        if "name" not in raw:
            raise SpecError(_("{source}: field 'name' is required").format(source=source))
        values = dict(raw)
        for key in ("concealed", "normal", "calibration"):
            if key in values:
                values[key] = _data_ref(values[key], key, source)
        config = cls(**values)
        config.check(source=source)
        return config

    def check(self, *, source: str | Path = "<recipe>") -> None:
        def fail(name: str, why: str) -> SpecError:
            return SpecError(
                _("{source}: field {field!r} {problem}").format(
                    source=source, field=name, problem=why
                )
            )

        if not isinstance(self.name, str) or not self.name or "/" in self.name:
            raise fail("name", _("must be a non-empty name without '/'"))
        ints = ("seed", "epochs", "steps_per_epoch", "batch_size", "patch_px", "tile_px")
        for key in (*ints, "overlap_px", "smoothing_px", "threads", "mining_scenes"):
            value = getattr(self, key)
            low = 0 if key in ("seed", "overlap_px") else 1
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise fail(
                    key,
                    _("must be an integer >= {low}, got {value!r}").format(low=low, value=value),
                )
        stride = 2 ** (len(self.widths) - 1) if isinstance(self.widths, list) else 1
        if (
            not isinstance(self.widths, list)
            or len(self.widths) < 2
            or not all(type(w) is int and w > 0 for w in self.widths)
        ):
            raise fail(
                "widths",
                _("must list at least 2 positive integers, got {widths!r}").format(
                    widths=self.widths
                ),
            )
        if self.patch_px % stride:
            raise fail(
                "patch_px",
                _("must be a multiple of {stride} (2 ** (levels - 1))").format(stride=stride),
            )
        if self.precision not in ("fp32", "bf16"):
            raise fail(
                "precision",
                _("must be 'fp32' or 'bf16', got {precision!r}").format(precision=self.precision),
            )
        if self.tile_px < 2 * self.overlap_px:
            raise fail("tile_px", _("must be at least twice overlap_px"))
        if not isinstance(self.pitch_mm, int | float) or not 1.0 <= self.pitch_mm <= 50.0:
            raise fail(
                "pitch_mm",
                _("must be between 1 and 50 mm, got {pitch_mm!r}").format(pitch_mm=self.pitch_mm),
            )
        for key in ("learning_rate", "weight_decay"):
            value = getattr(self, key)
            if not isinstance(value, int | float) or value < 0:
                raise fail(key, _("must be a number >= 0, got {value!r}").format(value=value))
        shares = (
            "positive_share",
            "matched_negative_share",
            "hard_negative_share",
            "tip_share",
            "display_share",
            "single_energy_share",
            "sharpness_share",
            "readout_share",
        )
        for key in shares:
            value = getattr(self, key)
            if not isinstance(value, int | float) or not 0 <= value <= 1:
                raise fail(key, _("must be in [0, 1], got {value!r}").format(value=value))
        if self.positive_share + self.matched_negative_share + self.hard_negative_share > 1:
            raise fail(
                "positive_share", _("plus matched_ and hard_negative_share must not exceed 1")
            )
        if self.display_share + self.single_energy_share > 1:
            raise fail("display_share", _("plus single_energy_share must not exceed 1"))
        from scanlab.synth import VENDOR_PIPELINES

        family = self.display_family
        if not isinstance(family, list) or not all(name in VENDOR_PIPELINES for name in family):
            raise fail(
                "display_family",
                _("must list pipelines of {VENDOR_PIPELINES}").format(
                    VENDOR_PIPELINES=sorted(VENDOR_PIPELINES)
                ),
            )
        band = self.pitch_range_mm
        if band and not (
            isinstance(band, list)
            and len(band) == 2
            and all(isinstance(v, int | float) for v in band)
            and 1 <= band[0] <= band[1] <= 50
        ):
            raise fail(
                "pitch_range_mm",
                _("must be [low, high] mm within 1-50, got {band!r}").format(band=band),
            )
        if not isinstance(self.init_from, str):
            raise fail(
                "init_from",
                _("must be a model name or folder, got {init_from!r}").format(
                    init_from=self.init_from
                ),
            )
        if not isinstance(self.false_alarm_rate, int | float) or not 0 < self.false_alarm_rate < 1:
            raise fail(
                "false_alarm_rate",
                _("must be in (0, 1), got {false_alarm_rate!r}").format(
                    false_alarm_rate=self.false_alarm_rate
                ),
            )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def data_pitch(self, ref: DataRef) -> float:
        return float(ref.pitch_mm if ref.pitch_mm is not None else self.pitch_mm)

    def data_parts(self, ref: DataRef) -> list[tuple[DataRef, float]]:
        """``ref`` as simulated: whole at its pitch, or with ``pitch_range_mm`` in four
        consecutive parts at pitches spread evenly over the range.

        Examples
        --------
        >>> config = TrainConfig("x", pitch_range_mm=[4.0, 10.0])
        >>> [(r.start, r.count, p) for r, p in config.data_parts(DataRef("s", 10))]
        [(0, 3, 4.0), (3, 3, 6.0), (6, 2, 8.0), (8, 2, 10.0)]
        """
        if not self.pitch_range_mm:
            return [(ref, self.data_pitch(ref))]
        low, high = (float(v) for v in self.pitch_range_mm)
        parts, start = [], ref.start
        for k in range(4):
            count = ref.count // 4 + (k < ref.count % 4)
            if count:
                pitch = round(low + (high - low) * k / 3, 3)
                parts.append((DataRef(ref.spec, count, start, pitch), pitch))
            start += count
        return parts


def _data_ref(raw: Any, key: str, source: str | Path) -> DataRef:
    if not isinstance(raw, dict):
        raise SpecError(
            _("{source}: field {key!r} must be a mapping (spec, count, start, pitch_mm)").format(
                source=source, key=key
            )
        )
    unknown = set(raw) - {"spec", "count", "start", "pitch_mm"}
    if unknown:
        raise SpecError(
            _("{source}: field {key!r} has unknown key(s) {unknown}").format(
                source=source, key=key, unknown=sorted(unknown)
            )
        )
    spec, count, start = raw.get("spec"), raw.get("count"), raw.get("start", 0)
    count = count if isinstance(count, int) else -1
    if not isinstance(spec, str) or not spec:
        raise SpecError(
            _("{source}: field {key!r} needs 'spec', a dataset spec name or path").format(
                source=source, key=key
            )
        )
    for name, value in (("count", count), ("start", start)):
        low = 1 if name == "count" else 0
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise SpecError(
                _("{source}: field '{key}.{name}' must be an integer >= {low}").format(
                    source=source, key=key, name=name, low=low
                )
            )
    pitch = raw.get("pitch_mm")
    if pitch is not None and (not isinstance(pitch, int | float) or not 1 <= pitch <= 50):
        raise SpecError(
            _("{source}: field '{key}.pitch_mm' must be between 1 and 50 mm").format(
                source=source, key=key
            )
        )
    return DataRef(spec, int(count), int(start), None if pitch is None else float(pitch))


def recipe_names() -> tuple[str, ...]:
    """Names of the recipes that ship with scanlab."""
    return shipped_names(RECIPE_DIR)


def load_recipe(name_or_path: str | Path) -> TrainConfig:
    """A shipped recipe by name, or a YAML/JSON recipe file by path."""
    raw, path = read_spec_file(name_or_path, RECIPE_DIR, _("recipe"))
    return TrainConfig.from_dict(raw, source=path)
