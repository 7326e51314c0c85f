"""Linac bremsstrahlung spectra and the energy-integrating scintillator detector."""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from scanlab.errors import SpecError
from scanlab.physics._materials import Material, get_material
from scanlab.physics._nist import check_energies

__all__ = ["Detector", "Spectrum", "linac_spectrum", "photons_per_pixel"]

ELECTRON_REST_MEV = 0.51099895
_JOULE_PER_MEV = 1.602176634e-13


@dataclass(frozen=True, eq=False)
class Spectrum:
    """A photon spectrum on a grid of energy bins.

    Parameters
    ----------
    energies_mev : array_like
        Bin centres in MeV, increasing, within the NIST table (0.001-20 MeV).
    fluence : array_like
        Photons per bin (any unit: only relative values matter to transmission).

    Examples
    --------
    >>> mono = Spectrum([1.0], [1.0])  # a monoenergetic 1 MeV beam
    >>> mono.mean_energy_mev
    1.0
    """

    energies_mev: np.ndarray
    fluence: np.ndarray

    def __post_init__(self) -> None:
        energies = check_energies(self.energies_mev).copy()
        fluence = np.array(self.fluence, dtype=np.float64)
        if energies.ndim != 1 or energies.shape != fluence.shape or energies.size == 0:
            raise SpecError(
                "spectrum: energies_mev and fluence must be 1-D arrays of one length, got "
                f"shapes {energies.shape} and {fluence.shape}"
            )
        if np.any(np.diff(energies) <= 0):
            raise SpecError("spectrum: energies_mev must increase strictly")
        if not (np.all(np.isfinite(fluence)) and np.all(fluence >= 0) and fluence.sum() > 0):
            raise SpecError("spectrum: fluence must be finite, >= 0 and not all zero")
        energies.flags.writeable = False
        fluence.flags.writeable = False
        object.__setattr__(self, "energies_mev", energies)
        object.__setattr__(self, "fluence", fluence)

    @property
    def mean_energy_mev(self) -> float:
        """Fluence-weighted mean photon energy (MeV)."""
        return float(np.sum(self.energies_mev * self.fluence) / np.sum(self.fluence))

    def filtered(self, material: Material | str, thickness_cm: float) -> Spectrum:
        """The spectrum after a slab of ``material`` (narrow beam, no scatter)."""
        if isinstance(material, str):
            material = get_material(material)
        attenuation = np.exp(-material.mu(self.energies_mev) * thickness_cm)
        return Spectrum(self.energies_mev, self.fluence * attenuation)


def _schiff_cross_section(photon_mev: np.ndarray, kinetic_mev: np.ndarray, z: int) -> np.ndarray:
    """Schiff's angle-integrated bremsstrahlung cross-section dσ/dk, up to a constant.

    Koch & Motz, Rev. Mod. Phys. 31, 920 (1959), formula 3BS(e) (Born approximation with
    intermediate screening); energies in units of the electron rest energy.
    """
    k = photon_mev / ELECTRON_REST_MEV
    e0 = kinetic_mev / ELECTRON_REST_MEV + 1.0  # total energy before
    e = e0 - k  # total energy after
    z3 = z ** (1.0 / 3.0)
    b = 2.0 * e0 * e * z3 / (111.0 * k)
    log_m = -np.log((k / (2.0 * e0 * e)) ** 2 + (z3 / 111.0) ** 2)
    ratio = e / e0
    atan_b = np.arctan(b)
    first = (1.0 + ratio**2 - 2.0 * ratio / 3.0) * (log_m + 1.0 - 2.0 / b * atan_b)
    second = ratio * (
        2.0 / b**2 * np.log1p(b**2)
        + 4.0 * (2.0 - b**2) / (3.0 * b**3) * atan_b
        - 8.0 / (3.0 * b**2)
        + 2.0 / 9.0
    )
    return np.maximum(first + second, 0.0) / k


_DEFAULT_FILTRATION = (("tungsten", 1.0), ("copper", 1.5))


