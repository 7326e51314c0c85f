"""Training a detector from a recipe: data, optimisation with checkpoints, threshold
calibration on clean scans, and the weights folder with its model card."""

from __future__ import annotations

import json
import logging
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import yaml

from scanlab.detect._card import ModelCard
from scanlab.detect._data import (
    PatchPool,
    as_display_export,
    as_single_energy,
    build_cached,
    check_disjoint,
    default_cache_dir,
    effective_spec,
)
from scanlab.detect._domain import domain_ranges
from scanlab.detect._postprocess import calibrate_threshold
from scanlab.detect._preprocess import N_INPUT_CHANNELS
from scanlab.detect._recipe import TrainConfig, load_recipe
from scanlab.detect._tiling import hottest_peaks, predict_tiled
from scanlab.errors import SpecError
from scanlab.i18n import _

if TYPE_CHECKING:
    from scanlab.detect._detector import Detector

__all__ = ["TrainResult", "calibrate", "recalibrate_domain", "train"]

log = logging.getLogger("scanlab.detect")
Progress = Callable[[str, int, int], None]


@dataclass
class TrainResult:
    """A trained detector, its card, the folder it was saved to and its training metrics."""

    detector: Detector
    card: ModelCard
    out_dir: Path
    metrics: dict[str, Any]


def train(
    config: TrainConfig | str | Path,
    *,
    out_dir: str | Path | None = None,
    cache_dir: str | Path | None = None,
    device: str | None = None,
    progress: Progress | None = None,
) -> TrainResult:
    """Train a detector from scratch by a recipe and save weights, card and recipe.

    Parameters
    ----------
    config : TrainConfig, or a recipe name or YAML path
        See :class:`TrainConfig`; ``scanlab/detect/recipes/`` holds the shipped recipes.
    out_dir : path, optional
        Where ``weights.pt``, ``card.json``, ``README.md`` and ``recipe.yaml`` go; default
        ``models/<name>`` of the repository, refused when that folder already holds a model
        (retraining never replaces the shipped weights unless told where to write).
    cache_dir : path, optional
        Simulated datasets and the resumable checkpoint; default :func:`default_cache_dir`.
    device : str, optional
        Torch device; default CUDA when present, else CPU.
    progress : callable, optional
        Called as ``progress(stage, done, total)``.

    Returns
    -------
    TrainResult
    """
    from scanlab.detect._weights import models_dir, require_torch, save_weights

    require_torch()
    import torch

    from scanlab.detect._detector import Detector
    from scanlab.detect.torch_model import CargoUNet

    if not isinstance(config, TrainConfig):
        config = load_recipe(config)
    config.check()
    started = time.perf_counter()
    out = Path(out_dir) if out_dir is not None else models_dir() / config.name
    if out_dir is None and (out / "card.json").exists():
        # Retraining by name must never replace a model in place (the shipped one above all).
        raise SpecError(
            _(
                "{out} already holds the model {name!r}; training without an output folder "
                "never overwrites it: pass out_dir (scanlab train --out FOLDER), naming that "
                "folder only to replace the model on purpose"
            ).format(out=out, name=config.name)
        )
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    threads = torch.get_num_threads()
    torch.set_num_threads(config.threads)
    dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    try:
        refs = {}
        for role, ref in (("concealed", config.concealed), ("normal", config.normal)):
            parts = config.data_parts(ref)
            for part, pitch in parts:
                label = role if len(parts) == 1 else f"{role}@{pitch:g}mm"
                refs[label] = effective_spec(part, pitch)
        refs["calibration"] = effective_spec(
            config.calibration, config.data_pitch(config.calibration)
        )
        check_disjoint(refs)
        items = {
            role: build_cached(spec, cache, progress=progress, role=f"data:{role}")
            for role, (spec, _) in refs.items()
        }
        training_roles = [role for role in refs if role != "calibration"]
        pool = PatchPool([i for role in training_roles for i in items[role]], config.pitch_mm)
        log.info("training data: %d scenes, %d objects", len(pool.scenes), len(pool.objects))

        torch.manual_seed(config.seed)
        model = CargoUNet(N_INPUT_CHANNELS, config.widths)
        start = _warm_start(model, config) if config.init_from else None
        model = model.to(dev)
        history = _optimise(model, pool, config, cache, dev, progress)

        card = ModelCard(
            name=config.name,
            description=config.description,
            architecture={
                "name": "CargoUNet",
                "in_channels": N_INPUT_CHANNELS,
                "widths": list(config.widths),
            },
            pitch_mm=config.pitch_mm,
            thresholds={"dual": 0.5, "single": 0.5, "display": 0.5},
            false_alarm_rate=config.false_alarm_rate,
            smoothing_px=config.smoothing_px,
            tile_px=config.tile_px,
            overlap_px=config.overlap_px,
        )
        detector = Detector(model.eval(), card, device=str(dev))
        card.calibration = calibrate(
            detector, items["calibration"], config.false_alarm_rate, progress=progress
        )
        card.calibration["data"] = _data_record("calibration", refs["calibration"])
        card.thresholds = dict(card.calibration.pop("thresholds"))
        card.calibration.pop("clean_scores")
        wall = time.perf_counter() - started
        card.training = {
            "recipe": config.to_dict(),
            "data": [_data_record(role, refs[role]) for role in training_roles],
            "seed": config.seed,
            "steps": config.epochs * config.steps_per_epoch,
            "wall_seconds": round(wall, 1),
            "device": f"{dev.type} ({config.threads} threads)" if dev.type == "cpu" else dev.type,
            "history": history,
            "final": history[-1] if history else {},
        }
        if start is not None:
            card.training["init_from"] = start
        card.created = datetime.now(UTC).isoformat(timespec="seconds")
        card.versions = _versions()
        save_weights(model, card, out)
        with open(out / "recipe.yaml", "w", encoding="utf-8") as fh:
            yaml.safe_dump(config.to_dict(), fh, sort_keys=False)
        log.info("saved %s in %.0f s", out, wall)
        return TrainResult(detector, card, out, {**card.training["final"], **card.calibration})
    finally:
        torch.set_num_threads(threads)


