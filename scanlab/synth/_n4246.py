"""ANSI N42.46-style image-quality figures of a scanner model: steel penetration, contrast
sensitivity and spatial resolution, measured on simulated scans of the test objects."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from scanlab.errors import SpecError
from scanlab.io import Representation, Scan, ScanMetadata
from scanlab.physics import ScannerModel, acquire, basis_lookup, get_material, get_scanner
from scanlab.synth._canvas import Canvas, Footprint
from scanlab.synth._scene import EXPORT_AIR_COUNTS

__all__ = [
    "CRITERION",
    "ContrastTest",
    "PenetrationTest",
    "RealismFigures",
    "ResolutionTest",
    "contrast_test",
    "penetration_test",
    "realism_figures",
    "resolution_test",
]

#: Rose's threshold: a uniform object is reliably seen when its signal-to-noise ratio,
#: integrated over its area, reaches about 5.
ROSE_K = 5.0
#: Contrast transfer below which a bar pattern counts as unresolved (limiting resolution).
CTF_THRESHOLD = 0.10
#: Pixels left out at the borders of every measured region, so that the blur of the edges
#: (sigma <= 0.45 px in the presets) does not reach the statistics.
MARGIN_PX = 2

# The text of N42.46 was not at hand: the test-object sizes below are stated choices.
#: Step wedge: steel thicknesses (mm, along the beam) of the steps, each STEP_MM wide.
STEEL_MM = tuple(float(t) for t in range(100, 525, 25))
STEP_MM = 300.0
#: Lead test block behind part of every step: thickness along the beam and square face (mm).
LEAD_MM = 50.0
FACE_MM = 100.0
#: Contrast target: base steel thicknesses and extra plates in % of the base.
BASE_MM = (100.0, 200.0, 300.0)
PLATE_PCT = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0)
#: Line pairs: bar widths (mm), bars per group, steel depth of the bars, sub-pixel phases.
BAR_MM = (2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 10.0, 12.0, 15.0)
N_BARS = 5
BAR_DEPTH_MM = 20.0
N_PHASES = 4
#: Slanted (staircase) edge: sub-pixel edge positions per pixel.
EDGE_OVERSAMPLE = 8

Axis = Literal["col", "row"]
Rect = tuple[float, float, float, float]
AXES: tuple[Axis, Axis] = ("col", "row")

CRITERION = (
    "Detection (penetration, contrast sensitivity): one-sided two-sample test on the "
    "high-energy calibrated transmission of the object's face against an equal steel-only "
    f"region 40 mm below it in the same columns, {MARGIN_PX} px of every border left out; "
    f"detected when z >= {ROSE_K:g} (Rose criterion). Noise: pixel variance about the "
    "column means (what is common to a column, the pulse-correction residual, cancels in "
    "the difference). Area figure: z of the region means (100 x 100 mm face). Per-pixel "
    "figure: z for a one-pixel detail, (mean difference) / sqrt(sum of pixel variances). "
    "Penetration: thickest step up to which the lead block is detected on every thinner "
    "step; contrast sensitivity: thinnest plate (% of the base) from which on every thicker "
    f"plate is detected. Resolution: line pairs of {N_BARS} steel bars "
    f"({BAR_DEPTH_MM:g} mm deep) per width at {N_PHASES} sub-pixel phases; contrast transfer "
    "= fitted fundamental amplitude of the attenuation profile / that of the ideal square "
    f"wave; resolved when its mean over the phases >= {CTF_THRESHOLD:g} and the bar "
    "frequency is at most the Nyquist frequency of the pixel pitch (finer bars alias to a "
    "pattern of the wrong period); figure = finest width from which on every coarser width "
    "is resolved, the coarser of both axes. Edge: presampled MTF50 of staircase-slanted "
    "edges, given as the bar width 1 / (2 f50)."
)


@dataclass
class PenetrationTest:
    """Steel step wedge with a lead block behind part of every step.

    Attributes
    ----------
    steel_mm : tuple of float
        Steel thickness of each step along the beam.
    z_area, z_pixel : ndarray
        Detection statistic of the lead block on each step: over the block's face, and
        for a one-pixel detail (see :data:`CRITERION`).
    penetration_mm, penetration_pixel_mm : float
        Thickest step up to which the block is detected on every step (0 if not on the
        thinnest), by the area and the per-pixel statistic.
    scan : Scan
        The simulated scan (uint16 counts, air 60000, like :func:`generate_scene`).
    """

    steel_mm: tuple[float, ...]
    z_area: np.ndarray
    z_pixel: np.ndarray
    penetration_mm: float
    penetration_pixel_mm: float
    scan: Scan = field(repr=False)


@dataclass
class ContrastTest:
    """Steel plates of a known share of a steel base, for several base thicknesses.

    Attributes
    ----------
    base_mm : tuple of float
        Base steel thicknesses (one band of plates each).
    plate_pct : tuple of float
        Plate thicknesses in % of the base.
    z_area, z_pixel : ndarray, shape (base, plate)
        Detection statistics of each plate.
    sensitivity_pct, sensitivity_pixel_pct : dict of float to float
        Base thickness -> thinnest plate (%) from which on every thicker plate is
        detected; ``inf`` if not even the thickest is.
    scan : Scan
        The simulated scan.
    """

    base_mm: tuple[float, ...]
    plate_pct: tuple[float, ...]
    z_area: np.ndarray
    z_pixel: np.ndarray
    sensitivity_pct: dict[float, float]
    sensitivity_pixel_pct: dict[float, float]
    scan: Scan = field(repr=False)


@dataclass
class ResolutionTest:
    """Line-pair groups and a slanted edge, along each image axis.

    ``"col"``: the profile runs along the scan (bars upright); ``"row"``: along the
    detector array (bars lying).

    Attributes
    ----------
    bar_mm : tuple of float
        Bar (and gap) widths of the groups.
    ctf : dict of str to ndarray, shape (bar, phase)
        Contrast transfer of each group at each sub-pixel phase; NaN above the Nyquist
        frequency, where the fit would measure the alias.
    resolution_mm : dict of str to float
        Finest resolved bar width per axis (``inf`` if none).
    mtf50_mm : dict of str to float
        Bar width ``1 / (2 f50)`` at the edge MTF's 50 % frequency per axis.
    scans : dict of str to Scan
        The simulated scan per axis.
    """

    bar_mm: tuple[float, ...]
    ctf: dict[str, np.ndarray]
    resolution_mm: dict[str, float]
    mtf50_mm: dict[str, float]
    scans: dict[str, Scan] = field(repr=False)


@dataclass
class RealismFigures:
    """The N42.46-style figures of a scanner model, with the tests they come from.

    Attributes
    ----------
    scanner : str
        Scanner model name.
    pitch_mm : float
        Pixel pitch of the simulation.
    penetration_mm, penetration_pixel_mm : float
        Steel penetration: lead block of 100 x 100 mm face, and a one-pixel detail.
    contrast_sensitivity_pct, contrast_sensitivity_pixel_pct : dict of float to float
        Base steel thickness (mm) -> contrast sensitivity (%) for 100 x 100 mm plates and
        for a one-pixel detail.
    resolution_mm : float
        Finest resolved line width, the coarser of the two axes.
    mtf50_mm : dict of str to float
        Edge MTF50 as a bar width, per axis.
    criterion : str
        How detection and resolution are decided (:data:`CRITERION`).
    penetration, contrast, resolution : PenetrationTest, ContrastTest, ResolutionTest
        The tests in detail.
    """

    scanner: str
    pitch_mm: float
    penetration_mm: float
    penetration_pixel_mm: float
    contrast_sensitivity_pct: dict[float, float]
    contrast_sensitivity_pixel_pct: dict[float, float]
    resolution_mm: float
    mtf50_mm: dict[str, float]
    criterion: str
    penetration: PenetrationTest = field(repr=False)
    contrast: ContrastTest = field(repr=False)
    resolution: ResolutionTest = field(repr=False)

    @property
    def images(self) -> dict[str, Scan]:
        """The scans of the test objects, by name."""
        out = {"penetration": self.penetration.scan, "contrast": self.contrast.scan}
        out.update({f"resolution_{a}": s for a, s in self.resolution.scans.items()})
        return out


# --- the tests -------------------------------------------------------------------------


def realism_figures(
    scanner: str | ScannerModel = "scanlab-6MV-dual", *, pitch_mm: float = 5.0, seed: int = 0
) -> RealismFigures:
    """Penetration, contrast sensitivity and resolution of a scanner, N42.46 style.

    Simulates the three tests (:func:`penetration_test`, :func:`contrast_test`,
    :func:`resolution_test`) with the scanner and reads the figures off the scans by the
    criteria in :data:`CRITERION`. Deterministic for a seed.

    Parameters
    ----------
    scanner : str or ScannerModel
        A preset name of :func:`scanlab.physics.get_scanner` or a model.
    pitch_mm : float
        Pixel pitch at the object, 0.5-10 mm. The scanner's photon budget and blur are per
        pixel of its detector (5 mm for the presets): at another pitch the figures are
        those of a detector with that pixel and the same per-pixel budget.
    seed : int
        Seed of the noise.

    Notes
    -----
    The figures follow from the scanner model's photon budget, spectra, detector, blur,
    pulse fluctuations and electronics (:func:`scanlab.physics.acquire`); nothing here is
    fitted to real systems. The model has white noise and no scatter, afterglow or
    calibration drift, so the area figures are those of an ideal observer: behind thin
    steel its contrast sensitivity is better than real systems reach.

    Examples
    --------
    >>> figures = realism_figures("scanlab-6MV-dual")
    >>> figures.penetration_mm, figures.contrast_sensitivity_pct, figures.resolution_mm
    (350.0, {100.0: 0.25, 200.0: 1.0, 300.0: 3.0}, 5.0)
    >>> figures.images["penetration"].data.shape
    (2, 80, 1040)
    """
    model = _model(scanner, pitch_mm, seed)
    pen = penetration_test(model, pitch_mm=pitch_mm, seed=seed)
    con = contrast_test(model, pitch_mm=pitch_mm, seed=seed)
    res = resolution_test(model, pitch_mm=pitch_mm, seed=seed)
    return RealismFigures(
        scanner=model.name,
        pitch_mm=pitch_mm,
        penetration_mm=pen.penetration_mm,
        penetration_pixel_mm=pen.penetration_pixel_mm,
        contrast_sensitivity_pct=con.sensitivity_pct,
        contrast_sensitivity_pixel_pct=con.sensitivity_pixel_pct,
        resolution_mm=max(res.resolution_mm.values()),
        mtf50_mm=res.mtf50_mm,
        criterion=CRITERION,
        penetration=pen,
        contrast=con,
        resolution=res,
    )


def penetration_test(
    scanner: str | ScannerModel = "scanlab-6MV-dual",
    *,
    pitch_mm: float = 5.0,
    seed: int = 0,
    steel_mm: Sequence[float] = STEEL_MM,
) -> PenetrationTest:
    """Scan a steel step wedge with a lead block behind part of every step.

    Steps of ``steel_mm`` steel along the beam, 300 mm wide and 300 mm high, side by side
    along the scan. Behind each, in the middle of its upper half, a lead block 50 mm thick
    with a 100 x 100 mm face; the steel-only reference region of the same size lies 40 mm
    below it, in the same columns. Without a scatter model the order along the beam does
    not matter.
    """
    model = _model(scanner, pitch_mm, seed)
    steel = tuple(float(t) for t in steel_mm)
    if not steel or min(steel) <= 0:
        raise SpecError(f"penetration_test: steel_mm must be positive thicknesses, got {steel}")
    margin, height = 50.0, 300.0
    canvas = _canvas(model, 2 * margin + STEP_MM * len(steel), 2 * margin + height, pitch_mm)
    z_block, z_ref = margin + height / 2 + 20.0, margin + height / 2 - 20.0 - FACE_MM
    pairs = []
    for i, thickness in enumerate(steel):
        x0 = margin + STEP_MM * i
        canvas.add("steel", canvas.box(x0, margin, STEP_MM, height, thickness / 10.0))
        xb = x0 + (STEP_MM - FACE_MM) / 2
        canvas.add("lead", canvas.box(xb, z_block, FACE_MM, FACE_MM, LEAD_MM / 10.0))
        pairs.append((_rect(xb, z_block), _rect(xb, z_ref)))
    scan = _scan(canvas, model, seed, 0, "penetration")
    z_area, z_pixel = _detection(scan, canvas, pairs)
    return PenetrationTest(
        steel_mm=steel,
        z_area=z_area,
        z_pixel=z_pixel,
        penetration_mm=_last_passing(steel, z_area >= ROSE_K, default=0.0),
        penetration_pixel_mm=_last_passing(steel, z_pixel >= ROSE_K, default=0.0),
        scan=scan,
    )


def contrast_test(
    scanner: str | ScannerModel = "scanlab-6MV-dual",
    *,
    pitch_mm: float = 5.0,
    seed: int = 0,
    base_mm: Sequence[float] = BASE_MM,
    plate_pct: Sequence[float] = PLATE_PCT,
) -> ContrastTest:
    """Scan steel plates of ``plate_pct`` % of a steel base of each ``base_mm`` thickness.

    One band per base: a base slab 300 mm high, plates with a 100 x 100 mm face every
    150 mm along its upper half, and the steel-only reference region of the same size
    40 mm below each plate, in the same columns.
    """
    model = _model(scanner, pitch_mm, seed)
    bases = tuple(float(t) for t in base_mm)
    plates = tuple(sorted(float(p) for p in plate_pct))
    if not bases or min(bases) <= 0 or not plates or min(plates) <= 0:
        raise SpecError(
            f"contrast_test: base_mm and plate_pct must be positive, got {bases}, {plates}"
        )
    margin, band, slab, spacing = 50.0, 350.0, 300.0, 150.0
    length = spacing * len(plates) + 50.0
    canvas = _canvas(model, 2 * margin + length, 2 * margin + band * len(bases), pitch_mm)
    pairs = []
    for i, base in enumerate(bases):
        zb = margin + band * i
        canvas.add("steel", canvas.box(margin, zb, length, slab, base / 10.0))
        z_plate, z_ref = zb + slab / 2 + 20.0, zb + slab / 2 - 20.0 - FACE_MM
        for j, pct in enumerate(plates):
            xp = margin + 50.0 + spacing * j
            canvas.add("steel", canvas.box(xp, z_plate, FACE_MM, FACE_MM, base * pct / 1000.0))
            pairs.append((_rect(xp, z_plate), _rect(xp, z_ref)))
    scan = _scan(canvas, model, seed, 1, "contrast")
    z_area, z_pixel = (z.reshape(len(bases), len(plates)) for z in _detection(scan, canvas, pairs))

    def sensitivity(z: np.ndarray) -> dict[float, float]:
        reversed_pct = plates[::-1]
        return {
            b: _last_passing(reversed_pct, row[::-1] >= ROSE_K, default=math.inf)
            for b, row in zip(bases, z, strict=True)
        }

    return ContrastTest(
        base_mm=bases,
        plate_pct=plates,
        z_area=z_area,
        z_pixel=z_pixel,
        sensitivity_pct=sensitivity(z_area),
        sensitivity_pixel_pct=sensitivity(z_pixel),
        scan=scan,
    )


def resolution_test(
    scanner: str | ScannerModel = "scanlab-6MV-dual",
    *,
    pitch_mm: float = 5.0,
    seed: int = 0,
    bar_mm: Sequence[float] = BAR_MM,
) -> ResolutionTest:
    """Scan line-pair groups and a slanted edge, once per image axis.

    Each group has :data:`N_BARS` steel bars of one width, 100 mm long and 20 mm deep,
    separated by gaps of that width, drawn :data:`N_PHASES` times shifted by a fraction of
    a pixel. The edges are four staircases of steel boxes (150 mm long, 4 px high, 20 mm
    deep, exact partial-pixel coverage), each box's edge shifted by 1/8 pixel from the
    last: their oversampled edge-spread function gives the presampled MTF. For the
    ``"row"`` axis the objects are turned by 90 degrees (the scanner's blur differs between
    the axes, so the image cannot be).
    """
    model = _model(scanner, pitch_mm, seed)
    bars = tuple(sorted(float(w) for w in bar_mm))
    if not bars or min(bars) <= 0:
        raise SpecError(f"resolution_test: bar_mm must be positive widths, got {bars}")
    ctf: dict[str, np.ndarray] = {}
    resolution: dict[str, float] = {}
    mtf50: dict[str, float] = {}
    scans: dict[str, Scan] = {}
    for axis in AXES:
        ctf[axis], mtf50[axis], scans[axis] = _resolution_axis(model, axis, bars, pitch_mm, seed)
        with np.errstate(invalid="ignore"):
            passing = ctf[axis].mean(axis=1) >= CTF_THRESHOLD  # NaN (aliased) fails
        resolution[axis] = _last_passing(bars[::-1], passing[::-1], default=math.inf)
    return ResolutionTest(bars, ctf, resolution, mtf50, scans)


# --- resolution in detail -------------------------------------------------------------


def _resolution_axis(
    model: ScannerModel, axis: Axis, bars: tuple[float, ...], pitch_mm: float, seed: int
) -> tuple[np.ndarray, float, Scan]:
    """Draw, scan and measure the line pairs and the edge along one axis.

    Coordinates are (u, v): u along the measured profile, v across it; for ``"col"`` u is
    x, for ``"row"`` u is the height z. Returns the CTF (bar, phase), MTF50 bar width, scan.
    """
    p = pitch_mm
    margin, bar_len, band = 50.0, 100.0, 150.0
    ends = margin + np.cumsum([2 * N_BARS * w + 40.0 for w in bars])
    starts = np.concatenate([[margin], ends[:-1]])  # of each group's first bar
    # Edges start on pixel borders and their bands are whole pixels high, so that each
    # band's inner rows see one edge position. Staircases side by side along u average
    # what is common to a column (pulse fluctuations) when u runs along the scan.
    edge_len, edge_band = 150.0, 4 * p
    edge_us = [_ceil_to(margin + 100.0 + 300.0 * r, p) for r in range(4)]
    edge_v0 = _ceil_to(margin + band * N_PHASES, p)
    n_edge = 2 * EDGE_OVERSAMPLE
    u_size = _ceil_to(max(float(ends[-1]), edge_us[-1] + edge_len) + margin, p)
    v_size = _ceil_to(edge_v0 + n_edge * edge_band + margin, p)
    if axis == "col":
        canvas = _canvas(model, u_size, v_size, p)
    else:
        canvas = _canvas(model, v_size, u_size, p)

    def box(u0: float, v0: float, du: float, dv: float) -> Footprint | None:
        if axis == "col":
            return canvas.box(u0, v0, du, dv, BAR_DEPTH_MM / 10.0)
        return canvas.box(v0, u0, dv, du, BAR_DEPTH_MM / 10.0)

    for k in range(N_PHASES):
        for start, w in zip(starts, bars, strict=True):
            for j in range(N_BARS):
                u0 = start + k * p / N_PHASES + 2 * w * j
                canvas.add("steel", box(u0, margin + band * k, w, bar_len))
    for edge_u in edge_us:
        for k in range(n_edge):
            shift = (k % EDGE_OVERSAMPLE) * p / EDGE_OVERSAMPLE
            canvas.add("steel", box(edge_u + shift, edge_v0 + k * edge_band, edge_len, edge_band))
    scan = _scan(canvas, model, seed, 2 + AXES.index(axis), f"resolution_{axis}")
    image = scan.to_attenuation().data[0]

    def window(u0: float, u1: float, v0: float, v1: float) -> tuple[np.ndarray, np.ndarray]:
        """u of the pixel centres in the window and the values there, (v, u)."""
        if axis == "col":
            rows, cols = _centred(canvas, "z", v0, v1), _centred(canvas, "x", u0, u1)
            return canvas.x_of(np.arange(cols.start, cols.stop) + 0.5), image[rows, cols]
        rows, cols = _centred(canvas, "z", u0, u1), _centred(canvas, "x", v0, v1)
        return canvas.z_of(np.arange(rows.start, rows.stop) + 0.5), image[rows, cols].T

    inset = (MARGIN_PX + 0.5) * p
    edge_v1 = edge_v0 + n_edge * edge_band
    _, steel = window(edge_us[0] + edge_len / 2, edge_us[0] + edge_len - inset, edge_v0, edge_v1)
    _, air = window(edge_us[0] - edge_len / 2, edge_us[0] - inset, edge_v0, edge_v1)
    # Fundamental amplitude of the ideal square wave between air and bar.
    ideal = 2.0 / np.pi * float(steel.mean() - air.mean())

    ctf = np.full((len(bars), N_PHASES), np.nan)
    for g, (start, w) in enumerate(zip(starts, bars, strict=True)):
        if w < p * (1 - 1e-9):
            continue  # above Nyquist: the samples cannot tell the bars from their alias
        for k in range(N_PHASES):
            first = start + k * p / N_PHASES
            v0 = margin + band * k
            u, values = window(
                first - w / 2, first - w / 2 + 2 * N_BARS * w, v0 + inset, v0 + bar_len - inset
            )
            ctf[g, k] = _fundamental(u, values.mean(axis=0), 1.0 / (2 * w), first + w / 2) / ideal

    esf_sum = np.zeros(2 * 8 * EDGE_OVERSAMPLE + 1)
    esf_n = np.zeros_like(esf_sum)
    step = p / EDGE_OVERSAMPLE
    for edge_u in edge_us:
        for k in range(n_edge):
            edge = edge_u + (k % EDGE_OVERSAMPLE) * step
            v0 = edge_v0 + k * edge_band
            u, values = window(edge_u - 8 * p, edge_u + 8 * p, v0 + p, v0 + edge_band - p)
            index = np.rint((u - edge) / step).astype(int) + 8 * EDGE_OVERSAMPLE
            keep = (index >= 0) & (index < esf_sum.size)
            np.add.at(esf_sum, index[keep], values.sum(axis=0)[keep])
            np.add.at(esf_n, index[keep], values.shape[0])
    filled = esf_n > 0
    esf = esf_sum[filled] / esf_n[filled]
    return ctf, _mtf50_bar_mm(esf, step), scan


def _fundamental(u: np.ndarray, profile: np.ndarray, frequency: float, centre: float) -> float:
    """Amplitude of the ``frequency`` component of a profile: least-squares fit of a
    constant, a cosine and a sine (rank-deficient at Nyquist, where lstsq still gives the
    alternating amplitude)."""
    phase = 2 * np.pi * frequency * (u - centre)
    design = np.stack([np.ones_like(u), np.cos(phase), np.sin(phase)], axis=1)
    coefficients, *_ = np.linalg.lstsq(design, profile.astype(np.float64), rcond=None)
    return float(np.hypot(coefficients[1], coefficients[2]))


def _mtf50_bar_mm(esf: np.ndarray, step_mm: float) -> float:
    """Bar width ``1 / (2 f50)`` of an oversampled edge-spread function."""
    lsf = np.diff(esf.astype(np.float64))
    n = 4096
    spectrum = np.abs(np.fft.rfft(lsf, n))
    frequency = np.fft.rfftfreq(n, step_mm)
    # The finite difference is a box of one step: divide its transfer out.
    mtf = spectrum / spectrum[0] / np.maximum(np.sinc(frequency * step_mm), 1e-6)
    below = np.flatnonzero(mtf < 0.5)
    if below.size == 0:
        return 0.0
    i = int(below[0])
    f50 = frequency[i - 1] + (mtf[i - 1] - 0.5) / (mtf[i - 1] - mtf[i]) * (
        frequency[i] - frequency[i - 1]
    )
    return float(1.0 / (2.0 * f50))


# --- shared machinery ----------------------------------------------------------------


def _model(scanner: str | ScannerModel, pitch_mm: float, seed: int) -> ScannerModel:
    """Check the common arguments; the scanner model."""
    if not (isinstance(pitch_mm, int | float) and 0.5 <= pitch_mm <= 10.0):
        raise SpecError(f"N42.46 tests: pitch_mm must be a number in [0.5, 10], got {pitch_mm!r}")
    if not (isinstance(seed, int | np.integer) and seed >= 0):
        raise SpecError(f"N42.46 tests: seed must be a non-negative integer, got {seed!r}")
    return get_scanner(scanner) if isinstance(scanner, str) else scanner


def _canvas(model: ScannerModel, width_mm: float, height_mm: float, pitch_mm: float) -> Canvas:
    """An empty canvas whose top edge lies on a whole number of pixels above z = 0."""
    lookup = basis_lookup(model)
    rows, cols = round(height_mm / pitch_mm), round(width_mm / pitch_mm)

    def decompose(material: str) -> tuple[float, ...]:
        return tuple(float(c) for c in lookup.decompose(material))

    def density(material: str) -> float:
        return float(get_material(material).density_g_cm3)

    return Canvas(rows, cols, pitch_mm, rows * pitch_mm, decompose, density, 3)


def _scan(canvas: Canvas, model: ScannerModel, seed: int, test: int, name: str) -> Scan:
    """Acquire the canvas like :func:`generate_scene`: counts, calibrated transmission,
    16-bit export with air at 60000. Each ``test`` draws its own noise stream."""
    rng = np.random.default_rng([seed, 0x4246, test])
    trans = acquire(canvas.basis, model, rng=rng).transmission()
    counts = np.clip(np.rint(trans * EXPORT_AIR_COUNTS), 0, 65535).astype(np.uint16)
    meta = ScanMetadata(
        scan_id=f"n4246-{name}",
        scanner_model=model.name,
        energies_mev=tuple(model.energies_mev),
        pitch_mm=(canvas.pitch_mm, canvas.pitch_mm),
        scan_direction="left_to_right",
        air_level=(EXPORT_AIR_COUNTS,) * model.n_channels,
        dark_level=(0.0,) * model.n_channels,
        attributes={"simulator": "scanlab.synth.n4246", "test_object": name, "seed": seed},
    )
    return Scan(counts, Representation.COUNTS, meta, source=f"<N42.46 {name}>")


def _centred(canvas: Canvas, coordinate: Literal["x", "z"], lo: float, hi: float) -> slice:
    """Columns (``"x"``) or rows (``"z"``) whose pixel centres lie in [lo, hi] mm."""
    p, eps = canvas.pitch_mm, 1e-6
    if coordinate == "x":
        first, last = math.ceil(lo / p - 0.5 - eps), math.floor(hi / p - 0.5 + eps)
        size = canvas.cols
    else:
        top = canvas.top_mm
        first = math.ceil((top - hi) / p - 0.5 - eps)
        last = math.floor((top - lo) / p - 0.5 + eps)
        size = canvas.rows
    return slice(min(max(first, 0), size), min(max(last + 1, 0), size))


def _region(canvas: Canvas, rect: tuple[float, float, float, float]) -> tuple[slice, slice]:
    """Pixels wholly inside ``rect`` = (x0, x1, z0, z1) mm, :data:`MARGIN_PX` from its borders."""
    x0, x1, z0, z1 = rect
    inset = (MARGIN_PX + 0.5) * canvas.pitch_mm
    return (
        _centred(canvas, "z", z0 + inset, z1 - inset),
        _centred(canvas, "x", x0 + inset, x1 - inset),
    )


def _detection(
    scan: Scan, canvas: Canvas, pairs: Sequence[tuple[Rect, Rect]]
) -> tuple[np.ndarray, np.ndarray]:
    """Area and per-pixel z of each (object, reference) pair of regions (see CRITERION)."""
    transmission = scan.to_transmission().data[0].astype(np.float64)
    z_area, z_pixel = [], []
    for obj_rect, ref_rect in pairs:
        obj = transmission[_region(canvas, obj_rect)]
        ref = transmission[_region(canvas, ref_rect)]
        if min(obj.shape + ref.shape) < 2:
            raise SpecError(
                f"N42.46 tests: pitch {canvas.pitch_mm} mm leaves too few pixels in a region"
            )
        difference = float(ref.mean() - obj.mean())  # the object attenuates
        obj_var, ref_var = _pixel_variance(obj), _pixel_variance(ref)
        z_area.append(_ratio(difference, obj_var / obj.size + ref_var / ref.size))
        z_pixel.append(_ratio(difference, obj_var + ref_var))
    return np.array(z_area), np.array(z_pixel)


def _pixel_variance(region: np.ndarray) -> float:
    """Pixel noise variance about the column means. Object and reference share their
    columns, so what is common to a column (the residual of the pulse correction) cancels
    in their difference and is left out here too."""
    residual = region - region.mean(axis=0)
    return float(np.sum(residual * residual) / (region.size - region.shape[1]))


def _rect(x0: float, z0: float) -> Rect:
    """The (x0, x1, z0, z1) mm rectangle of a test object's square face."""
    return (x0, x0 + FACE_MM, z0, z0 + FACE_MM)


def _ratio(difference: float, variance: float) -> float:
    if variance > 0:
        return difference / math.sqrt(variance)
    return math.inf if difference > 0 else 0.0


def _last_passing(values: Sequence[float], passing: np.ndarray, *, default: float) -> float:
    """The value before the first failure, walking ``values`` in order; ``default`` if the
    first fails."""
    out = default
    for value, ok in zip(values, passing, strict=True):
        if not ok:
            break
        out = float(value)
    return out


def _ceil_to(value: float, step: float) -> float:
    return math.ceil(value / step - 1e-9) * step
