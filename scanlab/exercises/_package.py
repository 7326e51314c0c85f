"""The exam package: one signed zip of scans, a manifest and the encrypted answer keys; built
from an ExamSpec, extended with TIP items, opened by trainees (no keys) and instructors."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import tempfile
import uuid
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from scanlab._specfiles import file_sha256
from scanlab.errors import PassphraseError, ScanlabError, SpecError, TamperError
from scanlab.exercises._crypto import (
    ExamSecrets,
    b64,
    canonical_json,
    fingerprint,
    load_signed_json,
    open_secrets,
    seal,
    unb64,
    unseal,
    verify_signature,
)
from scanlab.exercises._spec import ExamSpec, load_exam_spec
from scanlab.i18n import _
from scanlab.io import Scan, read_scan, write_scan
from scanlab.synth import (
    DIFFICULTY_LEVELS,
    AnswerKey,
    CargoDeclaration,
    HostItem,
    HostPool,
    Threat,
    generate_scene,
    project_threat,
    render_threat,
)
from scanlab.synth._dataset import sample_scene_spec

__all__ = ["ExamItem", "ExamKeys", "ExamPackage", "add_tip_item", "build_exam"]

MANIFEST = "exam.json"
SIGNATURE = "signature.json"
KEYS = "keys.bin"
_FORMAT_KEY = "scanlab_exam"
_FORMAT_VERSION = 1
#: Scan metadata attributes that trainees may see; the rest (simulator spec and seed, TIP
#: records, vendor notes) could give the answer away and is dropped from packaged scans.
_PUBLIC_ATTRIBUTES = ("display",)
#: Read before its signature is checked, so bounded (a real one is a few kB per item).
_MAX_MANIFEST_BYTES = 16 * 2**20
_MAX_SIGNATURE_BYTES = 2**16


@dataclass(frozen=True)
class ExamItem:
    """One item as a trainee sees it: a scan, the declaration beside it, a time limit."""

    item_id: str
    scan_member: str
    shape: tuple[int, int]
    pitch_mm: float
    time_limit_s: float
    declaration: CargoDeclaration | None
    #: A real host's sha256 when the item was made on one (provenance; never its path).
    host_sha256: str | None = None
    #: The scan member is encrypted under the exam's scan code (a confidential host).
    sealed: bool = False

    @property
    def real_host(self) -> bool:
        return self.host_sha256 is not None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "item_id": self.item_id,
            "scan": self.scan_member,
            "shape": list(self.shape),
            "pitch_mm": self.pitch_mm,
            "time_limit_s": self.time_limit_s,
            "declaration": self.declaration.to_dict() if self.declaration else None,
        }
        if self.host_sha256 is not None:
            d["provenance"] = {"real_host": True, "host_sha256": self.host_sha256}
        if self.sealed:
            d["sealed"] = True
        return d

    @classmethod
    def from_dict(cls, d: Any, *, source: str) -> ExamItem:
        try:
            rows, cols = (int(v) for v in d["shape"])
            return cls(
                item_id=str(d["item_id"]),
                scan_member=str(d["scan"]),
                shape=(rows, cols),
                pitch_mm=float(d["pitch_mm"]),
                time_limit_s=float(d["time_limit_s"]),
                declaration=(
                    CargoDeclaration.from_dict(d["declaration"]) if d.get("declaration") else None
                ),
                host_sha256=(str(d["provenance"]["host_sha256"]) if d.get("provenance") else None),
                sealed=bool(d.get("sealed", False)),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise SpecError(
                _("{source}: invalid item in the manifest: {exc!r}").format(source=source, exc=exc)
            ) from None


@dataclass(repr=False)
class ExamKeys:
    """The instructor's view of a package: every answer key, the spec, trainee tokens.

    Get it from :meth:`ExamPackage.keys`; it holds secrets derived from the passphrase.
    """

    exam_id: str
    spec: ExamSpec | None
    answer_keys: dict[str, AnswerKey]
    _secrets: ExamSecrets

    def __repr__(self) -> str:
        return f"ExamKeys(exam_id={self.exam_id!r}, items={len(self.answer_keys)})"

    def token(self, trainee_id: str) -> str:
        """The submission token to give trainee ``trainee_id`` for this exam (on paper).

        Their tool signs the submission with it; grading re-derives it from the passphrase,
        so no list of tokens needs to be kept.
        """
        return self._secrets.token(self.exam_id, _check_trainee_id(trainee_id))

    def scan_code(self) -> str:
        """The code that opens this exam's confidential (sealed) scans; hand it out when the
        exam starts. See :meth:`ExamPackage.unlock`."""
        return self._secrets.scan_code(self.exam_id)

    def projection_check(self) -> list[dict[str, Any]]:
        """The projection-quality record of every threat projected into a real host (item
        id, object id, edge sharpness and noise against the host's own edges, ``plausible``):
        the items to look at before use are those with ``plausible`` False."""
        return [
            {"item_id": item_id, **record}
            for item_id, key in sorted(self.answer_keys.items())
            for record in key.attributes.get("projection_quality", [])
        ]

    def difficulty_summary(self) -> dict[str, dict[str, float]]:
        """Per measured level: number of objects and mean of each difficulty factor.

        Shows that "hard" is hard in the image: contrast-to-noise falls from easy to hard.
        """
        out: dict[str, dict[str, float]] = {}
        for level in DIFFICULTY_LEVELS:
            found = [
                o.difficulty
                for k in self.answer_keys.values()
                for o in k.objects
                if o.difficulty.level == level
            ]
            if found:
                out[level] = {
                    "n_objects": float(len(found)),
                    "contrast": float(np.mean([d.contrast for d in found])),
                    "superposition": float(np.mean([d.superposition for d in found])),
                    "clutter": float(np.mean([d.clutter for d in found])),
                    "size_px": float(np.mean([d.size_px for d in found])),
                }
        return out


class ExamPackage:
    """An exam package opened for reading. Opening verifies the signature and every member.

    Trainee side: :attr:`items`, :meth:`scan`, each item's declaration and time limit; the
    answer keys stay encrypted. Instructor side: :meth:`keys` with the passphrase.
    """

    def __init__(self, path: Path, manifest: dict[str, Any], manifest_bytes: bytes) -> None:
        self.path = path
        self._manifest = manifest
        self.manifest_sha256 = hashlib.sha256(manifest_bytes).hexdigest()
        self.exam_id: str = str(manifest["exam_id"])
        self.name: str = str(manifest.get("name", ""))
        self.created: str = str(manifest.get("created", ""))
        #: The trainees' language the exam names ("" when none), see ExamSpec.language.
        self.language: str = str(manifest.get("language", ""))
        self.items: list[ExamItem] = [
            ExamItem.from_dict(d, source=f"{path}: {MANIFEST}") for d in manifest["items"]
        ]
        self._public_key = unb64(manifest["crypto"]["public_key"], f"{path}: public_key")
        self.fingerprint = fingerprint(self._public_key)
        #: Trainees who sit the exam with Detector assist (``ExamSpec.assisted``); the
        #: others without. Part of the signed manifest; empty in packages built before it.
        self.assisted: frozenset[str] = _assisted(manifest.get("assisted", []), path)
        self._scan_code: str | None = None

    def __repr__(self) -> str:
        return f"ExamPackage({str(self.path)!r}, name={self.name!r}, items={len(self.items)})"

    @classmethod
    def open(cls, path: str | Path, *, fingerprint: str | None = None) -> ExamPackage:
        """Open and verify a package: signature, member list and the sha256 of every member.

        Parameters
        ----------
        fingerprint : str, optional
            The exam's fingerprint as the instructor published it (on the exam sheet). Without
            it, verification proves the package is intact as *someone* signed it; with it, that
            the instructor did.

        Raises
        ------
        TamperError
            Naming the member or field that changed after signing.
        SpecError
            The file is not a scanlab exam package.
        """
        path = Path(path)
        try:
            manifest, manifest_bytes = _verified(path)
        except TamperError as exc:
            detail = str(exc).removeprefix(f"{path}: ")
            raise TamperError(
                _("{path}: package damaged or altered: {detail}").format(path=path, detail=detail)
            ) from None
        except ScanlabError:
            raise
        except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
            raise SpecError(
                _("{path}: cannot read the exam package: {error}").format(
                    path=path, error=exc.strerror
                )
            ) from None
        except Exception as exc:  # zipfile, zlib and json raise many kinds on damaged bytes
            raise TamperError(
                _("{path}: package damaged or altered: {detail}").format(
                    path=path, detail=f"{type(exc).__name__}: {exc}"
                )
            ) from None
        try:
            package = cls(path, manifest, manifest_bytes)
        except (KeyError, TypeError) as exc:
            raise SpecError(
                _("{path}: {MANIFEST} misses a field: {exc!r}").format(
                    path=path, MANIFEST=MANIFEST, exc=exc
                )
            ) from None
        if fingerprint is not None and _norm_fp(fingerprint) != _norm_fp(package.fingerprint):
            raise TamperError(
                _("{path}: signed with key {fingerprint}, not the instructor's {expected}").format(
                    path=path, fingerprint=package.fingerprint, expected=fingerprint
                )
            )
        return package

    def assist_for(self, trainee_id: str) -> bool:
        """Whether ``trainee_id`` sits this exam with Detector assist."""
        return trainee_id in self.assisted

    def item(self, item_id: str) -> ExamItem:
        for it in self.items:
            if it.item_id == item_id:
                return it
        raise SpecError(
            _("{path}: no item {item!r}; items are {items}").format(
                path=self.path, item=item_id, items=self.item_ids
            )
        )

    @property
    def item_ids(self) -> list[str]:
        return [it.item_id for it in self.items]

    @property
    def sealed(self) -> bool:
        """Whether some scans are confidential: :meth:`scan` needs :meth:`unlock` first."""
        return any(it.sealed for it in self.items)

    def unlock(self, scan_code: str) -> None:
        """Give the exam's scan code (:meth:`ExamKeys.scan_code`) to open sealed scans.

        Raises
        ------
        PassphraseError
            The code is not this exam's.
        """
        sealed = [it for it in self.items if it.sealed]
        if sealed:  # check it now, on one scan, rather than at the first sealed item
            unseal(
                scan_code,
                self._read_member(sealed[0].scan_member),
                context=self._scan_context(sealed[0].scan_member),
                what=str(self.path),
            )
        self._scan_code = scan_code

    def scan(self, item_id: str) -> Scan:
        """The scan of one item (its member is verified again as it is read).

        Raises
        ------
        PassphraseError
            The item is sealed (a confidential real scan) and no right scan code was given
            to :meth:`unlock`.
        """
        item = self.item(item_id)
        member = item.scan_member
        data = self._read_member(member)
        if item.sealed:
            if self._scan_code is None:
                raise PassphraseError(
                    _(
                        "{path}: item {item} is a confidential scan: unlock the package with "
                        "the exam's scan code first"
                    ).format(path=self.path, item=item_id)
                )
            data = unseal(
                self._scan_code, data, context=self._scan_context(member), what=str(self.path)
            )
            member = member.removesuffix(".sealed")
        with tempfile.TemporaryDirectory(prefix="scanlab-exam-") as tmp:
            file = Path(tmp) / Path(member).name
            file.write_bytes(data)
            scan = read_scan(file)  # an .npz is read into memory: the file can go
        return scan.replace(source=f"{self.path}:{member}")

    def keys(self, passphrase: str) -> ExamKeys:
        """Decrypt the answer keys.

        Raises
        ------
        PassphraseError
            Wrong passphrase.
        TamperError
            The keys or the signing key were changed after the package was built.
        """
        secrets = open_secrets(passphrase, self._manifest["crypto"], what=str(self.path))
        blob = self._read_member(KEYS)
        plain = secrets.decrypt(blob, context=self._context(), what=str(self.path))
        doc = _json(plain, f"{self.path}: {KEYS}")
        answer_keys = {
            item_id: AnswerKey.from_dict(d, source=f"{self.path}: key of {item_id}")
            for item_id, d in doc["keys"].items()
        }
        missing = set(self.item_ids) - set(answer_keys)
        if missing:
            raise TamperError(
                _("{path}: no answer key for item(s) {items}").format(
                    path=self.path, items=sorted(missing)
                )
            )
        spec = ExamSpec.from_dict(doc["spec"]) if doc.get("spec") else None
        return ExamKeys(self.exam_id, spec, answer_keys, secrets)

    def _keys(self, passphrase: str | ExamKeys) -> ExamKeys:
        """Keys from a passphrase, or keys already opened (scrypt once, not per call)."""
        if isinstance(passphrase, ExamKeys):
            if passphrase.exam_id != self.exam_id:
                raise SpecError(
                    _("{path}: the keys given are another exam's ({exam})").format(
                        path=self.path, exam=passphrase.exam_id
                    )
                )
            return passphrase
        return self.keys(passphrase)

    def _scan_context(self, member: str) -> bytes:
        return f"scanlab-exam:{self.exam_id}:{member}".encode()

    def _context(self) -> bytes:
        # Bound into the encryption (AES-GCM associated data): keys of one exam never
        # decrypt as another's.
        return f"scanlab-exam:{self.exam_id}".encode()

    def _read_member(self, name: str) -> bytes:
        digest = self._manifest["members"].get(name)
        try:
            with zipfile.ZipFile(self.path) as zf:
                data = zf.read(name)
        except (FileNotFoundError, PermissionError) as exc:
            raise SpecError(
                _("{path}: cannot read the exam package: {error}").format(
                    path=self.path, error=exc.strerror
                )
            ) from None
        except Exception as exc:  # zipfile, zlib and friends raise many kinds on damaged bytes
            raise TamperError(
                _(
                    "{path}: package damaged or altered: cannot read member {name!r} ({detail})"
                ).format(path=self.path, name=name, detail=f"{type(exc).__name__}: {exc}")
            ) from None
        if hashlib.sha256(data).hexdigest() != digest:
            raise TamperError(
                _(
                    "{path}: package damaged or altered: member {name!r} changed since the "
                    "package was opened"
                ).format(path=self.path, name=name)
            )
        return data


def build_exam(
    spec: ExamSpec | str | Path,
    out: str | Path,
    passphrase: str,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Simulate the items of ``spec`` and write them as one signed, encrypted package.

    Parameters
    ----------
    spec : ExamSpec, or a spec file / shipped spec name (``"exam-hard"``)
    out : path
        The package file to write (``.zip`` suggested); written atomically.
    passphrase : str
        The instructor's; at least 12 characters. It encrypts the answer keys, signs the
        package and issues trainee tokens. It cannot be recovered.
    progress : callable, optional
        ``progress(done, total)`` after each item (a napari worker yields it).

    Returns
    -------
    Path of the package.

    Notes
    -----
    Clean items are exactly ``round(count * clean_share)``; the other items are allotted to
    difficulty levels in proportion to the weights, placed in random order. An item's scene
    is redrawn until every object's measured level is the target, up to ``max_tries``
    scenes; then the closest one is kept, and its measured level is what grading uses.
    """
    if not isinstance(spec, ExamSpec):
        spec = load_exam_spec(spec)
    secrets, crypto = ExamSecrets.new(passphrase)
    exam_id = uuid.uuid4().hex
    rng = np.random.default_rng([spec.seed, 0xE8A3])
    targets = _targets(spec, rng)
    hosts = spec.dataset_spec().host_spec()
    pool = HostPool(hosts, seed=spec.seed) if hosts is not None else None
    on_hosts = _host_slots(spec, pool)
    scans: dict[str, bytes] = {}
    items: list[ExamItem] = []
    keys: dict[str, AnswerKey] = {}
    for index, target in enumerate(targets):
        item_id = f"item-{index + 1:03d}"
        member = f"scans/{item_id}.npz"
        host_sha256, sealed = None, False
        if pool is not None and index in on_hosts:
            scene: Any = _draw_host_item(spec, pool, on_hosts[index], index, target, item_id)
            host_sha256 = scene.host.sha256
            sealed = pool.spec.confidential
        else:
            scene = _draw_scene(spec, index, target, item_id)
        data = _scan_bytes(scene.scan, item_id)
        if sealed:
            member += ".sealed"
            code = secrets.scan_code(exam_id)
            data = seal(code, data, context=f"scanlab-exam:{exam_id}:{member}".encode())
        scans[member] = data
        items.append(
            ExamItem(
                item_id,
                member,
                scene.scan.shape,
                float(scene.scan.metadata.pitch_mm[0]),
                float(spec.time_limit_s),
                scene.key.declaration,
                host_sha256=host_sha256,
                sealed=sealed,
            )
        )
        keys[item_id] = scene.key
        if progress:
            progress(index + 1, len(targets))
    manifest = {
        _FORMAT_KEY: _FORMAT_VERSION,
        "exam_id": exam_id,
        "name": spec.name,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "items": [it.to_dict() for it in items],
        "assisted": sorted(spec.assisted),
        "crypto": crypto,
    }
    if spec.language:  # signed with the rest; packages naming none read as before
        manifest["language"] = spec.language
    return _write_package(Path(out), manifest, scans, keys, spec, secrets)


def add_tip_item(
    package: str | Path,
    host_scan: str | Path | Scan,
    threat: str | Threat | None,
    passphrase: str,
    *,
    row: int | None = None,
    col: int | None = None,
    rotation_deg: float = 0.0,
    scale: float = 1.0,
    time_limit_s: float | None = None,
    declaration: CargoDeclaration | None = None,
    declaration_consistent: bool = True,
    seed: int = 0,
    out: str | Path | None = None,
) -> str:
    """Add an item made from the instructor's own scan, with a threat projected into it (TIP).

    Parameters
    ----------
    package : path
        An exam package; rewritten (atomically) unless ``out`` is given.
    host_scan : path or Scan
        Any scan scanlab reads. It is taken to be clean: nothing else in it is in the key.
    threat : str, Threat or None
        A name of :data:`scanlab.synth.THREAT_LIBRARY`, a :class:`~scanlab.synth.Threat`
        (for example from :func:`~scanlab.synth.cut_threat`), or None to add the host as a
        clean item (a noise trial on a real image).
    row, col : int, optional
        Centre of the threat; by default drawn from ``seed`` in the middle of the image.
    time_limit_s : float, optional
        Defaults to the first item's limit.
    declaration, declaration_consistent
        The declaration shown beside the scan and whether it is true; without one the
        trainee's verdict on this item is not graded.

    Returns
    -------
    The new item's id.
    """
    pkg = ExamPackage.open(package)
    exam_keys = pkg.keys(passphrase)
    if isinstance(host_scan, Scan):
        host = host_scan
        host_sha256 = hashlib.sha256(np.ascontiguousarray(host.data).tobytes()).hexdigest()
    else:
        host = read_scan(host_scan)
        host_sha256 = file_sha256(Path(host_scan))
    rng = np.random.default_rng([seed, 0x719])
    item_id = f"item-{len(pkg.items) + 1:03d}"
    while item_id in pkg.item_ids:
        item_id += "x"
    objects = []
    scan = host
    if threat is not None:
        if isinstance(threat, str):
            threat = render_threat(threat, pitch_mm=float(host.metadata.pitch_mm[0]))
        rows, cols = host.shape
        r = int(rng.integers(rows // 4, max(3 * rows // 4, rows // 4 + 1))) if row is None else row
        c = int(rng.integers(cols // 4, max(3 * cols // 4, cols // 4 + 1))) if col is None else col
        scan, obj = project_threat(
            host,
            threat,
            row=r,
            col=c,
            rotation_deg=rotation_deg,
            scale=scale,
            rng=rng,
            object_id=f"{item_id}-tip",
        )
        objects.append(obj)
    key = AnswerKey(
        scan_id=item_id,
        shape=scan.shape,
        objects=objects,
        declaration=declaration,
        declaration_consistent=bool(declaration_consistent) if declaration else True,
        attributes={
            "source": "tip",
            "real_host": True,
            "host_sha256": host_sha256,
            "tip": scan.metadata.attributes.get("tip", []),
        },
    )
    limit = float(time_limit_s) if time_limit_s is not None else pkg.items[0].time_limit_s
    if not math.isfinite(limit) or limit <= 0:
        raise SpecError(
            _("add_tip_item: time_limit_s must be > 0, got {time_limit_s!r}").format(
                time_limit_s=time_limit_s
            )
        )
    member = f"scans/{item_id}.npz"
    item = ExamItem(
        item_id,
        member,
        scan.shape,
        float(scan.metadata.pitch_mm[0]),
        limit,
        declaration,
        host_sha256=host_sha256,
    )
    scans = {it.scan_member: pkg._read_member(it.scan_member) for it in pkg.items}
    scans[member] = _scan_bytes(scan, item_id)
    manifest = {k: v for k, v in pkg._manifest.items() if k != "members"}
    manifest["items"] = [*manifest["items"], item.to_dict()]
    _write_package(
        Path(out) if out is not None else pkg.path,
        manifest,
        scans,
        {**exam_keys.answer_keys, item_id: key},
        exam_keys.spec,
        exam_keys._secrets,
    )
    return item_id


# --- building blocks ---------------------------------------------------------------------


def _targets(spec: ExamSpec, rng: np.random.Generator) -> list[str | None]:
    """Each item's target level (None: clean), exact shares by largest remainder, shuffled."""
    n_clean = round(spec.count * spec.clean_share)
    n_threat = spec.count - n_clean
    levels = [lv for lv in DIFFICULTY_LEVELS if spec.difficulty.get(lv, 0) > 0]
    total = sum(spec.difficulty[lv] for lv in levels)
    quota = [n_threat * spec.difficulty[lv] / total for lv in levels]
    counts = [math.floor(q) for q in quota]
    by_remainder = sorted(range(len(levels)), key=lambda i: counts[i] - quota[i])
    for i in by_remainder[: n_threat - sum(counts)]:
        counts[i] += 1
    targets: list[str | None] = [None] * n_clean
    for lv, n in zip(levels, counts, strict=True):
        targets += [lv] * n
    return [targets[i] for i in rng.permutation(len(targets))]


def _draw_scene(spec: ExamSpec, index: int, target: str | None, item_id: str) -> Any:
    ds = spec.dataset_spec(clean_share=1.0 if target is None else 0.0)
    best, best_gap = None, math.inf
    for attempt in range(max(spec.max_tries, 1)):
        rng = np.random.default_rng([spec.seed, index, attempt])
        scene = generate_scene(
            sample_scene_spec(ds, rng),
            int(rng.integers(2**31)),
            pitch_mm=spec.pitch_mm,
            scan_id=item_id,
            subpixels=spec.subpixels,
        )
        if target is None:
            return scene
        if not scene.key.objects:
            continue  # the concealment found no place in this load: not a signal trial
        gap = sum(
            abs(DIFFICULTY_LEVELS.index(o.difficulty.level) - DIFFICULTY_LEVELS.index(target))
            for o in scene.key.objects
        )
        if gap == 0:
            return scene
        if gap < best_gap:
            best, best_gap = scene, gap
    if best is None:
        raise SpecError(
            _(
                "exam spec {spec!r}: item {item_id}: no concealment could be placed in "
                "{max_tries} scenes; allow more vehicles, cargo or concealment kinds"
            ).format(spec=spec.name, item_id=item_id, max_tries=spec.max_tries)
        )
    return best


def _host_slots(spec: ExamSpec, pool: HostPool | None) -> dict[int, int]:
    """Item index -> host number for the ``hosts.share`` of items made on real hosts."""
    if pool is None:
        return {}
    n = round(spec.count * pool.spec.share)
    chosen = sorted(np.random.default_rng([spec.seed, 0x4057]).permutation(spec.count)[:n])
    return {int(index): k for k, index in enumerate(chosen)}


def _draw_host_item(
    spec: ExamSpec, pool: HostPool, k: int, index: int, target: str | None, item_id: str
) -> HostItem:
    """An item on host ``k``: clean for a noise trial, else threats projected until every
    object's level, measured on the host, is the target (closest kept after max_tries)."""
    best, best_gap = None, math.inf
    failure: SpecError | None = None
    for attempt in range(max(spec.max_tries, 1)):
        rng = np.random.default_rng([spec.seed, index, attempt, 0x4057])
        n = 0 if target is None else int(rng.integers(1, pool.spec.max_threats + 1))
        try:
            item = pool.item(k, item_id=item_id, n_threats=n, rng=rng)
        except SpecError as exc:
            failure = exc
            continue
        if target is None:
            return item
        gap = sum(
            abs(DIFFICULTY_LEVELS.index(o.difficulty.level) - DIFFICULTY_LEVELS.index(target))
            for o in item.key.objects
        )
        if gap == 0:
            return item
        if gap < best_gap:
            best, best_gap = item, gap
    if best is None:
        raise SpecError(
            _(
                "exam spec {spec!r}: item {item_id}: no threat could be placed on its real host "
                "in {max_tries} tries: {failure}"
            ).format(spec=spec.name, item_id=item_id, max_tries=spec.max_tries, failure=failure)
        )
    return best


def _scan_bytes(scan: Scan, item_id: str) -> bytes:
    """The scan as an .npz, its metadata stripped of anything that could give the answer."""
    meta = dataclasses.replace(
        scan.metadata,
        scan_id=item_id,
        attributes={k: v for k, v in scan.metadata.attributes.items() if k in _PUBLIC_ATTRIBUTES},
    )
    clean = scan.replace(metadata=meta, source=item_id)
    with tempfile.TemporaryDirectory(prefix="scanlab-exam-") as tmp:
        file = Path(tmp) / f"{item_id}.npz"
        write_scan(clean, file, format="npz")
        return file.read_bytes()


def _write_package(
    out: Path,
    manifest: dict[str, Any],
    scans: Mapping[str, bytes],
    keys: Mapping[str, AnswerKey],
    spec: ExamSpec | None,
    secrets: ExamSecrets,
) -> Path:
    from scanlab.io._common import atomic_open

    secret_doc = {
        "keys": {item_id: k.to_dict() for item_id, k in keys.items()},
        "spec": spec.public_dict() if spec else None,
    }
    blob = secrets.encrypt(
        canonical_json(secret_doc), context=f"scanlab-exam:{manifest['exam_id']}".encode()
    )
    members = {**scans, KEYS: blob}
    manifest = {
        **manifest,
        "members": {name: hashlib.sha256(data).hexdigest() for name, data in members.items()},
    }
    manifest_bytes = json.dumps(manifest, indent=1, sort_keys=True).encode()
    signature = {"algorithm": "Ed25519", "signature": b64(secrets.sign(manifest_bytes))}
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(out, "wb") as fh, zipfile.ZipFile(fh, "w") as zf:
        _put(zf, MANIFEST, manifest_bytes, zipfile.ZIP_DEFLATED)
        _put(zf, SIGNATURE, json.dumps(signature, indent=1).encode(), zipfile.ZIP_DEFLATED)
        for name, data in members.items():
            _put(zf, name, data, zipfile.ZIP_STORED)  # npz and ciphertext do not compress
    return out


def _put(zf: zipfile.ZipFile, name: str, data: bytes, compression: int) -> None:
    info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
    info.compress_type = compression
    zf.writestr(info, data)


def _verified(path: Path) -> tuple[dict[str, Any], bytes]:
    """The manifest (parsed, and its bytes) of a package whose signature, member list and
    member digests all check; TamperError or any parser's error otherwise."""
    with zipfile.ZipFile(path) as zf:
        listed = zf.namelist()
        names = set(listed)
        if len(names) != len(listed):
            raise TamperError(
                _("{path}: a member name occurs twice (a shadowed copy)").format(path=path)
            )
        if MANIFEST not in names:
            raise SpecError(
                _("{path}: not a scanlab exam package (no {manifest})").format(
                    path=path, manifest=MANIFEST
                )
            )
        if zf.getinfo(MANIFEST).file_size > _MAX_MANIFEST_BYTES:
            raise TamperError(_too_large(path, MANIFEST))
        if SIGNATURE in names and zf.getinfo(SIGNATURE).file_size > _MAX_SIGNATURE_BYTES:
            raise TamperError(_too_large(path, SIGNATURE))
        manifest_bytes = zf.read(MANIFEST)
        signature_doc = (
            _json(zf.read(SIGNATURE), f"{path}: {SIGNATURE}") if SIGNATURE in names else None
        )
        manifest = _json(manifest_bytes, f"{path}: {MANIFEST}")
        if manifest.get(_FORMAT_KEY) != _FORMAT_VERSION:
            raise SpecError(
                _("{path}: {manifest} is not a version-1 scanlab exam manifest").format(
                    path=path, manifest=MANIFEST
                )
            )
        if signature_doc is None:
            raise TamperError(
                _("{path}: the package is not signed (no {signature})").format(
                    path=path, signature=SIGNATURE
                )
            )
        try:
            public_key = unb64(manifest["crypto"]["public_key"], f"{path}: public_key")
            signature = unb64(signature_doc["signature"], f"{path}: {SIGNATURE}")
        except (KeyError, TypeError) as exc:
            raise TamperError(
                _("{path}: signature record incomplete: {error}").format(path=path, error=repr(exc))
            ) from None
        verify_signature(public_key, signature, manifest_bytes, what=str(path))
        members = manifest.get("members")
        if not isinstance(members, dict):
            raise TamperError(
                _("{path}: {manifest} has no member list").format(path=path, manifest=MANIFEST)
            )
        expected = {*members, MANIFEST, SIGNATURE}
        if names != expected:
            raise TamperError(
                _(
                    "{path}: members added or removed after signing: extra {extra}, "
                    "missing {missing}"
                ).format(
                    path=path, extra=sorted(names - expected), missing=sorted(expected - names)
                )
            )
        for name, digest in members.items():
            _check_digest(zf, name, digest, path)
    return manifest, manifest_bytes


def _check_digest(zf: zipfile.ZipFile, name: str, digest: Any, path: Path) -> None:
    h = hashlib.sha256()
    with zf.open(name) as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    if h.hexdigest() != digest:
        raise TamperError(
            _(
                "{path}: member {name!r} does not match its sha256 in the signed manifest "
                "(changed after signing)"
            ).format(path=path, name=name)
        )


def _json(data: bytes, what: str) -> dict[str, Any]:
    doc = load_signed_json(data, what)
    if not isinstance(doc, dict):
        raise TamperError(_("{what}: must be a JSON object").format(what=what))
    return doc


def _norm_fp(text: str) -> str:
    return "".join(ch for ch in str(text).upper() if ch.isalnum())


def _assisted(value: Any, path: Path) -> frozenset[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SpecError(
            _("{path}: {MANIFEST}: 'assisted' must be a list of trainee ids").format(
                path=path, MANIFEST=MANIFEST
            )
        )
    return frozenset(value)


def _check_trainee_id(trainee_id: Any) -> str:
    if (
        not isinstance(trainee_id, str)
        or not trainee_id.strip()
        or len(trainee_id) > 100
        or not trainee_id.isprintable()
    ):
        raise SpecError(
            _(
                "trainee id must be a printable, non-empty text of at most 100 characters, "
                "got {trainee!r}"
            ).format(trainee=trainee_id)
        )
    return trainee_id


def _too_large(path: Any, member: str) -> str:
    return _("{path}: {member} is implausibly large").format(path=path, member=member)
