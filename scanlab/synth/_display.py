"""What trainees see: scans rendered as scanners export them. Tone curves (a family of vendor
curves and their inverses), and the vendor export pipeline: crop to the vehicle body, slight
rotation, resampling, edge-preserving noise reduction, the curve, sharpening, 8-bit
quantisation and JPEG."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from scanlab.errors import SpecError
from scanlab.i18n import _
from scanlab.io import Representation, Scan

__all__ = [
    "VENDOR_PIPELINES",
    "DisplayCurve",
    "Export",
    "VendorPipeline",
    "display_to_attenuation",
    "random_pipeline",
    "render_display",
    "render_export",
]

_DEFAULT_LOG = {"contrast": 0.41, "power": 0.6, "black_attenuation": 10.0}


@dataclass(frozen=True)
class DisplayCurve:
    """A vendor's tone curve from transmission ``T = I/I0`` to grey (0 black, 1 white).

    ``kind="log"``: scanlab's compressive curve ``exp(-contrast * A ** power)`` of the
    attenuation ``A = -ln T``, stretched so that ``A = black_attenuation`` is black. It shows
    thick cargo as mid-grey, like a log display.

    ``kind="power"``: ``((T - black_transmission) / (white_transmission -
    black_transmission)) ** gamma``, clipped to [0, 1]. With ``gamma`` near 1 this is the
    transmission-linear display that many scanners export: dense loads near-black, the
    inside of an empty container at about 85 % of the air level. ``gamma`` below 1 lifts
    the dark range; ``white_transmission`` below 1 clips air to white.

    Examples
    --------
    >>> import numpy as np
    >>> curve = DisplayCurve("power", gamma=0.5)
    >>> float(curve.to_grey(np.float32(0.25)))
    0.5
    >>> float(curve.to_transmission(np.float32(0.5)))
    0.25
    """

    kind: Literal["log", "power"] = "log"
    contrast: float = 0.41
    power: float = 0.6
    black_attenuation: float = 10.0
    gamma: float = 1.0
    black_transmission: float = 0.0
    white_transmission: float = 1.0

    def __post_init__(self) -> None:
        if self.kind not in ("log", "power"):
            raise SpecError(f"display curve: kind must be 'log' or 'power', got {self.kind!r}")
        if self.kind == "log" and not (
            self.contrast > 0 and self.power > 0 and self.black_attenuation > 0
        ):
            raise SpecError(
                f"display curve: contrast, power, black_attenuation must be > 0: {self}"
            )
        if self.kind == "power" and not (
            self.gamma > 0 and 0 <= self.black_transmission < self.white_transmission <= 2
        ):
            raise SpecError(
                "display curve: need gamma > 0 and 0 <= black_transmission < "
                f"white_transmission <= 2: {self}"
            )

    def to_grey(self, transmission: np.ndarray) -> np.ndarray:
        """Grey level in [0, 1] (float32) of a transmission array."""
        t = np.asarray(transmission, dtype=np.float32)
        if self.kind == "log":
            att = -np.log(np.maximum(t, np.float32(1e-30)))
            black = np.float32(np.exp(-self.contrast * self.black_attenuation**self.power))
            level = np.exp(
                np.float32(-self.contrast) * np.maximum(att, 0) ** np.float32(self.power)
            )
            out = (level - black) / (np.float32(1.0) - black)
        else:
            lo, hi = np.float32(self.black_transmission), np.float32(self.white_transmission)
            out = np.clip((t - lo) / (hi - lo), 0, 1) ** np.float32(self.gamma)
        return np.clip(out, 0, 1).astype(np.float32)

    def to_transmission(self, grey: np.ndarray) -> np.ndarray:
        """The inverse: transmission (float32) of grey levels in [0, 1]. Black maps to the
        curve's black point, white to its white point (values beyond are lost)."""
        g = np.clip(np.asarray(grey, dtype=np.float32), 0, 1)
        if self.kind == "log":
            black = np.float32(np.exp(-self.contrast * self.black_attenuation**self.power))
            level = np.maximum(g * (1 - black) + black, black)
            att = (-np.log(level) / np.float32(self.contrast)) ** np.float32(1.0 / self.power)
            return np.exp(-att).astype(np.float32)
        lo, hi = np.float32(self.black_transmission), np.float32(self.white_transmission)
        t = lo + (hi - lo) * g ** np.float32(1.0 / self.gamma)
        return np.maximum(t, np.float32(1e-6)).astype(np.float32)

    def as_dict(self) -> dict[str, Any]:
        if self.kind == "log":
            return {
                "kind": "log",
                "contrast": self.contrast,
                "power": self.power,
                "black_attenuation": self.black_attenuation,
            }
        return {
            "kind": "power",
            "gamma": self.gamma,
            "black_transmission": self.black_transmission,
            "white_transmission": self.white_transmission,
        }

    @classmethod
    def from_record(cls, record: dict[str, Any] | None) -> DisplayCurve:
        """The curve recorded in a display scan's ``attributes["display"]`` (scanlab's
        default log curve when there is none, or for records older than ``kind``)."""
        record = dict(record or {})
        kind = record.get("kind", "log")
        names = {f.name for f in dataclasses.fields(cls)}
        fields = {k: v for k, v in record.items() if k in names and k != "kind"}
        return cls(kind=kind, **{k: float(v) for k, v in fields.items()})


