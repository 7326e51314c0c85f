"""Training data: simulated datasets built once into a cache, and augmented patches drawn
from them (concealment-centred, TIP, display rendering, single energy, mirror)."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from scanlab.detect._preprocess import network_input
from scanlab.detect._recipe import DataRef
from scanlab.errors import SpecError
from scanlab.i18n import _
from scanlab.io import Representation, Scan, ScanMetadata

__all__ = [
    "PatchPool",
    "as_display_export",
    "as_single_energy",
    "build_cached",
    "check_disjoint",
    "default_cache_dir",
    "effective_spec",
]

Progress = Callable[[str, int, int], None]


def default_cache_dir() -> Path:
    """``$SCANLAB_CACHE`` or ``~/.cache/scanlab``: simulated datasets and checkpoints."""
    return Path(os.environ.get("SCANLAB_CACHE", Path.home() / ".cache" / "scanlab"))


def effective_spec(ref: DataRef, pitch_mm: float) -> tuple[Any, str]:
    """The dataset spec ``ref`` selects (its seed shifted by ``start``, its count and pitch
    set) and the sha256 fingerprint of the shipped spec it derives from."""
    from scanlab.synth import load_dataset_spec

    spec = load_dataset_spec(ref.spec)
    base = spec.fingerprint()
    if ref.start + ref.count > spec.count:
        raise SpecError(
            _(
                "data {spec!r}: items {start}..{value} go beyond the spec's {count} items, into "
                "seeds other datasets may use"
            ).format(
                spec=ref.spec, start=ref.start, value=ref.start + ref.count - 1, count=spec.count
            )
        )
    spec = dataclasses.replace(
        spec,
        seed=spec.seed + ref.start,
        count=ref.count,
        pitch_mm=float(pitch_mm),
        format="npz",
        display_png=False,
    )
    return spec, base


def check_disjoint(refs: dict[str, tuple[Any, str]], *, heldout: str = "heldout") -> None:
    """SpecError unless the seed ranges of all training data and the held-out set are
    pairwise disjoint (no scene is ever in two of them)."""
    from scanlab.synth import load_dataset_spec

    held = load_dataset_spec(heldout)
    ranges = {role: range(s.seed, s.seed + s.count) for role, (s, _) in refs.items()}
    ranges[f"{heldout} (evaluation)"] = range(held.seed, held.seed + held.count)
    names = list(ranges)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            ra, rb = ranges[a], ranges[b]
            if ra.start < rb.stop and rb.start < ra.stop:
                raise SpecError(
                    _("data {a!r} and {b!r} share seeds ({ra} and {rb})").format(
                        a=a, b=b, ra=ra, rb=rb
                    )
                )


def build_cached(
    spec: Any, cache_dir: Path, *, progress: Progress | None = None, role: str = "data"
) -> list[dict[str, Any]]:
    """Build ``spec`` into ``cache_dir`` (once; keyed by its fingerprint and the simulator's
    version, so that scenes of an older simulator are never reused); its manifest items."""
    from scanlab.synth import build_dataset, load_manifest

    folder = Path(cache_dir) / "datasets" / f"{spec.name}-{spec.build_fingerprint()[:12]}"
    report = (lambda i, n: progress(role, i, n)) if progress else None
    return load_manifest(build_dataset(spec, folder, progress=report))


def as_single_energy(scan: Scan) -> Scan:
    """The high-energy channel alone, as a single-energy scanner would record it."""
    meta = scan.metadata
    return scan.replace(
        data=scan.data[:1],
        metadata=dataclasses.replace(
            meta,
            energies_mev=meta.energies_mev[:1],
            air_level=meta.air_level[:1] if meta.air_level else None,
            dark_level=meta.dark_level[:1] if meta.dark_level else None,
        ),
    )


def as_display_export(scan: Scan, **curve: float) -> Scan:
    """An 8-bit display rendering that, like a real export, does not record its curve."""
    from scanlab.synth import render_display

    shown = render_display(scan, **curve)  # type: ignore[arg-type]
    attributes = {k: v for k, v in shown.metadata.attributes.items() if k != "display"}
    return shown.replace(metadata=dataclasses.replace(shown.metadata, attributes=attributes))


@dataclass
class _Scene:
    attenuation: np.ndarray  # (2, row, col) float16 at the model's pitch
    label: np.ndarray | None  # (row, col) bool, None for a clean scene
    vehicle: str


class PatchPool:
    """Scenes in memory and the augmented patch sampler of a training recipe.

    Parameters
    ----------
    items : list of manifest items
        Concealed and clean scenes (from :func:`build_cached`).
    pitch_mm : float
        The model's pitch: scenes are resampled to it (area averaging, as at inference)
        and TIP threats rendered at it.
    """

    def __init__(self, items: list[dict[str, Any]], pitch_mm: float) -> None:
        from scanlab.detect._preprocess import resample
        from scanlab.io import read_scan
        from scanlab.synth import AnswerKey

        self.pitch_mm = float(pitch_mm)
        self.scenes: list[_Scene] = []
        self.objects: list[tuple[int, np.ndarray]] = []  # (scene, (n, 2) pixels of the object)
        self.clean_by_vehicle: dict[str, list[int]] = {}
        self.hard_negatives: list[tuple[int, int, int]] = []  # (scene, row, col)
        for item in items:
            scan = read_scan(item["scan_path"])
            key = AnswerKey.load(item["key_path"])
            pitch = scan.metadata.pitch_mm
            zoom = (pitch[0] / self.pitch_mm, pitch[1] / self.pitch_mm)
            att = resample(scan.to_attenuation().data, zoom=zoom).astype(np.float16)
            shape = att.shape[1:]
            masks = [
                resample(o.full_mask(scan.shape)[None].astype(np.float32), zoom=zoom)[0] >= 0.5
                for o in key.objects
            ]
            masks = [m for m in masks if m.any()]
            for mask in masks:
                self.objects.append((len(self.scenes), np.argwhere(mask)))
            label = np.any(masks, axis=0) if masks else None
            vehicle = str(item.get("vehicle", ""))
            if label is None:
                self.clean_by_vehicle.setdefault(vehicle, []).append(len(self.scenes))
            self.scenes.append(_Scene(att, label, vehicle))
            assert label is None or label.shape == shape
        if not self.scenes:
            raise SpecError(_("training data: no scenes"))

    def batch(
        self,
        rng: np.random.Generator,
        size: int,
        patch_px: int,
        *,
        positive_share: float,
        matched_negative_share: float,
        tip_share: float,
        hard_negative_share: float = 0.0,
        display_share: float,
        single_energy_share: float,
        sharpness_share: float = 0.0,
        readout_share: float = 0.0,
        display_family: tuple[str, ...] = (),
    ) -> tuple[np.ndarray, np.ndarray]:
        """(B, 4, P, P) network input and (B, 1, P, P) float32 truth masks.

        ``display_family`` names members of :data:`scanlab.synth.VENDOR_PIPELINES`: display
        patches are then exported through a pipeline drawn around one of them
        (:func:`scanlab.synth.random_pipeline`: curve, noise reduction, sharpening, JPEG)
        and read back through scanlab's default curve, as a bare export is at inference.
        ``readout_share`` of the patches get another detector read-out (gain, offset and
        extra noise per channel)."""
        xs, ys = [], []
        for _sample in range(size):
            kind = rng.random()
            if kind < positive_share:
                att, label = self._crop(rng, patch_px, "positive")
            elif kind < positive_share + matched_negative_share:
                att, label = self._crop(rng, patch_px, "matched")
            elif kind < positive_share + matched_negative_share + hard_negative_share:
                att, label = self._crop(rng, patch_px, "hard")
            else:
                att, label = self._crop(rng, patch_px, "random")
            if rng.random() < tip_share:
                att, label = self._tip(rng, att, label)
            if rng.random() < 0.5:  # the scan direction is arbitrary; gravity is not
                att, label = att[:, :, ::-1], label[:, ::-1]
            if rng.random() < sharpness_share:
                att = _change_sharpness(att, rng)
            if rng.random() < readout_share:
                att = _change_readout(att, rng)
            mode = rng.random()
            if mode < display_share:
                shown = (
                    _vendor_roundtrip(att[0], rng, display_family)
                    if display_family
                    else _display_roundtrip(att[0], rng)
                )
                planes = network_input(shown, display=True)
            elif mode < display_share + single_energy_share:
                planes = network_input(att[0])
            else:
                planes = network_input(att[0], att[1])
            xs.append(planes)
            ys.append(label[None].astype(np.float32))
        return np.stack(xs), np.stack(ys)

    def _crop(self, rng: np.random.Generator, p: int, kind: str) -> tuple[np.ndarray, np.ndarray]:
        """A patch centred near a concealment ("positive"), at a concealment's place in a
        clean scan of the same vehicle type ("matched"), on a mined false alarm ("hard"), or
        anywhere ("random")."""
        index = -1
        if kind == "hard" and self.hard_negatives:
            index, r, c = self.hard_negatives[int(rng.integers(len(self.hard_negatives)))]
            jitter = rng.integers(-p // 4, p // 4 + 1, size=2)
            r0, c0 = int(r + jitter[0] - p // 2), int(c + jitter[1] - p // 2)
        elif kind in ("positive", "matched") and self.objects:
            index, pixels = self.objects[int(rng.integers(len(self.objects)))]
            r, c = pixels[int(rng.integers(len(pixels)))]
            jitter = rng.integers(-p // 3, p // 3 + 1, size=2)
            r0, c0 = int(r + jitter[0] - p // 2), int(c + jitter[1] - p // 2)
            if kind == "matched":
                clean = self.clean_by_vehicle.get(self.scenes[index].vehicle, [])
                index = int(clean[int(rng.integers(len(clean)))]) if clean else -1
        if index < 0:
            index = int(rng.integers(len(self.scenes)))
            rows, cols = self.scenes[index].attenuation.shape[1:]
            r0 = int(rng.integers(0, max(rows - p, 0) + 1))
            c0 = int(rng.integers(0, max(cols - p, 0) + 1))
        scene = self.scenes[index]
        rows, cols = scene.attenuation.shape[1:]
        r0, c0 = min(max(r0, 0), max(rows - p, 0)), min(max(c0, 0), max(cols - p, 0))
        att = _fit(scene.attenuation[:, r0 : r0 + p, c0 : c0 + p].astype(np.float32), p)
        if scene.label is None:
            return att, np.zeros((p, p), dtype=bool)
        return att, _fit(scene.label[None, r0 : r0 + p, c0 : c0 + p], p)[0]

    def clean_scenes(self) -> list[int]:
        return sorted(i for ids in self.clean_by_vehicle.values() for i in ids)

    def _tip(
        self, rng: np.random.Generator, att: np.ndarray, label: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        host = Scan(
            np.ascontiguousarray(att),
            Representation.ATTENUATION,
            ScanMetadata(pitch_mm=(self.pitch_mm, self.pitch_mm)),
        )
        new, mask = project_random_threat(host, rng)
        return new.data, label | mask


def project_random_threat(host: Scan, rng: np.random.Generator) -> tuple[Scan, np.ndarray]:
    """A threat of the library projected into a square training patch at a random place, turn
    and scale (the self-supervised positive of training and of site adaptation): the new
    patch and the threat's mask over it."""
    from scanlab.synth import THREAT_LIBRARY, project_threat, render_threat

    name = sorted(THREAT_LIBRARY)[int(rng.integers(len(THREAT_LIBRARY)))]
    threat = render_threat(name, pitch_mm=float(host.metadata.pitch_mm[0]))
    p = host.shape[0]
    new, obj = project_threat(
        host,
        threat,
        row=int(rng.integers(p // 8, p - p // 8)),
        col=int(rng.integers(p // 8, p - p // 8)),
        rotation_deg=float(rng.uniform(-180, 180)),
        scale=float(rng.uniform(0.7, 1.3)),
        rng=rng,
    )
    return new, obj.full_mask(host.shape)


def _change_sharpness(att: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Blur (amount < 0) or unsharp-mask (amount > 0) every plane by a random amount."""
    sigma = float(rng.uniform(0.5, 1.5))
    amount = float(rng.uniform(-1.0, 1.0))
    planes = np.ascontiguousarray(att, dtype=np.float32)
    smooth = np.stack([cv2.GaussianBlur(p, (0, 0), sigma) for p in planes])
    return planes + np.float32(amount) * (planes - smooth)


def _change_readout(att: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Another detector read-out: per-channel gain (energy and calibration, +-8 %), air
    offset (+-0.02) and extra noise (up to 0.03 in attenuation)."""
    planes = np.array(att, dtype=np.float32)
    for c in range(planes.shape[0]):
        gain = np.float32(np.exp(rng.uniform(-0.08, 0.08)))
        offset = np.float32(rng.uniform(-0.02, 0.02))
        sigma = np.float32(rng.uniform(0.0, 0.03))
        noise = rng.standard_normal(planes[c].shape).astype(np.float32) * sigma
        planes[c] = planes[c] * gain + offset + noise
    return planes


def _vendor_roundtrip(
    high: np.ndarray, rng: np.random.Generator, family: tuple[str, ...]
) -> np.ndarray:
    """High-energy attenuation -> 8-bit export through a random vendor pipeline of
    ``family`` (its curve, noise reduction, sharpening and JPEG; no crop, rotation or
    resampling at patch size) -> attenuation through scanlab's default inverse curve."""
    from scanlab.synth import random_pipeline

    pipe = random_pipeline(rng, family=family)
    grey: Any = pipe.curve.to_grey(np.exp(-np.maximum(high, 0.0))) * np.float32(255.0)
    if pipe.denoise > 0:
        grey = cv2.bilateralFilter(np.ascontiguousarray(grey), 5, float(pipe.denoise), 1.5)
    if pipe.sharpen > 0:
        blurred = cv2.GaussianBlur(grey, (0, 0), pipe.sharpen_sigma_px)
        grey = grey + np.float32(pipe.sharpen) * (grey - blurred)
    grey = grey + rng.uniform(-0.5, 0.5, size=grey.shape).astype(np.float32)
    pixels: Any = np.clip(np.rint(grey), 0, 255).astype(np.uint8)
    if pipe.jpeg_quality:
        ok, buf = cv2.imencode(".jpg", pixels, [cv2.IMWRITE_JPEG_QUALITY, pipe.jpeg_quality])
        if ok:
            pixels = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE)
    from scanlab.synth import display_to_attenuation

    return display_to_attenuation(Scan(pixels, Representation.DISPLAY))


def _fit(a: np.ndarray, p: int) -> np.ndarray:
    """Edge-pad (C, h, w) to (C, p, p) when the scene is smaller than a patch."""
    h, w = a.shape[1:]
    if h == p and w == p:
        return a
    return np.pad(a, ((0, 0), (0, p - h), (0, p - w)), mode="edge")


def _display_roundtrip(high: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """High-energy attenuation -> 8-bit display export with an unknown vendor curve (and
    sometimes JPEG) -> attenuation through scanlab's default inverse curve."""
    from scanlab.synth import display_to_attenuation, render_display

    scan = Scan(np.ascontiguousarray(high[None]), Representation.ATTENUATION)
    pixels = render_display(
        scan,
        contrast=0.41 * float(np.exp(rng.uniform(-0.2, 0.2))),
        power=0.6 * float(np.exp(rng.uniform(-0.1, 0.1))),
        black_attenuation=float(rng.uniform(8.5, 11.5)),
        rng=rng if rng.random() < 0.5 else None,
    ).data[0]
    if rng.random() < 0.4:
        quality = int(rng.integers(75, 96))
        ok, buf = cv2.imencode(".jpg", pixels, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if ok:
            pixels = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE)
    return display_to_attenuation(Scan(pixels, Representation.DISPLAY))
