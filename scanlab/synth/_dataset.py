"""Named dataset specs (YAML or JSON) and the builder that turns one into scans, keys and a
manifest (file, key, sha256)."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from scanlab._specfiles import file_sha256, read_spec_file, shipped_names
from scanlab.errors import SpecError
from scanlab.i18n import _
from scanlab.synth._answer_key import DIFFICULTY_LEVELS
from scanlab.synth._cargo import CARGO_TYPES
from scanlab.synth._concealments import CONCEALMENT_TYPES
from scanlab.synth._hosts import HostItem, HostPool, HostSpec
from scanlab.synth._scene import DECLARATION_MODES, Scene, SceneSpec, generate_scene
from scanlab.synth._vehicles import VEHICLE_TYPES
from scanlab.synth._version import simulator_version

__all__ = [
    "DatasetSpec",
    "build_dataset",
    "dataset_names",
    "load_dataset_spec",
    "load_manifest",
    "sample_scene_spec",
]

#: Named specs shipped with scanlab.
SPEC_DIR = Path(__file__).parent / "specs"
_FORMAT_EXT = {"tiff": ".tif", "npz": ".npz", "dicos": ".dcs", "npy": ".npy"}


@dataclass
class DatasetSpec:
    """How to draw the scenes of a dataset. Weights need not sum to 1.

    Attributes
    ----------
    name : str
    seed : int
        Item ``i`` uses seed ``seed + i``: datasets with disjoint seed ranges never share a
        scene.
    count : int
    clean_share : float
        Share of scenes without concealment (exams need them to measure false alarms).
    vehicles, cargo, concealments, declarations : mapping of str to float
        Weights of each choice.
    fill : (float, float)
        Range of the cargo fill ratio.
    max_concealments : int
        Up to this many concealments in a non-clean scene.
    difficulty : list of str
        Keep only scenes whose every object has one of these levels (rejection sampling,
        up to ``max_tries`` draws per item).
    pitch_mm : float
    subpixels : int
        Scene samples per pixel and axis (:func:`~scanlab.synth.generate_scene`): 2 reads
        each pixel's mean transmission over its aperture, as a detector does, drawing four
        times the samples; 1 (the default) averages areal density over the pixel.
    scanner : str
    format : str
        File format of the scans (tiff, npz, dicos, npy).
    display_png : bool
        Also write the 8-bit display rendering trainees see.
    hosts : mapping, optional
        Real clean scans to project threats into (:class:`scanlab.synth.HostSpec`): a share
        ``hosts.share`` of the items is drawn on them instead of simulated. The key and the
        manifest say which items are real hosts, with the host file's sha256, never its path.
    """

    name: str
    seed: int = 0
    count: int = 10
    clean_share: float = 0.3
    vehicles: dict[str, float] = field(default_factory=lambda: {v: 1.0 for v in VEHICLE_TYPES})
    cargo: dict[str, float] = field(
        default_factory=lambda: {c: 1.0 for c in CARGO_TYPES if c != "empty"}
    )
    concealments: dict[str, float] = field(
        default_factory=lambda: {c: 1.0 for c in CONCEALMENT_TYPES}
    )
    declarations: dict[str, float] = field(default_factory=lambda: {"true": 1.0})
    fill: tuple[float, float] = (0.4, 0.95)
    max_concealments: int = 2
    difficulty: list[str] = field(default_factory=lambda: list(DIFFICULTY_LEVELS))
    max_tries: int = 12
    pitch_mm: float = 5.0
    subpixels: int = 1
    scanner: str = "scanlab-6MV-dual"
    format: str = "tiff"
    display_png: bool = False
    description: str = ""
    hosts: dict[str, Any] | None = None

    @classmethod
    def from_dict(cls, raw: Any, *, source: str | Path = "<dataset spec>") -> DatasetSpec:
        """Build and check a spec; :class:`SpecError` names the field that is wrong."""
        if not isinstance(raw, Mapping):
            raise SpecError(_("{source}: a dataset spec must be a mapping").format(source=source))
        known = set(cls.__dataclass_fields__)
        unknown = set(raw) - known
        if unknown:
            raise SpecError(
                _("{source}: unknown field(s) {unknown}; known: {known}").format(
                    source=source, unknown=sorted(unknown), known=sorted(known)
                )
            )
        if "name" not in raw:
            raise SpecError(_("{source}: field 'name' is required").format(source=source))
        raw = dict(raw)
        if raw.get("hosts") is not None:
            # Relative host paths are the spec file's neighbours, not the working folder's.
            base = Path(source).parent if Path(source).is_file() else None
            raw["hosts"] = HostSpec.from_dict(raw["hosts"], source=source, base=base).to_dict()
        spec = cls(**raw)
        spec.check(source=source)
        return spec

    def check(self, *, source: str | Path = "<dataset spec>") -> None:
        def fail(field_name: str, why: str) -> SpecError:
            return SpecError(
                _("{source}: field {field!r} {problem}").format(
                    source=source, field=field_name, problem=why
                )
            )

        if not isinstance(self.name, str) or not self.name:
            raise fail("name", _("must be a non-empty string"))
        for key in ("seed", "count", "max_concealments", "max_tries"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise fail(key, _("must be an integer >= 0, got {value!r}").format(value=value))
        if self.count == 0:
            raise fail("count", _("must be at least 1"))
        if not isinstance(self.clean_share, int | float) or not 0 <= self.clean_share <= 1:
            raise fail(
                "clean_share",
                _("must be in [0, 1], got {clean_share!r}").format(clean_share=self.clean_share),
            )
        for key, valid in (
            ("vehicles", VEHICLE_TYPES),
            ("cargo", CARGO_TYPES),
            ("concealments", CONCEALMENT_TYPES),
            ("declarations", DECLARATION_MODES),
        ):
            weights = getattr(self, key)
            if not isinstance(weights, Mapping) or not weights:
                raise fail(key, _("must be a non-empty mapping of choice to weight"))
            for choice, weight in weights.items():
                if choice not in valid:
                    raise fail(
                        key,
                        _("has unknown choice {choice!r}; valid: {valid}").format(
                            choice=choice, valid=list(valid)
                        ),
                    )
                if not isinstance(weight, int | float) or weight < 0:
                    raise fail(
                        key, _("weight of {choice!r} must be a number >= 0").format(choice=choice)
                    )
            if sum(weights.values()) <= 0:
                raise fail(key, _("weights must not all be 0"))
        fill = tuple(self.fill) if isinstance(self.fill, list | tuple) else ()
        if (
            len(fill) != 2
            or not all(isinstance(v, int | float) for v in fill)
            or not 0 <= fill[0] <= fill[1] <= 1
        ):
            raise fail(
                "fill", _("must be [low, high] within [0, 1], got {fill!r}").format(fill=self.fill)
            )
        self.fill = (float(fill[0]), float(fill[1]))
        if not self.difficulty or any(d not in DIFFICULTY_LEVELS for d in self.difficulty):
            raise fail(
                "difficulty",
                _("must list levels from {DIFFICULTY_LEVELS}").format(
                    DIFFICULTY_LEVELS=DIFFICULTY_LEVELS
                ),
            )
        if not isinstance(self.pitch_mm, int | float) or not 1.0 <= self.pitch_mm <= 50.0:
            raise fail(
                "pitch_mm",
                _("must be between 1 and 50 mm, got {pitch_mm!r}").format(pitch_mm=self.pitch_mm),
            )
        if not isinstance(self.subpixels, int) or not 1 <= self.subpixels <= 4:
            raise fail(
                "subpixels",
                _("must be a whole number from 1 to 4, got {subpixels!r}").format(
                    subpixels=self.subpixels
                ),
            )
        if self.format not in _FORMAT_EXT:
            raise fail(
                "format", _("must be one of {FORMAT_EXT}").format(FORMAT_EXT=sorted(_FORMAT_EXT))
            )
        from scanlab.physics import scanner_names

        if self.scanner not in scanner_names():
            raise fail(
                "scanner", _("must be one of {scanner_names}").format(scanner_names=scanner_names())
            )
        if self.hosts is not None:
            self.hosts = HostSpec.from_dict(self.hosts, source=source).to_dict()

    def host_spec(self) -> HostSpec | None:
        """The ``hosts`` block as a :class:`HostSpec` (None: every item is simulated)."""
        return HostSpec.from_dict(self.hosts) if self.hosts is not None else None

    def to_dict(self) -> dict[str, Any]:
        out = {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}
        if out["subpixels"] == 1:
            # Added after specs were fingerprinted: at its default it is left out, so that
            # their fingerprints (in manifests and detector cards) still hold.
            del out["subpixels"]
        return out

    def fingerprint(self) -> str:
        """sha256 of the spec's canonical JSON: training records it as the data spec hash."""
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()

    def build_fingerprint(self) -> str:
        """sha256 of the spec's fingerprint and :func:`simulator_version`: what the scenes
        built from it depend on. Builds resume and caches reuse items only when it matches."""
        return hashlib.sha256(f"{self.fingerprint()}+{simulator_version()}".encode()).hexdigest()