def render_display(
    scan: Scan,
    *,
    curve: DisplayCurve | None = None,
    contrast: float = 0.41,
    power: float = 0.6,
    black_attenuation: float = 10.0,
    bits: int = 8,
    channel: int = 0,
    rng: np.random.Generator | None = None,
) -> Scan:
    """Render a calibrated scan through a tone curve: white air, dark steel.

    Without ``curve``, scanlab's log curve ``exp(-contrast * A ** power)`` of one channel's
    attenuation ``A = -ln(I/I0)`` (the high energy by default), stretched so that
    ``black_attenuation`` is black: an empty container's interior at about 90 % of the air
    level, 2.4 m of floor plywood at mid-grey. Real scanners' curves differ (many are close
    to linear in transmission, which shows dense loads near-black): pass a
    :class:`DisplayCurve`, or use :func:`render_export` for a whole vendor export. With
    ``rng`` the levels are dithered before rounding, so 8 bits show no banding. The curve is
    recorded in ``attributes["display"]`` so that :func:`display_to_attenuation` inverts it.

    Examples
    --------
    >>> from scanlab.io import example_scan
    >>> shown = render_display(example_scan(rows=32, cols=64))
    >>> shown.representation.value, shown.data.dtype.name, shown.n_channels
    ('display', 'uint8', 1)
    """
    if curve is None:
        curve = DisplayCurve(
            "log", contrast=contrast, power=power, black_attenuation=black_attenuation
        )
    att = np.maximum(scan.to_attenuation().data[channel], np.float32(0.0))
    full = float(2**bits - 1)
    level = curve.to_grey(np.exp(-att)) * np.float32(full)
    if rng is not None:
        level += rng.uniform(-0.5, 0.5, size=level.shape).astype(np.float32)
    dtype = np.uint8 if bits <= 8 else np.uint16
    pixels = np.clip(np.rint(level), 0, full).astype(dtype)
    energies = scan.metadata.energies_mev[channel : channel + 1]
    meta = dataclasses.replace(
        scan.metadata,
        energies_mev=energies,
        air_level=None,
        dark_level=None,
        attributes={
            **scan.metadata.attributes,
            "display": {**curve.as_dict(), "bits": bits},
        },
    )
    return scan.replace(data=pixels, representation=Representation.DISPLAY, metadata=meta)


def display_to_attenuation(
    scan: Scan,
    *,
    curve: DisplayCurve | None = None,
    contrast: float | None = None,
    power: float | None = None,
    black_attenuation: float | None = None,
) -> np.ndarray:
    """Approximate attenuation of a display image by inverting the display curve.

    Uses ``curve``, else the curve recorded by :func:`render_display` or
    :func:`render_export` when the scan has one, else scanlab's default log curve (with any
    of its parameters given here): for a real vendor export this is an assumption (vendors
    do not publish their curves), good enough to add a threat and render the image again.
    Returns float32 (row, col) of the first channel.
    """
    if curve is None:
        recorded = DisplayCurve.from_record(scan.metadata.attributes.get("display"))
        overrides: dict[str, Any] = {
            k: v
            for k, v in {
                "contrast": contrast,
                "power": power,
                "black_attenuation": black_attenuation,
            }.items()
            if v is not None
        }
        curve = dataclasses.replace(recorded, **overrides) if overrides else recorded
    full = float(np.iinfo(scan.data.dtype).max) if scan.data.dtype.kind == "u" else 1.0
    grey = np.asarray(scan.data[0], dtype=np.float32) / np.float32(full)
    return (-np.log(curve.to_transmission(grey))).astype(np.float32)


