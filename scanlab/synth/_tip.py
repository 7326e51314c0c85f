"""Threat image projection (TIP): put a threat into any scan, real or simulated, with its key.

Projection is multiplicative in transmission, i.e. additive in attenuation, channel by
channel. The threat's extra attenuation also removes photons, so the noise of the host grows
where the threat lies: Gaussian noise of variance ``sigma_host^2 (1/T - 1)`` is added, with
``sigma_host`` the host's local noise measured around the insertion point.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass

import cv2
import numpy as np

from scanlab.errors import CalibrationError, MissingChannelError, SpecError
from scanlab.io import Representation, Scan
from scanlab.synth._answer_key import THREAT_CLASSES, KeyObject, mask_to_polygon
from scanlab.synth._canvas import Canvas
from scanlab.synth._concealments import Concealed, _brick_block, _human, _pistol, _rifle

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
            raise SpecError(f"threat {self.name}: attenuation (C, h, w) and mask (h, w) disagree")
        if self.threat_class not in THREAT_CLASSES:
            raise SpecError(f"threat {self.name}: class must be one of {THREAT_CLASSES}")


@functools.cache
def render_threat(
    name: str, *, scanner: str = "scanlab-6MV-dual", pitch_mm: float = 5.0, seed: int = 0
) -> Threat:
    """Render a threat of :data:`THREAT_LIBRARY` alone, as its noise-free attenuation patch.

    Examples
    --------
    >>> t = render_threat("pistol")
    >>> t.threat_class, t.attenuation.shape[0], bool(t.mask.any())
    ('weapon', 2, True)
    """
    if name not in THREAT_LIBRARY:
        raise SpecError(f"unknown threat {name!r}; the library has {sorted(THREAT_LIBRARY)}")
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
    (_r0, _c0, _r1, _c1), part, chord = obj.contribution()
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
            f"{scan.source}: cut threats from calibrated scans, not display images"
        )
    if mask.shape != scan.shape or not mask.any():
        raise SpecError(
            f"{scan.source}: the mask must be a non-empty bool image of the scan's shape"
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
) -> tuple[Scan, KeyObject]:
    """Project ``threat`` into ``host`` centred at (row, col); return the new scan and key entry.

    The patch is resampled from the threat's pitch to the host's, scaled and rotated;
    added to the host's attenuation channel by channel; noise matched to the host's local
    noise is added; and the result goes back to the host's representation (counts,
    transmission, attenuation, or a display image, through the inverse of the scanlab
    display curve). Host metadata is kept; ``attributes["tip"]`` records the insertion.

    Examples
    --------
    >>> from scanlab.io import example_scan
    >>> host = example_scan(rows=96, cols=320)
    >>> new, obj = project_threat(host, render_threat("pistol"), row=48, col=200,
    ...                           rng=np.random.default_rng(0))
    >>> obj.threat_class, obj.concealment, new.metadata.scan_id == host.metadata.scan_id
    ('weapon', 'tip', True)
    """
    from scanlab.synth._display import DisplayCurve, display_to_attenuation, render_display
    from scanlab.synth._scene import measure_difficulty

    patch, mask = _warp(
        threat, host_pitch=float(host.metadata.pitch_mm[0]), scale=scale, rotation_deg=rotation_deg
    )
    h, w = mask.shape
    r0, c0 = int(row) - h // 2, int(col) - w // 2
    rr0, cc0 = max(r0, 0), max(c0, 0)
    rr1, cc1 = min(r0 + h, host.shape[0]), min(c0 + w, host.shape[1])
    if rr1 <= rr0 or cc1 <= cc0:
        raise SpecError(
            f"{host.source}: threat at ({row}, {col}) lies outside the {host.shape} scan"
        )
    patch = patch[:, rr0 - r0 : rr1 - r0, cc0 - c0 : cc1 - c0]
    mask = mask[rr0 - r0 : rr1 - r0, cc0 - c0 : cc1 - c0]
    if host.representation is Representation.DISPLAY:
        att = display_to_attenuation(host)[None]
        channels = 1
    else:
        att = host.to_attenuation().data.copy()
        channels = host.n_channels
    if channels > patch.shape[0]:
        raise MissingChannelError(
            f"threat {threat.name} has {patch.shape[0]} channel(s), host {channels}"
        )
    before = att[0, rr0:rr1, cc0:cc1].copy()
    margin = 16
    for c in range(channels):
        window = att[c, max(rr0 - margin, 0) : rr1 + margin, max(cc0 - margin, 0) : cc1 + margin]
        sigma = local_noise_sigma(window)
        extra = patch[c]
        noise_sd = sigma * np.sqrt(np.expm1(np.clip(extra, 0.0, 20.0)))
        att[c, rr0:rr1, cc0:cc1] += extra + noise_sd * rng.standard_normal(extra.shape).astype(
            np.float32
        )
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
        rendered = render_display(
            Scan(
                att,
                Representation.ATTENUATION,
                dataclasses.replace(meta, air_level=None, dark_level=None),
            ),
            curve=DisplayCurve.from_record(host.metadata.attributes.get("display")),
            bits=8 * host.data.dtype.itemsize,
        )
        new = host.replace(data=rendered.data, metadata=meta)
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
        display_to_attenuation(new)
        if new.representation is Representation.DISPLAY
        else new.to_attenuation().high
    )
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


def _warp(
    threat: Threat, *, host_pitch: float, scale: float, rotation_deg: float
) -> tuple[np.ndarray, np.ndarray]:
    """Resample a threat to the host's pitch, scale and rotate it (about its centre)."""
    if not (0.05 < scale < 20) or host_pitch <= 0:
        raise SpecError(f"threat {threat.name}: scale must lie in (0.05, 20), got {scale}")
    zoom = threat.pitch_mm / host_pitch * scale
    h, w = threat.mask.shape
    new_size = (max(round(w * zoom), 1), max(round(h * zoom), 1))
    # Each pixel holds a ray integral: going to a coarser pitch averages the rays a new pixel
    # covers (INTER_AREA); going finer interpolates between them.
    interp = cv2.INTER_AREA if zoom < 1 else cv2.INTER_LINEAR
    resized = [
        cv2.resize(np.ascontiguousarray(a), new_size, interpolation=interp)
        for a in threat.attenuation
    ]
    coverage = cv2.resize(threat.mask.astype(np.float32), new_size, interpolation=interp)
    size = math.ceil(math.hypot(*new_size)) + 4
    centre_in = ((new_size[0] - 1) / 2.0, (new_size[1] - 1) / 2.0)
    matrix = cv2.getRotationMatrix2D(centre_in, rotation_deg, 1.0)
    matrix[:, 2] += ((size - 1) / 2.0 - centre_in[0], (size - 1) / 2.0 - centre_in[1])
    channels = [
        cv2.warpAffine(a, matrix, (size, size), flags=cv2.INTER_LINEAR, borderValue=0.0)
        for a in resized
    ]
    mask = cv2.warpAffine(coverage, matrix, (size, size), flags=cv2.INTER_LINEAR) >= 0.5
    rows, cols = np.nonzero(mask)
    if rows.size == 0:
        raise SpecError(f"threat {threat.name}: nothing left after scaling by {scale}")
    r0, r1, c0, c1 = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
    patch = np.stack(channels)[:, r0:r1, c0:c1].astype(np.float32)
    return patch, mask[r0:r1, c0:c1]