def dataset_names() -> tuple[str, ...]:
    """Names of the dataset specs that ship with scanlab."""
    return shipped_names(SPEC_DIR)


def load_dataset_spec(name_or_path: str | Path) -> DatasetSpec:
    """A shipped spec by name, or a YAML/JSON file by path."""
    raw, path = read_spec_file(name_or_path, SPEC_DIR, _("spec"))
    return DatasetSpec.from_dict(raw, source=path)


def _pick(rng: np.random.Generator, weights: Mapping[str, float]) -> str:
    keys = sorted(weights)
    p = np.array([weights[k] for k in keys], dtype=float)
    return str(keys[int(rng.choice(len(keys), p=p / p.sum()))])


#: Goods that travel refrigerated: a dataset that draws them with a dry box of some length
#: gets the reefer of that length instead.
REEFER_CARGO = frozenset({"frozen_beef", "frozen_poultry", "citrus"})
_REEFER_OF = {
    "container_20ft": "reefer_20ft",
    "container_40ft": "reefer_40ft",
    "container_40ft_hc": "reefer_40ft",
}


def sample_scene_spec(spec: DatasetSpec, rng: np.random.Generator) -> SceneSpec:
    """Draw one scene's spec from a dataset spec."""
    vehicle = _pick(rng, spec.vehicles)
    clean = rng.random() < spec.clean_share
    kinds: list[str] = []
    if not clean:
        for _ in range(int(rng.integers(1, spec.max_concealments + 1))):
            kinds.append(_pick(rng, spec.concealments))
    cargo = _pick(rng, spec.cargo)
    if cargo in REEFER_CARGO and vehicle in _REEFER_OF:
        vehicle = _REEFER_OF[vehicle]  # chilled and frozen goods travel in reefers
    return SceneSpec(
        vehicle=vehicle,
        cargo=cargo,
        fill=float(rng.uniform(*spec.fill)),
        concealments=kinds,
        declaration=_pick(rng, spec.declarations),
        scanner=spec.scanner,
    )