@dataclass(frozen=True)
class VendorPipeline:
    """How a scanner's software turns a calibrated scan into the 8-bit image it exports.

    Each step is one that vendors' workstations perform and that shapes what trainees see:

    - ``crop``: to the vehicle body (the container) plus a strip of chassis below its floor,
      ``roof_margin_mm`` above and ``chassis_strip_mm`` below, ``end_margin_mm`` at each end;
    - ``max_rotation_deg``: exports are sometimes slightly rotated (vehicle not level on
      the lane, the array not quite vertical); the corners left uncovered are white;
    - ``pad_px``: some exports are padded with white;
    - ``export_pitch_mm``: (row, col) resampled from the scan's pitch to the export's
      (area averaging down, cubic up), which softens edges. Along the scan the pitch is the
      vehicle's speed over the pulse rate, so real exports often have wider columns than
      rows (a 40 ft container 1,500 columns long at 8 mm). Real exports hold a container
      and its chassis strip in about 630 rows: :func:`random_pipeline` resamples rows to
      5.8-7 mm, which a diverging beam's magnified near side needs to fit in as many;
    - ``blur_sigma_px``: the reconstruction filter of that resampling and the display's
      smoothing, a Gaussian of this sigma in export pixels. It is light: at real exports'
      strongest edges the gradient at one pixel is 1.58 times that after a 2-pixel blur
      (median of 242; a Gaussian of 1 pixel brings scanlab's exports to 1.46), and their
      power spectrum keeps its fine-scale share (slope -3.3);
    - ``denoise``: edge-preserving noise reduction (a bilateral filter whose range is
      ``denoise`` grey levels): flat bright areas lose their grain, edges stay;
    - ``curve``: the tone curve (:class:`DisplayCurve`);
    - ``sharpen``: unsharp masking (amount, over ``sharpen_sigma_px``). The log-like member
      sharpens the finest detail (amount 1 over 0.8 px), as operator workstations' detail
      enhancement does: real exports' edges are sharper at one pixel than after a 2-pixel
      blur by 1.58 (median of 242) and their flat areas keep 0.4-0.5 grey levels of grain
      through JPEG, which grain at scanlab's portal dose reaches only so sharpened;
    - 8-bit quantisation with dither, then ``jpeg_quality`` (None: no JPEG).
    """

    name: str
    curve: DisplayCurve
    roof_margin_mm: float = 60.0
    chassis_strip_mm: float = 450.0
    end_margin_mm: float = 120.0
    max_rotation_deg: float = 0.0
    pad_px: int = 0
    export_pitch_mm: tuple[float, float] | None = None
    blur_sigma_px: float = 0.0
    denoise: float = 0.0
    sharpen: float = 0.0
    sharpen_sigma_px: float = 2.0
    jpeg_quality: int | None = 85

    def as_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["curve"] = self.curve.as_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> VendorPipeline:
        d = dict(d)
        d["curve"] = DisplayCurve.from_record(d.get("curve"))
        if d.get("export_pitch_mm") is not None:
            d["export_pitch_mm"] = tuple(float(v) for v in d["export_pitch_mm"])
        return cls(**d)


#: A family of vendor export pipelines, each standing for a kind of scanner software seen
#: in real traffic: transmission-linear exports with mild noise reduction (the most common),
#: gamma-lifted dark ranges, a log-like display, and scanlab's own classic curve.
VENDOR_PIPELINES: dict[str, VendorPipeline] = {
    "linear": VendorPipeline(
        "linear",
        DisplayCurve("power", gamma=0.9, black_transmission=0.0, white_transmission=0.99),
        max_rotation_deg=0.6,
        blur_sigma_px=0.45,
        denoise=3.0,
        sharpen=0.3,
        jpeg_quality=80,
    ),
    "gamma-lifted": VendorPipeline(
        "gamma-lifted",
        DisplayCurve("power", gamma=0.6, black_transmission=0.003, white_transmission=0.95),
        max_rotation_deg=0.6,
        blur_sigma_px=0.4,
        denoise=8.0,
        sharpen=0.5,
        jpeg_quality=80,
    ),
    "log": VendorPipeline(
        "log",
        DisplayCurve("log", contrast=0.5, power=0.75, black_attenuation=8.0),
        max_rotation_deg=0.4,
        blur_sigma_px=0.5,
        denoise=1.0,
        sharpen=1.0,
        sharpen_sigma_px=0.8,
        jpeg_quality=80,
    ),
    "scanlab-classic": VendorPipeline(
        "scanlab-classic", DisplayCurve(), end_margin_mm=0.0, jpeg_quality=None
    ),
}


