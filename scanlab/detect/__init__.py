"""Anomaly detection on cargo scans: a U-Net trained on simulated concealments, its tiled
inference, calibrated thresholds, training recipes, baselines and evaluation.

Torch loads only when a model is built or run, never at ``import scanlab.detect``.

>>> from scanlab.detect import load_detector          # doctest: +SKIP
>>> result = load_detector("cargo-anomaly-v2")(scan)   # doctest: +SKIP
>>> result.score, result.is_anomalous, result.regions  # doctest: +SKIP
"""

from scanlab.detect._adapt import AdaptConfig, AdaptResult, adapt
from scanlab.detect._card import ModelCard, WeightsError
from scanlab.detect._detector import Detector
from scanlab.detect._domain import ADAPT_HINT, check_domain
from scanlab.detect._files import DetectedFile, detect_files
from scanlab.detect._pitch import PitchEstimate, ResolvedPitch, estimate_pitch, resolve_pitch
from scanlab.detect._postprocess import calibrate_threshold, find_regions, fit_threshold
from scanlab.detect._preprocess import INPUT_MODES, input_mode
from scanlab.detect._recipe import DataRef, TrainConfig, load_recipe, recipe_names
from scanlab.detect._result import Detection, Region
from scanlab.detect._train import TrainResult, train
from scanlab.detect._weights import DetectorWeights, cargo_unet, load_detector, models_dir

__all__ = [
    "ADAPT_HINT",
    "INPUT_MODES",
    "AdaptConfig",
    "AdaptResult",
    "DataRef",
    "DetectedFile",
    "Detection",
    "Detector",
    "DetectorWeights",
    "ModelCard",
    "PitchEstimate",
    "Region",
    "ResolvedPitch",
    "TrainConfig",
    "TrainResult",
    "WeightsError",
    "adapt",
    "calibrate_threshold",
    "cargo_unet",
    "check_domain",
    "detect_files",
    "estimate_pitch",
    "find_regions",
    "fit_threshold",
    "input_mode",
    "load_detector",
    "load_recipe",
    "models_dir",
    "recipe_names",
    "resolve_pitch",
    "train",
]
