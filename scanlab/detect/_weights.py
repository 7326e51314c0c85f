"""Named, versioned weights: where they live, how they load (with clear errors) and save."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from scanlab._specfiles import file_sha256
from scanlab.detect._card import ModelCard, WeightsError
from scanlab.errors import MissingDependencyError
from scanlab.i18n import _

_SHA256 = re.compile(r"[0-9a-f]{64}")

if TYPE_CHECKING:
    from scanlab.detect._detector import Detector
    from scanlab.detect.torch_model import CargoUNet

__all__ = [
    "DetectorWeights",
    "cargo_unet",
    "load_detector",
    "models_dir",
    "record_metrics",
    "require_torch",
    "resolve_weights",
    "save_weights",
    "weights_fingerprint",
    "weights_path",
]


def require_torch() -> None:
    """MissingDependencyError, saying how to install it, unless torch can be imported."""
    try:
        import torch  # noqa: F401
    except ImportError:
        raise MissingDependencyError(
            _(
                "scanlab.detect needs torch, which is not installed: pip install "
                "'scanlab[torch]' (or torch==2.14.1 and torchvision==0.29.1)"
            )
        ) from None


def models_dir() -> Path:
    """Where named weights live: ``scanlab/models/`` in an installed wheel (setup.py maps the
    repository's ``models/`` there), else the repository's ``models/`` folder (a source
    checkout or an editable install)."""
    import scanlab

    package = Path(scanlab.__file__).resolve().parent
    installed = package / "models"
    return installed if installed.is_dir() else package.parent / "models"


class DetectorWeights(StrEnum):
    """Weights that ship with scanlab (torchvision style: ``weights=DetectorWeights.DEFAULT``)."""

    CARGO_ANOMALY_V1 = "cargo-anomaly-v1"
    """U-Net trained on simulated concealments and TIP at one pitch and scanlab's own display
    curve; superseded (it alarms on the rebuilt vehicles and on real exports), kept loadable."""
    CARGO_ANOMALY_V2 = "cargo-anomaly-v2"
    """v1's U-Net trained on the realistic scenes with the display pipeline, the pitch (4-10 mm)
    and the detector read-out randomised; dual, single-energy and display input."""
    DEFAULT = "cargo-anomaly-v2"

    @property
    def path(self) -> Path:
        return models_dir() / self.value

    def card(self) -> ModelCard:
        return ModelCard.load(self.path / "card.json")


def resolve_weights(weights: DetectorWeights | str | Path) -> Path:
    """The folder holding ``card.json`` for a weights name, a folder, or a file in one."""
    if isinstance(weights, str) and (models_dir() / weights / "card.json").is_file():
        return models_dir() / weights
    path = Path(weights)
    if not path.exists():
        found = sorted(p.parent.name for p in models_dir().glob("*/card.json"))
        raise WeightsError(
            _(
                "no model named {weights!r} in {models_dir} and no such folder; available: {value}"
            ).format(weights=str(weights), models_dir=models_dir(), value=found or "none")
        )
    if path.is_file():
        path = path.parent
    if not (path / "card.json").is_file():
        raise WeightsError(_("{path}: not a model folder (no card.json)").format(path=path))
    return path


def cargo_unet(
    *,
    weights: DetectorWeights | str | Path | None = None,
    in_channels: int = 4,
    widths: Sequence[int] = (16, 32, 64, 96),
) -> CargoUNet:
    """Build a :class:`~scanlab.detect.torch_model.CargoUNet`, untrained or with ``weights``.

    With weights the architecture comes from their card (``in_channels`` and ``widths`` are
    ignored). Raises :class:`WeightsError` for a missing, truncated or corrupt weights file,
    or one whose tensors do not fit the network.
    """
    require_torch()
    from scanlab.detect.torch_model import CargoUNet

    if weights is None:
        return CargoUNet(in_channels, widths)
    model, _ = _load(resolve_weights(weights))
    return model


def load_detector(
    weights: DetectorWeights | str | Path = DetectorWeights.DEFAULT,
    *,
    device: str | None = None,
    batch_size: int = 4,
    scan_pitch_mm: float | tuple[float, float] | None = None,
) -> Detector:
    """A ready :class:`~scanlab.detect.Detector` from named weights or a model folder.

    ``scan_pitch_mm`` is the pitch of the scans it will read, overriding their metadata
    (``--pitch`` of the commands); see :class:`~scanlab.detect.Detector`.

    Examples
    --------
    >>> detector = load_detector("cargo-anomaly-v2")     # doctest: +SKIP
    >>> detector(read_scan("truck.tif")).regions          # doctest: +SKIP
    """
    require_torch()
    from scanlab.detect._detector import Detector

    model, card = _load(resolve_weights(weights))
    return Detector(model, card, device=device, batch_size=batch_size, scan_pitch_mm=scan_pitch_mm)


def _load(folder: Path) -> tuple[CargoUNet, ModelCard]:
    import torch

    from scanlab.detect.torch_model import CargoUNet

    card = ModelCard.load(folder / "card.json")
    path = weights_path(folder, card)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises many kinds (OSError, RuntimeError, UnpicklingError...)
        raise WeightsError(
            _(
                "{path}: not a plain torch state dict of tensors ({torch_reason}); scanlab loads "
                "weights in torch's safe mode only and never runs code from a weights file. Get "
                "the weights from their source again, or save them with "
                "scanlab.detect.save_weights."
            ).format(path=path, torch_reason=_torch_reason(e))
        ) from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise WeightsError(
            _("{path}: expected a state dict of tensors, got {type}").format(
                path=path, type=type(state).__name__
            )
        )
    arch = card.architecture
    model = CargoUNet(arch["in_channels"], arch["widths"])
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong = sorted(k for k in set(expected) & set(state) if expected[k].shape != state[k].shape)
    if missing or unexpected or wrong:
        raise WeightsError(
            _(
                "{path}: weights do not fit {arch}: missing {missing}, unexpected {unexpected}, "
                "wrong shape {wrong} ({count}, {count2}, {count3} in all)"
            ).format(
                path=path,
                arch=arch,
                missing=missing[:3],
                unexpected=unexpected[:3],
                wrong=wrong[:3],
                count=len(missing),
                count2=len(unexpected),
                count3=len(wrong),
            )
        )
    model.load_state_dict(state)
    return model.eval(), card


def weights_path(folder: Path, card: ModelCard) -> Path:
    """The card's weights file, checked: inside ``folder`` and matching the card's sha256.

    Raises
    ------
    WeightsError
        For a card without a sha256 (nothing would tell changed weights from the trained
        ones), a ``weights_file`` outside the model folder (absolute, ``../``, or a link out),
        a missing file or one whose sha256 differs.
    """
    card_file = folder / "card.json"
    if not _SHA256.fullmatch(card.weights_sha256 or ""):
        raise WeightsError(
            _(
                "{card_file}: field 'weights_sha256' must be the 64-hex-digit sha256 of the "
                "weights file, got {weights_sha256!r}; scanlab loads no weights it cannot verify"
            ).format(card_file=card_file, weights_sha256=card.weights_sha256)
        )
    root = folder.resolve()
    path = (folder / card.weights_file).resolve()
    if Path(card.weights_file).is_absolute() or not path.is_relative_to(root):
        raise WeightsError(
            _(
                "{card_file}: weights_file {weights_file!r} lies outside the model folder "
                "{folder}; weights must come from inside it"
            ).format(card_file=card_file, weights_file=card.weights_file, folder=folder)
        )
    if not path.is_file():
        raise WeightsError(
            _("{path}: weights file missing (named in {card_file})").format(
                path=path, card_file=card_file
            )
        )
    if file_sha256(path) != card.weights_sha256:
        raise WeightsError(
            _(
                "{path}: weights file is corrupt, truncated or changed (its sha256 differs from "
                "the card's)"
            ).format(path=path)
        )
    return path


def weights_fingerprint(weights: DetectorWeights | str | Path) -> str:
    """sha256 of a model's card and weights together: changes whenever either does (a
    retrained model, new thresholds), whatever the folder is called."""
    folder = resolve_weights(weights)
    card = ModelCard.load(folder / "card.json")
    weights_path(folder, card)  # the card's sha256 is the file's
    # Everything that decides a detection; not the metrics recorded after evaluation.
    facts = {k: v for k, v in card.to_dict().items() if k not in ("metrics", "description")}
    return hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()


def _torch_reason(exc: Exception) -> str:
    """torch's own reason for refusing a file, without its advice to load it unsafely
    (``weights_only=False``) or to allow-list what the file asks for."""
    text = str(exc)
    for pattern in (
        r"WeightsUnpickler error:\s*(.+?)(?:\.\s|\n\n|$)",
        r"(Trying to load unsupported GLOBAL [^\n]+?)(?:\.\s|\n|$)",
    ):
        found = re.search(pattern, text, re.DOTALL)
        if found and found.group(1).strip():
            return " ".join(found.group(1).split())[:300]
    first = text.strip().split("\n", 1)[0]
    if first and "weights_only" not in first and "safe_globals" not in first:
        return first[:300]
    return type(exc).__name__


def save_weights(model: CargoUNet, card: ModelCard, out_dir: str | Path) -> Path:
    """Write ``weights.pt`` (a plain state dict), ``card.json`` (with the weights' sha256) and
    ``README.md`` into ``out_dir``; return the folder."""
    import torch

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / card.weights_file
    tmp = path.with_suffix(".tmp")
    torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, tmp)
    tmp.replace(path)
    card.weights_sha256 = file_sha256(path)
    card.save(out / "card.json")
    (out / "README.md").write_text(card.to_markdown(), encoding="utf-8")
    return out


def record_metrics(weights: DetectorWeights | str | Path, metrics: dict[str, object]) -> Path:
    """Store evaluation metrics in a model's card (and its README); the weights are untouched."""
    folder = resolve_weights(weights)
    card = ModelCard.load(folder / "card.json")
    card.metrics = dict(metrics)
    card.save(folder / "card.json")
    (folder / "README.md").write_text(card.to_markdown(), encoding="utf-8")
    return folder