def random_pipeline(
    rng: np.random.Generator, *, family: tuple[str, ...] = ("linear", "gamma-lifted", "log")
) -> VendorPipeline:
    """A vendor pipeline drawn around a member of ``family``: curve, margins, rotation,
    processing, pitch and JPEG quality varied as they vary between sites and software
    versions. For training and for benchmarks over many scanners."""
    base = VENDOR_PIPELINES[str(rng.choice(list(family)))]
    c = base.curve
    if c.kind == "power":
        curve = dataclasses.replace(
            c,
            gamma=float(c.gamma * np.exp(rng.uniform(-0.2, 0.2))),
            black_transmission=float(rng.uniform(0.0, 0.004)),
            white_transmission=float(
                np.clip(c.white_transmission + rng.uniform(-0.04, 0.03), 0.85, 1.0)
            ),
        )
    else:
        curve = dataclasses.replace(
            c,
            contrast=float(c.contrast * np.exp(rng.uniform(-0.2, 0.2))),
            power=float(c.power * np.exp(rng.uniform(-0.1, 0.1))),
            black_attenuation=float(c.black_attenuation * rng.uniform(0.85, 1.15)),
        )
    return dataclasses.replace(
        base,
        curve=curve,
        roof_margin_mm=float(rng.uniform(0, 150)),
        chassis_strip_mm=float(rng.uniform(150, 500)),
        end_margin_mm=float(rng.uniform(0, 300)),
        pad_px=int(rng.integers(0, 12)) if rng.random() < 0.2 else 0,
        blur_sigma_px=float(base.blur_sigma_px * rng.uniform(0.6, 1.4)),
        denoise=float(base.denoise * rng.uniform(0.5, 1.5)),
        sharpen=float(base.sharpen * rng.uniform(0.0, 1.5)),
        jpeg_quality=int(rng.integers(70, 95)) if base.jpeg_quality else None,
        export_pitch_mm=(float(rng.uniform(5.8, 7.0)), float(rng.uniform(5.5, 8.5))),
    )


@dataclass
class Export:
    """A vendor export: the 8-bit display scan, the JPEG bytes as the vendor writes them,
    and the geometry that maps the source scan's pixels onto it.

    ``matrix`` is the 2 x 3 affine map from source (col, row) to export (col, row), in
    OpenCV's convention; :meth:`warp` applies it to any array of the source's shape (an
    answer key's masks, an anomaly map) so that it lines up with the export.
    """

    scan: Scan
    matrix: np.ndarray
    pipeline: VendorPipeline
    encoded: bytes | None = None

    def warp(self, image: np.ndarray, *, nearest: bool = False, fill: float = 0.0) -> np.ndarray:
        """``image`` (row, col) of the source scan's shape, moved onto the export."""
        import cv2

        shape = self.scan.shape
        src = np.ascontiguousarray(image)
        as_bool = src.dtype == bool
        if as_bool:
            src = src.astype(np.uint8)
        out = cv2.warpAffine(
            src,
            self.matrix,
            (shape[1], shape[0]),
            flags=cv2.INTER_NEAREST if nearest or as_bool else cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=fill,
        )
        return out.astype(bool) if as_bool else out


