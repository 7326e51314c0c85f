"""Real hosts: a site's own clean scans turned into exam and practice items by threat image
projection, each analysed first (display curve, pitch, blur, noise, the cargo space)."""

from __future__ import annotations

import csv
import dataclasses
import functools
import math
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from scipy.special import erfinv

from scanlab._specfiles import file_sha256
from scanlab.errors import ScanlabError, SpecError
from scanlab.i18n import _
from scanlab.io import Representation, Scan, read_scan
from scanlab.synth._answer_key import THREAT_CLASSES, AnswerKey, KeyObject
from scanlab.synth._declaration import COMMODITIES, CargoDeclaration, DeclaredGoods
from scanlab.synth._display import DisplayCurve
from scanlab.synth._tip import (
    THREAT_LIBRARY,
    Threat,
    _warp,
    display_attenuation,
    local_noise_sigma,
    project_threat,
    render_threat,
)

__all__ = [
    "CargoRegion",
    "Host",
    "HostDisplay",
    "HostItem",
    "HostPool",
    "HostSpec",
    "ProjectionQuality",
    "analyse_host",
    "estimate_air_grey",
    "estimate_blur",
    "estimate_display_curve",
    "find_cargo_region",
    "host_files",
    "item_view",
    "load_host",
    "make_host_item",
    "projection_quality",
    "read_declarations",
    "write_simulated_hosts",
]

#: Interior height and outer lengths (mm) of ISO containers: what a scan without a stated
#: pitch is measured against.
_INTERIOR_HEIGHT_MM = 2390.0
_CONTAINER_LENGTHS_MM = (6058.0, 12192.0, 13716.0)
#: Beyond this attenuation (0.1 % of the beam left) a 6 MV portal sees only noise.
_SATURATED_ATTENUATION = 7.0
#: Roof-to-floor over roof-to-road of a body on a road chassis (containers, box trucks).
_FLOOR_SHARE = 0.63
_SCANLAB_CURVE = {"contrast": 0.41, "power": 0.6, "black_attenuation": 10.0}
_CURVE_KEYS = {f.name for f in dataclasses.fields(DisplayCurve)} | {"air_grey"}


@dataclass
class HostSpec:
    """The ``hosts`` block of a dataset or exam spec: clean scans to project threats into.

    Attributes
    ----------
    paths : list of str
        Folders (every readable scan in them) or files; any format scanlab reads, 8-bit
        JPEG/PNG exports without metadata included. Relative paths are taken from the spec
        file's folder.
    share : float
        Share of the items drawn on hosts; the rest are simulated.
    threats : mapping of str to float
        Weights of :data:`THREAT_LIBRARY` threats.
    cut_threats : list of str
        Threats cut by the instructor (:func:`cut_threat`, :meth:`Threat.save`), weight 1 each.
    max_threats : int
        Up to this many threats in an item that is not clean.
    pitch_mm : float, [row, col] or None
        Pixel size of hosts that do not record it; None estimates it from the container.
    display : "estimate" or mapping
        Display curve of 8-bit exports without a recorded one: estimated from the image's
        noise, or stated as a :class:`scanlab.synth.DisplayCurve` record (``kind``, and its
        parameters) with, optionally, ``air_grey``, the grey level of air when it is not
        white.
    sharpen : "estimate", "none" or mapping
        The unsharp masking of exports that were sharpened (most vendors' detail
        enhancement): estimated from the halos at the host's own edges, left out, or stated
        as ``{amount: ..., sigma_px: ...}`` (grey-level unsharp masking ``g + amount (g -
        gaussian(g, sigma_px))``). Projected threats are sharpened alike.
    declarations : str or None
        A CSV of declarations (see :func:`read_declarations`); without one no verdict is asked.
    confidential : bool
        The hosts' pixels never enter an exam package unencrypted.
    rotation_deg, scale : [low, high]
        Ranges the projected threat is rotated and scaled within.
    quarter_turns : bool
        Also turn each threat by a random multiple of 90 degrees: goods in a load lie along
        its axes, and so do most things hidden among them (a tilted block stands out).
    opaque_classes : list of str
        Classes that may be placed where the host is saturated (hidden in dense goods).
    """

    paths: list[str]
    share: float = 1.0
    threats: dict[str, float] = field(default_factory=lambda: dict.fromkeys(THREAT_LIBRARY, 1.0))
    cut_threats: list[str] = field(default_factory=list)
    max_threats: int = 1
    pitch_mm: float | list[float] | None = None
    display: str | dict[str, float] = "estimate"
    sharpen: str | dict[str, float] = "estimate"
    declarations: str | None = None
    confidential: bool = False
    rotation_deg: list[float] = field(default_factory=lambda: [-2.0, 2.0])
    quarter_turns: bool = True
    scale: list[float] = field(default_factory=lambda: [0.85, 1.15])
    opaque_classes: list[str] = field(default_factory=lambda: ["narcotics", "cash"])

    @classmethod
    def from_dict(
        cls, raw: Any, *, source: str | Path = "<spec>", base: Path | None = None
    ) -> HostSpec:
        """Check a ``hosts`` block; relative paths are resolved against ``base``."""
        if isinstance(raw, str | list):
            raw = {"paths": raw}
        if not isinstance(raw, Mapping):
            raise SpecError(
                _("{source}: field 'hosts' must be a mapping with 'paths'").format(source=source)
            )
        known = set(cls.__dataclass_fields__)
        unknown = set(raw) - known
        if unknown:
            raise SpecError(
                _("{source}: field 'hosts' has unknown key(s) {unknown}; known: {known}").format(
                    source=source, unknown=sorted(unknown), known=sorted(known)
                )
            )
        raw = dict(raw)
        if "paths" not in raw:
            raise SpecError(
                _("{source}: field 'hosts' needs 'paths' (a folder or files)").format(source=source)
            )
        if isinstance(raw["paths"], str):
            raw["paths"] = [raw["paths"]]
        spec = cls(**raw)
        if base is not None:
            spec = spec.resolved(base)
        spec.check(source=source)
        return spec

    def resolved(self, base: Path) -> HostSpec:
        def fix(p: str) -> str:
            return str(Path(p) if Path(p).is_absolute() else base / p)

        return dataclasses.replace(
            self,
            paths=[fix(p) for p in self.paths],
            cut_threats=[fix(p) for p in self.cut_threats],
            declarations=fix(self.declarations) if self.declarations else None,
        )

    def check(self, *, source: str | Path = "<spec>") -> None:
        def fail(key: str, why: str) -> SpecError:
            return SpecError(
                _("{source}: field {field!r} {problem}").format(
                    source=source, field=f"hosts.{key}", problem=why
                )
            )

        if not isinstance(self.paths, list) or not all(isinstance(p, str) for p in self.paths):
            raise fail("paths", _("must be a folder or a list of files"))
        if not self.paths:
            raise fail("paths", _("must name at least one folder or file"))
        if not isinstance(self.share, int | float) or not 0 <= self.share <= 1:
            raise fail("share", _("must be in [0, 1], got {share!r}").format(share=self.share))
        if not isinstance(self.threats, Mapping):
            raise fail("threats", _("must map threat names to weights"))
        for name, weight in self.threats.items():
            if name not in THREAT_LIBRARY:
                raise fail(
                    "threats",
                    _("has unknown threat {name!r}; valid: {THREAT_LIBRARY}").format(
                        name=name, THREAT_LIBRARY=sorted(THREAT_LIBRARY)
                    ),
                )
            if isinstance(weight, bool) or not isinstance(weight, int | float) or weight < 0:
                raise fail(
                    "threats", _("weight of {name!r} must be a number >= 0").format(name=name)
                )
        if sum(self.threats.values()) <= 0 and not self.cut_threats:
            raise fail("threats", _("weights must not all be 0 unless cut_threats are given"))
        if isinstance(self.max_threats, bool) or not isinstance(self.max_threats, int):
            raise fail("max_threats", _("must be an integer >= 1"))
        if self.max_threats < 1:
            raise fail("max_threats", _("must be an integer >= 1"))
        if self.pitch_mm is not None:
            pitch = self.pitch_mm if isinstance(self.pitch_mm, list) else [self.pitch_mm]
            if len(pitch) not in (1, 2) or not all(
                isinstance(p, int | float) and 0.1 <= p <= 100 for p in pitch
            ):
                raise fail(
                    "pitch_mm",
                    _("must be mm in [0.1, 100] or [row, col], got {pitch!r}").format(pitch=pitch),
                )
        if self.display != "estimate" and (
            not isinstance(self.display, Mapping) or set(self.display) - _CURVE_KEYS
        ):
            raise fail(
                "display",
                _("must be 'estimate' or a mapping of {CURVE_KEYS}").format(
                    CURVE_KEYS=sorted(_CURVE_KEYS)
                ),
            )
        if isinstance(self.display, Mapping):
            try:
                DisplayCurve.from_record(dict(self.display))
            except (SpecError, TypeError, ValueError) as exc:
                raise fail("display", _("is not a display curve: {exc}").format(exc=exc)) from None
        if isinstance(self.sharpen, Mapping):
            values = dict(self.sharpen)
            if (
                set(values) != {"amount", "sigma_px"}
                or not all(
                    isinstance(v, int | float) and not isinstance(v, bool) for v in values.values()
                )
                or not 0 <= values["amount"] <= 5
                or not 0.2 <= values["sigma_px"] <= 10
            ):
                raise fail(
                    "sharpen",
                    _(
                        "must be 'estimate', 'none' or {{amount: 0-5, sigma_px: 0.2-10}}, got "
                        "{sharpen!r}"
                    ).format(sharpen=self.sharpen),
                )
        elif self.sharpen not in ("estimate", "none"):
            raise fail(
                "sharpen",
                _("must be 'estimate', 'none' or a mapping, got {sharpen!r}").format(
                    sharpen=self.sharpen
                ),
            )
        for key in ("rotation_deg", "scale"):
            pair = getattr(self, key)
            if (
                not isinstance(pair, list | tuple)
                or len(pair) != 2
                or not all(isinstance(v, int | float) for v in pair)
                or pair[0] > pair[1]
            ):
                raise fail(key, _("must be [low, high], got {pair!r}").format(pair=pair))
        if not (self.scale[0] >= 0.2 and self.scale[1] <= 5):
            raise fail("scale", _("must lie within [0.2, 5]"))
        if any(c not in THREAT_CLASSES for c in self.opaque_classes):
            raise fail(
                "opaque_classes",
                _("must list classes of {THREAT_CLASSES}").format(THREAT_CLASSES=THREAT_CLASSES),
            )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def public_dict(self, files: Sequence[Path] = ()) -> dict[str, Any]:
        """The block without any path: what packages and dataset folders keep of it."""
        d = self.to_dict()
        d["paths"] = [f"<{len(files) or len(self.paths)} host file(s), paths withheld>"]
        d["cut_threats"] = [f"<cut threat {i + 1}>" for i in range(len(self.cut_threats))]
        d["declarations"] = "<instructor CSV>" if self.declarations else None
        return d


