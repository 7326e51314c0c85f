"""Polyenergetic Beer-Lambert transmission of a stack of materials, exact per energy bin."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

from scanlab.errors import SpecError
from scanlab.physics._materials import Material, get_material
from scanlab.physics._spectra import Detector, Spectrum

__all__ = ["polyenergetic_transmission"]

_CHUNK = 1 << 15  # pixels per block: (block, n_energies) float64 stays ~25 MB


def _weighted_transmission(amounts: np.ndarray, mu: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """sum_E w(E) exp(-amounts @ mu[:, E]) for each row of ``amounts`` (pixels, materials)."""
    out = np.empty(amounts.shape[0], dtype=np.float64)
    for start in range(0, amounts.shape[0], _CHUNK):
        block = amounts[start : start + _CHUNK] @ mu
        np.exp(-block, out=block)
        out[start : start + _CHUNK] = block @ weights
    return out


def polyenergetic_transmission(
    thickness_cm: Mapping[Material | str, npt.ArrayLike],
    *,
    spectrum: Spectrum,
    detector: Detector,
) -> np.ndarray:
    """Detected signal fraction I / I0 behind a stack of materials (narrow beam, no scatter).

    ``T = sum_E w(E) exp(-sum_m mu_m(E) t_m) / sum_E w(E)`` with the detector's signal
    weights ``w(E) = fluence(E) E absorption(E)`` (:meth:`Detector.signal_weights`). The
    order of the layers does not matter.

    Parameters
    ----------
    thickness_cm : mapping of Material or str to array_like
        Material (or library name) -> thickness in cm; the arrays broadcast together.
    spectrum : Spectrum
        The source spectrum.
    detector : Detector
        The energy-integrating detector.

    Returns
    -------
    ndarray
        Transmission with the broadcast shape of the thicknesses; float32 when every
        thickness is a float32 array, float64 otherwise.

    Examples
    --------
    >>> from scanlab.physics import Detector, linac_spectrum
    >>> t = polyenergetic_transmission({"steel": [0.0, 10.0, 20.0]},
    ...                                spectrum=linac_spectrum(6.0), detector=Detector())
    >>> [round(float(v), 4) for v in t]
    [1.0, 0.0237, 0.0011]
    """
    if not thickness_cm:
        raise SpecError("polyenergetic_transmission: give at least one material")
    materials = [get_material(m) if isinstance(m, str) else m for m in thickness_cm]
    arrays = [np.asarray(t) for t in thickness_cm.values()]
    float32 = all(a.dtype == np.float32 for a in arrays)
    try:
        broadcast = np.broadcast_arrays(*arrays)
    except ValueError:
        shapes = [a.shape for a in arrays]
        raise SpecError(f"polyenergetic_transmission: shapes {shapes} do not broadcast") from None
    shape = broadcast[0].shape
    amounts = np.stack([b.ravel() for b in broadcast], axis=1).astype(np.float64)
    if not (np.all(np.isfinite(amounts)) and np.all(amounts >= 0)):
        raise SpecError("polyenergetic_transmission: thicknesses must be finite and >= 0")
    mu = np.stack([m.mu(spectrum.energies_mev) for m in materials])
    out = _weighted_transmission(amounts, mu, detector.signal_weights(spectrum)).reshape(shape)
    return out.astype(np.float32) if float32 else out
