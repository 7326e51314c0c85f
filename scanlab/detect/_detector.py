"""The Detector: a trained network with its pre-processing, tiling, post-processing and
calibrated thresholds, from a scan to a :class:`~scanlab.detect.Detection`."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import cv2
import numpy as np

from scanlab.detect._card import ModelCard
from scanlab.detect._domain import ADAPT_HINT, check_domain, hot_share, input_statistics
from scanlab.detect._pitch import ResolvedPitch, resolve_pitch
from scanlab.detect._postprocess import make_detection
from scanlab.detect._preprocess import scan_to_input
from scanlab.detect._result import Detection
from scanlab.detect._tiling import predict_tiled
from scanlab.errors import ScanValidationError, SpecError
from scanlab.i18n import _
from scanlab.io import Scan

if TYPE_CHECKING:
    from scanlab.detect.torch_model import CargoUNet

__all__ = ["Detector"]


class Detector:
    """Anomaly detection on scans of any kind with a trained :class:`CargoUNet`.

    Build one with :func:`scanlab.detect.load_detector`. A scan is converted to log
    attenuation (dual or single energy; display exports through the inverse display curve),
    resampled to the model's pitch, run tile by tile, and the map is resampled back: the
    result has the scan's shape whatever its size.

    Parameters
    ----------
    model : CargoUNet
        The network (its weights are copied and run as an :class:`InferenceUNet`, which
        folds batch norm and fuses each convolution with its ReLU for speed).
    card : ModelCard
        Pitch, tiling, smoothing and the calibrated thresholds per input mode.
    device : str, optional
        Torch device; default CUDA when present, else CPU.
    batch_size : int
        Tiles per forward pass.
    scan_pitch_mm : float or (float, float), optional
        The pitch of the scans this detector will read, overriding their metadata (a site's
        exports that record none). Without it: the scan's recorded pitch, else an estimate
        from the ISO container in the image, else 5 mm.
    """

    def __init__(
        self,
        model: CargoUNet,
        card: ModelCard,
        *,
        device: str | None = None,
        batch_size: int = 4,
        scan_pitch_mm: float | tuple[float, float] | None = None,
    ) -> None:
        import torch

        from scanlab.detect._inference import InferenceUNet

        self.card = card
        self.scan_pitch_mm = scan_pitch_mm
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.batch_size = int(batch_size)
        self._net = InferenceUNet(model).to(self.device)
        self._stride = model.stride

    @property
    def name(self) -> str:
        return self.card.name

    @property
    def pitch_mm(self) -> float:
        return float(self.card.pitch_mm)

    def threshold(self, input_mode: str) -> float:
        """The calibrated decision threshold for an input mode (dual, single, display)."""
        try:
            return float(self.card.thresholds[input_mode])
        except KeyError:
            raise SpecError(
                _(
                    "model {name} has no threshold for {mode!r} input; it was calibrated for "
                    "{modes}"
                ).format(name=self.name, mode=input_mode, modes=sorted(self.card.thresholds))
            ) from None

    def anomaly_map(
        self, scan: Scan, *, pitch_mm: float | tuple[float, float] | None = None
    ) -> tuple[np.ndarray, str]:
        """(row, col) float32 map in [0, 1] with the scan's shape, and the input mode.

        ``pitch_mm`` overrides the scan's recorded pitch (display exports rarely have one).
        """
        prob, mode, _, _ = self._run(scan, pitch_mm)
        return prob, mode

    def resolve_pitch(
        self, scan: Scan, pitch_mm: float | tuple[float, float] | None = None
    ) -> ResolvedPitch:
        """The pitch ``scan`` is read at and how it was obtained (:func:`resolve_pitch`)."""
        given = pitch_mm if pitch_mm is not None else self.scan_pitch_mm
        return resolve_pitch(scan, given)

    def _run(
        self, scan: Scan, pitch_mm: float | tuple[float, float] | None
    ) -> tuple[np.ndarray, str, ResolvedPitch, dict[str, float]]:
        if not isinstance(scan, Scan):
            raise ScanValidationError(
                f"detectors read a scanlab.io.Scan (read_scan(path), or Scan(array, "
                f"'attenuation')), got {type(scan).__name__}"
            )
        from scanlab.detect._inference import reuse_freed_memory

        pitch = self.resolve_pitch(scan, pitch_mm)
        planes, mode = scan_to_input(scan, model_pitch_mm=self.pitch_mm, pitch_mm=pitch.pitch_mm)
        stats = input_statistics(planes)
        with reuse_freed_memory():
            prob = predict_tiled(
                self._predict,
                planes,
                tile_px=self.card.tile_px,
                overlap_px=self.card.overlap_px,
                align=self._stride,
                batch_size=self.batch_size,
            )
        k = int(self.card.smoothing_px)
        if k > 1:
            prob = cv2.blur(prob, (k, k), borderType=cv2.BORDER_REFLECT)
        stats["hot_share"] = round(hot_share(prob), 5)
        if prob.shape != scan.shape:
            prob = cv2.resize(prob, scan.shape[::-1], interpolation=cv2.INTER_LINEAR)
        return np.clip(prob, 0.0, 1.0), mode, pitch, stats

    def detect(
        self,
        scan: Scan,
        *,
        pitch_mm: float | tuple[float, float] | None = None,
        threshold: float | None = None,
    ) -> Detection:
        """Score, anomaly map and regions of one scan.

        ``threshold`` overrides the calibrated threshold of the scan's input mode;
        ``pitch_mm`` the scan's pitch (and the detector's ``scan_pitch_mm``). The result
        records the pitch used and where it came from, and warns (``in_domain`` False)
        when the scan is unlike the clean scans the threshold was calibrated on.

        Examples
        --------
        >>> from scanlab.io import example_scan
        >>> det = load_detector("cargo-anomaly-v2")             # doctest: +SKIP
        >>> result = det.detect(example_scan())                 # doctest: +SKIP
        >>> result.anomaly_map.shape == example_scan().shape    # doctest: +SKIP
        True
        """
        amap, mode, pitch, stats = self._run(scan, pitch_mm)
        result = make_detection(
            amap,
            self.threshold(mode) if threshold is None else threshold,
            mode,
            pitch_mm=pitch.pitch_mm,
            pitch_source=pitch.source,
        )
        stats["n_regions"] = len(result.regions)
        ranges = self.card.calibration.get("domain", {}).get(mode)
        reasons = check_domain(stats, ranges)
        warnings = [f"{ADAPT_HINT} ({'; '.join(reasons)})"] if reasons else []
        if pitch.source == "default":
            warnings.append(
                f"pitch unknown (no metadata, no ISO container found): read at "
                f"{pitch.pitch_mm[0]:g} mm; give the scanner's pitch (--pitch)"
            )
        return dataclasses.replace(
            result,
            in_domain=not reasons,
            warnings=tuple(warnings),
            domain={**stats, **({"pitch": pitch.estimate.to_dict()} if pitch.estimate else {})},
        )

    __call__ = detect

    def _predict(self, x: np.ndarray) -> np.ndarray:
        import torch

        with torch.inference_mode():
            logits = self._net(torch.from_numpy(x).to(self.device))
            return torch.sigmoid(logits)[:, 0].float().cpu().numpy()

    def __repr__(self) -> str:
        return f"Detector({self.name!r}, pitch_mm={self.pitch_mm:g}, device={self.device})"
