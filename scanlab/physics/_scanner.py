"""The scanner model (source, detector, electronics) and the simulated acquisition."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import NamedTuple

import cv2
import numpy as np
import numpy.typing as npt

from scanlab.errors import ScanValidationError, SpecError
from scanlab.physics._lookup import BasisLookup, build_basis_lookup
from scanlab.physics._spectra import Detector, Spectrum, linac_spectrum, photons_per_pixel

__all__ = [
    "Acquisition",
    "ScannerModel",
    "acquire",
    "aperture_mean",
    "basis_lookup",
    "get_scanner",
    "scanner_names",
]

# Below this many noise-equivalent quanta per pixel Poisson draws replace the Gaussian.
_POISSON_BELOW = 50.0


@dataclass(frozen=True)
class ScannerModel:
    """A linac cargo scanner: beam, detector array and read-out electronics.

    Images are (channel, row, col): rows along the vertical detector array, columns along
    the scan, one column per linac pulse of each channel. Channel 0 is the high energy.

    Parameters
    ----------
    name : str
        Model name, stored in scan metadata.
    energies_mev : tuple of float
        Nominal endpoint energy of each channel's pulses, high first.
    detector : Detector
        Scintillator of the detector elements.
    air_photons_per_pixel : tuple of float
        Photon budget: photons detected per pixel per pulse in the open beam (air), per
        channel. See :func:`photons_per_pixel` for how a dose rate fixes it.
    pitch_mm : (float, float)
        Pixel size (row, col) at the detector: element pitch, and scan advance per pulse.
    blur_sigma_px : (float, float)
        Gaussian blur (row, col) in pixels of the ideal transmission, applied before the
        noise. Along the array, Compton scatter of MeV photons shares ~8 % of a 5 mm
        crystal's signal with each neighbour (sigma ~0.45 px); along the scan only the
        ~2 mm focal spot and the collimator slit blur (sigma ~0.25 px).
    pulse_rms : float
        Relative rms fluctuation of the source output from pulse to pulse (linacs: ~1 %),
        independent for every pulse, so for the two pulses of an interlaced pair too.
        Shows as stripes across the scan where the beam monitor does not remove it.
    monitor_rms : float
        Relative rms noise of the reference (beam monitor) detector that measures each
        pulse's output so that it can be divided out.
    row_gain_rms : float
        Relative rms gain spread between detector rows (crystal light yield, photodiode,
        amplifier); fixed per detector, corrected by the air calibration.
    dark_counts : float
        Mean dark offset of the electronics (ADC counts).
    dark_row_rms_counts : float
        Spread of the dark offset between rows (ADC counts).
    read_noise_counts : float
        Electronics noise per sample (ADC counts rms); ~1 count because designers match
        the ADC step to the noise floor.
    air_fraction : float
        Open-beam signal above the dark offset, as a fraction of the ADC range above it:
        the gain is set so that air sits below full scale with room for the row gains and
        pulse fluctuations.
    adc_bits : int
        ADC resolution; counts are clipped to ``[0, 2**adc_bits - 1]``.
    interlaced : bool
        Whether the channels come from alternating pulses: channel ``c`` is then sampled
        ``c / n_channels`` of a column later than channel 0 (the vehicle moves between
        the pulses), which puts coloured fringes on edges in material images.
    detector_seed : int
        Seed of the fixed row gain and dark patterns of this detector.
    source_height_mm : float, optional
        Height of the source's focal spot above the road. Its fan beam diverges vertically,
        so a vehicle's parts are seen along rays that rise or fall across its width (see
        :class:`scanlab.synth.Canvas`). None: rays taken as parallel (the default).
    source_distance_mm : float
        From the source to the middle of the lane, where the vehicle's centre plane is.
    """

    name: str
    energies_mev: tuple[float, ...]
    detector: Detector
    air_photons_per_pixel: tuple[float, ...]
    pitch_mm: tuple[float, float] = (5.0, 5.0)
    blur_sigma_px: tuple[float, float] = (0.45, 0.25)
    pulse_rms: float = 0.01
    monitor_rms: float = 0.002
    row_gain_rms: float = 0.03
    dark_counts: float = 1000.0
    dark_row_rms_counts: float = 20.0
    read_noise_counts: float = 1.0
    air_fraction: float = 0.85
    adc_bits: int = 16
    interlaced: bool = True
    detector_seed: int = 0
    source_height_mm: float | None = None
    source_distance_mm: float = 4500.0

    def __post_init__(self) -> None:
        n = len(self.energies_mev)
        if n == 0 or len(self.air_photons_per_pixel) != n:
            raise SpecError(
                f"scanner {self.name!r}: need one air_photons_per_pixel per energy, got "
                f"{self.air_photons_per_pixel} for {self.energies_mev}"
            )
        checks = {
            "air_photons_per_pixel": all(p > 0 for p in self.air_photons_per_pixel),
            "blur_sigma_px": all(0 <= s <= 20 for s in self.blur_sigma_px),
            "pulse_rms": 0 <= self.pulse_rms < 0.3,
            "monitor_rms": 0 <= self.monitor_rms < 0.3,
            "row_gain_rms": 0 <= self.row_gain_rms < 0.3,
            "read_noise_counts": self.read_noise_counts >= 0,
            "air_fraction": 0 < self.air_fraction <= 1,
            "adc_bits": 8 <= self.adc_bits <= 16,
            "dark_counts": 0 <= self.dark_counts < 2**self.adc_bits / 2,
        }
        for key, ok in checks.items():
            if not ok:
                raise SpecError(f"scanner {self.name!r}: {key} out of range: {getattr(self, key)}")

    @property
    def n_channels(self) -> int:
        """Number of energy channels."""
        return len(self.energies_mev)

    @property
    def spectra(self) -> tuple[Spectrum, ...]:
        """Bremsstrahlung spectrum of each channel (:func:`linac_spectrum`)."""
        return tuple(linac_spectrum(e) for e in self.energies_mev)

    @property
    def full_scale_counts(self) -> int:
        """Largest ADC count."""
        return 2**self.adc_bits - 1

    @property
    def noise_quanta(self) -> np.ndarray:
        """Noise-equivalent quanta per pixel per pulse in air, per channel.

        The photon budget times the Swank factor ``<E>²/<E²>`` of the energy weighting:
        the open-beam signal-to-noise ratio is ``sqrt(noise_quanta)``.
        """
        return np.array(
            [
                n * self.detector.swank_factor(s)
                for n, s in zip(self.air_photons_per_pixel, self.spectra, strict=True)
            ]
        )

    def row_gains(self, n_rows: int) -> np.ndarray:
        """Relative gain of each detector row (float64, mean ~1); fixed for the detector."""
        rng = np.random.default_rng([self.detector_seed, 0])
        return np.maximum(1.0 + self.row_gain_rms * rng.standard_normal(n_rows), 0.1)

    def dark_levels(self, n_rows: int) -> np.ndarray:
        """Mean dark counts (channel, row) with no beam."""
        rng = np.random.default_rng([self.detector_seed, 1])
        dark = self.dark_counts + self.dark_row_rms_counts * rng.standard_normal(n_rows)
        return np.broadcast_to(np.maximum(dark, 0.0), (self.n_channels, n_rows)).copy()

    def air_levels(self, n_rows: int) -> np.ndarray:
        """Mean counts (channel, row) in the open beam, dark offset included."""
        span = self.air_fraction * (self.full_scale_counts - self.dark_counts)
        return self.dark_levels(n_rows) + span * self.row_gains(n_rows)[None, :]


@dataclass(frozen=True, eq=False)
class Acquisition:
    """Raw counts of a simulated scan and the references that calibrate them.

    Attributes
    ----------
    counts : ndarray of uint16, shape (channel, row, col)
        Detector counts.
    dark_counts : ndarray of float32, shape (channel, row)
        Mean counts without beam.
    air_counts : ndarray of float32, shape (channel, row)
        Mean counts in the open beam (a nominal pulse), dark included.
    pulse_output : ndarray of float32, shape (channel, col)
        Output of each pulse relative to nominal, as the beam monitor measured it.
    """

    counts: np.ndarray
    dark_counts: np.ndarray
    air_counts: np.ndarray
    pulse_output: np.ndarray

    @property
    def dark_level(self) -> tuple[float, ...]:
        """Mean dark counts per channel (for :class:`scanlab.io.ScanMetadata`)."""
        return tuple(float(v) for v in self.dark_counts.mean(axis=1))

    @property
    def air_level(self) -> tuple[float, ...]:
        """Mean open-beam counts per channel (for :class:`scanlab.io.ScanMetadata`)."""
        return tuple(float(v) for v in self.air_counts.mean(axis=1))

    def transmission(self, *, pulse_correction: bool = True) -> np.ndarray:
        """Flat-field corrected transmission (channel, row, col), float32.

        ``(counts - dark) / (air - dark)`` per row, divided by the monitored pulse output
        unless ``pulse_correction`` is False.
        """
        dark = self.dark_counts[:, :, None]
        out = (self.counts.astype(np.float32) - dark) / (self.air_counts[:, :, None] - dark)
        if pulse_correction:
            out /= self.pulse_output[:, None, :]
        return out


def _blur_and_shift(image: np.ndarray, sigma_px: tuple[float, float], shift: float) -> np.ndarray:
    """Gaussian blur (row, col sigma) and a sampling ``shift`` (0..1 column) along the scan.

    The shift is linear interpolation, ``(1 - s) x[j] + s x[j + 1]``, folded into the
    column kernel. Edges are replicated. Returns a new float32 array.
    """

    def gaussian(sigma: float) -> np.ndarray:
        # The discrete Gaussian exp(-t) I_n(t), t = sigma², whose variance is sigma² for any
        # sigma. A Gaussian sampled at whole pixels is not: at sigma 0.25 px it moves 0.03 %
        # of a pixel's signal to each neighbour instead of ~3 %, i.e. no blur at all.
        if sigma <= 0:
            return np.ones(1, dtype=np.float32)
        from scipy.special import ive

        radius = max(2, math.ceil(4.0 * sigma))
        kernel = ive(np.abs(np.arange(-radius, radius + 1)), sigma * sigma)
        return (kernel / kernel.sum()).astype(np.float32)

    rows, cols = gaussian(sigma_px[0]), gaussian(sigma_px[1])
    radius = cols.size // 2
    if shift:
        cols = np.append((1.0 - shift) * cols, 0.0) + np.insert(shift * cols, 0, 0.0)
    return cv2.sepFilter2D(
        np.ascontiguousarray(image, dtype=np.float32),
        cv2.CV_32F,
        cols.astype(np.float32),
        rows,
        anchor=(radius, rows.size // 2),
        borderType=cv2.BORDER_REPLICATE,
    )


def aperture_mean(image: np.ndarray, subpixels: int) -> np.ndarray:
    """Mean over blocks of ``subpixels`` x ``subpixels`` of the last two axes: what one
    detector pixel integrates of an image sampled that many times finer per axis.

    Examples
    --------
    >>> import numpy as np
    >>> aperture_mean(np.arange(16, dtype=np.float32).reshape(4, 4), 2)
    array([[ 2.5,  4.5],
           [10.5, 12.5]], dtype=float32)
    """
    k = int(subpixels)
    if k == 1:
        return image
    *lead, rows, cols = image.shape
    if k < 1 or rows % k or cols % k:
        raise ScanValidationError(
            f"aperture_mean: a ({rows}, {cols}) image does not split into {k} x {k} blocks"
        )
    blocks = image.reshape(*lead, rows // k, k, cols // k, k)
    return blocks.mean(axis=(-3, -1), dtype=np.float32)


def acquire(
    basis_g_cm2: npt.ArrayLike,
    scanner: ScannerModel,
    *,
    rng: np.random.Generator,
    subpixels: int = 1,
) -> Acquisition:
    """Simulate the detector read-out of a scan from its basis-material maps.

    Steps, per channel: ideal transmission from the scanner's :class:`BasisLookup`,
    averaged over each pixel's aperture when the maps are sampled finer than the pixels
    (``subpixels``), interlace offset (channel ``c`` sampled ``c / n_channels`` column
    later), Gaussian blur, pulse-to-pulse source fluctuation (independent per column and
    channel), quantum noise, row gains, dark offset and electronics noise, rounding and
    clipping to the ADC.

    Quantum noise of an energy-integrating detector: each detected photon adds its energy
    E to the signal and E² to its variance. In units of the open-beam signal the signal is
    ``T`` and its variance ``T2 / noise_quanta`` (``T2``: transmission weighted by E²,
    :meth:`BasisLookup.moments`; ``noise_quanta``: :attr:`ScannerModel.noise_quanta`),
    which accounts for beam hardening. It is drawn Gaussian, or, below 50
    noise-equivalent quanta ``T² / T2 * noise_quanta``, as Poisson counts of such quanta.

    A detector element counts the photons that reach it, so what it reads is the mean
    *transmission* over its aperture, not the transmission of the mean areal density: a
    steel web 4.5 mm thick seen along its 2.35 m, black where it lies, darkens a 5 mm pixel
    it half covers to about half the signal, where averaging its areal density over the
    pixel first would leave that pixel black as well. With ``subpixels`` = k the maps hold k
    x k samples per pixel; the signal and its noise moment are averaged over each block
    before the blur and the noise (:func:`aperture_mean`).

    Parameters
    ----------
    basis_g_cm2 : array_like, shape (2, row, col) or (3, row, col)
        Areal densities (g/cm²) of polyethylene, iron and (optionally) lead along each ray
        (:meth:`BasisLookup.decompose` turns any material into these). Zeros are air.
    scanner : ScannerModel
        The scanner.
    rng : numpy.random.Generator
        Source of all randomness of this scan.
    subpixels : int
        Samples of the maps per pixel along each axis (the maps' rows and columns are
        multiples of it).

    Returns
    -------
    Acquisition
        uint16 counts (channel, row, col) plus the dark, air and pulse-monitor references.

    Examples
    --------
    >>> import numpy as np
    >>> scanner = get_scanner("scanlab-6MV-dual")
    >>> maps = np.zeros((2, 8, 10), dtype=np.float32)
    >>> maps[1, :, 5:] = 78.7  # 10 cm of iron in the right half
    >>> scan = acquire(maps, scanner, rng=np.random.default_rng(0))
    >>> scan.counts.dtype, scan.counts.shape
    (dtype('uint16'), (2, 8, 10))
    >>> t = scan.transmission()
    >>> round(float(t[0, :, :4].mean()), 2), round(float(t[0, :, 7:].mean()), 3)
    (1.0, 0.024)
    """
    maps = np.asarray(basis_g_cm2)
    if maps.ndim != 3:
        raise ScanValidationError(
            f"acquire: basis_g_cm2 must be (basis, row, col) maps, got shape {maps.shape}"
        )
    signal, noise = basis_lookup(scanner).moments(maps)
    signal, noise = aperture_mean(signal, subpixels), aperture_mean(noise, subpixels)
    n_channels, n_rows, n_cols = signal.shape
    gains = scanner.row_gains(n_rows).astype(np.float32)[:, None]
    dark = scanner.dark_levels(n_rows).astype(np.float32)
    span = np.float32(scanner.air_fraction * (scanner.full_scale_counts - scanner.dark_counts))
    read_variance = np.float32(scanner.read_noise_counts**2)
    pulses = np.maximum(1.0 + scanner.pulse_rms * rng.standard_normal((n_channels, n_cols)), 0.0)
    monitor = pulses * (1.0 + scanner.monitor_rms * rng.standard_normal((n_channels, n_cols)))
    counts = np.empty(signal.shape, dtype=np.uint16)
    for c in range(n_channels):
        shift = c / n_channels if scanner.interlaced else 0.0
        mean = _blur_and_shift(signal[c], scanner.blur_sigma_px, shift)
        variance = _blur_and_shift(noise[c], scanner.blur_sigma_px, shift)
        pulse = pulses[c].astype(np.float32)
        mean *= pulse  # in units of the open-beam signal of a nominal pulse
        variance *= pulse / np.float32(scanner.noise_quanta[c])
        to_counts = span * gains  # (row, 1)
        draw = rng.standard_normal(mean.shape, dtype=np.float32)
        few = mean * mean < np.float32(_POISSON_BELOW) * variance  # quanta = mean² / var
        out = variance * to_counts**2
        out += read_variance
        np.sqrt(out, out=out)
        out *= draw
        out += mean * to_counts
        if np.any(few):
            index = np.flatnonzero(few)
            m, v = mean.ravel()[index], variance.ravel()[index]
            quanta = np.divide(m * m, v, out=np.zeros_like(m), where=v > 0)
            size = np.divide(v, m, out=np.zeros_like(m), where=m > 0)  # variance / mean
            out.ravel()[index] = (
                rng.poisson(quanta).astype(np.float32) * size * to_counts[index // n_cols, 0]
                + np.float32(scanner.read_noise_counts) * draw.ravel()[index]
            )
        out += dark[c][:, None]
        np.rint(out, out=out)
        np.clip(out, 0, scanner.full_scale_counts, out=out)
        counts[c] = out
    return Acquisition(
        counts=counts,
        dark_counts=dark,
        air_counts=scanner.air_levels(n_rows).astype(np.float32),
        pulse_output=monitor.astype(np.float32),
    )


class _Preset(NamedTuple):
    energies_mev: tuple[float, ...]
    dose_gy_per_min_at_1m: tuple[float, ...]
    pulse_rate_hz: float  # per channel
    distance_m: float = 6.5  # source to detector
    source_height_mm: float | None = None
    source_distance_mm: float = 4500.0


#: A drive-through portal: the truck drives through at about 8 km/h (2.2 m/s), so 7.5 mm
#: columns take 300 pulses/s of each energy; the dose rate is held down for the driver, who
#: stays in the cab (0.4 and 0.13 Gy/min at 1 m), and the lane is wider (8 m from source to
#: detector). Each pulse then brings about a twentieth of the photons of a gantry scanner's,
#: and its exports carry visible grain in the mid and dark greys, as real portal exports do.
#: Its source stands 1.9 m high, 3.7 m from the lane's middle, and its rays diverge. In real
#: portal exports the far side wall's top rail shows as a second line below the roof, with
#: the roof sheet crossed obliquely above it, and the floor's cross-members as a band
#: between the two bottom rails. With the near side's image of the box as the unit, a
#: source ``a`` above the floor and ``L`` from the box's middle make the two bands
#: ``r = (h - a) D / (h m)`` and ``f = a D / (h m)`` high (box height h = 2.6 m, near side
#: magnified m = L / (L - 1.2 m), D = m - L / (L + 1.2 m)), so r / f = (h - a) / a and
#: r + f = 2.4 m / (L + 1.2 m). Measured on the row profiles of two real portal exports of
#: near-empty 40 ft boxes, r = 0.37-0.38 and f = 0.11-0.13: a = 0.65 m, L = 3.7 m. A
#: container's floor on a chassis is about 1.25 m above the road.
_PORTAL = "scanlab-6MV-portal"


_PRESETS = {
    "scanlab-6MV-dual": _Preset((6.0, 4.0), (4.0, 1.3), 200.0),
    "scanlab-9MV-dual": _Preset((9.0, 6.0), (12.0, 4.0), 200.0),
    _PORTAL: _Preset((6.0, 4.0), (0.4, 0.13), 300.0, 8.0, 1900.0, 3700.0),
}
_PIXEL_AREA_MM2 = 25.0


def scanner_names() -> tuple[str, ...]:
    """Names of the preset scanners."""
    return tuple(_PRESETS)


def get_scanner(name: str = "scanlab-6MV-dual") -> ScannerModel:
    """A preset scanner model.

    ``"scanlab-6MV-dual"``: interlaced 6 / 4 MeV linac, 200 pulses/s of each energy, 4.0
    and 1.3 Gy/min at 1 m, 30 mm CdWO4 elements of 5 x 5 mm at 6.5 m: about 3.7e5 and
    1.5e5 detected photons per pixel per pulse in air. ``"scanlab-9MV-dual"``: 9 / 6 MeV,
    12 and 4 Gy/min at 1 m, same detector.

    Examples
    --------
    >>> scanner = get_scanner("scanlab-6MV-dual")
    >>> scanner.energies_mev, [f"{n:.1e}" for n in scanner.air_photons_per_pixel]
    ((6.0, 4.0), ['3.7e+05', '1.5e+05'])
    """
    if name not in _PRESETS:
        raise SpecError(f"unknown scanner {name!r}; valid names: {', '.join(scanner_names())}")
    return _preset(name)


@functools.cache
def _preset(name: str) -> ScannerModel:
    preset = _PRESETS[name]
    detector = Detector("cadmium_tungstate", depth_mm=30.0)
    budget = tuple(
        photons_per_pixel(
            linac_spectrum(energy),
            detector,
            dose_gy_at_1m=dose / 60.0 / preset.pulse_rate_hz,
            distance_m=preset.distance_m,
            pixel_area_mm2=_PIXEL_AREA_MM2,
        )
        for energy, dose in zip(preset.energies_mev, preset.dose_gy_per_min_at_1m, strict=True)
    )
    return ScannerModel(
        name=name,
        energies_mev=preset.energies_mev,
        detector=detector,
        air_photons_per_pixel=budget,
        source_height_mm=preset.source_height_mm,
        source_distance_mm=preset.source_distance_mm,
    )


def basis_lookup(scanner: ScannerModel) -> BasisLookup:
    """The (cached) :class:`BasisLookup` of a scanner's spectra and detector.

    Examples
    --------
    >>> lookup = basis_lookup(get_scanner())
    >>> lookup.n_channels
    2
    """
    return _lookup(scanner.energies_mev, scanner.detector)


@functools.cache
def _lookup(energies_mev: tuple[float, ...], detector: Detector) -> BasisLookup:
    spectra = tuple(linac_spectrum(e) for e in energies_mev)
    return build_basis_lookup(spectra, detector=detector)