def _warm_start(model: Any, config: TrainConfig) -> dict[str, Any]:
    """Load ``config.init_from``'s weights into ``model``; what they were (for the card)."""
    from scanlab.detect._weights import _load, resolve_weights

    folder = resolve_weights(config.init_from)
    start, card = _load(folder)
    arch = card.architecture
    if arch["in_channels"] != N_INPUT_CHANNELS or list(arch["widths"]) != list(config.widths):
        raise SpecError(
            _(
                "recipe {name!r}: init_from {init_from!r} is a network of {inputs} inputs and "
                "widths {widths}, not the recipe's {recipe_inputs} and {recipe_widths}"
            ).format(
                name=config.name,
                init_from=config.init_from,
                inputs=arch["in_channels"],
                widths=arch["widths"],
                recipe_inputs=N_INPUT_CHANNELS,
                recipe_widths=config.widths,
            )
        )
    model.load_state_dict(start.state_dict())
    log.info("starting from the weights of %s (%s)", card.name, folder)
    return {"name": card.name, "weights_sha256": card.weights_sha256}


def _optimise(
    model: Any, pool: PatchPool, config: TrainConfig, cache: Path, dev: Any, progress: Any
) -> list[dict[str, Any]]:
    """AdamW with a one-cycle schedule; a checkpoint after each epoch, resumed if present."""
    import torch

    total = config.epochs * config.steps_per_epoch
    opt = torch.optim.AdamW(
        model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
    )
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=config.learning_rate, total_steps=total, pct_start=0.15
    )
    ckpt_path = cache / "checkpoints" / f"{config.name}-{_recipe_hash(config)}.pt"
    history: list[dict[str, Any]] = []
    first_epoch = 0
    if ckpt_path.is_file():
        state = torch.load(ckpt_path, map_location=dev, weights_only=True)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        first_epoch, history = int(state["epoch"]) + 1, list(state["history"])
        log.info("resumed from %s after epoch %d", ckpt_path, first_epoch)
    sampling: dict[str, Any] = {
        "positive_share": config.positive_share,
        "matched_negative_share": config.matched_negative_share,
        "hard_negative_share": config.hard_negative_share,
        "tip_share": config.tip_share,
        "display_share": config.display_share,
        "single_energy_share": config.single_energy_share,
        "sharpness_share": config.sharpness_share,
        "readout_share": config.readout_share,
        "display_family": tuple(config.display_family),
    }
    val_rng = np.random.default_rng([config.seed, 999_999])
    val = [pool.batch(val_rng, config.batch_size, config.patch_px, **sampling) for _ in range(3)]
    fast = config.precision == "bf16"
    if fast:
        model.to(memory_format=torch.channels_last)
    for epoch in range(first_epoch, config.epochs):
        model.train()
        rng = np.random.default_rng([config.seed, epoch])
        torch.manual_seed(config.seed * 1000 + epoch)
        losses = []
        t0 = time.perf_counter()
        if config.hard_negative_share > 0 and epoch > 0:
            pool.hard_negatives = _mine_hard_negatives(
                model, pool, rng, dev, n_scenes=config.mining_scenes, fast=fast
            )
        for step in range(config.steps_per_epoch):
            x, y = pool.batch(rng, config.batch_size, config.patch_px, **sampling)
            inputs = _to_device(x, dev, fast)
            with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=fast):
                logits = model(inputs)
            loss = _loss(logits.float(), torch.from_numpy(y).to(dev))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            losses.append(loss.item())
            if progress:
                progress("train", epoch * config.steps_per_epoch + step + 1, total)
        record = {
            "epoch": epoch,
            "train_loss": round(float(np.mean(losses)), 4),
            **_validate(model, val, dev),
            "seconds": round(time.perf_counter() - t0, 1),
        }
        history.append(record)
        log.info("epoch %s", json.dumps(record))
        ckpt_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = ckpt_path.with_suffix(".tmp")
        torch.save(
            {
                "model": model.state_dict(),
                "optimizer": opt.state_dict(),
                "scheduler": sched.state_dict(),
                "epoch": epoch,
                "history": history,
            },
            tmp,
        )
        tmp.replace(ckpt_path)
    model.eval()
    return history