def host_files(paths: Sequence[str | Path]) -> list[Path]:
    """The scan files that ``paths`` (folders or files) name, sorted, folders not recursed.

    Raises
    ------
    SpecError
        A path does not exist, or nothing readable is found.
    """
    from scanlab.io import formats

    suffixes = {e.lower() for f in formats().values() for e in f.extensions}
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out += sorted(
                f
                for f in p.iterdir()
                if f.is_file() and not f.name.startswith(".") and f.suffix.lower() in suffixes
            )
        elif p.is_file():
            out.append(p)
        else:
            raise SpecError(_("{path}: no such host file or folder").format(path=p))
    if not out:
        raise SpecError(_("{paths}: no host scans found").format(paths=", ".join(map(str, paths))))
    return out


@dataclass(frozen=True)
class HostDisplay:
    """How a display host is shown: its tone curve (:class:`scanlab.synth.DisplayCurve`),
    the grey level of its air, and how the curve was obtained: ``recorded`` in the file,
    ``stated`` by the instructor, ``estimated`` from the image, or ``assumed`` (scanlab's)."""

    curve: DisplayCurve
    method: str
    residual: float = 0.0
    #: Grey level of air (full scale when None): many exports show air a little below white.
    air_grey: float | None = None
    #: For an estimated curve: the other family's best misfit less the chosen one's.
    family_margin: float = 0.0

    def to_attenuation(self, scan: Scan) -> np.ndarray:
        """Attenuation of a display scan through the curve's inverse (air at ``air_grey``)."""
        return display_attenuation(scan, self.curve, air_grey=self.air_grey)

    def record(self) -> dict[str, Any]:
        """The curve as ``attributes["display"]`` records it, with the air grey level."""
        return {**self.curve.as_dict(), **({"air_grey": self.air_grey} if self.air_grey else {})}

    def provenance(self) -> dict[str, Any]:
        """The curve and how it was obtained (with the fit's misfits when estimated)."""
        fit = (
            {"residual": self.residual, "family_margin": self.family_margin}
            if self.method == "estimated"
            else {}
        )
        return {**self.record(), "method": self.method, **fit}


def estimate_air_grey(scan: Scan) -> float | None:
    """Grey level of air in a display export: the median of its lightest rows (the sky above
    a vehicle), or None (full scale) when those are not light enough to be air."""
    grey = np.asarray(scan.data[0], dtype=np.float32)
    full = float(np.iinfo(scan.data.dtype).max) if scan.data.dtype.kind == "u" else 1.0
    air = float(np.median(grey[_air_rows(-grey, floor=1.5 * full / 255)]))
    if air < 0.6 * full or air >= full - 0.5:
        return None
    return air


