"""The model card: what a weights file is (architecture, pitch, thresholds) and where it came
from (recipe, data specs with their hashes, seed, metrics). JSON beside the weights."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from scanlab.detect._preprocess import INPUT_MODES
from scanlab.errors import ScanlabError
from scanlab.i18n import _

__all__ = ["ModelCard", "WeightsError"]


class WeightsError(ScanlabError):
    """A model's weights or card are missing, unreadable, corrupt or do not fit the network."""


@dataclass
class ModelCard:
    """Facts about one trained detector, stored as ``card.json`` beside ``weights.pt``.

    Attributes
    ----------
    name : str
        Weights name, for example ``"cargo-anomaly-v1"``.
    architecture : dict
        ``{"name": "CargoUNet", "in_channels": 4, "widths": [...]}``.
    pitch_mm : float
        The pitch the network works at; scans are resampled to it.
    thresholds : dict of str to float
        Calibrated decision threshold per input mode (dual, single, display).
    false_alarm_rate : float
        The share of clean calibration scans each threshold lets through.
    limitations : list of str
        What the model is known not to do (measured), for the people who use it.
    """

    name: str
    architecture: dict[str, Any]
    pitch_mm: float
    thresholds: dict[str, float]
    false_alarm_rate: float = 0.01
    smoothing_px: int = 3
    tile_px: int = 512
    overlap_px: int = 96
    description: str = ""
    weights_file: str = "weights.pt"
    weights_sha256: str = ""
    calibration: dict[str, Any] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    created: str = ""
    versions: dict[str, str] = field(default_factory=dict)
    limitations: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"scanlab_model_card": 1, **dataclasses.asdict(self)}

    @classmethod
    def from_dict(cls, raw: Any, *, source: str | Path = "<model card>") -> ModelCard:
        if not isinstance(raw, dict) or raw.get("scanlab_model_card") != 1:
            raise WeightsError(_("{source}: not a scanlab model card").format(source=source))
        known = {f.name for f in dataclasses.fields(cls)}
        fields = {k: v for k, v in raw.items() if k in known}
        try:
            card = cls(**fields)
        except TypeError as exc:
            raise WeightsError(
                _("{source}: model card misses a field: {exc}").format(source=source, exc=exc)
            ) from None
        arch = card.architecture
        if not (
            isinstance(arch, dict)
            and isinstance(arch.get("in_channels"), int)
            and isinstance(arch.get("widths"), list)
            and all(isinstance(w, int) and w > 0 for w in arch["widths"])
        ):
            raise WeightsError(
                _(
                    "{source}: field 'architecture' needs int 'in_channels' and a list of "
                    "positive int 'widths', got {arch!r}"
                ).format(source=source, arch=arch)
            )
        if not isinstance(card.pitch_mm, int | float) or not 0 < card.pitch_mm < 1000:
            raise WeightsError(
                _("{source}: field 'pitch_mm' must be positive, got {pitch_mm}").format(
                    source=source, pitch_mm=card.pitch_mm
                )
            )
        bad = {m: t for m, t in card.thresholds.items() if m not in INPUT_MODES} or {
            m: t for m, t in card.thresholds.items() if not isinstance(t, int | float)
        }
        if not card.thresholds or bad:
            raise WeightsError(
                _(
                    "{source}: field 'thresholds' must map input modes {INPUT_MODES} to numbers, "
                    "got {thresholds!r}"
                ).format(source=source, INPUT_MODES=INPUT_MODES, thresholds=card.thresholds)
            )
        return card

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(json.dumps(self.to_dict(), indent=1) + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | Path) -> ModelCard:
        path = Path(path)
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise WeightsError(_("{path}: no model card here").format(path=path)) from None
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise WeightsError(
                _("{path}: model card is not readable JSON: {exc}").format(path=path, exc=exc)
            ) from None
        return cls.from_dict(raw, source=path)

    def to_markdown(self) -> str:
        """A human-readable model card (``README.md`` beside the weights)."""
        lines = [f"# {self.name}", "", self.description, ""]
        if self.limitations:
            lines += ["## Limitations", "", *(f"- {item}" for item in self.limitations), ""]
        arch = self.architecture
        lines += [
            "## Model",
            "",
            f"- architecture: {arch.get('name', 'CargoUNet')}, widths {arch.get('widths')}, "
            f"{arch.get('in_channels')} input planes (high attenuation, low-high difference, "
            "dual flag, display flag)",
            f"- works at {self.pitch_mm:g} mm pitch (scans are resampled to it and the map back)",
            f"- input modes: {', '.join(self.thresholds)}",
            f"- tiles {self.tile_px} px with {self.overlap_px} px overlap, cosine blending",
            f"- weights: `{self.weights_file}` (sha256 `{self.weights_sha256[:16]}...`)",
            "",
            "## Decision thresholds",
            "",
            f"Calibrated on clean scans at {self.false_alarm_rate:.0%} false alarms per scan:",
            "",
        ]
        for mode, t in self.thresholds.items():
            lines.append(f"- {mode}: {t:.6g}")
        cal = self.calibration
        if cal:
            lines += ["", f"Calibration data: {json.dumps(cal.get('data', {}))}"]
        if cal.get("domain"):
            lines += ["", "Accepted ranges of the domain check (outside them a scan is called "
                      "\"not calibrated for this scanner\"):", ""]  # fmt: skip
            for mode, ranges in cal["domain"].items():
                text = ", ".join(f"{k} {lo:g} to {hi:g}" for k, (lo, hi) in ranges.items())
                lines.append(f"- {mode}: {text or 'the map only'}")
            if cal.get("domain_data"):
                lines += ["", f"Image statistics measured on: {json.dumps(cal['domain_data'])}"]
        train = self.training
        if train:
            lines += ["", "## Training", ""]
            for item in train.get("data", []):
                lines.append(
                    f"- data `{item.get('spec')}` ({item.get('role')}): {item.get('count')} "
                    f"scans at {item.get('pitch_mm')} mm, seeds {item.get('seeds')}, "
                    f"spec sha256 `{item.get('spec_fingerprint', '')[:16]}...`, built "
                    f"spec sha256 `{item.get('fingerprint', '')[:16]}...`"
                    + (
                        f", simulator `{item['simulator_version'][:16]}...`"
                        if item.get("simulator_version")
                        else ""
                    )
                )
            for key in ("init_from", "seed", "steps", "wall_seconds", "device", "final"):
                if key in train:
                    lines.append(f"- {key}: {train[key]}")
            recipe = yaml.safe_dump(train.get("recipe", {}), sort_keys=False, width=100)
            lines += ["", "Recipe:", "", "```yaml", recipe.rstrip(), "```"]
        if self.metrics:
            lines += ["", "## Metrics", "", *_metrics_markdown(self.metrics)]
        lines += ["", f"Created {self.created}; versions {self.versions}.", ""]
        return "\n".join(lines)


