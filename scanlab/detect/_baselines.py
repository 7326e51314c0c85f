"""Reference detectors to compare the U-Net with, on the same scans and by the same metrics.

``LocalBackgroundDetector`` is classical: attenuation minus a large median background,
divided by the local noise. ``PadimDetector`` is PaDiM (Defard et al. 2020, as in anomalib):
a Gaussian per position over a CNN's features, fitted on clean scans only, scored by
Mahalanobis distance. Cargo scans are aligned in height (the road is the bottom row) but
not along the vehicle, so the positions are detector rows, shared along the scan.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from scanlab.detect._postprocess import make_detection
from scanlab.detect._preprocess import resize_planes, scan_to_input
from scanlab.detect._result import Detection
from scanlab.errors import SpecError
from scanlab.i18n import _
from scanlab.io import Scan

if TYPE_CHECKING:
    from scanlab.detect.torch_model import CargoUNet

__all__ = [
    "BASELINE_NAMES",
    "LocalBackgroundDetector",
    "PadimDetector",
    "fitted_baseline",
    "load_baseline",
    "save_baseline",
]


class LocalBackgroundDetector:
    """Classical detector: ``|A - median background| / local noise`` of the high energy.

    Parameters
    ----------
    pitch_mm : float
        Working pitch; scans are resampled to it.
    background_mm : float
        Side of the median window that estimates the background (objects smaller than
        about half of it stand out).
    noise_mm : float
        Side of the window over which local noise (and clutter) is averaged.
    threshold : float
        Decision threshold (calibrate it on clean scans with :func:`calibrate_threshold`).
    """

    name = "local-background"
    #: The map is a contrast-to-noise ratio, not a probability: unbounded above.
    map_range = (0.0, np.inf)

    def __init__(
        self,
        *,
        pitch_mm: float = 10.0,
        background_mm: float = 400.0,
        noise_mm: float = 150.0,
        threshold: float = np.inf,
    ) -> None:
        self.pitch_mm = float(pitch_mm)
        self.background_mm = float(background_mm)
        self.noise_mm = float(noise_mm)
        self.threshold = float(threshold)

    def anomaly_map(
        self, scan: Scan, *, pitch_mm: float | tuple[float, float] | None = None
    ) -> tuple[np.ndarray, str]:
        from scipy import ndimage

        planes, mode = scan_to_input(scan, model_pitch_mm=self.pitch_mm, pitch_mm=pitch_mm)
        att = (planes[0] + np.float32(0.5)) * np.float32(3.0)  # undo the network scaling
        # The median runs at a quarter of the resolution: a 40 cm window in 10 mm pixels
        # would be slow and the background is smooth anyway.
        small = cv2.resize(att, None, fx=0.25, fy=0.25, interpolation=cv2.INTER_AREA)
        k = max(round(self.background_mm / self.pitch_mm / 4) | 1, 3)
        background = ndimage.median_filter(small, size=k, mode="nearest")
        background = cv2.resize(background, att.shape[::-1], interpolation=cv2.INTER_LINEAR)
        n = max(round(self.noise_mm / self.pitch_mm) | 1, 3)
        diff = np.abs(np.diff(att, axis=1, append=att[:, -1:]))
        noise = cv2.blur(diff, (n, n)) * np.float32(1.2533 / np.sqrt(2.0)) + np.float32(0.01)
        score = cv2.blur(np.abs(att - background) / noise, (3, 3))
        if score.shape != scan.shape:
            score = cv2.resize(score, scan.shape[::-1], interpolation=cv2.INTER_LINEAR)
        return score.astype(np.float32), mode

    def detect(self, scan: Scan, **kwargs: Any) -> Detection:
        amap, mode = self.anomaly_map(scan, **kwargs)
        return make_detection(amap, self.threshold, mode)

    __call__ = detect


class PadimDetector:
    """PaDiM over the encoder of a :class:`CargoUNet`, with one Gaussian per detector row.

    Features of encoder levels 1 and 2 (level 1 average-pooled to level 2's 1/4
    resolution) are concatenated and ``n_features`` of them kept at random (as PaDiM does).
    :meth:`fit` accumulates, per row counted from the bottom, the mean and covariance of the
    feature vectors of clean scans; the map is the Mahalanobis distance, upsampled and
    smoothed.
    """

    name = "padim-rows"
    #: The map is a Mahalanobis distance: unbounded above.
    map_range = (0.0, np.inf)

    def __init__(
        self,
        model: CargoUNet,
        *,
        pitch_mm: float = 10.0,
        n_features: int = 48,
        seed: int = 0,
        threshold: float = np.inf,
    ) -> None:
        import copy

        self.model = copy.deepcopy(model).eval()
        self.pitch_mm = float(pitch_mm)
        n_all = model.widths[1] + model.widths[2]
        if not 1 <= n_features <= n_all:
            raise SpecError(
                _("PadimDetector: n_features must be in [1, {n_all}]").format(n_all=n_all)
            )
        self.keep = np.sort(np.random.default_rng(seed).choice(n_all, n_features, replace=False))
        self.threshold = float(threshold)
        self.mean: np.ndarray | None = None  # (rows, d)
        self.precision: np.ndarray | None = None  # (rows, d, d)

    def _features(self, scan: Scan) -> tuple[np.ndarray, tuple[int, int], str]:
        """(rows, cols, d) features at 1/4 of the working pitch, rows from the bottom."""
        import torch
        import torch.nn.functional as F

        planes, mode = scan_to_input(scan, model_pitch_mm=self.pitch_mm)
        shape = planes.shape[1:]
        stride = self.model.stride
        rows, cols = (-(-n // stride) * stride for n in shape)
        planes = np.pad(planes, ((0, 0), (rows - shape[0], 0), (0, cols - shape[1])), mode="edge")
        with torch.inference_mode():
            feats = self.model.encode(torch.from_numpy(planes[None]))
            both = torch.cat([F.avg_pool2d(feats[1], 2), feats[2]], dim=1)[0]
        f = both.numpy()[self.keep].transpose(1, 2, 0)[::-1]  # bottom row first
        return np.ascontiguousarray(f, dtype=np.float64), shape, mode

    def fit(self, scans: Iterable[Scan]) -> PadimDetector:
        """Fit the per-row Gaussians on clean scans (rows above the first scan's height
        share its top row's Gaussian)."""
        s1 = s2 = count = None
        for scan in scans:
            f, _, _ = self._features(scan)
            if s1 is None or s2 is None or count is None:
                rows, d = f.shape[0], f.shape[2]
                s1, s2, count = np.zeros((rows, d)), np.zeros((rows, d, d)), np.zeros(rows)
            rows = s1.shape[0]
            top = np.concatenate([f[: rows - 1], f[rows - 1 :].reshape(1, -1, f.shape[2])], 0)
            for r, row in enumerate(top[: min(len(top), rows)]):
                s1[r] += row.sum(axis=0)
                s2[r] += row.T @ row
                count[r] += len(row)
        if s1 is None or s2 is None or count is None:
            raise SpecError(_("PadimDetector.fit: no scans"))
        n = np.maximum(count, 2.0)[:, None]
        mean = s1 / n
        cov = s2 / n[:, :, None] - np.einsum("rd,re->rde", mean, mean)
        cov += 0.01 * np.eye(cov.shape[1])[None]
        self.mean = mean
        self.precision = np.linalg.inv(cov)
        return self

    def anomaly_map(self, scan: Scan) -> tuple[np.ndarray, str]:
        if self.mean is None or self.precision is None:
            raise SpecError(_("PadimDetector: call fit() on clean scans first"))
        f, shape, mode = self._features(scan)
        rows = min(f.shape[0], self.mean.shape[0])
        index = np.minimum(np.arange(f.shape[0]), rows - 1)
        centred = f - self.mean[index][:, None, :]
        dist = (np.matmul(centred, self.precision[index]) * centred).sum(axis=-1)
        amap = np.sqrt(np.maximum(dist, 0.0))[::-1].astype(np.float32)
        full = resize_planes(amap[None], (amap.shape[0] * 4, amap.shape[1] * 4))[0]
        pad_rows = full.shape[0] - shape[0]
        full = full[pad_rows:, : shape[1]]
        full = cv2.GaussianBlur(full, (0, 0), 4.0)
        if full.shape != scan.shape:
            full = cv2.resize(full, scan.shape[::-1], interpolation=cv2.INTER_LINEAR)
        return full, mode

    def detect(self, scan: Scan) -> Detection:
        amap, mode = self.anomaly_map(scan)
        return make_detection(amap, self.threshold, mode)

    __call__ = detect


#: Names under which ``scanlab evaluate -d`` knows the baselines.
BASELINE_NAMES = {"local-background": "local-background", "padim": "padim-rows"}


def fitted_baseline(
    name: str,
    *,
    weights: Any = None,
    normal: Iterable[Scan] | None = None,
    calibration: Iterable[Scan] | None = None,
    false_alarm_rate: float | None = None,
) -> LocalBackgroundDetector | PadimDetector:
    """A baseline ready to compare with the U-Net, as ``benchmarks/bench_detect.py`` builds it.

    Parameters
    ----------
    name : {"local-background", "padim"}
    weights : optional
        The network whose pitch (and, for PaDiM, encoder) the baseline shares; default the
        shipped weights.
    normal : iterable of Scan, optional
        Clean scans PaDiM's Gaussians are fitted on; default the first 60 clean training
        scans of the weights' recipe.
    calibration : iterable of Scan, optional
        Clean scans the threshold is calibrated on (at the card's false-alarm rate); default
        the recipe's calibration scans, which training never saw.
    """
    from scanlab.detect._data import build_cached, default_cache_dir, effective_spec
    from scanlab.detect._recipe import TrainConfig
    from scanlab.detect._weights import DetectorWeights, resolve_weights
    from scanlab.detect._weights import _load as load_weights

    if name not in BASELINE_NAMES:
        raise SpecError(
            _("unknown baseline {name!r}; choose one of {BASELINE_NAMES}").format(
                name=name, BASELINE_NAMES=sorted(BASELINE_NAMES)
            )
        )
    model, card = load_weights(resolve_weights(weights or DetectorWeights.DEFAULT))
    rate = card.false_alarm_rate if false_alarm_rate is None else false_alarm_rate

    def recipe_scans(which: str, count: int | None = None) -> Iterable[Scan]:
        from scanlab.io import read_scan

        config = TrainConfig.from_dict(card.training["recipe"])
        ref = getattr(config, which)
        items = build_cached(effective_spec(ref, config.data_pitch(ref))[0], default_cache_dir())
        return (read_scan(i["scan_path"]) for i in items[:count])

    method: LocalBackgroundDetector | PadimDetector
    if name == "padim":
        method = PadimDetector(model, pitch_mm=card.pitch_mm)
        method.fit(normal if normal is not None else recipe_scans("normal", 60))
    else:
        method = LocalBackgroundDetector(pitch_mm=card.pitch_mm)
    from scanlab.detect._postprocess import calibrate_threshold

    clean = calibration if calibration is not None else recipe_scans("calibration")
    scores = [float(method.anomaly_map(s)[0].max()) for s in clean]
    method.threshold = calibrate_threshold(scores, rate)
    return method


def save_baseline(method: LocalBackgroundDetector | PadimDetector, path: Any) -> None:
    """Write a fitted baseline (threshold, and PaDiM's Gaussians) to an ``.npz`` file;
    :func:`load_baseline` with the same weights rebuilds it."""
    from scanlab.io._common import atomic_open

    arrays: dict[str, Any] = {"threshold": np.float64(method.threshold)}
    arrays["pitch_mm"] = np.float64(method.pitch_mm)
    if isinstance(method, PadimDetector):
        if method.mean is None or method.precision is None:
            raise SpecError(_("save_baseline: fit the PadimDetector first"))
        arrays.update(keep=method.keep, mean=method.mean, precision=method.precision)
    with atomic_open(path) as fh:
        np.savez(fh, **arrays)


def load_baseline(path: Any, *, weights: Any = None) -> LocalBackgroundDetector | PadimDetector:
    """A baseline written by :func:`save_baseline` (PaDiM over the encoder of ``weights``)."""
    with np.load(path) as saved:
        arrays = {k: saved[k] for k in saved.files}
    pitch, threshold = float(arrays["pitch_mm"]), float(arrays["threshold"])
    if "mean" not in arrays:
        return LocalBackgroundDetector(pitch_mm=pitch, threshold=threshold)
    from scanlab.detect._weights import DetectorWeights, cargo_unet

    method = PadimDetector(
        cargo_unet(weights=weights or DetectorWeights.DEFAULT),
        pitch_mm=pitch,
        n_features=len(arrays["keep"]),
        threshold=threshold,
    )
    method.keep, method.mean, method.precision = arrays["keep"], arrays["mean"], arrays["precision"]
    return method