def _to_device(x: np.ndarray, dev: Any, channels_last: bool) -> Any:
    import torch

    tensor = torch.from_numpy(x).to(dev)
    return tensor.contiguous(memory_format=torch.channels_last) if channels_last else tensor


def _mine_hard_negatives(
    model: Any,
    pool: PatchPool,
    rng: np.random.Generator,
    dev: Any,
    *,
    n_scenes: int = 24,
    per_scene: int = 4,
    fast: bool = False,
) -> list[tuple[int, int, int]]:
    """The hottest local maxima of the network's map on some clean training scenes."""
    import torch

    from scanlab.detect._preprocess import network_input

    clean = pool.clean_scenes()
    if not clean:
        return []
    picked = rng.choice(clean, size=min(n_scenes, len(clean)), replace=False)
    stride = model.stride

    def predict(x: np.ndarray) -> np.ndarray:
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=fast):
            logits = model(_to_device(x, dev, fast))[:, 0]
        return torch.sigmoid(logits.float()).cpu().numpy()

    found: list[tuple[float, int, int, int]] = []
    model.eval()
    with torch.inference_mode():
        for index in picked:
            att = pool.scenes[int(index)].attenuation.astype(np.float32)
            planes = network_input(att[0], att[1])
            # as inference sees a scan: tiles inside it, never padding (one tile if it fits)
            prob = predict_tiled(predict, planes, tile_px=2048, align=stride, batch_size=1)
            found += [(v, int(index), r, c) for v, r, c in hottest_peaks(prob, per_scene)]
    model.train()
    log.info(
        "hard negatives: %d spots, top scores %s",
        len(found),
        [round(s, 3) for s, *_ in sorted(found, reverse=True)[:5]],
    )
    return [(i, r, c) for _, i, r, c in found]


def _loss(logits: Any, target: Any) -> Any:
    """Pixel BCE, batch soft Dice (finds small objects) and BCE of each patch's highest
    logit against "holds an object" (the image score is the map's maximum, so the hottest
    pixel of clean cargo is what the calibrated threshold must clear)."""
    import torch
    import torch.nn.functional as F

    bce = F.binary_cross_entropy_with_logits(logits, target)
    prob = torch.sigmoid(logits)
    dice = 1 - (2 * (prob * target).sum() + 1) / (prob.sum() + target.sum() + 1)
    peak = logits.amax(dim=(1, 2, 3))
    image = F.binary_cross_entropy_with_logits(peak, target.amax(dim=(1, 2, 3)))
    return bce + dice + image


def _validate(model: Any, batches: list[tuple[np.ndarray, np.ndarray]], dev: Any) -> dict[str, Any]:
    import torch

    model.eval()
    losses, inter, total = [], 0.0, 0.0
    with torch.inference_mode():
        for x, y in batches:
            logits = model(torch.from_numpy(x).to(dev))
            target = torch.from_numpy(y).to(dev)
            losses.append(float(_loss(logits, target)))
            pred = (logits > 0).float()
            inter += float((pred * target).sum())
            total += float(pred.sum() + target.sum())
    model.train()
    return {"val_loss": round(float(np.mean(losses)), 4), "val_dice": round(2 * inter / total, 4)}