_COLUMNS = (
    ("image_auroc", "image AUROC"),
    ("detection_rate_at_fpr", "det. @ 1 % FA"),
    ("pixel_auroc", "pixel AUROC"),
    ("aupro", "AUPRO (FPR 0.3)"),
    ("false_alarm_rate_at_threshold", "FA @ thr."),
    ("detection_rate_at_threshold", "det. @ thr."),
    ("object_recall_at_threshold", "objects @ thr."),
)


def _metrics_markdown(metrics: dict[str, Any]) -> list[str]:
    """Evaluation tables (one per input mode) for reports of :mod:`scanlab.detect._evaluate`;
    anything else as JSON."""
    lines: list[str] = []
    rest = {}
    for part, value in metrics.items():
        reports = value if isinstance(value, dict) else {}
        if not reports or not all(
            isinstance(r, dict) and "image_auroc" in r for r in reports.values()
        ):
            rest[part] = value
            continue
        first = next(iter(reports.values()))
        lines += [
            f"**{part}** ({first['n_scans']} held-out scans, {first['n_clean']} clean, "
            f"{first['n_objects']} objects)",
            "",
            "| method | " + " | ".join(label for _, label in _COLUMNS) + " |",
            "|---" * (len(_COLUMNS) + 1) + "|",
        ]
        for name, r in reports.items():
            cells = " | ".join(f"{r[key]:.3f}" for key, _ in _COLUMNS)
            lines.append(f"| {name} | {cells} |")
        for name, r in reports.items():
            for key in ("recall_by_class", "recall_by_level"):
                tally = ", ".join(f"{k} {v['hit']}/{v['of']}" for k, v in r.get(key, {}).items())
                lines.append(f"- {name}, recall by {key[10:]}: {tally}")
        lines.append("")
    if rest:
        lines += ["```json", json.dumps(rest, indent=1), "```"]
    return lines
