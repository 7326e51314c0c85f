"""Side-view rasterisation: objects in millimetres become areal densities of two basis materials.

The beam crosses the vehicle along its width (y). A pixel of the scan sees, for each object in
its path, the object's chord length along y. Objects are described in the (x, z) plane: x is
the position along the vehicle in mm (column), z the height above the road in mm (row, top
first). Every object adds ``density * chord`` g/cm² of its material, which the canvas turns
into basis-material areal densities (organic, iron, lead) with each material's decomposition, so a
whole scene costs two float32 images however many materials it holds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

__all__ = ["Canvas", "Footprint"]

#: Sub-pixel samples per axis for curved and polygonal edges (boxes are exact).
SUPERSAMPLE = 3


@dataclass
class Footprint:
    """Where an object lies in the image and its chord length (cm) in each pixel.

    ``chord_cm`` is already weighted by the fraction of the pixel the object covers.
    ``volume_cm`` (the object's chord summed over its pixels, in cm) is set where the
    footprint was projected through a diverging beam, whose image of a part lying off the
    centre plane is magnified or shrunk (its mass is the object's all the same).
    """

    rows: slice
    cols: slice
    chord_cm: np.ndarray
    volume_cm: float | None = None

    @property
    def mask(self) -> np.ndarray:
        return self.chord_cm > 0


@dataclass
class Canvas:
    """Accumulates basis-material areal densities (g/cm²) of a side-view scene.

    Parameters
    ----------
    rows, cols : int
        Image size.
    pitch_mm : float
        Pixel size at the object plane (square pixels).
    top_mm : float
        Height above the road of the top edge of row 0.
    decompose : callable
        ``decompose(material_name) -> coefficients``: grams of each basis material that
        attenuate like one gram of the material.
    density : callable
        ``density(material_name) -> g/cm³``.
    n_basis : int
        Number of basis materials (length of what ``decompose`` returns).
    skew : float
        Tangent of the angle (yaw) at which the vehicle crosses the beam plane. A part
        whose chord along the beam is ``d`` then spreads over ``d * skew`` more along the
        vehicle, its volume kept: a cross-member 2.35 m across, 4.5 mm thick, seen at 1
        degree is a 45 mm wide dark bar, and the edges of a load across the width soften.
    source_z_mm : float, optional
        Height above the road of the X-ray source, whose fan beam diverges vertically from
        it (None: parallel rays, the default). A ray reaching the centre plane (the
        vehicle's mid-width, where ``pitch_mm`` holds) at height z crosses depth y (mm
        across the vehicle, away from the source) at ``z_s + (z - z_s) (L + y) / L``. So a
        part at depth y appears scaled by ``L / (L + y)`` about the source's height: the
        two side walls' top rails appear as two lines, the near one above the far one, the
        roof sheet and the floor between them are crossed obliquely and spread into bands,
        and the top of a load that fills the width fades over ``|z - z_s| w / L``.
    source_distance_mm : float
        L, from the source to the centre plane.
    """

    rows: int
    cols: int
    pitch_mm: float
    top_mm: float
    decompose: Callable[[str], tuple[float, ...]]
    density: Callable[[str], float]
    n_basis: int = 2
    skew: float = 0.0
    source_z_mm: float | None = None
    source_distance_mm: float = 4500.0
    basis: np.ndarray = field(init=False)
    planes_mm: tuple[float, ...] | None = field(default=None, init=False)
    plane_thickness_mm: float = field(default=0.0, init=False)

    def __post_init__(self) -> None:
        self.basis = np.zeros((self.n_basis, self.rows, self.cols), dtype=np.float32)

    @contextmanager
    def at_depths(self, *y_mm: float, thickness_mm: float = 0.0) -> Iterator[Canvas]:
        """Parts drawn inside this block lie in thin planes at these depths (mm across the
        vehicle from its centre plane, positive away from the source), their chord shared
        equally between the planes: ``at_depths(-1200, 1200)`` for what both side walls
        carry. With ``thickness_mm`` each plane is a slab that thick about its depth, which
        a diverging beam crosses obliquely: ``at_depths(-950, 950, thickness_mm=640)`` for
        twin tyres, whose treads, crossed along the axle, spread into the dark arch real
        scans show over each wheel. Elsewhere a part is taken to fill its chord about the
        centre plane. Only a diverging beam (``source_z_mm``) tells these apart."""
        before = self.planes_mm, self.plane_thickness_mm
        self.planes_mm = tuple(float(y) for y in y_mm)
        self.plane_thickness_mm = max(float(thickness_mm), 0.0)
        try:
            yield self
        finally:
            self.planes_mm, self.plane_thickness_mm = before

    def project_z(self, z_mm: Any, y_mm: float = 0.0) -> Any:
        """Height (mm) in the image (at the centre plane) of a point at height ``z_mm`` and
        depth ``y_mm``: itself without a diverging beam."""
        if self.source_z_mm is None:
            return z_mm
        zs, dist = self.source_z_mm, self.source_distance_mm
        return zs + (z_mm - zs) * dist / (dist + y_mm)

    # --- coordinates ------------------------------------------------------------------

    # Coordinate conversions work on floats and arrays alike.
    def col_of(self, x_mm: Any) -> Any:
        return x_mm / self.pitch_mm

    def row_of(self, z_mm: Any) -> Any:
        return (self.top_mm - z_mm) / self.pitch_mm

    def x_of(self, col: Any) -> Any:
        return col * self.pitch_mm

    def z_of(self, row: Any) -> Any:
        return self.top_mm - row * self.pitch_mm

    def _window(self, x0: float, x1: float, z0: float, z1: float) -> tuple[slice, slice] | None:
        c0 = max(int(np.floor(self.col_of(min(x0, x1)))), 0)
        c1 = min(int(np.ceil(self.col_of(max(x0, x1)))), self.cols)
        r0 = max(int(np.floor(self.row_of(max(z0, z1)))), 0)
        r1 = min(int(np.ceil(self.row_of(min(z0, z1)))), self.rows)
        if c1 <= c0 or r1 <= r0:
            return None
        return slice(r0, r1), slice(c0, c1)

    def _samples(
        self, rows: slice, cols: slice, s: int = SUPERSAMPLE
    ) -> tuple[np.ndarray, np.ndarray]:
        """x and z (mm) of the sub-pixel sample points of a window, shape (R*S, C*S)."""
        offsets = (np.arange(s) + 0.5) / s
        col_pos = (np.arange(cols.start, cols.stop)[:, None] + offsets[None, :]).ravel()
        row_pos = (np.arange(rows.start, rows.stop)[:, None] + offsets[None, :]).ravel()
        return self.x_of(col_pos)[None, :], self.z_of(row_pos)[:, None]

    @staticmethod
    def _reduce(samples: np.ndarray, s: int = SUPERSAMPLE) -> np.ndarray:
        if s == 1:
            return samples.astype(np.float32)
        r, c = samples.shape[0] // s, samples.shape[1] // s
        return samples.reshape(r, s, c, s).mean(axis=(1, 3), dtype=np.float32)

    # --- footprints ---------------------------------------------------------------------

    def box(
        self,
        x0: float,
        z0: float,
        length: float,
        height: float,
        depth_cm: float,
        *,
        span_cm: float | None = None,
    ) -> Footprint | None:
        """A box seen side-on: constant chord ``depth_cm``, exact partial-pixel edges.
        ``span_cm``: its size across the vehicle where that is not its chord (a plate
        crossed obliquely, drawn as a box with the plate's volume)."""
        win = self._window(x0, x0 + length, z0, z0 + height)
        if win is None:
            return None
        rows, cols = win
        cx = _coverage(np.arange(cols.start, cols.stop), self.col_of(x0), self.col_of(x0 + length))
        rz = _coverage(np.arange(rows.start, rows.stop), self.row_of(z0 + height), self.row_of(z0))
        chord = (rz[:, None] * cx[None, :] * depth_cm).astype(np.float32)
        return self._finish(rows, cols, chord, span_cm=abs(span_cm or depth_cm))

    def ellipsoid(
        self, xc: float, zc: float, semi_x: float, semi_z: float, semi_y_cm: float
    ) -> Footprint | None:
        """An ellipsoid (or a sphere): chord ``2 semi_y sqrt(1 - u^2)`` over an ellipse."""
        win = self._window(xc - semi_x, xc + semi_x, zc - semi_z, zc + semi_z)
        if win is None:
            return None
        x, z = self._samples(*win)
        u2 = ((x - xc) / semi_x) ** 2 + ((z - zc) / semi_z) ** 2
        chord = 2.0 * semi_y_cm * np.sqrt(np.clip(1.0 - u2, 0.0, None))
        return self._finish(*win, self._reduce(chord))

    def disc(
        self, xc: float, zc: float, radius: float, depth_cm: float, inner_radius: float = 0.0
    ) -> Footprint | None:
        """A cylinder whose axis lies along the beam (a wheel, an axle, a drum on its side
        across the vehicle): constant chord over a disc or an annulus."""
        win = self._window(xc - radius, xc + radius, zc - radius, zc + radius)
        if win is None:
            return None
        x, z = self._samples(*win)
        r2 = (x - xc) ** 2 + (z - zc) ** 2
        inside = (r2 <= radius**2) & (r2 >= inner_radius**2)
        return self._finish(*win, self._reduce(inside * np.float32(depth_cm)))

    def tyre_ring(
        self,
        xc: float,
        zc: float,
        radius: float,
        rim_radius: float,
        width: float,
        tilt: float,
        wall_cm: float,
        lean: float = 0.0,
    ) -> Footprint | None:
        """A tyre lying tilted ``tilt`` radians from flat, seen from the side.

        Its outline projects to an elliptical ring. The beam crosses the tread and sidewalls
        about twice through their thickness inside the ring, and runs tangentially along the
        tread at the ring's ends, where the chord grows as 1/sqrt(1 - u^2) (capped at the
        tyre's width): the dark elliptical outlines of real tyre loads. ``lean`` turns the
        ring in the image plane (radians, counter-clockwise), as tyres in a leaning stack.
        """
        b_out = radius * abs(np.sin(tilt)) + 0.5 * width * abs(np.cos(tilt))
        b_in = rim_radius * abs(np.sin(tilt))
        c, s = np.cos(lean), np.sin(lean)
        half_x = abs(radius * c) + abs(b_out * s)
        half_z = abs(radius * s) + abs(b_out * c)
        win = self._window(xc - half_x, xc + half_x, zc - half_z, zc + half_z)
        if win is None:
            return None
        x, z = self._samples(*win)
        u, v = (x - xc) * c + (z - zc) * s, (z - zc) * c - (x - xc) * s
        u2 = (u / radius) ** 2 + (v / max(b_out, 1.0)) ** 2
        v2 = (u / rim_radius) ** 2 + (v / max(b_in, 1.0)) ** 2
        ring = (u2 <= 1.0) & (v2 >= 1.0)
        chord = np.minimum(wall_cm / np.sqrt(np.clip(1.0 - u2, 0.01, None)), width / 10.0)
        return self._finish(*win, self._reduce(ring * chord))

    def block(
        self,
        xc: float,
        zc: float,
        length: float,
        height: float,
        depth_cm: float,
        *,
        radius: float = 0.0,
        tilt: float = 0.0,
        sag: float = 0.0,
    ) -> Footprint | None:
        """A package seen side-on: a rounded rectangle centred at (``xc``, ``zc``), turned
        ``tilt`` radians in the image plane, bent by ``sag``.

        Its chord is ``depth_cm`` inside and falls to zero across the margin of width
        ``radius`` like the cross-section of a cylinder of that radius, so a package's
        edges are round in depth as well as in outline: a filled sack or a pressed bale
        (radius about half its height) is a pillow, a carton (radius of a few mm) a box with
        crushed edges. ``sag`` (mm) lowers the package's middle below its ends (a bag
        draped over the two below it; negative: humped). Soft margins wider than two
        pixels need no sub-pixel sampling.

        Examples
        --------
        >>> canvas = Canvas(40, 40, 10.0, 400.0, lambda m: (1.0, 0.0), lambda m: 1.0)
        >>> bag = canvas.block(200.0, 200.0, 300.0, 100.0, 50.0, radius=50.0)
        >>> float(bag.chord_cm.max()) <= 50.0, round(float(bag.chord_cm[bag.mask].min()), 1) < 20
        (True, True)
        """
        c, s = np.cos(tilt), np.sin(tilt)
        half_x = abs(0.5 * length * c) + abs(0.5 * height * s)
        half_z = abs(0.5 * length * s) + abs(0.5 * height * c) + abs(sag)
        win = self._window(xc - half_x, xc + half_x, zc - half_z, zc + half_z)
        if win is None:
            return None
        samples = 1 if radius >= 2 * self.pitch_mm else SUPERSAMPLE
        x, z = self._samples(*win, samples)
        u, v = (x - xc) * c + (z - zc) * s, (z - zc) * c - (x - xc) * s
        if sag:
            v = v + sag * (1.0 - np.clip(2.0 * u / length, -1.0, 1.0) ** 2)
        r = min(max(radius, 1e-3), 0.5 * min(length, height))
        # Signed distance to the rounded rectangle: negative inside.
        qx, qz = np.abs(u) - (0.5 * length - r), np.abs(v) - (0.5 * height - r)
        outside = np.hypot(np.maximum(qx, 0.0), np.maximum(qz, 0.0))
        inside_depth = r - outside - np.minimum(np.maximum(qx, qz), 0.0)  # distance from edge
        t = np.clip(inside_depth, 0.0, r)
        profile = np.sqrt(t * (2.0 * r - t)) / r
        chord = self._reduce(profile * np.float32(depth_cm), samples)
        return self._diverge(Footprint(*win, chord), abs(depth_cm))

    def cylinder_x(self, x0: float, length: float, zc: float, radius: float) -> Footprint | None:
        """A cylinder lying along the vehicle (a pipe, a rifle barrel): chord varies with z."""
        win = self._window(x0, x0 + length, zc - radius, zc + radius)
        if win is None:
            return None
        x, z = self._samples(*win)
        chord_mm = 2.0 * np.sqrt(np.clip(radius**2 - (z - zc) ** 2, 0.0, None))
        inside = (x >= x0) & (x <= x0 + length)
        return self._finish(*win, self._reduce(inside * chord_mm / 10.0))

    def cylinder_z(self, xc: float, z0: float, height: float, radius: float) -> Footprint | None:
        """An upright cylinder (a drum, a bottle, a barrel): chord varies with x."""
        win = self._window(xc - radius, xc + radius, z0, z0 + height)
        if win is None:
            return None
        x, z = self._samples(*win)
        chord_mm = 2.0 * np.sqrt(np.clip(radius**2 - (x - xc) ** 2, 0.0, None))
        inside = (z >= z0) & (z <= z0 + height)
        return self._finish(*win, self._reduce(inside * chord_mm / 10.0))

    def capsule(
        self, p0: tuple[float, float], p1: tuple[float, float], radius: float
    ) -> Footprint | None:
        """A round rod from ``p0`` to ``p1`` (x, z mm) with hemispherical ends (a limb, a
        barrel): chord ``2 sqrt(r^2 - d^2)`` where d is the distance to the segment."""
        (x0, z0), (x1, z1) = p0, p1
        win = self._window(
            min(x0, x1) - radius, max(x0, x1) + radius, min(z0, z1) - radius, max(z0, z1) + radius
        )
        if win is None:
            return None
        x, z = self._samples(*win)
        dx, dz = x1 - x0, z1 - z0
        length2 = max(dx * dx + dz * dz, 1e-9)
        t = np.clip(((x - x0) * dx + (z - z0) * dz) / length2, 0.0, 1.0)
        d2 = (x - (x0 + t * dx)) ** 2 + (z - (z0 + t * dz)) ** 2
        chord_mm = 2.0 * np.sqrt(np.clip(radius**2 - d2, 0.0, None))
        return self._finish(*win, self._reduce(chord_mm / 10.0))

    def polygon(self, points_xz: np.ndarray, depth_cm: float) -> Footprint | None:
        """A prism with a polygonal side view (x, z in mm) and constant depth."""
        pts = np.asarray(points_xz, dtype=np.float64)
        win = self._window(pts[:, 0].min(), pts[:, 0].max(), pts[:, 1].min(), pts[:, 1].max())
        if win is None:
            return None
        rows, cols = win
        s = SUPERSAMPLE
        canvas = np.zeros(((rows.stop - rows.start) * s, (cols.stop - cols.start) * s), np.uint8)
        sub_c = (self.col_of(pts[:, 0]) - cols.start) * s
        sub_r = (self.row_of(pts[:, 1]) - rows.start) * s
        shift = 4  # cv2 fixed-point sub-pixel bits
        poly = np.round(np.stack([sub_c, sub_r], axis=1) * (1 << shift) - 0.5).astype(np.int32)
        cv2.fillPoly(canvas, [poly], (1,), lineType=cv2.LINE_8, shift=shift)
        return self._finish(
            rows, cols, self._reduce(canvas.astype(np.float32) * np.float32(depth_cm))
        )

    def _finish(
        self, rows: slice, cols: slice, chord: np.ndarray, *, span_cm: float | None = None
    ) -> Footprint:
        """The footprint as seen at the vehicle's yaw: smeared along x over its span across
        the vehicle (``span_cm``, else its longest chord) times the skew, with the chord
        summed over the smear kept (its volume)."""
        if span_cm is None:
            span_cm = float(chord.max(initial=0.0))
        spread = abs(self.skew) * span_cm * 10.0 / self.pitch_mm
        if spread < 0.25:
            return self._diverge(Footprint(rows, cols, chord), span_cm)
        # Each column's chord spreads evenly over [-spread/2, spread/2] about its centre,
        # placed to the sub-pixel so that parts drawn as differences (hollows) stay aligned.
        k_lo = int(np.floor(0.5 - spread / 2))
        taps = np.arange(k_lo, int(np.ceil(0.5 + spread / 2)))
        kernel = (_coverage(taps, 0.5 - spread / 2, 0.5 + spread / 2) / spread).astype(np.float32)
        smeared = np.zeros((chord.shape[0], chord.shape[1] + taps.size - 1), np.float32)
        for i, k in enumerate(kernel):
            smeared[:, i : i + chord.shape[1]] += k * chord
        c0 = cols.start + k_lo
        lo, hi = max(c0, 0), min(c0 + smeared.shape[1], self.cols)
        if hi <= lo:
            return self._diverge(Footprint(rows, cols, chord), span_cm)
        return self._diverge(Footprint(rows, slice(lo, hi), smeared[:, lo - c0 : hi - c0]), span_cm)

    def _diverge(self, fp: Footprint, span_cm: float) -> Footprint:
        """``fp`` as the diverging beam sees it (see the class): each row of the part, at
        the depths it occupies (the planes of :meth:`at_depths`, else ``span_cm`` about the
        centre plane), maps to an interval of image rows over which its chord spreads. A
        thin plane keeps its chord (only its image is scaled); a part filling a depth w
        is crossed obliquely, its chord spread over ``|z - z_s| w / L`` with the sum kept.
        """
        if self.source_z_mm is None or fp.chord_cm.size == 0:
            return fp
        rs = float(self.row_of(self.source_z_mm))
        dist = self.source_distance_mm
        r = np.arange(fp.rows.start, fp.rows.stop, dtype=np.float64)
        top, bottom = r - rs, r + 1.0 - rs
        if self.planes_mm:
            half = 0.5 * self.plane_thickness_mm
            spans = [(y - half, y + half, 1.0 / len(self.planes_mm)) for y in self.planes_mm]
        else:
            half = 5.0 * span_cm
            spans = [(-half, half, 1.0)]
        starts, stops, weights = [], [], []
        for y0, y1, share in spans:
            m0, m1 = dist / (dist + y0), dist / (dist + y1)
            ends = np.stack([top * m0, top * m1, bottom * m0, bottom * m1]) + rs
            starts.append(ends.min(axis=0))
            stops.append(ends.max(axis=0))
            # The rows' chord summed over the image: kept for a part filling its depth,
            # scaled with the image for a thin plane.
            weights.append(np.full(r.size, share * dist / (dist + 0.5 * (y0 + y1))))
        a, b, w = np.concatenate(starts), np.concatenate(stops), np.concatenate(weights)
        source = np.tile(np.arange(r.size), len(spans))
        row = r[source]
        if np.all(np.abs(a - row) < 0.02) and np.all(np.abs(b - row - 1.0) < 0.02):
            return fp
        t0 = np.floor(a).astype(np.int64)
        n = np.ceil(b).astype(np.int64) - t0
        entry = np.repeat(np.arange(a.size), n)
        target = t0[entry] + (np.arange(entry.size) - np.repeat(np.cumsum(n) - n, n))
        value = _coverage(target, a[entry], b[entry]) / (b - a)[entry] * w[entry]
        lo, hi = max(int(target.min()), 0), min(int(target.max()) + 1, self.rows)
        keep = (target >= lo) & (target < hi) & (value > 0)
        if hi <= lo or not keep.any():
            return Footprint(slice(0, 0), fp.cols, np.zeros((0, fp.chord_cm.shape[1]), np.float32))
        from scipy.sparse import csr_matrix

        matrix = csr_matrix(
            (value[keep], (target[keep] - lo, source[entry][keep])), shape=(hi - lo, r.size)
        )
        chord = np.asarray(matrix @ fp.chord_cm.astype(np.float64), dtype=np.float32)
        volume = float(fp.chord_cm.sum(dtype=np.float64)) if fp.volume_cm is None else fp.volume_cm
        return Footprint(slice(lo, hi), fp.cols, chord, volume)

    # --- accumulation -------------------------------------------------------------------

    def add(self, material: str, fp: Footprint | None, *, scale: float = 1.0) -> np.ndarray | None:
        """Add ``material`` along ``fp``; returns the basis contribution (basis, r, c) added."""
        if fp is None:
            return None
        coefficients = np.asarray(self.decompose(material), dtype=np.float32)
        areal = fp.chord_cm * np.float32(self.density(material) * scale)
        part = coefficients[:, None, None] * areal[None]
        self.basis[:, fp.rows, fp.cols] += part
        return part

    def mass_kg(self, material: str, fp: Footprint | None, *, scale: float = 1.0) -> float:
        """Mass of ``material`` filling ``fp``: density x volume, volume from the chords."""
        if fp is None:
            return 0.0
        pixel_cm2 = (self.pitch_mm / 10.0) ** 2
        volume = fp.chord_cm.sum(dtype=np.float64) if fp.volume_cm is None else fp.volume_cm
        return float(volume * pixel_cm2 * self.density(material) * scale / 1000.0)

    def remove(self, fp: Footprint, part: np.ndarray) -> None:
        """Undo an :meth:`add` (hollowing a cargo block to hide something inside it)."""
        self.basis[:, fp.rows, fp.cols] -= part


def _coverage(index: np.ndarray, start: float | np.ndarray, stop: float | np.ndarray) -> np.ndarray:
    """Fraction of each unit cell [i, i+1) covered by the interval [start, stop)."""
    return np.clip(np.minimum(index + 1, stop) - np.maximum(index, start), 0.0, 1.0)