def calibrate(
    detector: Detector,
    items: list[dict[str, Any]],
    false_alarm_rate: float,
    *,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Thresholds per input mode from the scores of clean scans (dual, single-energy and
    display renderings of each), each letting ``false_alarm_rate`` of them through.

    Returns the thresholds, the scores' quantiles (0.5, 0.9, 0.99, 1), the domain check's
    ranges and the scores themselves (``clean_scores``: per mode, the clean items' in their
    order, to count what another threshold would flag; a card keeps only the quantiles).
    """
    from scanlab.io import read_scan

    scores: dict[str, list[float]] = {"dual": [], "single": [], "display": []}
    stats: dict[str, list[dict[str, float]]] = {m: [] for m in scores}
    for i, item in enumerate(items):
        if not item.get("clean", True):
            continue
        for mode, variant in _calibration_variants(read_scan(item["scan_path"])).items():
            amap, _, _, record = detector._run(variant, None)
            scores[mode].append(float(amap.max()))
            stats[mode].append(record)
        if progress:
            progress("calibrate", i + 1, len(items))
    thresholds = {m: calibrate_threshold(s, false_alarm_rate) for m, s in scores.items()}
    return {
        "thresholds": thresholds,
        "n_clean_scans": len(scores["dual"]),
        "clean_score_quantiles": {
            m: [round(float(q), 5) for q in np.quantile(s, [0.5, 0.9, 0.99, 1.0])]
            for m, s in scores.items()
        },
        "domain": {m: domain_ranges(r) for m, r in stats.items()},
        "clean_scores": scores,
    }


def _calibration_variants(scan: Any) -> dict[str, Any]:
    """A clean calibration scan as each input mode reads it: as recorded, its high-energy
    channel alone, and scanlab's display export without metadata."""
    return {"dual": scan, "single": as_single_energy(scan), "display": as_display_export(scan)}


def recalibrate_domain(
    card: ModelCard,
    items: list[dict[str, Any]],
    *,
    data: dict[str, Any] | None = None,
    progress: Progress | None = None,
) -> ModelCard:
    """``card`` with the image-statistic ranges of its domain check measured anew on the
    clean scans among ``items`` (read as :func:`calibrate` reads them).

    The network is not run: those statistics are of its input (at the card's pitch), so
    the thresholds and the ranges of the map (hot share, regions) are kept. For a model
    calibrated before a statistic existed or before its ranges were drawn as now; ``data``
    (what the scans are) is recorded as ``calibration["domain_data"]``.
    """
    import copy

    from scanlab.detect._domain import IMAGE_STATISTICS, input_statistics
    from scanlab.detect._preprocess import scan_to_input
    from scanlab.io import read_scan

    stats: dict[str, list[dict[str, float]]] = {"dual": [], "single": [], "display": []}
    clean = [item for item in items if item.get("clean", True)]
    for i, item in enumerate(clean):
        for mode, variant in _calibration_variants(read_scan(item["scan_path"])).items():
            planes, _ = scan_to_input(variant, model_pitch_mm=card.pitch_mm)
            stats[mode].append(input_statistics(planes))
        if progress:
            progress("domain", i + 1, len(clean))
    new = copy.deepcopy(card)
    domain = new.calibration.setdefault("domain", {})
    for mode, records in stats.items():
        ranges = {k: v for k, v in domain.get(mode, {}).items() if k not in IMAGE_STATISTICS}
        domain[mode] = {**domain_ranges(records), **ranges}
    new.calibration["domain_data"] = {**(data or {}), "n_clean_scans": len(clean)}
    return new


def _data_record(role: str, ref: tuple[Any, str]) -> dict[str, Any]:
    from scanlab.synth import simulator_version

    spec, base = ref
    return {
        "role": role,
        "spec": spec.name,
        "spec_fingerprint": base,
        "fingerprint": spec.fingerprint(),
        "simulator_version": simulator_version(),
        "count": spec.count,
        "seeds": [spec.seed, spec.seed + spec.count - 1],
        "pitch_mm": spec.pitch_mm,
    }


def _recipe_hash(config: TrainConfig) -> str:
    """The checkpoint's key: the recipe and the simulator its data come from (a run resumed
    after the simulator changed would mix scenes of two simulators)."""
    import hashlib

    from scanlab.synth import simulator_version

    text = json.dumps(config.to_dict(), sort_keys=True) + simulator_version()
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _versions() -> dict[str, str]:
    import torch

    import scanlab

    return {
        "scanlab": scanlab.__version__,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
    }
