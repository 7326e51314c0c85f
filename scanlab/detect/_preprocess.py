"""From a scan to network input: input mode, log attenuation, normalisation and pitch.

The network reads four planes at its own pitch: high-energy attenuation, the low-minus-high
difference (dual energy only; the material signal), and two constant flags saying whether
the low channel exists and whether the image came from a display export. So dual-energy,
single-energy (grayscale) and 8-bit display images all go through one network.
"""

from __future__ import annotations

import cv2
import numpy as np

from scanlab.errors import ScanValidationError
from scanlab.i18n import _
from scanlab.io import Representation, Scan

__all__ = ["INPUT_MODES", "N_INPUT_CHANNELS", "input_mode", "network_input", "scan_to_input"]

#: How a scan is read: both energies, one energy, or a display export (no calibration).
INPUT_MODES = ("dual", "single", "display")
N_INPUT_CHANNELS = 4
#: Attenuation beyond about 10 carries no information (no photons left); clip before scaling.
_MAX_ATTENUATION = 12.0
_MAX_DIFFERENCE = 2.0


def input_mode(scan: Scan) -> str:
    """``"display"`` for display exports, else ``"dual"`` or ``"single"`` by channel count."""
    if scan.representation is Representation.DISPLAY:
        return "display"
    return "dual" if scan.is_dual_energy else "single"


def network_input(
    high: np.ndarray, low: np.ndarray | None = None, *, display: bool = False
) -> np.ndarray:
    """(4, row, col) float32 network planes from attenuation images (``-ln(I/I0)``).

    Parameters
    ----------
    high : (row, col) ndarray
        High-energy attenuation (for a display image, its inverted display curve).
    low : (row, col) ndarray, optional
        Low-energy attenuation of a dual-energy scan.
    display : bool
        The attenuation was recovered from an 8-bit display image.

    Examples
    --------
    >>> network_input(np.zeros((2, 3)), display=True)[:, 0, 0].tolist()
    [-0.5, 0.0, 0.0, 1.0]
    """
    high = np.clip(np.asarray(high, dtype=np.float32), -1.0, _MAX_ATTENUATION)
    out = np.zeros((N_INPUT_CHANNELS, *high.shape), dtype=np.float32)
    out[0] = high / np.float32(3.0) - np.float32(0.5)
    if low is not None:
        diff = np.asarray(low, dtype=np.float32) - high
        out[1] = np.clip(diff, -_MAX_DIFFERENCE, _MAX_DIFFERENCE) * np.float32(2.0)
        out[2] = 1.0
    out[3] = float(display)
    return out


def scan_to_input(
    scan: Scan, *, model_pitch_mm: float, pitch_mm: float | tuple[float, float] | None = None
) -> tuple[np.ndarray, str]:
    """Network planes of ``scan`` resampled to the model's pitch, and the input mode.

    ``pitch_mm`` overrides the scan's recorded (row, col) pitch: display exports rarely
    record theirs (scanlab then assumes 5 mm).
    """
    if not isinstance(scan, Scan):
        raise ScanValidationError(
            f"detectors read a scanlab.io.Scan (read_scan(path), or Scan(array, 'attenuation')), "
            f"got {type(scan).__name__}"
        )
    mode = input_mode(scan)
    if mode == "display":
        from scanlab.synth import display_to_attenuation

        planes = network_input(display_to_attenuation(scan), display=True)
    else:
        att = scan.to_attenuation().data
        planes = network_input(att[0], att[1] if mode == "dual" else None)
    if pitch_mm is None:
        pitch = scan.metadata.pitch_mm
    elif isinstance(pitch_mm, int | float):
        pitch = (float(pitch_mm), float(pitch_mm))
    else:
        pitch = (float(pitch_mm[0]), float(pitch_mm[1]))
    if not all(0 < p < 1000 for p in pitch):
        raise ScanValidationError(
            _("{source}: pitch_mm must be positive (mm), got {value!r}").format(
                source=scan.source, value=pitch
            )
        )
    return resample(planes, zoom=(pitch[0] / model_pitch_mm, pitch[1] / model_pitch_mm)), mode


def resample(planes: np.ndarray, *, zoom: tuple[float, float]) -> np.ndarray:
    """Resize (C, row, col) planes by ``zoom``: area-averaging when shrinking (each pixel is
    a ray integral over its area), bilinear when enlarging. Zooms within 1 % of 1 are left."""
    rows, cols = planes.shape[1:]
    shape = (max(round(rows * zoom[0]), 1), max(round(cols * zoom[1]), 1))
    if abs(shape[0] - rows) <= 0.01 * rows and abs(shape[1] - cols) <= 0.01 * cols:
        return planes
    return resize_planes(planes, shape)


def resize_planes(planes: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Resize each plane of (C, row, col) to ``shape`` = (rows, cols)."""
    rows, cols = planes.shape[1:]
    shrink = shape[0] * shape[1] < rows * cols
    interp = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
    return np.stack(
        [cv2.resize(np.ascontiguousarray(p), shape[::-1], interpolation=interp) for p in planes]
    )
