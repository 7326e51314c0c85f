"""Threat image projection (TIP): put a threat into any scan, real or simulated, with its key.

Projection is multiplicative in transmission, i.e. additive in attenuation, channel by
channel. The threat's extra attenuation also removes photons, so the noise of the host grows
where the threat lies: Gaussian noise of variance ``sigma_host^2 (1/T - 1)`` is added, with
``sigma_host`` the host's local noise measured around the insertion point (into a display
export: in transmission, and sharpened as the export was).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from scanlab.errors import CalibrationError, MissingChannelError, SpecError
from scanlab.i18n import _
from scanlab.io import Representation, Scan
from scanlab.synth._answer_key import THREAT_CLASSES, KeyObject, mask_to_polygon
from scanlab.synth._canvas import Canvas
from scanlab.synth._concealments import (
    Concealed,
    _brick_block,
    _human,
    _pistol,
    _rifle,
    texture_concealed,
)

if TYPE_CHECKING:
    from scanlab.synth._display import DisplayCurve

__all__ = [
    "THREAT_LIBRARY",
    "Threat",
    "cut_threat",
    "local_noise_sigma",
    "project_threat",
    "render_threat",
]

#: Threats the simulator can render for projection: name -> (class, material).
THREAT_LIBRARY = {
    "pistol": ("weapon", "steel"),
    "rifle": ("weapon", "steel"),
    "cocaine_bricks": ("narcotics", "cocaine_hydrochloride"),
    "heroin_bricks": ("narcotics", "heroin"),
    "cannabis_bricks": ("narcotics", "cannabis"),
    "cash_bricks": ("cash", "banknote_paper"),
    "cigarette_cases": ("cigarettes", "tobacco"),
    "stowaway": ("stowaway", "soft_tissue"),
}


@dataclass
class Threat:
    """An attenuation patch (channel, row, col) to add to a host, with its mask and facts."""

    attenuation: np.ndarray
    mask: np.ndarray
    threat_class: str
    material: str
    mass_kg: float
    pitch_mm: float
    name: str = "threat"

    def __post_init__(self) -> None:
        if self.attenuation.ndim != 3 or self.attenuation.shape[1:] != self.mask.shape:
            raise SpecError(
                _("threat {name}: attenuation (C, h, w) and mask (h, w) disagree").format(
                    name=self.name
                )
            )
        if self.threat_class not in THREAT_CLASSES:
            raise SpecError(
                _("threat {name}: class must be one of {THREAT_CLASSES}").format(
                    name=self.name, THREAT_CLASSES=THREAT_CLASSES
                )
            )

    def save(self, path: str | Path) -> Path:
        """Write the threat as an ``.npz`` (a cut threat an instructor reuses in exams)."""
        from scanlab.io._common import atomic_open

        path = Path(path)
        facts = {
            "threat_class": self.threat_class,
            "material": self.material,
            "mass_kg": self.mass_kg,
            "pitch_mm": self.pitch_mm,
            "name": self.name,
        }
        with atomic_open(path, "wb") as fh:
            np.savez_compressed(
                fh,
                attenuation=self.attenuation,
                mask=self.mask,
                facts=np.array(json.dumps(facts)),
            )
        return path

    @classmethod
    def load(cls, path: str | Path) -> Threat:
        """Read a threat written by :meth:`save`; :class:`SpecError` names a bad file."""
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as z:
                facts = json.loads(str(z["facts"]))
                return cls(
                    np.asarray(z["attenuation"], dtype=np.float32),
                    np.asarray(z["mask"], dtype=bool),
                    str(facts["threat_class"]),
                    str(facts["material"]),
                    float(facts["mass_kg"]),
                    float(facts["pitch_mm"]),
                    str(facts.get("name", path.stem)),
                )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise SpecError(
                _("{path}: not a saved scanlab threat: {exc}").format(path=path, exc=exc)
            ) from None


@functools.lru_cache(maxsize=256)
def render_threat(
    name: str, *, scanner: str = "scanlab-6MV-dual", pitch_mm: float = 5.0, seed: int = 0
) -> Threat:
    """Render a threat of :data:`THREAT_LIBRARY` alone, as its noise-free attenuation patch.

    Drugs, cash, tobacco and a body carry the grain of their material (a few per cent of
    their areal density over millimetres, as the scene's goods and concealments have it:
    :data:`scanlab.synth._concealments.MATERIAL_GRAIN`); ``seed`` draws it and the pose.

    Examples
    --------
    >>> t = render_threat("pistol")
    >>> t.threat_class, t.attenuation.shape[0], bool(t.mask.any())
    ('weapon', 2, True)
    """
    if name not in THREAT_LIBRARY:
        raise SpecError(
            _("unknown threat {name!r}; the library has {THREAT_LIBRARY}").format(
                name=name, THREAT_LIBRARY=sorted(THREAT_LIBRARY)
            )
        )
    from scanlab.synth._scene import _decomposition, _density, _physics

    threat_class, material = THREAT_LIBRARY[name]
    rng = np.random.default_rng([seed, 0x719])
    size = 2400.0
    n = round(size / pitch_mm)
    n_basis = len(_decomposition(scanner, "water"))
    canvas = Canvas(
        n, n, pitch_mm, size, functools.partial(_decomposition, scanner), _density, n_basis
    )
    obj = Concealed(name, threat_class, "tip", material, name)
    before = canvas.basis.copy()
    mid = size / 2
    if name == "pistol":
        _pistol(obj, canvas, mid, mid, rng.uniform(-0.5, 0.5), 1.0)
    elif name == "rifle":
        _rifle(obj, canvas, mid, mid, rng.uniform(-0.3, 0.3))
    elif name == "stowaway":
        _human(obj, canvas, mid - 200, mid - 600, "sitting", 1)
    elif name == "cigarette_cases":
        for k in range(2):
            obj.add(
                canvas,
                "tobacco",
                canvas.box(mid - 580 + 580 * k, mid - 175, 576, 346, 100.0),
                scale=0.25,
            )
    else:
        _brick_block(obj, canvas, mid - 300, mid - 150, 600, 300, 40.0, material)
    texture_concealed(canvas, obj, rng)  # the grain of its material, as drawn in a scene
    (r0, c0, r1, c1), _part, chord = obj.contribution()
    part = canvas.basis[:, r0:r1, c0:c1] - before[:, r0:r1, c0:c1]
    _scanner, lookup = _physics(scanner)
    attenuation = -np.log(np.maximum(lookup.transmission(part), 1e-30)).astype(np.float32)
    return Threat(
        attenuation, chord > 0.05, threat_class, material, round(obj.mass_kg, 2), pitch_mm, name
    )


def cut_threat(
    scan: Scan,
    mask: np.ndarray,
    *,
    threat_class: str,
    material: str = "unknown",
    mass_kg: float = 0.0,
    ring_px: int = 6,
    name: str = "cut",
) -> Threat:
    """Cut a threat out of any calibrated scan: its attenuation above the local background.

    The background under the object is estimated by inpainting the masked region from its
    surroundings (OpenCV Telea), channel by channel; the threat is what lies above it.
    """
    if scan.representation is Representation.DISPLAY:
        raise CalibrationError(
            _("{source}: cut threats from calibrated scans, not display images").format(
                source=scan.source
            )
        )
    if mask.shape != scan.shape or not mask.any():
        raise SpecError(
            _("{source}: the mask must be a non-empty bool image of the scan's shape").format(
                source=scan.source
            )
        )
    rows, cols = np.nonzero(mask)
    r0, r1 = max(rows.min() - ring_px, 0), min(rows.max() + 1 + ring_px, scan.shape[0])
    c0, c1 = max(cols.min() - ring_px, 0), min(cols.max() + 1 + ring_px, scan.shape[1])
    att = scan.to_attenuation().data[:, r0:r1, c0:c1]
    local_mask = mask[r0:r1, c0:c1]
    inpaint_mask = cv2.dilate(local_mask.astype(np.uint8), np.ones((3, 3), np.uint8))
    patch = np.empty_like(att)
    for c in range(att.shape[0]):
        background = cv2.inpaint(att[c], inpaint_mask, 3, cv2.INPAINT_TELEA)
        patch[c] = np.where(local_mask, np.maximum(att[c] - background, 0.0), 0.0)
    return Threat(
        patch.astype(np.float32),
        local_mask.copy(),
        threat_class,
        material,
        mass_kg,
        float(scan.metadata.pitch_mm[0]),
        name,
    )


def local_noise_sigma(image: np.ndarray) -> float:
    """Robust pixel-noise sigma of an image patch from differences of neighbouring columns.

    Differencing removes slow structure; the median absolute deviation ignores edges. NaN
    marks pixels to leave out.
    """
    diff = np.diff(np.asarray(image, dtype=np.float32), axis=1).ravel()
    diff = diff[np.isfinite(diff)]
    if diff.size == 0:
        return 0.0
    mad = float(1.4826 * np.median(np.abs(diff - np.median(diff))))
    if mad == 0.0:
        # Quantised data (8-bit exports) can have a zero MAD; fall back to the plain spread.
        mad = float(np.std(diff))
    return mad / math.sqrt(2.0)


def project_threat(
    host: Scan,
    threat: Threat,
    *,
    row: int,
    col: int,
    rotation_deg: float = 0.0,
    scale: float = 1.0,
    rng: np.random.Generator,
    object_id: str | None = None,
    blur_px: float | tuple[float, float] = 0.0,
    noise_blur_px: float | tuple[float, float] = 0.0,
    display: DisplayCurve | None = None,
    air_grey: float | None = None,
    sharpen: tuple[float, float] = (0.0, 0.0),
    grain: tuple[Sequence[float], Sequence[float]] | None = None,
) -> tuple[Scan, KeyObject]:
    """Project ``threat`` into ``host`` centred at (row, col); return the new scan and key entry.

    The patch is resampled from the threat's pitch to the host's, scaled and rotated;
    added to the host's attenuation channel by channel; noise matched to the host's local
    noise is added; and the result goes back to the host's representation (counts,
    transmission, attenuation, or a display image, through the inverse of the scanlab
    display curve). Host metadata is kept; ``attributes["tip"]`` records the insertion.

    For a real host, ``blur_px`` is the Gaussian sigma (row, col) of the host's own image
    blur, applied to the threat so its edges are as soft as the host's; ``noise_blur_px``
    that of the host's noise correlation, applied to the added noise; ``display`` the
    display curve of an 8-bit export (see :func:`scanlab.synth.estimate_display_curve`),
    else the recorded one or scanlab's, and ``air_grey`` the grey level that export shows
    air at when it is not white. A display host keeps its pixels wherever the threat
    changed nothing. ``sharpen`` is the (amount, sigma in px) of the unsharp masking the
    host's export software applied to its grey levels: the threat's change of grey is
    sharpened alike, so that its outline carries the host's halos, and the added grain is
    given the texture that sharpening gives the host's. ``grain`` is the host's grain, its
    grey-level noise sigma at grey levels (ascending) measured in its flat areas: a vendor's
    noise reduction sets how grainy each grey looks, which the quantum law does not know, so
    projected pixels at a grey within the measured range get the grain the host shows there.

    Examples
    --------
    >>> from scanlab.io import example_scan
    >>> host = example_scan(rows=96, cols=320)
    >>> new, obj = project_threat(host, render_threat("pistol"), row=48, col=200,
    ...                           rng=np.random.default_rng(0))
    >>> obj.threat_class, obj.concealment, new.metadata.scan_id == host.metadata.scan_id
    ('weapon', 'tip', True)
    """
    from scanlab.synth._display import DisplayCurve
    from scanlab.synth._scene import measure_difficulty

    pitch = host.metadata.pitch_mm
    patch, mask = _warp(
        threat,
        host_pitch=(float(pitch[0]), float(pitch[1])),
        scale=scale,
        rotation_deg=rotation_deg,
    )
    patch, mask = _blur_patch(patch, mask, blur_px)
    h, w = mask.shape
    r0, c0 = int(row) - h // 2, int(col) - w // 2
    rr0, cc0 = max(r0, 0), max(c0, 0)
    rr1, cc1 = min(r0 + h, host.shape[0]), min(c0 + w, host.shape[1])
    if rr1 <= rr0 or cc1 <= cc0:
        raise SpecError(
            _("{source}: threat at ({row}, {col}) lies outside the {shape} scan").format(
                source=host.source, row=row, col=col, shape=host.shape
            )
        )
    patch = patch[:, rr0 - r0 : rr1 - r0, cc0 - c0 : cc1 - c0]
    mask = mask[rr0 - r0 : rr1 - r0, cc0 - c0 : cc1 - c0]
    curve = display or DisplayCurve.from_record(host.metadata.attributes.get("display"))
    if host.representation is Representation.DISPLAY:
        att = display_attenuation(host, curve, air_grey=air_grey)[None]
        channels = 1
    else:
        att = host.to_attenuation().data.copy()
        channels = host.n_channels
    if channels > patch.shape[0]:
        raise MissingChannelError(
            _("threat {threat} has {shape} channel(s), host {channels}").format(
                threat=threat.name, shape=patch.shape[0], channels=channels
            )
        )
    before = att[0, rr0:rr1, cc0:cc1].copy()
    margin = 16
    win = (slice(max(rr0 - margin, 0), rr1 + margin), slice(max(cc0 - margin, 0), cc1 + margin))
    s_col = _sigmas(noise_blur_px)[1]
    # Neighbouring columns share correlated noise: their difference understates it.
    correlated = (
        1.0 / math.sqrt(max(1.0 - math.exp(-1.0 / (4.0 * s_col * s_col)), 1e-3))
        if s_col > 0.05
        else 1.0
    )
    if host.representation is not Representation.DISPLAY:  # (a display host: below)
        for c in range(channels):
            extra = patch[c]
            sigma = correlated * local_noise_sigma(att[c][win])
            noise_sd = sigma * np.sqrt(np.expm1(np.clip(extra, 0.0, 20.0)))
            noise = _correlated_noise(rng, extra.shape, noise_blur_px)
            att[c, rr0:rr1, cc0:cc1] += extra + noise_sd * noise
    tip_record = {
        "threat": threat.name,
        "row": int(row),
        "col": int(col),
        "rotation_deg": rotation_deg,
        "scale": scale,
    }
    meta = dataclasses.replace(
        host.metadata,
        attributes={
            **host.metadata.attributes,
            "tip": [*host.metadata.attributes.get("tip", []), tip_record],
        },
    )
    if host.representation is Representation.DISPLAY:
        data = host.data.copy()
        data[0] = _into_display(
            host,
            att[0],
            patch[0],
            (rr0, cc0, rr1, cc1),
            curve=curve,
            air_grey=air_grey,
            noise_window=win,
            correlated=correlated,
            noise_blur_px=noise_blur_px,
            sharpen=sharpen,
            grain=grain,
            rng=rng,
        )
        new = host.replace(data=data, metadata=meta)
    elif host.representation is Representation.ATTENUATION:
        new = host.replace(data=att.astype(np.float32), metadata=meta)
    elif host.representation is Representation.TRANSMISSION:
        new = host.replace(data=np.exp(-att).astype(np.float32), metadata=meta)
    else:
        air, dark = host.reference_levels()
        counts = np.empty(host.data.shape, dtype=np.uint16)
        for c in range(host.n_channels):
            values = dark[c] + np.exp(-att[c]) * (air[c] - dark[c])
            counts[c] = np.clip(np.rint(values), 0, 65535)
        new = host.replace(data=counts, metadata=meta)
    new_att = (
        display_attenuation(new, curve, air_grey=air_grey)
        if new.representation is Representation.DISPLAY
        else new.to_attenuation().high
    )
    if not mask.any():
        raise SpecError(
            _("{source}: threat at ({row}, {col}) lies outside the scan").format(
                source=host.source, row=row, col=col
            )
        )
    rows_in, cols_in = np.nonzero(mask)
    t0, t1 = int(rows_in.min()), int(rows_in.max()) + 1
    l0, l1 = int(cols_in.min()), int(cols_in.max()) + 1
    before, mask = before[t0:t1, l0:l1], mask[t0:t1, l0:l1]
    rr0, cc0, rr1, cc1 = rr0 + t0, cc0 + l0, rr0 + t1, cc0 + l1
    difficulty = measure_difficulty(new_att, mask, (rr0, cc0), background=before)
    key = KeyObject(
        object_id=object_id
        or f"{host.metadata.scan_id or 'scan'}-tip-{len(meta.attributes['tip'])}",
        threat_class=threat.threat_class,
        concealment="tip",
        material=threat.material,
        mass_kg=round(threat.mass_kg * scale**3, 2),
        bbox=(rr0, cc0, rr1, cc1),
        mask=mask,
        polygon=mask_to_polygon(mask, offset=(rr0, cc0)),
        difficulty=difficulty,
        description=f"{threat.name} projected (TIP)",
    )
    return new, key


def display_attenuation(
    scan: Scan, curve: DisplayCurve, *, air_grey: float | None = None
) -> np.ndarray:
    """Attenuation (row, col) of a display scan through ``curve``'s inverse, its grey levels
    taken relative to ``air_grey`` (the grey the export shows air at) when that is given."""
    from scanlab.synth._display import display_to_attenuation

    if not air_grey:
        return display_to_attenuation(scan, curve=curve)
    relative = np.clip(np.asarray(scan.data[:1], dtype=np.float32) / np.float32(air_grey), 0, 1)
    return display_to_attenuation(scan.replace(data=relative), curve=curve)


def _into_display(
    host: Scan,
    att: np.ndarray,
    extra: np.ndarray,
    box: tuple[int, int, int, int],
    *,
    curve: DisplayCurve,
    air_grey: float | None,
    noise_window: tuple[slice, slice],
    correlated: float,
    noise_blur_px: float | tuple[float, float],
    sharpen: tuple[float, float],
    grain: tuple[Sequence[float], Sequence[float]] | None = None,
    rng: np.random.Generator,
) -> np.ndarray:
    """The display host's grey image (row, col) with ``extra`` attenuation added at ``box``.

    The threat's change of grey level is worked out through the curve from the host's
    attenuation (``att``, the inverted display) and, when the host's export was sharpened,
    sharpened as the host was (its halos reach beyond the threat). Quantum noise is added in
    transmission, where it arises: ``sigma_T = k sqrt(T)`` with ``k`` measured in the host's
    grey levels around the spot (see :func:`_display_noise_scale`); in attenuation its
    linearised law would throw specks of light into nearly black pixels. Where ``grain``
    covers the grey a projected pixel takes, its noise is instead what brings the grain it
    carries from the host (scaled by the curve's slope) up to the host's grain at that grey.
    Pixels the threat changes nothing in keep the host's values.
    """
    rr0, cc0, rr1, cc1 = box
    grey = np.asarray(host.data[0], dtype=np.float32)
    full = float(2 ** (8 * host.data.dtype.itemsize) - 1)
    scale = float(air_grey) if air_grey else full
    k, dithered = _display_noise_scale(
        grey[noise_window], att[noise_window], curve, full=full, air_grey=air_grey
    )
    a_host = np.clip(att[rr0:rr1, cc0:cc1], 0.0, 20.0)
    x = np.clip(extra, 0.0, 20.0)
    # The variance in attenuation the threat adds, sigma_A^2 = k^2 exp(A) (exp(x) - 1).
    variance = (correlated * k) ** 2 * np.exp(a_host) * np.expm1(x)
    if dithered:
        # The host's pixels carry their own rounding (1/12 level^2, in attenuation per grey
        # level of each pixel) into the projected ones, which are rounded again: their
        # quantum noise is added less that, so rounding counts once.
        per_level = _attenuation_per_level(grey[rr0:rr1, cc0:cc1], curve, scale=scale)
        variance = np.maximum(variance - per_level**2 / 12, 0.0)
    amount, radius = sharpen
    noise = _correlated_noise(rng, extra.shape, noise_blur_px, sharpen=sharpen)
    t_clean = np.exp(-(a_host + x))
    t_noisy = np.maximum(t_clean * (1 + np.sqrt(variance) * noise), np.float32(1e-7))
    # The change of grey the threat makes, over a window wide enough for the halos.
    pad = math.ceil(3 * radius) if amount > 0 else 0
    rows, cols = grey.shape
    er0, ec0, er1, ec1 = (
        max(rr0 - pad, 0),
        max(cc0 - pad, 0),
        min(rr1 + pad, rows),
        min(cc1 + pad, cols),
    )
    inner = (slice(rr0 - er0, rr1 - er0), slice(cc0 - ec0, cc1 - ec0))
    base = np.clip(att[er0:er1, ec0:ec1], 0.0, 20.0)
    added = np.zeros_like(base)
    added[inner] = x
    host_level = curve.to_grey(np.exp(-base)) * np.float32(scale)
    threat_level = curve.to_grey(np.exp(-(base + added))) * np.float32(scale)
    change = threat_level - host_level
    if amount > 0:
        # The halos of the threat's outline: its change over the host's local mean level.
        # The host's own detail in ``change`` was sharpened by the export already.
        mean = cv2.GaussianBlur(base, (0, 0), max(radius, 1e-3), borderType=cv2.BORDER_REFLECT)
        smooth = curve.to_grey(np.exp(-(mean + added))) - curve.to_grey(np.exp(-mean))
        change = (
            change
            + _sharpened(smooth * np.float32(scale), amount, radius)
            - smooth * np.float32(scale)
        )
    level: np.ndarray = grey[er0:er1, ec0:ec1] + change
    added_grain = curve.to_grey(t_noisy) * np.float32(scale) - threat_level[inner]
    if grain is not None and len(grain[0]) >= 2:
        levels = np.asarray(grain[0], dtype=np.float32)
        sigmas = np.asarray(grain[1], dtype=np.float32)
        new_level, old_level = threat_level[inner], host_level[inner]
        # The host's grain each pixel carries, through the curve's slope at the two levels.
        step = np.float32(1e-3)
        slope_new = curve.to_grey(np.exp(-(base + added)[inner] - step)) - curve.to_grey(
            np.exp(-(base + added)[inner])
        )
        slope_old = curve.to_grey(np.exp(-base[inner] - step)) - curve.to_grey(np.exp(-base[inner]))
        ratio = np.abs(slope_new) / np.maximum(np.abs(slope_old), np.float32(1e-9))
        carried = np.interp(old_level, levels, sigmas) * ratio
        target = np.interp(new_level, levels, sigmas)
        rounding = 1.0 / 12 if dithered else 0.0
        wanted = np.sqrt(np.maximum(target**2 - carried**2 - rounding, 0.0))
        covered = (new_level >= levels[0]) & (new_level <= levels[-1]) & (x > 0)
        added_grain = np.where(covered, wanted * noise, added_grain).astype(np.float32)
    level[inner] += added_grain
    if dithered:  # rounded as the host was: with the grain of rounding where it shows it
        level += rng.uniform(-0.5, 0.5, size=level.shape).astype(np.float32)
    changed = np.abs(change) >= 0.05
    changed[inner] |= x > 0
    out = np.asarray(host.data[0]).copy()
    window = out[er0:er1, ec0:ec1]
    window[changed] = np.clip(np.rint(level[changed]), 0, full).astype(out.dtype)
    return out


def _sharpened(image: np.ndarray, amount: float, radius: float) -> np.ndarray:
    """Unsharp masking: ``image + amount (image - gaussian(image, radius))``."""
    blurred = cv2.GaussianBlur(
        image.astype(np.float32), (0, 0), max(radius, 1e-3), borderType=cv2.BORDER_REFLECT
    )
    return (image + np.float32(amount) * (image - blurred)).astype(np.float32)


def _display_noise_scale(
    grey: np.ndarray,
    attenuation: np.ndarray,
    curve: DisplayCurve,
    *,
    full: float,
    air_grey: float | None = None,
) -> tuple[float, bool]:
    """``k`` of the quantum noise ``sigma_A = k exp(A / 2)`` of a display image's patch, and
    whether the patch shows the grain of rounding to grey levels (noise of at least the
    1/12 level^2 that rounding a noisy or dithered signal leaves; a denoised export's flat
    areas show none).

    Measured in grey levels, where the export's noise is: neighbour differences small enough
    to be noise (not edges) give the pixel variance, less the 1/12 level^2 that rounding to
    grey levels adds (which rendering the projected pixels adds again); each pixel's grey
    noise is ``k exp(A / 2)`` over the curve's slope in attenuation per grey level there.
    The inverted curve cannot give this: one grey level spans a large step of attenuation
    in the dark range, which would read as noise there.
    """
    diff = np.diff(grey, axis=1).ravel()
    mad = 1.4826 * float(np.median(np.abs(diff - np.median(diff))))
    small = diff[np.abs(diff) <= max(4.0, 4.0 * mad)]
    if small.size < 10:
        return 0.0, False
    total = float(np.mean(small**2)) / 2
    var = max(total - 1.0 / 12, 0.0)
    grain = total >= 1.0 / 12
    scale = float(air_grey) if air_grey else full
    inner = (grey >= 1) & (grey <= scale - 1)  # clipped pixels carry no noise
    if var == 0.0 or not inner.any():
        return 0.0, grain
    per_level = _attenuation_per_level(grey, curve, scale=scale)
    gain = np.exp(np.clip(attenuation, 0.0, 20.0)) / np.maximum(per_level, 1e-6) ** 2
    return math.sqrt(var / float(np.mean(gain[inner]))), grain


def _attenuation_per_level(grey: np.ndarray, curve: DisplayCurve, *, scale: float) -> np.ndarray:
    """The step of attenuation that one grey level spans at each pixel (``scale``: the grey
    of air)."""
    rel = grey / np.float32(scale)
    step = np.float32(0.5 / scale)
    return np.abs(
        np.log(curve.to_transmission(np.clip(rel - step, 0, 1)))
        - np.log(curve.to_transmission(np.clip(rel + step, 0, 1)))
    )


def _sigmas(value: float | tuple[float, float]) -> tuple[float, float]:
    if isinstance(value, int | float):
        return float(value), float(value)
    return float(value[0]), float(value[1])


def _blur_patch(
    patch: np.ndarray, mask: np.ndarray, blur_px: float | tuple[float, float]
) -> tuple[np.ndarray, np.ndarray]:
    """The patch seen through the host's blur, padded so that its soft rim is kept; the
    mask (the answer) stays the object's own outline.

    A scanner's blur (focal spot, detector cross-talk, the export's resampling) mixes
    intensities, not attenuations: the threat's transmission is blurred, which over a host
    that is smooth at that scale is what the scanner would have shown (an edge of a dense
    object is then sharper on its dark side than a blurred attenuation makes it).
    """
    s_row, s_col = _sigmas(blur_px)
    if max(s_row, s_col) <= 0.05:
        return patch, mask
    pad_r, pad_c = math.ceil(3 * s_row), math.ceil(3 * s_col)
    padded = np.pad(patch, ((0, 0), (pad_r, pad_r), (pad_c, pad_c)))
    blurred = [
        -np.log(
            cv2.GaussianBlur(
                np.exp(-np.clip(p, 0.0, 30.0)),
                (0, 0),
                sigmaX=max(s_col, 1e-3),
                sigmaY=max(s_row, 1e-3),
            )
        )
        for p in padded
    ]
    return np.stack(blurred).astype(np.float32), np.pad(mask, ((pad_r, pad_r), (pad_c, pad_c)))


def _correlated_noise(
    rng: np.random.Generator,
    shape: tuple[int, ...],
    blur_px: float | tuple[float, float],
    *,
    sharpen: tuple[float, float] = (0.0, 0.0),
) -> np.ndarray:
    """Unit-variance Gaussian noise with the correlation of noise blurred by ``blur_px``
    and then sharpened by unsharp masking ``sharpen`` (amount, sigma in px)."""
    white = rng.standard_normal(shape).astype(np.float32)
    s_row, s_col = _sigmas(blur_px)
    amount, radius = sharpen
    blurs = max(s_row, s_col) > 0.05
    if not blurs and amount <= 0:
        return white
    sx, sy = max(s_col, 1e-3), max(s_row, 1e-3)

    def shape_noise(a: np.ndarray) -> np.ndarray:
        if blurs:
            a = cv2.GaussianBlur(a, (0, 0), sigmaX=sx, sigmaY=sy, borderType=cv2.BORDER_REFLECT)
        return _sharpened(a, amount, radius) if amount > 0 else a

    size = 2 * math.ceil(4 * max(sx if blurs else 0, sy if blurs else 0, radius, 0.5)) + 1
    impulse = np.zeros((size, size), np.float32)
    impulse[size // 2, size // 2] = 1.0
    kernel = shape_noise(impulse)
    return shape_noise(white) / np.float32(math.sqrt(float((kernel**2).sum())))


def _warp(
    threat: Threat, *, host_pitch: float | tuple[float, float], scale: float, rotation_deg: float
) -> tuple[np.ndarray, np.ndarray]:
    """Resample a threat to the host's (row, col) pitch, scale and rotate it (about its centre).

    The rotation happens at the threat's own, square pitch, before the resampling to a host
    whose rows and columns may have different pitches (the column pitch of a portal follows
    the vehicle's speed).
    """
    pitch_row, pitch_col = _sigmas(host_pitch)
    if not (0.05 < scale < 20) or min(pitch_row, pitch_col) <= 0:
        raise SpecError(
            _("threat {threat}: scale must lie in (0.05, 20), got {scale}").format(
                threat=threat.name, scale=scale
            )
        )
    zoom_row = threat.pitch_mm / pitch_row * scale
    zoom_col = threat.pitch_mm / pitch_col * scale
    h, w = threat.mask.shape
    size = math.ceil(math.hypot(h, w)) + 4
    centre_in = ((w - 1) / 2.0, (h - 1) / 2.0)
    matrix = cv2.getRotationMatrix2D(centre_in, rotation_deg, 1.0)
    matrix[:, 2] += ((size - 1) / 2.0 - centre_in[0], (size - 1) / 2.0 - centre_in[1])
    rotated = [
        cv2.warpAffine(np.ascontiguousarray(a), matrix, (size, size), flags=cv2.INTER_LINEAR)
        for a in threat.attenuation
    ]
    coverage = cv2.warpAffine(
        threat.mask.astype(np.float32), matrix, (size, size), flags=cv2.INTER_LINEAR
    )
    new_size = (max(round(size * zoom_col), 1), max(round(size * zoom_row), 1))
    # Each pixel holds a ray integral: going to a coarser pitch averages the rays a new pixel
    # covers (INTER_AREA); going finer interpolates between them.
    interp = cv2.INTER_AREA if min(zoom_row, zoom_col) < 1 else cv2.INTER_LINEAR
    channels = [cv2.resize(a, new_size, interpolation=interp) for a in rotated]
    mask = cv2.resize(coverage, new_size, interpolation=interp) >= 0.5
    rows, cols = np.nonzero(mask)
    if rows.size == 0:
        raise SpecError(
            _("threat {threat}: nothing left after scaling by {scale}").format(
                threat=threat.name, scale=scale
            )
        )
    r0, r1, c0, c1 = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
    patch = np.stack(channels)[:, r0:r1, c0:c1].astype(np.float32)
    return patch, mask[r0:r1, c0:c1]