@functools.cache
def _linac_spectrum(
    endpoint_mev: float,
    n_bins: int,
    min_energy_mev: float,
    filtration_mm: tuple[tuple[str, float], ...],
) -> Spectrum:
    z = 74  # tungsten target
    width = (endpoint_mev - min_energy_mev) / n_bins
    photon = min_energy_mev + width * (np.arange(n_bins) + 0.5)
    # Thick target: integrate the thin-target cross-section over the electron's slowing
    # down from the endpoint to the photon energy (continuous slowing down), Gauss-Legendre.
    nodes, weights = np.polynomial.legendre.leggauss(48)
    u = 0.5 * (nodes + 1.0)
    kinetic = photon[:, None] + (endpoint_mev - photon[:, None]) * u[None, :]
    # Stopping power of tungsten: the collision part is nearly constant (~1 MeV cm²/g) over
    # 1-9 MeV; radiative/collision ~ (T + mc²) Z / (1600 mc²), Attix's rule of thumb.
    stopping = 1.0 + (kinetic + ELECTRON_REST_MEV) * z / (1600.0 * ELECTRON_REST_MEV)
    integrand = _schiff_cross_section(photon[:, None], kinetic, z) / stopping
    thick = (integrand @ (0.5 * weights)) * (endpoint_mev - photon) * width
    spectrum = Spectrum(photon, thick / thick.sum())
    for name, thickness_mm in filtration_mm:
        spectrum = spectrum.filtered(name, thickness_mm / 10.0)
    return Spectrum(spectrum.energies_mev, spectrum.fluence / spectrum.fluence.sum())


def linac_spectrum(
    endpoint_mev: float,
    *,
    n_bins: int = 100,
    min_energy_mev: float = 0.1,
    filtration_mm: Mapping[str, float] | None = None,
) -> Spectrum:
    """Forward bremsstrahlung spectrum of an electron linac with a thick tungsten target.

    The model, in the spirit of the classic analytic linac spectra:

    1. thin-target cross-section: Schiff's angle-integrated formula (Koch & Motz 1959,
       3BS(e)), relativistic and screened where Kramers' law is neither;
    2. thick target: that cross-section integrated over the electron's continuous slowing
       down in tungsten, weighted by 1 / stopping power (collision + radiative, Attix's
       ratio); electrons lose their direction quickly in a high-Z target, which is why the
       angle-integrated cross-section stands in for the forward one;
    3. self-attenuation and filtration: the photons cross on average half of a 2 mm
       tungsten target and a 1.5 mm copper backing (``filtration_mm``), NIST mu/rho.

    Not modelled: electron backscatter, the angular variation of the spectrum across the
    fan, scatter in the collimator and the air path. Without the flattening filter of
    medical linacs the beam is soft: the 6 MeV spectrum peaks near 0.3 MeV with a mean of
    1.0 MeV; weighted by deposited energy in the detector its mean is 1.6 MeV.

    Parameters
    ----------
    endpoint_mev : float
        Nominal accelerating energy (electron kinetic energy), 1-20 MeV.
    n_bins : int
        Number of equal-width energy bins from ``min_energy_mev`` to the endpoint.
    min_energy_mev : float
        Lower edge of the grid; below 0.1 MeV the target absorbs essentially everything.
    filtration_mm : mapping of str to float, optional
        Library material -> thickness (mm) the beam crosses before the object. Defaults to
        ``{"tungsten": 1.0, "copper": 1.5}``.

    Returns
    -------
    Spectrum
        Photons per bin, normalised to sum 1. Cached: the same arguments return the same
        (read-only) object.

    Examples
    --------
    >>> spectrum = linac_spectrum(6.0)
    >>> spectrum.energies_mev.size, round(float(spectrum.energies_mev[-1]), 3)
    (100, 5.971)
    >>> round(spectrum.mean_energy_mev, 2)  # the detected signal's mean is ~1.6 MeV
    1.0
    """
    if not (1.0 <= endpoint_mev <= 20.0) or not (0.001 <= min_energy_mev < endpoint_mev):
        raise SpecError(
            f"linac_spectrum: need 0.001 <= min_energy_mev < endpoint_mev <= 20 MeV and an "
            f"endpoint >= 1 MeV, got {min_energy_mev}, {endpoint_mev}"
        )
    if n_bins < 1:
        raise SpecError(f"linac_spectrum: n_bins must be >= 1, got {n_bins}")
    filtration = _DEFAULT_FILTRATION if filtration_mm is None else tuple(filtration_mm.items())
    return _linac_spectrum(float(endpoint_mev), int(n_bins), float(min_energy_mev), filtration)


