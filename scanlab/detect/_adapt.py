"""Site adaptation: fine-tune a trained detector on a site's own clean scans, unlabelled.

Threats of :data:`scanlab.synth.THREAT_LIBRARY` projected into patches of those scans (TIP,
in attenuation channel by channel for calibrated scans, through the display curve and back
to 8 bits for exports) give self-supervised training pairs; the rest of each batch is clean
site cargo, half of it the spots the network itself scores highest (hard negatives, mined
again as training goes). A held-out part of the scans, never trained on, calibrates the
threshold at the chosen false-alarm rate and gives the new card its figures.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from scanlab.detect._card import ModelCard, WeightsError
from scanlab.detect._domain import domain_ranges
from scanlab.detect._postprocess import calibrate_threshold, fit_threshold
from scanlab.detect._preprocess import network_input, scan_to_input
from scanlab.detect._tiling import hottest_peaks, predict_tiled
from scanlab.errors import SpecError
from scanlab.i18n import _
from scanlab.io import Representation, Scan

if TYPE_CHECKING:
    from scanlab.detect._detector import Detector

__all__ = ["AdaptConfig", "AdaptResult", "adapt"]

log = logging.getLogger("scanlab.detect")
Progress = Callable[[str, int, int], None]
THRESHOLD_METHOD = "fit_threshold: Gumbel fitted to the logits, never below the empirical"


@dataclass
class AdaptConfig:
    """How a detector is fine-tuned on a site's clean scans (recorded in the new card).

    Attributes
    ----------
    steps, batch_size, patch_px : int
        Optimisation length, patches per step and their side (pixels at the model's pitch).
    learning_rate : float
        AdamW, cosine decay from this to zero.
    tip_share : float
        Share of patches given a projected threat.
    hard_negative_share : float
        Share of patches centred on the clean spots the network scores highest.
    heldout_share : float
        Share of the scans held out to calibrate and measure (at least 2 scans).
    false_alarm_rate : float
        Share of the held-out clean scans the threshold may flag.
    mine_every : int
        Steps between two searches for hard negatives (on up to ``mining_scans`` scans).
    seed : int
        Seeds the split, sampling, projection and initial state.
    """

    steps: int = 1200
    batch_size: int = 16
    patch_px: int = 128
    learning_rate: float = 3e-4
    weight_decay: float = 1e-4
    tip_share: float = 0.5
    hard_negative_share: float = 0.3
    heldout_share: float = 0.2
    false_alarm_rate: float = 0.01
    mine_every: int = 200
    mining_scans: int = 16
    checkpoint_every: int = 100
    seed: int = 0
    threads: int = 2
    precision: str = "bf16"

    def check(self) -> None:
        for key in ("steps", "batch_size", "patch_px", "mine_every", "mining_scans"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise SpecError(
                    _("adapt: {key} must be an integer >= 1, got {value!r}").format(
                        key=key, value=value
                    )
                )
        for key in ("tip_share", "hard_negative_share", "heldout_share"):
            if not 0 <= getattr(self, key) <= 1:
                raise SpecError(
                    _("adapt: {key} must be in [0, 1], got {value!r}").format(
                        key=key, value=getattr(self, key)
                    )
                )
        if not 0 < self.false_alarm_rate < 1:
            raise SpecError(
                _("adapt: false_alarm_rate must be in (0, 1): {rate}").format(
                    rate=self.false_alarm_rate
                )
            )
        if self.precision not in ("bf16", "fp32"):
            raise SpecError(
                _("adapt: precision must be 'bf16' or 'fp32', got {precision!r}").format(
                    precision=self.precision
                )
            )


@dataclass
class AdaptResult:
    """The adapted detector, its card, the folder it was saved to and its held-out figures."""

    detector: Detector
    card: ModelCard
    out_dir: Path
    metrics: dict[str, Any]


@dataclass
class _SiteScan:
    planes: np.ndarray  # (channels, row, col) float16 attenuation at the model's pitch
    mode: str


def _check_out_dir(out: Path, base_folder: Path) -> None:
    from scanlab.detect._weights import DetectorWeights, models_dir

    shipped = {(models_dir() / w.value).resolve() for w in DetectorWeights}
    target = out.resolve()
    if target in shipped or target == base_folder.resolve():
        raise WeightsError(
            _(
                "{out}: refusing to write over a shipped model or the model being adapted; "
                "give another --out (for example models/<site>)"
            ).format(out=out)
        )


def adapt(
    clean: Sequence[str | Path],
    out_dir: str | Path,
    *,
    base: str | Path = "cargo-anomaly-v2",
    name: str | None = None,
    pitch_mm: float | tuple[float, float] | None = None,
    config: AdaptConfig | None = None,
    device: str | None = None,
    progress: Progress | None = None,
) -> AdaptResult:
    """Fine-tune ``base`` on a site's clean scans and save it, calibrated, in ``out_dir``.

    Parameters
    ----------
    clean : sequence of paths
        Clean scans of the site in any format :func:`scanlab.io.read_scan` reads (8-bit
        JPEG exports without metadata too); 50 to thousands. They must all be read the
        same way (all dual energy, all single or all display exports).
    out_dir : path
        Folder of the new model (weights, card, README); never a shipped model's folder.
        A checkpoint there (``adapt-checkpoint.pt``) lets an interrupted run resume.
    base : str or path
        The model to start from (a shipped name or a model folder).
    pitch_mm : float or (row, col), optional
        The scans' pitch when their files do not record it; without it each scan's pitch
        is measured on its ISO container (or 5 mm is assumed).
    config : AdaptConfig, optional
    progress : callable, optional
        ``progress(stage, done, total)`` for the stages read, train, calibrate, measure.

    Returns
    -------
    AdaptResult
    """
    from scanlab.detect._weights import cargo_unet, require_torch, resolve_weights, save_weights

    require_torch()
    import torch

    from scanlab.detect._detector import Detector

    config = config or AdaptConfig()
    config.check()
    started = time.perf_counter()
    base_folder = resolve_weights(base)
    out = Path(out_dir)
    _check_out_dir(out, base_folder)
    paths = [Path(p) for p in clean]
    if len(paths) < 3:
        raise SpecError(
            _("adapt: needs at least 3 clean scans (2 held out), got {n}").format(n=len(paths))
        )
    base_card = ModelCard.load(base_folder / "card.json")
    model = cargo_unet(weights=base_folder)
    threads = torch.get_num_threads()
    torch.set_num_threads(config.threads)
    dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    try:
        reader = Detector(model, base_card, device=str(dev), scan_pitch_mm=pitch_mm)
        rng = np.random.default_rng([config.seed, 0xADA])
        order = rng.permutation(len(paths))
        n_held = min(max(2, round(config.heldout_share * len(paths))), len(paths) - 1)
        held_paths = [paths[i] for i in sorted(order[:n_held])]
        train_paths = [paths[i] for i in sorted(order[n_held:])]
        data = _describe(paths, reader, progress)
        modes = set(data["modes"])
        if len(modes) != 1:
            raise SpecError(
                _(
                    "adapt: the scans are read in several ways {modes}; adapt on scans of one "
                    "kind (all exports, or all dual energy)"
                ).format(modes=dict(data["modes"]))
            )
        mode = modes.pop()
        site = [_site_scan(read, reader) for read in _read_all(train_paths)]
        model = model.to(dev)
        history = _finetune(model, site, config, out, dev, progress, base_card.pitch_mm)
        model.eval()

        card = copy.deepcopy(base_card)
        card.name = name or out.name
        card.description = (
            f"{base_card.name} adapted to a site on {len(train_paths)} of its clean scans "
            f"({mode} input) by projecting library threats into them; threshold calibrated "
            f"on {n_held} other clean scans of the site."
        )
        adapted = Detector(model, card, device=str(dev), scan_pitch_mm=pitch_mm)
        held_scans = list(_read_all(held_paths))
        figures = _measure(
            adapted,
            held_scans,
            config,
            progress,
            before=Detector(
                cargo_unet(weights=base_folder), base_card, device=str(dev), scan_pitch_mm=pitch_mm
            ),
        )
        card.thresholds = {mode: figures.pop("threshold")}
        card.false_alarm_rate = config.false_alarm_rate
        card.calibration = {
            "n_clean_scans": n_held,
            "clean_score_quantiles": {mode: figures.pop("clean_score_quantiles")},
            "domain": {mode: figures.pop("domain")},
            "data": {"role": "calibration (held-out site scans)", "count": n_held},
            "threshold_method": figures.pop("threshold_method"),
        }
        wall = time.perf_counter() - started
        card.training = {
            "adapted_from": {"name": base_card.name, "weights_sha256": base_card.weights_sha256},
            "recipe": {"kind": "site adaptation", **config.__dict__, "scan_pitch_mm": pitch_mm},
            "data": [{"role": "site clean scans", **data, "n_train": len(train_paths)}],
            "seed": config.seed,
            "steps": config.steps,
            "wall_seconds": round(wall, 1),
            "device": f"{dev.type} ({config.threads} threads)" if dev.type == "cpu" else dev.type,
            "history": history,
            "final": history[-1] if history else {},
        }
        card.metrics = {"site held-out clean scans": figures}
        card.created = datetime.now(UTC).isoformat(timespec="seconds")
        from scanlab.detect._train import _versions

        card.versions = _versions()
        save_weights(model, card, out)
        (out / "adapt-checkpoint.pt").unlink(missing_ok=True)
        log.info("adapted %s -> %s in %.0f s", base_card.name, out, wall)
        return AdaptResult(adapted, card, out, figures)
    finally:
        torch.set_num_threads(threads)


def _read_all(paths: Sequence[Path]) -> Any:
    from scanlab.io import read_scan

    for path in paths:
        yield read_scan(path)


def _describe(paths: Sequence[Path], reader: Detector, progress: Progress | None) -> dict[str, Any]:
    """Count, fingerprint (sha256 over the files' sha256), formats, modes and pitches."""
    from scanlab._specfiles import file_sha256
    from scanlab.detect._preprocess import input_mode
    from scanlab.io import detect_format, read_scan

    digests: list[str] = []
    formats: Counter[str] = Counter()
    modes: Counter[str] = Counter()
    sources: Counter[str] = Counter()
    pitches = []
    for i, path in enumerate(paths):
        scan = read_scan(path)  # raises a ScanlabError naming the file
        digests.append(file_sha256(path))
        formats[detect_format(path)] += 1
        modes[input_mode(scan)] += 1
        pitch = reader.resolve_pitch(scan)
        sources[pitch.source] += 1
        pitches.append(pitch.pitch_mm[0])
        if progress:
            progress("read", i + 1, len(paths))
    return {
        "count": len(paths),
        "fingerprint": hashlib.sha256("".join(sorted(digests)).encode()).hexdigest(),
        "formats": dict(formats),
        "modes": dict(modes),
        "pitch_mm": {
            "median": round(float(np.median(pitches)), 3),
            "range": [round(float(min(pitches)), 3), round(float(max(pitches)), 3)],
            "sources": dict(sources),
        },
    }


def _site_scan(scan: Scan, reader: Detector) -> _SiteScan:
    pitch = reader.resolve_pitch(scan)
    planes, mode = scan_to_input(scan, model_pitch_mm=reader.pitch_mm, pitch_mm=pitch.pitch_mm)
    att = (planes[0] + np.float32(0.5)) * np.float32(3.0)
    channels = [att]
    if mode == "dual":
        channels.append(att + planes[1] / np.float32(2.0))
    return _SiteScan(np.stack(channels).astype(np.float16), mode)


def _patch(
    site: list[_SiteScan],
    rng: np.random.Generator,
    p: int,
    spots: list[tuple[int, int, int]],
    config: AdaptConfig,
    pitch_mm: float,
) -> tuple[np.ndarray, np.ndarray]:
    """One training patch (network planes) and its truth mask."""
    from scanlab.detect._data import project_random_threat
    from scanlab.io import ScanMetadata
    from scanlab.synth import display_to_attenuation, render_display

    if spots and rng.random() < config.hard_negative_share:
        index, r, c = spots[int(rng.integers(len(spots)))]
        r, c = (
            r + int(rng.integers(-p // 4, p // 4 + 1)),
            c + int(rng.integers(-p // 4, p // 4 + 1)),
        )
    else:
        index = int(rng.integers(len(site)))
        rows, cols = site[index].planes.shape[1:]
        r, c = int(rng.integers(0, rows)), int(rng.integers(0, cols))
    item = site[index]
    rows, cols = item.planes.shape[1:]
    r0 = min(max(r - p // 2, 0), max(rows - p, 0))
    c0 = min(max(c - p // 2, 0), max(cols - p, 0))
    att = item.planes[:, r0 : r0 + p, c0 : c0 + p].astype(np.float32)
    h, w = att.shape[1:]
    if (h, w) != (p, p):
        att = np.pad(att, ((0, 0), (0, p - h), (0, p - w)), mode="edge")
    label = np.zeros((p, p), dtype=bool)
    meta = ScanMetadata(pitch_mm=(pitch_mm, pitch_mm))
    host = Scan(np.ascontiguousarray(att), Representation.ATTENUATION, meta)
    if item.mode == "display":  # the export's 8 bits, through scanlab's display curve
        host = render_display(host, rng=rng)
    if rng.random() < config.tip_share:
        host, label = project_random_threat(host, rng)
    if item.mode == "display":
        planes = network_input(display_to_attenuation(host), display=True)
    else:
        data = host.data
        planes = network_input(data[0], data[1] if item.mode == "dual" else None)
    if rng.random() < 0.5:
        planes, label = planes[:, :, ::-1], label[:, ::-1]
    return np.ascontiguousarray(planes), np.ascontiguousarray(label)


def _site_planes(item: _SiteScan) -> np.ndarray:
    att = item.planes.astype(np.float32)
    if item.mode == "dual":
        return network_input(att[0], att[1])
    return network_input(att[0], display=item.mode == "display")


def _mine(model: Any, site: list[_SiteScan], rng: np.random.Generator, dev: Any, n: int) -> list:
    """The hottest local maxima of the network's map on some training scans."""
    import torch

    picked = rng.choice(len(site), size=min(n, len(site)), replace=False)

    def predict(x: np.ndarray) -> np.ndarray:
        logits = model(torch.from_numpy(x).to(dev))[:, 0]
        return torch.sigmoid(logits.float()).cpu().numpy()

    found: list[tuple[float, int, int, int]] = []
    model.eval()
    with torch.inference_mode():
        for index in picked:
            # as inference sees a scan: tiles inside it, never padding (one tile if it fits)
            planes = _site_planes(site[int(index)])
            prob = predict_tiled(predict, planes, tile_px=2048, align=model.stride, batch_size=1)
            found += [(v, int(index), r, c) for v, r, c in hottest_peaks(prob, 4)]
    model.train()
    return [(i, r, c) for _, i, r, c in found]


def _finetune(
    model: Any,
    site: list[_SiteScan],
    config: AdaptConfig,
    out: Path,
    dev: Any,
    progress: Progress | None,
    pitch_mm: float,
) -> list[dict[str, Any]]:
    """AdamW with cosine decay; a checkpoint every ``checkpoint_every`` steps, resumed."""
    import torch

    from scanlab.detect._train import _loss

    opt = torch.optim.AdamW(
        model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
    )
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=config.steps)
    ckpt = out / "adapt-checkpoint.pt"
    first, history = 0, []
    spots: list[tuple[int, int, int]] = []
    if ckpt.is_file():
        state = torch.load(ckpt, map_location=dev, weights_only=True)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        first, history = int(state["step"]), list(state["history"])
        spots = [(int(i), int(r), int(c)) for i, r, c in state["spots"].tolist()]
        log.info("resumed adaptation from %s at step %d", ckpt, first)
    fast = config.precision == "bf16"
    model.train()
    losses: list[float] = []
    t0 = time.perf_counter()
    for step in range(first, config.steps):
        rng = np.random.default_rng([config.seed, step])
        if step % config.mine_every == 0 and config.hard_negative_share > 0:
            spots = _mine(model, site, rng, dev, config.mining_scans)
        pairs = [
            _patch(site, rng, config.patch_px, spots, config, pitch_mm)
            for _ in range(config.batch_size)
        ]
        x = torch.from_numpy(np.stack([a for a, _ in pairs])).to(dev)
        y = torch.from_numpy(np.stack([b[None] for _, b in pairs]).astype(np.float32)).to(dev)
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=fast):
            logits = model(x)
        loss = _loss(logits.float(), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        losses.append(float(loss.item()))
        done = step + 1
        if done % config.checkpoint_every == 0 or done == config.steps:
            history.append(
                {
                    "step": done,
                    "train_loss": round(float(np.mean(losses)), 4),
                    "seconds": round(time.perf_counter() - t0, 1),
                }
            )
            losses, t0 = [], time.perf_counter()
            out.mkdir(parents=True, exist_ok=True)
            tmp = ckpt.with_suffix(".tmp")
            torch.save(
                {
                    "model": model.state_dict(),
                    "optimizer": opt.state_dict(),
                    "scheduler": sched.state_dict(),
                    "step": done,
                    "history": history,
                    "spots": torch.tensor(spots, dtype=torch.int64).reshape(-1, 3),
                },
                tmp,
            )
            tmp.replace(ckpt)
        if progress:
            progress("train", done, config.steps)
    return history


def _measure(
    detector: Detector,
    scans: list[Scan],
    config: AdaptConfig,
    progress: Progress | None,
    *,
    before: Detector | None = None,
) -> dict[str, Any]:
    """Threshold (:func:`fit_threshold`), domain ranges and figures on the held-out clean
    scans: false alarms at the threshold (cross-fitted, :func:`_cross_fitted`; also for
    the empirical threshold), and
    library threats projected into each scan: image AUROC and share found at the threshold.
    """
    from scanlab.detect._preprocess import input_mode
    from scanlab.evaluate import auroc
    from scanlab.synth import THREAT_LIBRARY, project_threat, render_threat

    rng = np.random.default_rng([config.seed, 0x7E57])
    names = sorted(THREAT_LIBRARY)
    clean, tipped, on_threat, stats = [], [], [], []
    base_clean, base_tipped = [], []
    for i, scan in enumerate(scans):
        amap, _, pitch, record = detector._run(scan, None)
        clean.append(float(amap.max()))
        stats.append(record)
        # The threat is drawn at the pitch the scan is read at.
        host = scan.replace(metadata=dataclasses.replace(scan.metadata, pitch_mm=pitch.pitch_mm))
        row, col = _inside(scan, rng)
        # Rendered once per threat at 5 mm; projection resamples it to the scan's pitch.
        threat = render_threat(names[int(rng.integers(len(names)))])
        new, obj = project_threat(
            host, threat, row=row, col=col, rotation_deg=float(rng.uniform(-180, 180)), rng=rng
        )
        tmap = detector.anomaly_map(new)[0]
        tipped.append(float(tmap.max()))
        on_threat.append(float(tmap[obj.full_mask(scan.shape)].max()))
        if before is not None:
            base_clean.append(float(before.anomaly_map(scan)[0].max()))
            base_tipped.append(float(before.anomaly_map(new)[0].max()))
        if progress:
            progress("measure", i + 1, len(scans))
    rate = config.false_alarm_rate
    threshold = fit_threshold(clean, rate)
    crossed = {
        method: _cross_fitted(clean, rate, calibrate, config.seed)
        for method, calibrate in (("fitted", fit_threshold), ("empirical", calibrate_threshold))
    }
    found = [float(v >= threshold) for v in on_threat]
    y = np.r_[np.zeros(len(clean)), np.ones(len(tipped))]
    out: dict[str, Any] = {
        "threshold": threshold,
        "n_scans": len(clean),
        "false_alarm_rate": rate,
        "threshold_method": THRESHOLD_METHOD,
        "false_alarm_rate_cross_fitted": crossed["fitted"],
        "false_alarm_rate_cross_fitted_empirical": crossed["empirical"],
        "tip_image_auroc": round(auroc(y, np.r_[clean, tipped]), 4),
        "tip_found_at_threshold": round(float(np.mean(found)), 4),
        "clean_score_quantiles": [
            round(float(q), 5) for q in np.quantile(clean, [0.5, 0.9, 0.99, 1.0])
        ],
        "domain": domain_ranges(stats),
    }
    if before is not None:
        base_threshold = before.threshold(input_mode(scans[0]))
        out["before_adaptation"] = {
            "name": before.name,
            "false_alarm_rate_at_its_threshold": round(
                float(np.mean(np.asarray(base_clean) >= base_threshold)), 4
            ),
            "tip_image_auroc": round(auroc(y, np.r_[base_clean, base_tipped]), 4),
        }
    return out


def _cross_fitted(
    scores: Sequence[float], rate: float, calibrate: Callable[..., float], seed: int
) -> float:
    """The share of clean scans reaching a threshold calibrated on the other half, averaged
    over 200 random halvings (seeded): an estimate of the false-alarm rate, on scans the
    threshold did not see, of a threshold set on half as many scans."""
    values = np.asarray(scores, dtype=np.float64)
    rng = np.random.default_rng([seed, 0xC0055])
    shares = []
    for _halving in range(200):
        order = rng.permutation(values.size)
        a, b = values[order[: values.size // 2]], values[order[values.size // 2 :]]
        shares += [np.mean(b >= calibrate(a, rate)), np.mean(a >= calibrate(b, rate))]
    return round(float(np.mean(shares)), 4)


def _inside(scan: Scan, rng: np.random.Generator) -> tuple[int, int]:
    """A random place inside the vehicle where a threat would still show (not air, not
    behind the thickest steel)."""
    from scanlab.synth import display_to_attenuation

    if scan.representation is Representation.DISPLAY:
        att = display_to_attenuation(scan)
    else:
        att = scan.to_attenuation().high
    rows, cols = np.nonzero((att > 0.3) & (att < 6.0))
    if rows.size == 0:
        return scan.shape[0] // 2, scan.shape[1] // 2
    i = int(rng.integers(rows.size))
    return int(rows[i]), int(cols[i])