def is_host_item(spec: DatasetSpec, index: int) -> bool:
    """Whether item ``index`` is drawn on a real host (a share ``hosts.share`` of them)."""
    hosts = spec.host_spec()
    return hosts is not None and bool(
        np.random.default_rng([spec.seed + index, 0x4057]).random() < hosts.share
    )


def _host_item(spec: DatasetSpec, index: int, pool: HostPool) -> HostItem:
    """Item ``index`` on a real host: clean or with threats, difficulty by rejection."""
    seed = spec.seed + index
    best: HostItem | None = None
    failure: SpecError | None = None
    for attempt in range(max(spec.max_tries, 1)):
        rng = np.random.default_rng([seed, attempt, 0x4057])
        clean = rng.random() < spec.clean_share
        n = 0 if clean else int(rng.integers(1, pool.spec.max_threats + 1))
        try:
            item = pool.item(index, item_id=f"{spec.name}-{index:05d}", n_threats=n, rng=rng)
        except SpecError as exc:
            failure = exc
            continue
        if all(o.difficulty.level in spec.difficulty for o in item.key.objects):
            return item
        best = best or item
    if best is None:
        raise failure or SpecError(f"{spec.name}: item {index}: no host item could be made")
    return best


def _item(spec: DatasetSpec, index: int) -> Scene:
    """Scene ``index`` of a dataset: deterministic, with difficulty rejection sampling."""
    seed = spec.seed + index
    best: Scene | None = None
    for attempt in range(max(spec.max_tries, 1)):
        rng = np.random.default_rng([seed, attempt])
        scene = generate_scene(
            sample_scene_spec(spec, rng),
            seed * 1000 + attempt,
            pitch_mm=spec.pitch_mm,
            scan_id=f"{spec.name}-{index:05d}",
            subpixels=spec.subpixels,
        )
        if all(o.difficulty.level in spec.difficulty for o in scene.key.objects):
            return scene
        best = best or scene
    assert best is not None
    return best