@dataclass(frozen=True)
class Detector:
    """An energy-integrating scintillator detector element of an array.

    The signal of an energy-integrating detector is the energy the photons deposit. We take
    each photon that interacts in the crystal to deposit all its energy, so a photon of
    energy E contributes ``E * (1 - exp(-mu(E) * depth))`` with mu the *total* attenuation
    coefficient (NIST). This overestimates the weight of high energies a little: Compton
    photons and annihilation quanta that escape a 5 mm wide crystal carry energy away.

    Parameters
    ----------
    material : str
        Library name of the scintillator: ``"cadmium_tungstate"`` (CdWO4) or
        ``"cesium_iodide"`` (CsI).
    depth_mm : float
        Crystal depth along the beam. 30 mm of CdWO4 is common in MeV cargo scanners.

    Examples
    --------
    >>> detector = Detector("cadmium_tungstate", depth_mm=30.0)
    >>> round(float(detector.absorption(1.0)), 3)
    0.777
    """

    material: str = "cadmium_tungstate"
    depth_mm: float = 30.0

    def __post_init__(self) -> None:
        get_material(self.material)
        if not (math.isfinite(self.depth_mm) and self.depth_mm > 0):
            raise SpecError(f"detector: depth_mm must be positive, got {self.depth_mm!r}")

    def absorption(self, energy_mev: npt.ArrayLike) -> np.ndarray:
        """Fraction of photons of ``energy_mev`` that interact in the crystal."""
        mu = get_material(self.material).mu(energy_mev)
        return -np.expm1(-mu * self.depth_mm / 10.0)

    def signal_weights(self, spectrum: Spectrum) -> np.ndarray:
        """Share of the open-beam signal (deposited energy) carried by each energy bin.

        ``fluence(E) * E * absorption(E)``, normalised to sum 1.
        """
        energies = spectrum.energies_mev
        weights = spectrum.fluence * energies * self.absorption(energies)
        return weights / weights.sum()

    def noise_weights(self, spectrum: Spectrum) -> np.ndarray:
        """Share of the open-beam quantum-noise variance of each energy bin.

        ``fluence(E) * E² * absorption(E)``, normalised to sum 1: each detected photon adds
        its energy to the signal, so it adds E² to the variance.
        """
        energies = spectrum.energies_mev
        weights = spectrum.fluence * energies**2 * self.absorption(energies)
        return weights / weights.sum()

    def detected_fraction(self, spectrum: Spectrum) -> float:
        """Fraction of the incident photons that interact in the crystal."""
        fluence = spectrum.fluence
        return float(np.sum(fluence * self.absorption(spectrum.energies_mev)) / fluence.sum())

    def swank_factor(self, spectrum: Spectrum) -> float:
        """``<E>² / <E²>`` of the detected photons: noise-equivalent quanta per photon.

        An energy-integrating detector weights each photon by the energy it deposits, so
        its signal-to-noise ratio is that of a photon counter that sees this fraction of
        the photons (Swank 1973, the energy-weighting part only).
        """
        energies = spectrum.energies_mev
        detected = spectrum.fluence * self.absorption(energies)
        mean = np.sum(detected * energies) / detected.sum()
        mean_square = np.sum(detected * energies**2) / detected.sum()
        return float(mean**2 / mean_square)


def photons_per_pixel(
    spectrum: Spectrum,
    detector: Detector,
    *,
    dose_gy_at_1m: float,
    distance_m: float,
    pixel_area_mm2: float,
) -> float:
    """Photons a detector element detects from one linac pulse in the open beam.

    The dose of a pulse (water kerma on the beam axis at 1 m, the figure linac data sheets
    quote, per pulse = dose rate / pulse rate) fixes the photon fluence through the water
    energy-absorption coefficient: ``D = fluence * sum(p(E) E mu_en/rho(E))``. The fluence
    falls as 1 / distance²; the element of area ``pixel_area_mm2`` detects the fraction
    :meth:`Detector.detected_fraction`.

    Examples
    --------
    >>> n = photons_per_pixel(linac_spectrum(6.0), Detector(), dose_gy_at_1m=3.3e-4,
    ...                       distance_m=6.5, pixel_area_mm2=25.0)
    >>> 1e4 < n < 1e6
    True
    """
    if min(dose_gy_at_1m, distance_m, pixel_area_mm2) <= 0:
        raise SpecError("photons_per_pixel: dose, distance and pixel area must be positive")
    energies = spectrum.energies_mev
    p = spectrum.fluence / spectrum.fluence.sum()
    water_mu_en = get_material("water").mu_en_rho(energies)
    gy_per_photon_cm2 = np.sum(p * energies * water_mu_en) * _JOULE_PER_MEV * 1000.0
    fluence_at_1m = dose_gy_at_1m / gy_per_photon_cm2  # photons / cm²
    incident = fluence_at_1m / distance_m**2 * pixel_area_mm2 / 100.0
    return float(incident * detector.detected_fraction(spectrum))