def _air_rows(attenuation: np.ndarray, *, floor: float) -> np.ndarray:
    """Rows of air above a vehicle: the lightest rows (by their median), as many as lie
    within noise (at least ``floor``) of the lightest one, at most a twentieth of the image.

    Vendor exports are cropped to the body, a few rows above the roof: a fixed share of the
    image's rows would take the container's light interior for air.
    """
    att = np.asarray(attenuation, dtype=np.float32)
    level = np.median(att, axis=1)
    order = np.argsort(level)[: max(att.shape[0] // 20, 1)]
    spread = max(3 * local_noise_sigma(att[order[:1]]), floor)
    return np.sort(order[level[order] <= level[order[0]] + spread])


def estimate_display_curve(scan: Scan, *, min_bins: int = 5) -> HostDisplay:
    """Estimate the display curve of an 8-bit export from how its noise grows with darkness.

    Quantum noise in transmission grows as ``sqrt(T)``. In flat patches the grey-level noise
    at each grey level is the transmission noise times the slope of the curve there, so the
    curve whose inverse turns the measured grey noise into a ``sqrt(T)`` law best is the
    export's. The search runs over both of scanlab's curve families
    (:class:`scanlab.synth.DisplayCurve`): the log curves (log-like displays) and the power
    curves in transmission (linear and gamma-lifted exports), so the family is chosen by the
    image too; ``HostDisplay.family_margin`` says how much better the chosen family fits
    than the best curve of the other one. With too few usable grey levels (noise below one
    grey level, as after a vendor's noise reduction and JPEG, or an image without flat
    areas) scanlab's own curve is assumed and said so: state the curve in the host spec.

    Examples
    --------
    >>> from scanlab.io import example_scan
    >>> from scanlab.synth import render_display
    >>> shown = render_display(example_scan(rows=32, cols=64))
    >>> shown.metadata.attributes.pop("display")["power"]
    0.6
    >>> estimate_display_curve(shown).method in ("estimated", "assumed")
    True
    """
    grey = np.asarray(scan.data[0], dtype=np.float32)
    full = float(np.iinfo(scan.data.dtype).max) if scan.data.dtype.kind == "u" else 1.0
    air = estimate_air_grey(scan)
    if air is not None:
        full = air  # levels relative to air, as the curve maps them
    levels, sigmas = _noise_by_level(np.minimum(grey / full, 1.0))
    good = sigmas * full >= 0.6  # below about one grey level the noise is quantisation
    levels, sigmas = levels[good], sigmas[good]
    if levels.size < min_bins:
        return HostDisplay(DisplayCurve("log", **_SCANLAB_CURVE), "assumed", air_grey=air)
    best: dict[str, tuple[float, DisplayCurve]] = {}
    for curve in _candidate_curves():
        # The inverse's slope dT/dL by a central difference; log10(sigma_T) - log10(T) / 2
        # is constant for the right curve.
        t = curve.to_transmission(levels)
        dt = (
            curve.to_transmission(np.minimum(levels + 1e-3, 1.0))
            - curve.to_transmission(np.maximum(levels - 1e-3, 0.0))
        ) / 2e-3
        if not (np.all(t > 0) and np.all(dt > 0)):
            continue
        resid = np.log(sigmas * dt) - 0.5 * np.log(t)
        cost = float(np.mean((resid - resid.mean()) ** 2))
        if cost < best.get(curve.kind, (math.inf,))[0]:
            best[curve.kind] = (cost, curve)
    cost, curve = min(best.values(), key=lambda v: v[0])
    other = [v[0] for k, v in best.items() if k != curve.kind]
    return HostDisplay(
        curve,
        "estimated",
        residual=round(cost, 4),
        air_grey=air,
        family_margin=round(min(other) - cost, 4) if other else 0.0,
    )


@functools.cache
def _candidate_curves() -> tuple[DisplayCurve, ...]:
    """The curves the noise law is fitted over: log curves, and power curves from near-linear
    to strongly gamma-lifted (a clipped white point is a grey-level scale, which the air
    level already takes out)."""
    out = []
    for black in (6.0, 8.0, 10.0, 12.0):
        for power in np.arange(0.35, 1.31, 0.05):
            for contrast in np.geomspace(0.1, 2.0, 30):
                out.append(
                    DisplayCurve(
                        "log",
                        contrast=round(float(contrast), 4),
                        power=round(float(power), 3),
                        black_attenuation=black,
                    )
                )
    for gamma in np.arange(0.3, 1.51, 0.025):
        for black_t in (0.0, 0.002, 0.005, 0.01):
            out.append(
                DisplayCurve("power", gamma=round(float(gamma), 3), black_transmission=black_t)
            )
    return tuple(out)


def _noise_by_level(grey: np.ndarray, *, block: int = 8, bins: int = 24) -> tuple[Any, Any]:
    """(grey level, noise sigma) per grey-level bin, from the flattest blocks of an image."""
    rows, cols = grey.shape[0] // block * block, grey.shape[1] // block * block
    if rows == 0 or cols == 0:
        return np.zeros(0), np.zeros(0)
    g = grey[:rows, :cols]
    # Horizontal neighbour differences: noise twice over, slow structure removed.
    diff = np.zeros_like(g)
    diff[:, 1:] = np.diff(g, axis=1)
    tiles = g.reshape(rows // block, block, cols // block, block)
    dtiles = diff.reshape(rows // block, block, cols // block, block)[:, :, :, 1:]
    mean = tiles.mean(axis=(1, 3)).ravel()
    noise = dtiles.std(axis=(1, 3)).ravel() / math.sqrt(2.0)
    # Flat blocks: their row and column means vary no more than noise alone makes them.
    structure = np.maximum(tiles.mean(axis=1).std(axis=2), tiles.mean(axis=3).std(axis=1))
    flat = (structure.ravel() < 1.5 * noise / math.sqrt(block) + 0.3 / 255) & (mean > 0.03)
    flat &= mean < 0.97
    edges = np.linspace(0.03, 0.97, bins + 1)
    idx = np.digitize(mean[flat], edges) - 1
    levels, sigmas = [], []
    for b in range(bins):
        sel = noise[flat][idx == b]
        if sel.size >= 8:
            levels.append(float(np.median(mean[flat][idx == b])))
            sigmas.append(float(np.median(sel)))
    return np.array(levels), np.array(sigmas)


def grain_by_level(scan: Scan) -> tuple[tuple[float, ...], tuple[float, ...]] | None:
    """A display export's grain: (grey levels, grey-level noise sigma) in its flat areas,
    ascending, rounding included (what the eye sees there); None with fewer than two levels.

    A vendor's noise reduction smooths flat areas by how their grain compares with its
    threshold, so how grainy each grey looks is the export's own, not the quantum law's.
    """
    grey = np.asarray(scan.data[0], dtype=np.float32)
    full = float(np.iinfo(scan.data.dtype).max) if scan.data.dtype.kind == "u" else 1.0
    levels, sigmas = _noise_by_level(grey / full)
    if len(levels) < 2:
        return None
    return (
        tuple(round(float(v) * full, 3) for v in levels),
        tuple(round(float(v) * full, 4) for v in sigmas),
    )


def estimate_blur(attenuation: np.ndarray) -> tuple[tuple[float, float], tuple[float, float]]:
    """Gaussian sigmas (row, col) in pixels of a scan's image blur and of its noise blur.

    Image blur from the scan's own straight edges: for a Gaussian-blurred step of height
    ``h`` sampled on pixels, the central-difference gradient at the edge is
    ``h * erf(1 / (sigma sqrt 2)) / 2``, which gives ``sigma`` (median over the strongest
    edges along each axis). Noise blur from the correlation of neighbouring pixels' noise in
    flat areas: blurred white noise has the lag-k correlation ``exp(-k^2 / (4 sigma^2))``.
    An axis without usable edges takes its noise blur.
    """
    att = np.asarray(attenuation, dtype=np.float32)
    noise_blur = tuple(_noise_blur(att, axis) for axis in (0, 1))
    points, axes = host_edges(att, limit=3000)
    edge = edge_blur(att, points, axes)
    image_blur = tuple(e if e is not None else n for e, n in zip(edge, noise_blur, strict=True))
    return (image_blur[0], image_blur[1]), (noise_blur[0], noise_blur[1])


def _noise_blur(att: np.ndarray, axis: int) -> float:
    a = np.moveaxis(att, axis, 1)
    d1 = a[:, 1:-1] - a[:, :-2]
    d2 = a[:, 2:] - a[:, :-2]
    ok = np.isfinite(d1) & np.isfinite(d2)
    if ok.sum() < 100:
        return 0.0
    # Median absolute values keep edges out; the ratio of the spreads gives the correlation.
    v1 = float(np.median(np.abs(d1[ok]))) ** 2
    v2 = float(np.median(np.abs(d2[ok]))) ** 2
    if v1 <= 0:
        return 0.0
    ratio = v2 / v1  # (1 - rho2) / (1 - rho1): 1 for white noise, towards 4 for smooth
    if ratio <= 1.02:
        return 0.0
    lo, hi = 0.05, 20.0
    for _step in range(50):
        s = (lo + hi) / 2
        r1, r2 = math.exp(-1 / (4 * s * s)), math.exp(-4 / (4 * s * s))
        if (1 - r2) / max(1 - r1, 1e-12) < ratio:
            lo = s
        else:
            hi = s
    sigma = (lo + hi) / 2
    # Past a few pixels the ratio is structure, not noise (or the noise is quantised away).
    return round(sigma, 3) if sigma <= 4.0 else 0.0


def sharpness_to_sigma(sharpness: Any) -> Any:
    """Gaussian blur sigma (px) of a step whose gradient over step height is ``sharpness``.

    A Gaussian-blurred step of height ``h`` sampled on pixels has the central-difference
    gradient ``h erf(1 / (sigma sqrt 2)) / 2`` at the edge: 0.5 for a sharp step.
    """
    ratio = np.clip(2 * np.asarray(sharpness, dtype=float), 1e-6, 1 - 1e-9)
    return 1.0 / (math.sqrt(2.0) * erfinv(ratio))


def edge_blur(
    attenuation: np.ndarray, points: np.ndarray, axes: np.ndarray, *, min_edges: int = 15
) -> tuple[float | None, float | None]:
    """Median blur sigma (row, col) of the step edges at ``points`` (None: too few)."""
    feats = edge_features(attenuation, points, axes)
    out: list[float | None] = []
    for ax in (0, 1):
        f = feats[(axes == ax) & np.isfinite(feats).all(axis=1)]
        noise = max(local_noise_sigma(attenuation), 1e-4)
        f = f[f[:, 2] > 10 * noise]  # steps well above the noise
        out.append(
            round(float(np.median(sharpness_to_sigma(f[:, 0]))), 3) if len(f) >= min_edges else None
        )
    return out[0], out[1]


_PROFILE_HALF = 7


def _edge_profiles(image: np.ndarray, *, reach: int = 8) -> np.ndarray:
    """Profiles across the image's strongest isolated step edges (row, ``2 * 7 + 1``),
    centred on the gradient's peak and scaled to run from 0 to 1."""
    img = np.asarray(image, dtype=np.float32)
    points, axes = host_edges(img, limit=800)
    rows, cols = img.shape
    noise = max(local_noise_sigma(img), 0.3)
    half = _PROFILE_HALF
    out = []
    for (r, c), ax in zip(points, axes, strict=True):
        if ax == 1:
            if not (reach + 3 <= c < cols - reach - 3 and 3 <= r < rows - 3):
                continue
            band = img[r - 2 : r + 3, c - reach - 3 : c + reach + 4]
        else:
            if not (reach + 3 <= r < rows - reach - 3 and 3 <= c < cols - 3):
                continue
            band = img[r - reach - 3 : r + reach + 4, c - 2 : c + 3].T
        line = band.mean(axis=0)
        grads = np.abs(line[2:] - line[:-2]) / 2
        mid = reach + 1 + int(np.argmax(grads[reach : reach + 5]))
        p = line[mid - half : mid + half + 1]
        if len(p) != 2 * half + 1:
            continue
        low, high = float(p[:2].mean()), float(p[-2:].mean())
        step = high - low
        # A step well above the noise, straight along the edge (its five lines alike), and
        # not a thin line (whose gradient is its whole contrast).
        straight = float(np.abs(band - line).mean()) < 0.15 * abs(step)
        if abs(step) < 10 * noise or grads[mid - 1] > 0.55 * abs(step) or not straight:
            continue
        out.append((p - low) / step)
    return np.array(out, dtype=np.float64).reshape(-1, 2 * half + 1)


@functools.cache
def _sharpening_models() -> tuple[np.ndarray, tuple[tuple[float, float, float], ...], int]:
    """Unit-norm, zero-mean edge profiles of a Gaussian-blurred step (blur b) after unsharp
    masking (amount a, sigma s), each at several sub-pixel offsets: (models, keys, offsets)."""
    from scipy.special import erf

    x = np.arange(-_PROFILE_HALF, _PROFILE_HALF + 1, dtype=np.float64)
    shifts = np.linspace(-1.0, 1.0, 11)
    models, keys = [], []
    for b in np.arange(0.3, 3.01, 0.15):
        for a in np.round(np.arange(0.0, 2.01, 0.1), 2):
            for s in (0.6, 0.8, 1.0, 1.3, 1.6, 2.0, 2.5, 3.0) if a > 0 else (1.0,):
                c = math.hypot(b, s)
                for d in shifts:
                    step_b = 0.5 * (1 + erf((x - d) / (b * math.sqrt(2))))
                    step_c = 0.5 * (1 + erf((x - d) / (c * math.sqrt(2))))
                    models.append(step_b + a * (step_b - step_c))
                keys.append((round(float(b), 3), float(a), float(s) if a > 0 else 0.0))
    m = np.array(models)
    m -= m.mean(axis=1, keepdims=True)
    m /= np.linalg.norm(m, axis=1, keepdims=True)
    return m, tuple(keys), len(shifts)


def estimate_sharpening(image: np.ndarray, *, min_edges: int = 20) -> tuple[float, float]:
    """(amount, sigma in px) of the unsharp masking an export's software applied, from the
    halos at its own step edges; (0, 0) when it shows none or has too few clean edges.

    Unsharp masking ``g + a (g - gaussian(g, s))`` leaves a light rim on the light side of
    every edge and a dark one on the dark side, of a size and reach set by ``a`` and ``s``.
    Profiles across the image's strongest straight, isolated steps are fitted, each at its
    own sub-pixel position, step and offset, by a blurred step so sharpened; the model whose
    median misfit over the edges is least is the export's. Sharpening is reported only where
    the edges show both rims (the median profile dips below its dark side and rises above
    its light side by 2 % of the step or more: a tone curve's bend or a blur leaves one at
    most) and the sharpened model fits them clearly better than a blurred step alone (its
    misfit under 0.7 of that one's).
    """
    profiles = _edge_profiles(image)
    if len(profiles) < min_edges:
        return 0.0, 0.0
    typical = np.median(profiles, axis=0)
    dark_rim = -float(typical[: _PROFILE_HALF - 1].min())
    light_rim = float(typical[_PROFILE_HALF + 2 :].max()) - 1.0
    if min(dark_rim, light_rim) < 0.02:
        return 0.0, 0.0
    centred = profiles - profiles.mean(axis=1, keepdims=True)
    norm = np.maximum((centred**2).sum(axis=1), 1e-9)
    models, keys, offsets = _sharpening_models()
    best = np.full(len(keys), np.inf)
    chunk = 2000 * offsets
    for start in range(0, len(models), chunk):
        corr = centred @ models[start : start + chunk].T
        misfit = 1 - np.where(corr > 0, corr, 0) ** 2 / norm[:, None]
        per_key = misfit.reshape(len(profiles), -1, offsets).min(axis=2)
        k0 = start // offsets
        best[k0 : k0 + per_key.shape[1]] = np.median(per_key, axis=0)
    _, amount, sigma = keys[int(np.argmin(best))]
    unsharpened = min(v for v, k in zip(best, keys, strict=True) if k[1] == 0)
    if amount == 0 or float(best.min()) > 0.7 * unsharpened:
        return 0.0, 0.0
    return round(amount, 2), round(sigma, 2)


def _usm_sharpness(blur: float, amount: float, radius: float) -> float:
    """Gradient over step at a Gaussian-blurred step (``blur`` px) after unsharp masking."""
    wide = math.hypot(blur, radius)
    g_blur = math.erf(1 / (max(blur, 1e-3) * math.sqrt(2))) / 2
    g_wide = math.erf(1 / (wide * math.sqrt(2))) / 2
    return g_blur + amount * (g_blur - g_wide)


def blur_before_sharpening(measured: float, amount: float, radius: float) -> float:
    """The Gaussian blur (px) an edge had before unsharp masking (``amount``, ``radius`` px)
    made it look as sharp as one of blur ``measured`` (:func:`sharpness_to_sigma`)."""
    target = math.erf(1 / (max(measured, 1e-3) * math.sqrt(2))) / 2
    if _usm_sharpness(0.05, amount, radius) <= target:
        return 0.05
    lo, hi = 0.05, 20.0
    for _step in range(60):  # the sharpness falls as the blur grows
        mid = (lo + hi) / 2
        if _usm_sharpness(mid, amount, radius) > target:
            lo = mid
        else:
            hi = mid
    return round((lo + hi) / 2, 3)


@dataclass(frozen=True)
class CargoRegion:
    """The cargo space found in a host image: roof and floor lines, end walls, and the
    interior between them (rows ``roof_row..floor_row``, cols ``front_col..rear_col``)."""

    roof_row: int
    floor_row: int
    start_col: int
    end_col: int
    interior: tuple[int, int, int, int]
    air_threshold: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "roof_row": self.roof_row,
            "floor_row": self.floor_row,
            "start_col": self.start_col,
            "end_col": self.end_col,
            "interior": list(self.interior),
        }


def find_cargo_region(attenuation: np.ndarray, *, source: str = "<host>") -> CargoRegion:
    """Find the container (or box body) in a side-view scan from its straight lines.

    The roof is the longest flat run of the top outline (the first non-air row of each
    column; a lug sticking up for a few columns does not end it): a cab or a portal is
    shorter. The body is the rows below it that cover (almost) every column of that run. The
    floor is found from its underside, where the image turns lighter along the whole length
    (dense goods standing on the floor do not hide that); failing that, it is the dense
    horizontal band in the body's lower part (floor boards and cross members). The end walls
    are the dense columns at the run's ends.

    Raises
    ------
    SpecError
        When no flat roof spans a fifth of the image (not a side view of a load space).
    """
    att = np.asarray(attenuation, dtype=np.float32)
    rows, cols = att.shape
    air = att[_air_rows(att, floor=0.02)]
    # A slightly rotated export's roof crosses the air rows at one end: leave it out.
    air = np.where(air > np.median(air) + 0.3, np.nan, air)
    threshold = max(0.05, 5 * local_noise_sigma(air))
    obj = cv2.morphologyEx((att > threshold).astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3)))
    has = obj.any(axis=0)
    top = np.where(has, obj.argmax(axis=0), rows)
    top = cv2.medianBlur(top.astype(np.float32)[None, :], 5)[0] if cols >= 5 else top
    tol = max(2.0, 0.012 * rows)
    skip = max(2, cols // 100)
    best = (0, 0, 0)
    start = 0
    while start < cols:
        if top[start] >= rows:
            start += 1
            continue
        end = start
        while True:
            # Against the last stretch of the run, not its start: a scan may be slightly
            # tilted. A lifting lug or a corner casting sticks up for a few columns only:
            # the run goes on where the roof comes back within a hundredth of the width.
            level = np.median(top[max(start, end - 20) : end + 1])
            ahead = top[end + 1 : end + 2 + skip]
            fits = np.nonzero((ahead < rows) & (np.abs(ahead - level) <= tol))[0]
            if not fits.size:
                break
            end += 1 + int(fits[0])
        if end - start + 1 > best[0]:
            best = (end - start + 1, start, end + 1)
        start = end + 1
    length, c0, c1 = best
    if length < 0.2 * cols:
        raise SpecError(
            _("{source}: no container roof found (no flat top over a fifth of the scan)").format(
                source=source
            )
        )
    roof = int(np.median(top[c0:c1]))
    coverage = obj[:, c0:c1].mean(axis=1)
    # The lowest row the whole length covers: under the floor, the chassis rails; below
    # them only wheels (a curtain or an open load leaves gaps higher up, hence not the first).
    covered = np.nonzero(coverage > 0.9)[0]
    bottom = int(covered.max()) if covered.size else roof
    margin = max((c1 - c0) // 20, 1)
    med = np.median(att[roof : bottom + 1, c0 + margin : c1 - margin], axis=1)
    floor = bottom
    if bottom - roof > 10:
        lo = roof + int(0.55 * (bottom - roof))
        band = med[lo - roof :]
        base, peak = float(np.median(band)), float(band.max())
        if peak - base > 3 * threshold:
            floor = lo + int(np.argmax(band > base + 0.5 * (peak - base)))
    ground = int(np.nonzero(obj[:, c0:c1].any(axis=1))[0].max())
    underside = _floor_underside(att[:, c0 + margin : c1 - margin], roof, ground, threshold)
    if underside is not None:
        floor = min(underside, bottom)
    # Where wheels show the road, the floor of a container or box body on a chassis lies
    # about 0.63 of the way from the roof down to the road (2.6 m body on a ~1.2 m deck):
    # dense goods standing on the floor can pass for it in the profile, not in that prior.
    elif rows - 3 > ground > bottom + 0.05 * (ground - roof):  # the road is in the image
        prior = roof + round(_FLOOR_SHARE * (ground - roof))
        if abs(floor - prior) > 0.08 * (ground - roof):
            floor = min(prior, bottom)
    inner = med[: max(floor - roof, 1)]
    typical = float(np.median(inner)) if inner.size else 0.0
    roof_in = roof
    while roof_in < floor - 1 and med[roof_in - roof] > 1.5 * typical + threshold:
        roof_in += 1
    colmed = np.median(att[roof_in : max(floor, roof_in + 1), c0:c1], axis=0)
    typical_c = float(np.median(colmed))
    # End walls: the last dense column near each end (a front wall can stand a little
    # inside the body, behind corner posts or a headboard).
    dense = np.nonzero(colmed > 1.5 * typical_c + threshold)[0]
    reach = max(round(0.06 * (c1 - c0)), 3)
    near_start = dense[dense < reach]
    near_end = dense[dense >= (c1 - c0) - reach]
    left = c0 + (int(near_start.max()) + 1 if near_start.size else 0)
    right = c0 + (int(near_end.min()) - 1 if near_end.size else c1 - c0 - 1)
    # Leave a wall's width more: corrugation and posts are not cargo space.
    pad = max(2, round(0.01 * (c1 - c0)))
    interior = (roof_in + pad, left + pad, max(floor - 1, roof_in + pad + 1), right - pad + 1)
    if interior[2] - interior[0] < 4 or interior[3] - interior[1] < 4:
        raise SpecError(
            _("{source}: the cargo space found is too small to place a threat").format(
                source=source
            )
        )
    return CargoRegion(roof, floor, c0, c1, interior, threshold)


def _floor_underside(
    body: np.ndarray, roof: int, ground: int, threshold: float, *, share: float = 0.75
) -> int | None:
    """The floor line of a body from its underside: the highest row in the body's lower
    part below which the image turns lighter in (almost) every column, or None.

    Under a container's or a box body's floor lie its cross members with air between them,
    so along the whole length the image is lighter just below the floor than on it, however
    dense the goods standing on it (a dense load darkens the rows above the floor as much
    as the floor itself, which hides the floor in a column profile). The goods' own edges
    run at the same row only where they end together; the chassis below is lower.
    """
    k = 2
    lo = max(roof + int(0.45 * (ground - roof)), k)
    hi = min(ground, body.shape[0] - k)
    if hi - lo < 2 * k:
        return None
    r = np.arange(lo, hi)
    lighter = (body[r - k] - body[r + k]) > max(0.2, 2 * threshold)
    darker = (body[r + k] - body[r - k]) > max(0.2, 2 * threshold)
    share_of = lighter.mean(axis=1)
    found = np.nonzero(share_of >= share)[0]
    if not found.size:
        return None
    runs = np.split(found, np.nonzero(np.diff(found) > 1)[0] + 1)
    # The floor spans the whole length: layers of goods ending together (sacks, cartons on
    # pallets) span less of it, the gaps between stacks left out.
    best = float(share_of.max())
    runs = [run for run in runs if share_of[run].max() >= best - 0.1]
    # A run followed closely (within 4 % of the body's height, a few centimetres) by a line that
    # turns darker and then by a run along more of the length, or by a run where the image turns
    # far lighter, is goods ending just above the floor (rounded bales; the floor runs under the
    # gaps between them too): the floor is the later one. The chassis below the floor spans no
    # more of the length.
    # How much lighter the image turns across a run: under a floor lie air and the chassis's
    # cross members, far lighter than the plywood seen along the width; under goods that
    # end just above the floor lies the floor itself, hardly lighter.
    drop = np.median(body[r - k] - body[r + k], axis=1)

    def fall(run: np.ndarray) -> float:
        return float(drop[run].max())

    step = None
    for run, nxt in zip(runs, [*runs[1:], None], strict=True):
        if nxt is not None and nxt[0] - run[-1] <= 0.04 * (r[run[-1]] - roof):
            between = darker[int(run[-1]) + 1 : int(nxt[0])]
            line = float(between.mean(axis=1).max()) if between.size else 0.0
            later = share_of[nxt].max() > share_of[run].max() + 0.01 or fall(nxt) > 2 * fall(run)
            # A line turning darker along (almost) the whole length is the floor's top, when
            # the image under the next run turns lighter by as much as under this one: a
            # chassis rail's flange a few centimetres under the floor is a thin line with
            # the chassis, hardly lighter, under it.
            if (line >= 0.3 and later) or (line >= 0.95 and fall(nxt) >= 0.5 * fall(run)):
                continue
        step = int(r[run[0]])
        break
    if step is None:
        return None
    # The floor's top: up from the underside through the floor band, in the columns where
    # the space above is lighter than the band (gaps in the load, its empty part); under a
    # load dense everywhere the band cannot be told from the goods and the step stands.
    reach = max(3, round(0.06 * (step - roof)))
    band = body[step - k]
    above = body[max(step - k - reach, 0) : step - k][::-1]
    # Clearly above the band: below half its attenuation (its edge's half-maximum).
    clear = above < band[None, :] / 2
    seen = clear.any(axis=0)
    if seen.mean() < 0.05:
        return step
    return step - k - int(np.median(clear[:, seen].argmax(axis=0)))


@dataclass
class Host:
    """A clean scan analysed for projection. Never holds the file's path (only its sha256)."""

    scan: Scan
    attenuation: np.ndarray
    sha256: str
    curve: HostDisplay | None
    pitch_mm: tuple[float, float]
    pitch_source: str
    region: CargoRegion
    image_blur_px: tuple[float, float]
    noise_blur_px: tuple[float, float]
    saturated: np.ndarray
    #: The luminance quantisation table of a JPEG host (its file's own): items are
    #: compressed as the host was, so projected threats carry the export's JPEG artefacts.
    jpeg_table: tuple[int, ...] | None = None
    #: The export's unsharp masking (amount, sigma in px), and how it was obtained:
    #: ``stated``, ``estimated`` or ``none``.
    sharpen: tuple[float, float] = (0.0, 0.0)
    sharpen_source: str = "none"
    #: A display host's grain: (grey levels, grey-level noise sigma there) in its flat areas
    #: (:func:`grain_by_level`), which its export's noise reduction set.
    grain: tuple[tuple[float, ...], tuple[float, ...]] | None = None

    def provenance(self) -> dict[str, Any]:
        """What a key and a manifest record of the host: no path, no pixels."""
        return {
            "real_host": True,
            "host_sha256": self.sha256,
            "host_representation": self.scan.representation.value,
            "display_curve": self.curve.provenance() if self.curve else None,
            "pitch_mm": list(self.pitch_mm),
            "pitch_source": self.pitch_source,
            "image_blur_px": list(self.image_blur_px),
            "noise_blur_px": list(self.noise_blur_px),
            "sharpen": {
                "amount": self.sharpen[0],
                "sigma_px": self.sharpen[1],
                "method": self.sharpen_source,
            },
            "cargo_region": self.region.to_dict(),
        }


def _has_header(scan: Scan) -> bool:
    """False for a bare image export (pixels only, nothing known of pitch or curve)."""
    return not (
        scan.representation is Representation.DISPLAY
        and set(scan.metadata.attributes) <= {"display_bit_depth"}
        and not scan.metadata.scanner_model
    )


def analyse_host(
    scan: Scan,
    *,
    sha256: str = "",
    pitch_mm: float | Sequence[float] | None = None,
    display: str | Mapping[str, float] = "estimate",
    sharpen: str | Mapping[str, float] = "estimate",
) -> Host:
    """Analyse a clean scan for projection: curve, attenuation, region, pitch, blur and
    (for a display export) its sharpening.

    ``pitch_mm`` is used when the file records none (a bare image export); without either,
    the pitch is measured from the container: its interior height, and its length as the
    nearest ISO length.
    """

    source = str(scan.source)
    curve = None
    if scan.representation is Representation.DISPLAY:
        recorded = scan.metadata.attributes.get("display")
        if isinstance(display, Mapping):
            air = display.get("air_grey")
            curve = HostDisplay(
                DisplayCurve.from_record(dict(display)),
                "stated",
                air_grey=float(air) if air else None,
            )
        elif isinstance(recorded, Mapping) and ("contrast" in recorded or "kind" in recorded):
            air = recorded.get("air_grey")
            curve = HostDisplay(
                DisplayCurve.from_record(dict(recorded)),
                "recorded",
                air_grey=float(air) if air else None,
            )
        else:
            curve = estimate_display_curve(scan)
        att = curve.to_attenuation(scan)
        full = float(np.iinfo(scan.data.dtype).max) if scan.data.dtype.kind == "u" else 1.0
        saturated = np.asarray(scan.data[0]) <= (1.0 if full > 1 else 1.0 / 255)
    else:
        att = scan.to_attenuation().high.astype(np.float32)
        saturated = att >= _SATURATED_ATTENUATION
    region = find_cargo_region(att, source=source)
    if _has_header(scan):
        pitch = (float(scan.metadata.pitch_mm[0]), float(scan.metadata.pitch_mm[1]))
        pitch_source = "recorded"
    elif pitch_mm is not None:
        values = [float(v) for v in np.atleast_1d(np.asarray(pitch_mm, dtype=float))]
        pitch = (values[0], values[-1])
        pitch_source = "stated"
    else:
        pitch = _pitch_from_region(region)
        pitch_source = "estimated"
    # Blur is measured where the eye sees it: in grey levels for a display export (its
    # inverse curve stretches the dark end into steps of several attenuation units).
    image_blur, noise_blur = estimate_blur(
        np.asarray(scan.data[0], dtype=np.float32) if curve is not None else att
    )
    amount_sigma, sharpen_source = (0.0, 0.0), "none"
    if curve is not None and isinstance(sharpen, Mapping):
        amount_sigma = (float(sharpen["amount"]), float(sharpen["sigma_px"]))
        sharpen_source = "stated"
    elif curve is not None and sharpen == "estimate":
        amount_sigma = estimate_sharpening(np.asarray(scan.data[0], dtype=np.float32))
        sharpen_source = "estimated"
    if amount_sigma[0] > 0:
        # The edges were measured as the sharpening left them; the threat is blurred to
        # the blur before it, and then sharpened alike.
        image_blur = (
            blur_before_sharpening(image_blur[0], *amount_sigma),
            blur_before_sharpening(image_blur[1], *amount_sigma),
        )
    meta = dataclasses.replace(
        scan.metadata,
        pitch_mm=pitch,
        attributes={
            **scan.metadata.attributes,
            **({"display": {**curve.record(), "bits": 8}} if curve else {}),
        },
    )
    return Host(
        scan.replace(metadata=meta),
        att,
        sha256,
        curve,
        pitch,
        pitch_source,
        region,
        image_blur,
        noise_blur,
        saturated,
        sharpen=amount_sigma,
        sharpen_source=sharpen_source,
        grain=grain_by_level(scan) if curve is not None else None,
    )


def _pitch_from_region(region: CargoRegion) -> tuple[float, float]:
    height_px = max(region.floor_row - region.roof_row, 1)
    pitch_row = _INTERIOR_HEIGHT_MM / height_px
    length_px = max(region.end_col - region.start_col, 1)
    guess = length_px * pitch_row
    length = min(_CONTAINER_LENGTHS_MM, key=lambda v: abs(math.log(v / guess)))
    return round(pitch_row, 3), round(length / length_px, 3)


@functools.lru_cache(maxsize=4)
def _load_host(
    path: str, pitch_key: tuple[float, ...] | None, display_key: Any, sharpen_key: Any
) -> Host:
    file = Path(path)
    scan = read_scan(file)
    display = dict(display_key) if isinstance(display_key, tuple) else display_key
    sharpen = dict(sharpen_key) if isinstance(sharpen_key, tuple) else sharpen_key
    host = analyse_host(
        scan, sha256=file_sha256(file), pitch_mm=pitch_key, display=display, sharpen=sharpen
    )
    # The path stays here, in the cache key: the host itself only knows its sha256.
    host.scan = host.scan.replace(source=f"<host {host.sha256[:12]}>")
    host.jpeg_table = _jpeg_table(file)
    return host


def _jpeg_table(file: Path) -> tuple[int, ...] | None:
    """The luminance quantisation table of a JPEG file (None for any other format)."""
    from PIL import Image

    try:
        with Image.open(file) as im:
            tables = getattr(im, "quantization", None) if im.format == "JPEG" else None
    except OSError:
        return None
    return tuple(int(v) for v in tables[0]) if tables else None


def _as_compressed(host: np.ndarray, item: np.ndarray, table: Sequence[int]) -> np.ndarray:
    """``item`` (a grey uint8 image made from ``host``) with each 8 x 8 JPEG block that
    differs from the host's JPEG-compressed with the host's table, as the vendor's software
    compressed the host; the blocks left as they were keep the host's own pixels."""
    import io

    from PIL import Image

    changed = item != host
    if not changed.any():
        return item
    buf = io.BytesIO()
    Image.fromarray(item).save(buf, format="JPEG", qtables=[list(table)])
    decoded = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("L"))
    rows, cols = item.shape
    pad = ((0, -rows % 8), (0, -cols % 8))
    blocks = np.pad(changed, pad).reshape((rows + pad[0][1]) // 8, 8, -1, 8).any(axis=(1, 3))
    touched = np.repeat(np.repeat(blocks, 8, axis=0), 8, axis=1)[:rows, :cols]
    return np.where(touched, decoded, item)


def load_host(path: str | Path, spec: HostSpec) -> Host:
    """Read and analyse one host file as ``spec`` says (cached: items reuse their host)."""
    pitch = spec.pitch_mm
    pitch_key = (
        None
        if pitch is None
        else tuple(float(v) for v in (pitch if isinstance(pitch, list) else [pitch]))
    )
    display_key = (
        tuple(sorted(spec.display.items())) if isinstance(spec.display, Mapping) else spec.display
    )
    sharpen_key = (
        tuple(sorted(spec.sharpen.items())) if isinstance(spec.sharpen, Mapping) else spec.sharpen
    )
    try:
        return _load_host(str(path), pitch_key, display_key, sharpen_key)
    except SpecError:
        raise
    except ScanlabError as exc:
        raise SpecError(
            _("{path}: cannot use it as a host: {exc}").format(path=path, exc=exc)
        ) from None


@dataclass
class HostItem:
    """An item made on a real host: the scan a trainee sees and its exact key."""

    scan: Scan
    key: AnswerKey
    host: Host


def read_declarations(path: str | Path) -> dict[str, tuple[CargoDeclaration, bool]]:
    """Declarations from an instructor's CSV: host file stem -> (declaration, consistent).

    Columns: ``scan_id`` (the host file's name without extension) and, per goods line,
    ``goods`` (a commodity of :data:`COMMODITIES` or free text), ``hs_code``, ``packages``,
    ``weight_kg``; optional ``container_id``, ``shipper``, ``consignee`` and ``consistent``
    (``false`` when the instructor knows the declaration is wrong). Several rows of one scan
    are several goods lines; a row with empty ``goods`` declares the container empty.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(
            _("{path}: cannot read the declarations CSV: {exc}").format(path=path, exc=exc)
        ) from None
    reader = csv.DictReader(text.splitlines())
    fields = set(reader.fieldnames or [])
    if "scan_id" not in fields:
        raise SpecError(
            _("{path}: the declarations CSV needs a 'scan_id' column").format(path=path)
        )
    out: dict[str, tuple[CargoDeclaration, bool]] = {}
    for line, row in enumerate(reader, start=2):
        sid = (row.get("scan_id") or "").strip()
        if not sid:
            raise SpecError(_("{path}: line {line}: empty scan_id").format(path=path, line=line))
        decl, consistent = out.get(
            sid,
            (
                CargoDeclaration(
                    container_id=(row.get("container_id") or "").strip() or "UNKNOWN",
                    shipper=(row.get("shipper") or "").strip() or "-",
                    consignee=(row.get("consignee") or "").strip() or "-",
                ),
                True,
            ),
        )
        flag = (row.get("consistent") or "").strip().lower()
        if flag and flag not in ("true", "false", "yes", "no", "1", "0"):
            raise SpecError(
                _("{path}: line {line}: 'consistent' must be true or false").format(
                    path=path, line=line
                )
            )
        if flag in ("false", "no", "0"):
            consistent = False
        goods = (row.get("goods") or "").strip()
        if goods:
            try:
                packages = int(float(row.get("packages") or 0))
                weight = float(row.get("weight_kg") or 0)
            except ValueError:
                raise SpecError(
                    _("{path}: line {line}: 'packages' and 'weight_kg' must be numbers").format(
                        path=path, line=line
                    )
                ) from None
            if packages < 0 or weight < 0:
                raise SpecError(
                    _("{path}: line {line}: negative packages or weight").format(
                        path=path, line=line
                    )
                )
            hs, text_ = COMMODITIES.get(goods, ((row.get("hs_code") or "").strip(), goods))
            decl.goods.append(
                DeclaredGoods(
                    goods, (row.get("hs_code") or "").strip() or hs, text_, packages, weight
                )
            )
        out[sid] = (decl, consistent)
    return out


def _pick_threat(
    spec: HostSpec, rng: np.random.Generator, cut: Sequence[Threat]
) -> tuple[str | Threat, str]:
    names = sorted(k for k, w in spec.threats.items() if w > 0)
    weights = [float(spec.threats[k]) for k in names] + [1.0] * len(cut)
    p = np.array(weights) / sum(weights)
    i = int(rng.choice(len(weights), p=p))
    if i < len(names):
        return names[i], THREAT_LIBRARY[names[i]][0]
    return cut[i - len(names)], cut[i - len(names)].threat_class


def _placements(
    host: Host, footprint: np.ndarray, threat_class: str, spec: HostSpec, taken: np.ndarray
) -> np.ndarray:
    """Centres (row, col) where the footprint lies where a concealment could be.

    Inside the cargo space found (not in air, not in the chassis), not overlapping another
    projected threat, not in saturated pixels unless the class can hide there; and either
    within the load (over goods, not floating in an empty interior) or resting on the floor.
    """
    att = host.attenuation
    r0, c0, r1, c1 = host.region.interior
    space = np.zeros(att.shape, np.uint8)
    space[r0:r1, c0:c1] = 1
    space &= ~taken
    if threat_class not in spec.opaque_classes:
        space &= ~host.saturated
    inside = att[r0:r1, c0:c1]
    empty_level = float(np.percentile(inside, 5))
    sigma = max(local_noise_sigma(inside), 1e-3)
    load = (att > empty_level + max(0.15, 4 * sigma)).astype(np.uint8)
    kernel = footprint.astype(np.uint8)
    if kernel.shape[0] > r1 - r0 or kernel.shape[1] > c1 - c0:
        return np.zeros((0, 2), dtype=int)
    in_load = cv2.erode(space & load, kernel, borderValue=0)
    fits = cv2.erode(space, kernel, borderValue=0)
    # Resting on the floor: the footprint's lowest row on the last interior row.
    h = footprint.shape[0]
    low = int(np.nonzero(footprint.any(axis=1))[0].max())
    floor_centre = r1 - 1 - (low - h // 2)
    on_floor = np.zeros_like(fits)
    if 0 <= floor_centre < att.shape[0]:
        on_floor[floor_centre] = fits[floor_centre]
    return np.argwhere((np.asarray(in_load) > 0) | (on_floor > 0))


def make_host_item(
    host: Host,
    spec: HostSpec,
    *,
    item_id: str,
    n_threats: int,
    rng: np.random.Generator,
    cut: Sequence[Threat] = (),
    declaration: tuple[CargoDeclaration, bool] | None = None,
) -> HostItem:
    """One item on ``host``: clean (``n_threats`` 0) or with threats projected where a
    concealment could be, and its exact key with difficulty measured at each spot.

    Raises
    ------
    SpecError
        When a threat finds no place in the host's cargo space.
    """
    scan = host.scan.replace(
        metadata=dataclasses.replace(host.scan.metadata, scan_id=item_id), source=item_id
    )
    objects: list[KeyObject] = []
    taken = np.zeros(host.attenuation.shape, np.uint8)
    pitch = min(host.pitch_mm)
    for k in range(n_threats):
        choice, threat_class = _pick_threat(spec, rng, cut)
        if isinstance(choice, Threat):
            threat = choice
        else:  # each item's own grain: one texture in every item would give it away
            grain_seed = zlib.crc32(f"{item_id}/{k}".encode()) % 1024
            threat = render_threat(choice, pitch_mm=pitch, seed=grain_seed)
        scale = float(rng.uniform(spec.scale[0], spec.scale[1]))
        rotation = float(rng.uniform(spec.rotation_deg[0], spec.rotation_deg[1]))
        if spec.quarter_turns:
            rotation += 90.0 * int(rng.integers(4))
        _patch, footprint = _warp(
            threat, host_pitch=host.pitch_mm, scale=scale, rotation_deg=rotation
        )
        centres = _placements(host, footprint, threat_class, spec, taken)
        if centres.size == 0:
            raise SpecError(
                _(
                    "host {sha256}: no place for {threat} in the cargo space {interior} (too "
                    "small, empty of load or saturated)"
                ).format(sha256=host.sha256[:12], threat=threat.name, interior=host.region.interior)
            )
        row, col = (int(v) for v in centres[int(rng.integers(len(centres)))])
        scan, obj = project_on_host(
            host,
            scan,
            threat,
            row=row,
            col=col,
            rotation_deg=rotation,
            scale=scale,
            rng=rng,
            object_id=f"{item_id}-tip-{k + 1}",
        )
        objects.append(obj)
        taken |= obj.full_mask(host.attenuation.shape).astype(np.uint8)
    if host.jpeg_table is not None and objects and scan.data.dtype == np.uint8:
        pixels = _as_compressed(host.scan.data[0], scan.data[0], host.jpeg_table)
        scan = scan.replace(data=pixels[None])
    # The check of each projection, for the instructor: its edges against the host's own.
    view = item_view(scan)
    quality = [
        {"object_id": obj.object_id, **projection_quality(view, obj).record()} for obj in objects
    ]
    decl, consistent = declaration if declaration else (None, True)
    key = AnswerKey(
        scan_id=item_id,
        shape=scan.shape,
        objects=objects,
        declaration=decl,
        declaration_consistent=consistent,
        inconsistencies=[] if consistent else ["the instructor marked the declaration false"],
        attributes={
            "source": "real_host",
            **host.provenance(),
            "tip": scan.metadata.attributes.get("tip", []),
            "projection_quality": quality,
        },
    )
    public = {k: v for k, v in scan.metadata.attributes.items() if k == "display"}
    scan = scan.replace(metadata=dataclasses.replace(scan.metadata, attributes=public))
    return HostItem(scan, key, host)


def project_on_host(
    host: Host,
    scan: Scan,
    threat: Threat,
    *,
    row: int,
    col: int,
    rotation_deg: float,
    scale: float,
    rng: np.random.Generator,
    object_id: str,
) -> tuple[Scan, KeyObject]:
    """Project ``threat`` into ``scan`` (an item on ``host``) centred at (row, col), matched to
    the host as exams do: blurred by the host's blur beyond the resampled threat's own
    softness, with the host's noise, curve, sharpening and grain
    (:func:`scanlab.synth.project_threat`)."""
    patch, footprint = _warp(
        threat, host_pitch=host.pitch_mm, scale=scale, rotation_deg=rotation_deg
    )
    # Only the blur the host has beyond the resampled threat's own softness.
    pad = np.pad(patch[0], 16)
    points, axes = threat_edges(np.pad(footprint, 16))
    own = tuple(v or 0.0 for v in edge_blur(pad, points, axes, min_edges=4))
    blur = tuple(
        math.sqrt(max(h * h - o * o, 0.0)) for h, o in zip(host.image_blur_px, own, strict=True)
    )
    return project_threat(
        scan,
        threat,
        row=row,
        col=col,
        rotation_deg=rotation_deg,
        scale=scale,
        rng=rng,
        object_id=object_id,
        blur_px=(blur[0], blur[1]),
        noise_blur_px=host.noise_blur_px,
        display=host.curve.curve if host.curve else None,
        air_grey=host.curve.air_grey if host.curve else None,
        sharpen=host.sharpen,
        grain=host.grain,
    )


@dataclass(frozen=True)
class ProjectionQuality:
    """Boundary statistics of one projected threat against the host's own edges.

    ``sharpness`` is gradient over step height across an edge (0.5 for a one-pixel step,
    smaller when blurred); ``noise`` the noise sigma beside the edge over the step height.
    The host's values are medians over its own edges of similar step; ``z_*`` how many
    of their robust spreads the threat lies away. A projection a trained eye might catch
    has ``|z| > 2``.
    """

    threat_sharpness: float
    host_sharpness: float
    z_sharpness: float
    threat_noise: float
    host_noise: float
    z_noise: float
    n_host_edges: int
    n_threat_edges: int = 0

    @property
    def plausible(self) -> bool:
        """No statistic 2 spreads off; also when no edge of the threat stands above the
        noise (nothing at its outline to catch, and nothing to measure: values are NaN)."""
        if self.n_threat_edges == 0:
            return True
        return abs(self.z_sharpness) <= 2 and abs(self.z_noise) <= 2

    def record(self) -> dict[str, Any]:
        """The figures as an answer key keeps them (NaN as None), with ``plausible``."""
        d = {
            k: (None if isinstance(v, float) and math.isnan(v) else v)
            for k, v in dataclasses.asdict(self).items()
        }
        return {**d, "plausible": self.plausible}


def edge_features(
    attenuation: np.ndarray, points: np.ndarray, axes: np.ndarray, *, reach: int = 8
) -> np.ndarray:
    """(sharpness, noise/step, step) of axis-aligned edges at ``points`` (row, col).

    ``axes`` says per point whether the edge is crossed along rows (0) or columns (1).
    """
    att = np.asarray(attenuation, dtype=np.float32)
    out = np.full((len(points), 3), np.nan, dtype=np.float32)
    rows, cols = att.shape
    for i, ((r, c), ax) in enumerate(zip(points, axes, strict=True)):
        if ax == 1:
            if not (reach + 3 <= c < cols - reach - 3 and 3 <= r < rows - 3):
                continue
            line = att[r - 2 : r + 3, c - reach - 3 : c + reach + 4].mean(axis=0)
            side = att[r - 2 : r + 3, c - reach - 3 : c - 1]
            far = att[r - 2 : r + 3, c + 2 : c + reach + 4]
        else:
            if not (reach + 3 <= r < rows - reach - 3 and 3 <= c < cols - 3):
                continue
            line = att[r - reach - 3 : r + reach + 4, c - 2 : c + 3].mean(axis=1)
            side = att[r - reach - 3 : r - 1, c - 2 : c + 3].T
            far = att[r + 2 : r + reach + 4, c - 2 : c + 3].T
        # The edge is where the gradient peaks, within two pixels of the point given.
        grads = np.abs(line[2:] - line[:-2]) / 2
        mid = reach + 1 + int(np.argmax(grads[reach : reach + 5]))
        step = abs(float(line[mid + reach - 2] - line[mid - reach + 2]))
        grad = float(grads[mid - 1])
        if step <= 1e-6 or grad > 0.55 * step:
            continue  # a thin line, not an edge between two areas
        noise = (local_noise_sigma(side) + local_noise_sigma(far)) / 2
        out[i] = (grad / step, noise / step, step)
    return out


def host_edges(
    image: np.ndarray,
    *,
    exclude: np.ndarray | None = None,
    limit: int | None = 400,
    strongest: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Axis-aligned edge points of an image (local gradient maxima well above the noise).

    ``limit`` points at most: the strongest (spread out: every 8th of the strongest
    ``8 * limit``), or with ``strongest=False`` evenly over all of them, weak ones included.
    """
    img = np.asarray(image, dtype=np.float32)
    gy, gx = np.gradient(img)
    floor = 5 * max(local_noise_sigma(img), 1e-4)
    if np.issubdtype(np.asarray(image).dtype, np.integer) or float(img.max()) > 20:
        floor = max(floor, 2.0)  # grey levels: a step of a level or two is quantisation
    points, axes, strength = [], [], []
    for ax, g, o in ((1, gx, gy), (0, gy, gx)):
        mag = np.abs(g)
        shift = 1 if ax == 1 else 0
        peak = (mag >= np.roll(mag, 1, axis=shift)) & (mag > np.roll(mag, -1, axis=shift))
        cand = peak & (np.abs(o) < 0.3 * mag) & (mag > floor)
        if exclude is not None:
            cand &= ~exclude
        r, c = np.nonzero(cand)
        points.append(np.stack([r, c], axis=1))
        axes.append(np.full(r.size, ax))
        strength.append(mag[r, c])
    p, a, s = np.concatenate(points), np.concatenate(axes), np.concatenate(strength)
    if limit is None or len(p) <= limit:
        return p, a
    if strongest:
        order = np.argsort(s)[::-1]
        keep = order[: limit * 8 : 8] if order.size > limit * 8 else order[:limit]
    else:
        keep = np.linspace(0, len(p) - 1, limit).astype(int)
    return p[keep], a[keep]


def item_view(scan: Scan) -> np.ndarray:
    """The image as a trainee's eye gets it, float32: grey levels of a display export (where
    the edges and noise are seen), else the high-energy attenuation."""
    if scan.representation is Representation.DISPLAY:
        return np.asarray(scan.data[0], dtype=np.float32)
    return scan.to_attenuation().high.astype(np.float32)


def threat_edges(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Boundary points of a threat's mask where its outline runs along a row or column."""
    shape = mask.shape
    mask = mask.astype(np.uint8)
    inner = (mask > 0) & ~(cv2.erode(mask, np.ones((3, 3), np.uint8)) > 0)
    r, c = np.nonzero(inner)
    axes = []
    keep = []
    for i, (rr, cc) in enumerate(zip(r, c, strict=True)):
        left = cc == 0 or not mask[rr, cc - 1]
        right = cc == shape[1] - 1 or not mask[rr, cc + 1]
        up = rr == 0 or not mask[rr - 1, cc]
        down = rr == shape[0] - 1 or not mask[rr + 1, cc]
        if bool(left) != bool(right) and not (up or down):
            axes.append(1)
            keep.append(i)
        elif bool(up) != bool(down) and not (left or right):
            axes.append(0)
            keep.append(i)
    return np.stack([r[keep], c[keep]], axis=1).reshape(-1, 2), np.array(axes, dtype=int)


def boundary_edges(
    attenuation: np.ndarray,
    mask: np.ndarray,
    *,
    limit: int = 3000,
    host_region: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Edge features (:func:`edge_features`) of one image, split into the edges on the
    boundary of ``mask`` (a projected threat) and the image's other edges (its host's own),
    both found by the same detector so that neither set is picked more kindly.
    ``host_region`` (a boolean mask) keeps only the host's edges inside it, for example the
    cargo space, where the threats lie."""
    att = np.asarray(attenuation, dtype=np.float32)
    points, axes = host_edges(att, limit=None)
    m = mask.astype(np.uint8)
    band = (cv2.dilate(m, np.ones((5, 5), np.uint8)) > 0) & ~(
        cv2.erode(m, np.ones((5, 5), np.uint8)) > 0
    )
    far = ~(cv2.dilate(m, np.ones((25, 25), np.uint8)) > 0)
    if host_region is not None:
        far &= np.asarray(host_region, dtype=bool)
    on = band[points[:, 0], points[:, 1]]
    off = np.nonzero(far[points[:, 0], points[:, 1]])[0]
    if len(off) > limit:
        off = off[np.linspace(0, len(off) - 1, limit).astype(int)]
    on_f = edge_features(att, points[on], axes[on])
    off_f = edge_features(att, points[off], axes[off])
    return (
        on_f[np.isfinite(on_f).all(axis=1)],
        off_f[np.isfinite(off_f).all(axis=1)],
    )


def projection_quality(
    attenuation: np.ndarray, obj: KeyObject, *, limit: int = 3000
) -> ProjectionQuality:
    """Compare a projected threat's boundary edges with the host's own edges of similar step.

    ``attenuation`` is the item's image (high energy, or the inverted display). Edges are
    found by one detector over the whole image; those on the threat's outline are compared
    with the others of a step between half and twice the threat's.
    """
    tf, hf = boundary_edges(attenuation, obj.full_mask(attenuation.shape), limit=limit)
    if len(tf) == 0 or len(hf) == 0:
        nan = math.nan
        return ProjectionQuality(nan, nan, nan, nan, nan, nan, len(hf), len(tf))
    step = float(np.median(tf[:, 2]))
    similar = hf[(hf[:, 2] > step / 2) & (hf[:, 2] < step * 2)]
    if len(similar) < 10:
        similar = hf
    ts, tn = float(np.median(tf[:, 0])), float(np.median(tf[:, 1]))
    hs, hn = float(np.median(similar[:, 0])), float(np.median(similar[:, 1]))

    def spread(v: np.ndarray) -> float:
        return max(float(np.subtract(*np.percentile(v, [75, 25]))) / 1.349, 1e-6)

    return ProjectionQuality(
        round(ts, 4),
        round(hs, 4),
        round((ts - hs) / spread(similar[:, 0]), 3),
        round(tn, 4),
        round(hn, 4),
        round((tn - hn) / spread(similar[:, 1]), 3),
        len(similar),
        len(tf),
    )


class HostPool:
    """The hosts of one spec, ready to make items: files in a seeded order, their
    declarations and the instructor's cut threats (read once)."""

    def __init__(self, spec: HostSpec, *, seed: int) -> None:
        self.spec = spec
        self.files = host_files(spec.paths)
        self.order = np.random.default_rng([seed, 0x4057]).permutation(len(self.files))
        self.declarations = read_declarations(spec.declarations) if spec.declarations else {}
        stems = {f.stem for f in self.files}
        unknown = sorted(set(self.declarations) - stems)
        if unknown:
            raise SpecError(
                _(
                    "{declarations}: declarations for scan(s) that are not hosts: "
                    "{unknown}{value} (scan_id is the host file's name without extension)"
                ).format(
                    declarations=spec.declarations,
                    unknown=unknown[:5],
                    value=" ..." if len(unknown) > 5 else "",
                )
            )
        self.cut = [Threat.load(p) for p in spec.cut_threats]

    def __len__(self) -> int:
        return len(self.files)

    def item(self, k: int, *, item_id: str, n_threats: int, rng: np.random.Generator) -> HostItem:
        """Item on the ``k``-th host of the seeded order (hosts repeat after all were used)."""
        file = self.files[int(self.order[k % len(self.files)])]
        host = load_host(file, self.spec)
        return make_host_item(
            host,
            self.spec,
            item_id=item_id,
            n_threats=n_threats,
            rng=rng,
            cut=self.cut,
            declaration=self.declarations.get(file.stem),
        )


def write_simulated_hosts(
    folder: str | Path,
    count: int,
    *,
    seed: int = 0,
    pitch_mm: float = 10.0,
    blur_px: float = 1.0,
    curve: DisplayCurve | None = None,
    quality: int = 92,
    pipeline: str | None = None,
) -> list[Path]:
    """Write ``count`` clean simulated scans as bare 8-bit JPEG exports: stand-ins for a
    site's own scans (no real scans ship with scanlab).

    Each is a loaded vehicle with nothing hidden, blurred by ``blur_px`` in transmission (a
    scanner's and a vendor's smoothing), shown through ``curve`` (scanlab's by default) and
    saved as a grey JPEG without any metadata, so that pitch and display curve must be
    stated or estimated as for a real export. With ``pipeline`` (a name in
    :data:`scanlab.synth.VENDOR_PIPELINES`) each is instead exported as that vendor's
    software does (:func:`render_export`: cropped to the body, tilted, blurred in
    transmission, denoised, sharpened, its tone curve and its JPEG), and ``blur_px``,
    ``curve`` and ``quality`` are the pipeline's.
    """
    from PIL import Image

    from scanlab.synth._dataset import DatasetSpec, sample_scene_spec
    from scanlab.synth._display import render_display, render_export
    from scanlab.synth._scene import generate_scene

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    draw = DatasetSpec(name="hosts", seed=seed, clean_share=1.0, fill=(0.5, 0.9))
    paths = []
    for i in range(count):
        rng = np.random.default_rng([seed, i, 0x4057])
        scene = generate_scene(sample_scene_spec(draw, rng), seed * 1000 + i, pitch_mm=pitch_mm)
        path = folder / f"site-scan-{i:03d}.jpg"
        if pipeline is not None:
            body = tuple(scene.key.attributes["body_px"])
            export = render_export(scene.scan, pipeline, body_px=body, rng=rng)
            if export.encoded is not None:  # the vendor's own JPEG bytes
                path.write_bytes(export.encoded)
            else:
                Image.fromarray(export.scan.data[0]).save(path, quality=quality)
            paths.append(path)
            continue
        att = scene.scan.to_attenuation()
        if blur_px > 0:  # in transmission: a scanner's and a vendor's blur mix intensities
            smooth = -np.log(
                np.stack(
                    [
                        cv2.GaussianBlur(np.exp(-a), (0, 0), blur_px)
                        for a in np.clip(att.data.astype(np.float32), 0, 30)
                    ]
                )
            )
            att = att.replace(data=smooth.astype(np.float32))
        shown = render_display(att, curve=curve, rng=rng)
        Image.fromarray(shown.data[0]).save(path, quality=quality)
        paths.append(path)
    return paths