def build_dataset(
    spec: DatasetSpec,
    out: str | Path,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Simulate every scene of ``spec`` into ``out`` and write ``manifest.json``.

    Layout: ``scans/<id><ext>``, ``keys/<id>.json``, ``declarations/<id>.declaration.json``
    (what trainees may read beside the scan), optional ``display/<id>.png``,
    ``spec.yaml`` and ``manifest.json`` listing each item with the sha256 of its files.
    Each finished item is recorded at once in ``.items/<id>.json`` (the manifest comes at
    the end), and items already present with matching hashes are kept, so a build that is
    interrupted, even killed, resumes where it stopped. Items are kept only when both the
    spec and the simulator (:func:`scanlab.synth.simulator_version`) are the same as when
    they were built: a changed simulator builds everything anew.
    """
    from scanlab.io import Representation, write_scan
    from scanlab.io._common import atomic_open
    from scanlab.synth._display import render_display

    out = Path(out)
    for sub in ("scans", "keys", "declarations") + (("display",) if spec.display_png else ()):
        (out / sub).mkdir(parents=True, exist_ok=True)
    hosts = spec.host_spec()
    pool = HostPool(hosts, seed=spec.seed) if hosts is not None else None
    public = spec.to_dict()
    if hosts is not None and pool is not None:
        public["hosts"] = hosts.public_dict(pool.files)
    with atomic_open(out / "spec.yaml", "w") as fh:
        yaml.safe_dump(public, fh, sort_keys=False)
    items: list[dict[str, Any]] = []
    journal = out / ".items"
    journal.mkdir(exist_ok=True)
    fingerprint = spec.build_fingerprint()
    stamp = journal / "spec.sha256"
    same_journal = stamp.exists() and stamp.read_text().strip() == fingerprint
    stamp.write_text(fingerprint)
    # Only items built from this very spec by this very simulator are kept.
    previous = {
        i["scan_id"]: i
        for i in [
            *_previous_items(out, fingerprint),
            *(_journal_items(journal) if same_journal else []),
        ]
    }
    for index in range(spec.count):
        scan_id = f"{spec.name}-{index:05d}"
        old = previous.get(scan_id)
        if old and _intact(out, old):
            items.append(old)
        else:
            scene: Scene | HostItem = (
                _host_item(spec, index, pool)
                if pool is not None and is_host_item(spec, index)
                else _item(spec, index)
            )
            scan_path = out / "scans" / f"{scan_id}{_FORMAT_EXT[spec.format]}"
            written = write_scan(scene.scan, scan_path, format=spec.format)
            key_path = scene.key.save(out / "keys" / f"{scan_id}.json")
            # The declaration travels beside the scan (the key that also holds it is secret).
            # No declaration (a real host without one in the instructor's CSV): no file, so
            # no verdict is asked.
            declaration_path = out / "declarations" / f"{scan_id}.declaration.json"
            declared = [declaration_path] if scene.key.declaration else []
            if scene.key.declaration:
                with atomic_open(declaration_path, "w") as fh:
                    json.dump(scene.key.declaration.to_dict(), fh)
            item: dict[str, Any] = {
                "scan_id": scan_id,
                "scan": str(scan_path.relative_to(out)),
                "files": [str(p.relative_to(out)) for p in written],
                "key": str(key_path.relative_to(out)),
                "declaration": str(declaration_path.relative_to(out)) if declared else None,
                "sha256": {
                    str(p.relative_to(out)): file_sha256(p) for p in [*written, key_path, *declared]
                },
                "clean": scene.key.is_clean,
                "classes": sorted({o.threat_class for o in scene.key.objects}),
                "levels": sorted({o.difficulty.level for o in scene.key.objects}),
                "declaration_consistent": scene.key.declaration_consistent,
                **(
                    {
                        "vehicle": "real_host",
                        "cargo": "unknown",
                        "real_host": True,
                        "host_sha256": scene.host.sha256,
                    }
                    if isinstance(scene, HostItem)
                    else {"vehicle": scene.spec.vehicle, "cargo": scene.spec.cargo}
                ),
            }
            if spec.display_png:
                png = out / "display" / f"{scan_id}.png"
                display_ready = scene.scan.representation is Representation.DISPLAY
                write_scan(scene.scan if display_ready else render_display(scene.scan), png)
                item["display"] = str(png.relative_to(out))
            items.append(item)
            with atomic_open(journal / f"{scan_id}.json", "w") as fh:
                json.dump(item, fh)
        if progress:
            progress(index + 1, spec.count)
    manifest = {
        "scanlab_manifest": 1,
        "name": spec.name,
        "spec_sha256": spec.fingerprint(),
        "simulator_version": simulator_version(),
        "build_sha256": fingerprint,
        "items": items,
    }
    with atomic_open(out / "manifest.json", "w") as fh:
        json.dump(manifest, fh, indent=1)
    shutil.rmtree(journal, ignore_errors=True)
    return out / "manifest.json"


def _previous_items(out: Path, fingerprint: str) -> list[dict[str, Any]]:
    path = out / "manifest.json"
    if not path.exists():
        return []
    try:
        doc = json.loads(path.read_text())
        return list(doc["items"]) if doc.get("build_sha256") == fingerprint else []
    except (ValueError, KeyError, TypeError, AttributeError):
        return []


def _journal_items(journal: Path) -> list[dict[str, Any]]:
    """Items an interrupted build finished (one JSON record each)."""
    items = []
    for path in sorted(journal.glob("*.json")):  # (spec.sha256 is not a record)
        try:
            item = json.loads(path.read_text())
        except (OSError, ValueError):
            continue  # a record cut short: its item is simply built again
        if isinstance(item, dict) and "scan_id" in item:
            items.append(item)
    return items


def _intact(out: Path, item: dict[str, Any]) -> bool:
    try:
        return all(
            (out / name).exists() and file_sha256(out / name) == digest
            for name, digest in item["sha256"].items()
        )
    except (KeyError, TypeError, AttributeError):
        return False


def load_manifest(path: str | Path, *, verify: bool = False) -> list[dict[str, Any]]:
    """Items of a dataset manifest (paths made absolute); ``verify`` checks every sha256."""
    path = Path(path)
    if path.is_dir():
        path = path / "manifest.json"
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        items = doc["items"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SpecError(
            _("{path}: not a readable scanlab manifest: {exc}").format(path=path, exc=exc)
        ) from None
    root = path.parent
    out = []
    for item in items:
        if verify and not _intact(root, item):
            raise SpecError(
                _("{path}: item {value} does not match its sha256").format(
                    path=path, value=item.get("scan_id")
                )
            )
        out.append({**item, "scan_path": root / item["scan"], "key_path": root / item["key"]})
    return out