def render_export(
    scan: Scan,
    pipeline: VendorPipeline | str = "linear",
    *,
    body_px: tuple[float, float, float, float] | None = None,
    channel: int = 0,
    rng: np.random.Generator | None = None,
) -> Export:
    """Render a calibrated scan as a vendor's 8-bit export (see :class:`VendorPipeline`).

    Parameters
    ----------
    scan : Scan
        Counts, transmission or attenuation.
    pipeline : VendorPipeline or str
        A pipeline or the name of one in :data:`VENDOR_PIPELINES`.
    body_px : (row0, col0, row1, col1), optional
        The vehicle body (container) in the scan's pixels, which the export is cropped to;
        a simulated scene's key records it as ``key.attributes["body_px"]``. Without it the
        whole scan is kept.
    rng : numpy.random.Generator, optional
        Draws the rotation and the dither (none without it).

    Examples
    --------
    >>> import numpy as np
    >>> from scanlab.io import example_scan
    >>> out = render_export(example_scan(rows=64, cols=128), "linear", body_px=(8, 8, 48, 120),
    ...                     rng=np.random.default_rng(0))
    >>> out.scan.data.dtype.name, out.encoded[:2] == b"\\xff\\xd8"
    ('uint8', True)
    """
    import cv2

    if isinstance(pipeline, str):
        if pipeline not in VENDOR_PIPELINES:
            raise SpecError(
                _("unknown vendor pipeline {name!r}; valid: {valid}").format(
                    name=pipeline, valid=", ".join(VENDOR_PIPELINES)
                )
            )
        pipeline = VENDOR_PIPELINES[pipeline]
    p = pipeline
    pitch_r, pitch_c = (float(v) for v in scan.metadata.pitch_mm)
    trans = np.exp(-np.maximum(scan.to_attenuation().data[channel], 0)).astype(np.float32)
    rows, cols = trans.shape
    r0, c0, r1, c1 = (round(v) for v in body_px) if body_px is not None else (0, 0, rows, cols)
    if body_px is not None:
        r0 -= round(p.roof_margin_mm / pitch_r)
        r1 += round(p.chassis_strip_mm / pitch_r)
        c0 -= round(p.end_margin_mm / pitch_c)
        c1 += round(p.end_margin_mm / pitch_c)
    r0, c0, r1, c1 = max(r0, 0), max(c0, 0), min(r1, rows), min(c1, cols)
    if r1 - r0 < 2 or c1 - c0 < 2:
        raise SpecError(
            _("{source}: export crop {crop} leaves no image").format(
                source=scan.source, crop=body_px
            )
        )
    # Source (col, row) -> export (col, row): rotate about the crop's centre, shift to the
    # crop, scale to the export pitch, shift by the padding.
    angle = float(rng.uniform(-1, 1) * p.max_rotation_deg) if rng is not None else 0.0
    centre = ((c0 + c1) / 2.0, (r0 + r1) / 2.0)
    rotate = np.vstack([cv2.getRotationMatrix2D(centre, angle, 1.0), [0, 0, 1]])
    out_r, out_c = p.export_pitch_mm or (pitch_r, pitch_c)
    sr, sc = pitch_r / out_r, pitch_c / out_c
    place = np.array([[sc, 0, -c0 * sc + p.pad_px], [0, sr, -r0 * sr + p.pad_px], [0, 0, 1]])
    matrix = (place @ rotate)[:2]
    out_rows = round((r1 - r0) * sr) + 2 * p.pad_px
    out_cols = round((c1 - c0) * sc) + 2 * p.pad_px
    downsample = sr < 1 or sc < 1
    if downsample:  # area-average first, so the affine resampling does not alias
        trans = cv2.resize(trans, None, fx=sc, fy=sr, interpolation=cv2.INTER_AREA)
        matrix = matrix @ np.diag([1 / sc, 1 / sr, 1])
    white = float(p.curve.to_transmission(np.ones(1, np.float32))[0])
    image = cv2.warpAffine(
        trans,
        matrix.astype(np.float64),
        (out_cols, out_rows),
        flags=cv2.INTER_LINEAR if downsample or (sr == 1 and sc == 1) else cv2.INTER_CUBIC,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=white,
    )
    if downsample:
        matrix = matrix @ np.diag([sc, sr, 1])
    if p.blur_sigma_px > 0:
        image = cv2.GaussianBlur(image, (0, 0), p.blur_sigma_px, borderType=cv2.BORDER_REPLICATE)
    grey: np.ndarray = p.curve.to_grey(image) * np.float32(255.0)
    if p.denoise > 0:
        grey = cv2.bilateralFilter(grey, 5, float(p.denoise), 1.5)
    if p.sharpen > 0:
        blurred = cv2.GaussianBlur(grey, (0, 0), p.sharpen_sigma_px)
        grey = grey + np.float32(p.sharpen) * (grey - blurred)
    if rng is not None:
        grey += rng.uniform(-0.5, 0.5, size=grey.shape).astype(np.float32)
    pixels: np.ndarray = np.clip(np.rint(grey), 0, 255).astype(np.uint8)
    encoded = None
    if p.jpeg_quality is not None:
        ok, buf = cv2.imencode(".jpg", pixels, [cv2.IMWRITE_JPEG_QUALITY, int(p.jpeg_quality)])
        if not ok:  # pragma: no cover - OpenCV encodes any uint8 image
            raise SpecError(f"{scan.source}: JPEG encoding failed")
        encoded = buf.tobytes()
        pixels = np.asarray(cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE))
    meta = dataclasses.replace(
        scan.metadata,
        energies_mev=scan.metadata.energies_mev[channel : channel + 1],
        pitch_mm=(out_r, out_c),
        air_level=None,
        dark_level=None,
        attributes={
            **scan.metadata.attributes,
            "display": {**p.curve.as_dict(), "bits": 8},
            "export": {**p.as_dict(), "rotation_deg": angle, "crop_px": [r0, c0, r1, c1]},
        },
    )
    shown = Scan(pixels[None], Representation.DISPLAY, meta, source=scan.source)
    return Export(shown, matrix.astype(np.float64), p, encoded)
