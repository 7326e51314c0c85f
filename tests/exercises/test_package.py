"""Exam packages: what trainees see, what they cannot read, and every kind of tampering."""

from __future__ import annotations

import base64
import io
import json
import re
import zipfile

import numpy as np
import pytest

from scanlab.errors import SpecError
from scanlab.exercises import (
    ExamPackage,
    PassphraseError,
    TamperError,
    add_tip_item,
    build_exam,
)
from scanlab.io import example_scan, write_scan


def rewrite(src, dst, change):
    """Copy a package, with ``change(name, data) -> bytes | None`` applied to each member
    (None drops it); CRCs are recomputed, as a careful forger would."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for name in zin.namelist():
            data = change(name, zin.read(name))
            if data is not None:
                zout.writestr(name, data)
    return dst


def flip(data: bytes, at: int = 100) -> bytes:
    return data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1 :]


# --- what the trainee sees -----------------------------------------------------------------


def test_items_as_the_spec_asks(package, keys, make_spec):
    assert len(package.items) == 8
    assert [k.is_clean for k in keys.answer_keys.values()].count(True) == 2
    levels = sorted(o.difficulty.level for k in keys.answer_keys.values() for o in k.objects)
    assert levels == ["easy", "easy", "hard", "hard", "medium", "medium"]
    assert all(it.time_limit_s == 30.0 for it in package.items)
    assert all(it.declaration is not None for it in package.items)
    assert keys.spec == make_spec()


def test_scans_open_and_carry_no_answer(package, keys):
    item = package.items[1]
    scan = package.scan(item.item_id)
    assert scan.shape == item.shape == keys.answer_keys[item.item_id].shape
    assert scan.is_dual_energy
    assert scan.metadata.scan_id == item.item_id
    assert scan.metadata.attributes == {}  # no simulator spec, seed or TIP record


def test_hard_is_measurably_hard(keys):
    summary = keys.difficulty_summary()
    assert summary["hard"]["contrast"] < summary["medium"]["contrast"]
    assert summary["hard"]["contrast"] < summary["easy"]["contrast"] / 10
    assert summary["hard"]["n_objects"] == 2


def test_key_is_not_in_the_package(exam_path, keys):
    """Neither the zip nor any member, decompressed, holds an object id or a JSON field of
    the key; no readable member names a class or concealment of the key's objects."""
    declared = {g.commodity for k in keys.answer_keys.values() for g in k.declaration.goods}
    ids = [o.object_id for k in keys.answer_keys.values() for o in k.objects]
    names = {n for k in keys.answer_keys.values() for o in k.objects
             for n in (o.threat_class, o.concealment)} - declared  # fmt: skip
    assert ids and {"narcotics", "weapon", "false_roof"} <= names
    plain = json.dumps({i: k.to_dict() for i, k in keys.answer_keys.items()})
    secret_words = [*ids, "threat_class", "mask_rle", "declaration_consistent"]
    assert all(w in plain for w in secret_words)  # what a leak would look like

    blobs = {"<zip>": exam_path.read_bytes()}
    texts = {}
    with zipfile.ZipFile(exam_path) as zf:
        for name in zf.namelist():
            blobs[name] = zf.read(name)
            if name.endswith(".json"):
                texts[name] = blobs[name].decode()
            if name.endswith(".npz"):
                with zipfile.ZipFile(io.BytesIO(blobs[name])) as npz:
                    for inner in npz.namelist():
                        blobs[f"{name}/{inner}"] = npz.read(inner)
                    texts[name] = npz.read("header.npy").decode("latin-1")
    for where, data in blobs.items():
        for word in secret_words:
            assert word.encode() not in data, (word, where)
    for where, text in texts.items():
        for word in names:
            assert f'"{word}"' not in text, (word, where)


# --- the passphrase ------------------------------------------------------------------------


def test_wrong_passphrase(package):
    with pytest.raises(PassphraseError, match="wrong passphrase"):
        package.keys("correct horse battery stapler")


def test_short_passphrase_refused(tmp_path, make_spec):
    with pytest.raises(PassphraseError, match="12 characters"):
        build_exam(make_spec(count=1), tmp_path / "x.zip", "hunter2")


def test_tokens_differ_by_trainee_and_are_stable(package, keys, passphrase):
    assert keys.token("ana") != keys.token("ben")
    assert keys.token("ana") == package.keys(passphrase).token("ana")
    assert len(keys.token("ana").replace("-", "")) == 24


# --- tampering -----------------------------------------------------------------------------


def test_altered_key_is_rejected(exam_path, tmp_path):
    bad = rewrite(exam_path, tmp_path / "bad.zip", lambda n, d: flip(d) if n == "keys.bin" else d)
    with pytest.raises(TamperError, match=re.escape("'keys.bin' does not match its sha256")):
        ExamPackage.open(bad)


def test_altered_key_with_updated_hash_breaks_the_signature(exam_path, tmp_path):
    import hashlib

    with zipfile.ZipFile(exam_path) as zf:
        new_key = flip(zf.read("keys.bin"))

    def change(name, data):
        if name == "keys.bin":
            return new_key
        if name == "exam.json":
            doc = json.loads(data)
            doc["members"]["keys.bin"] = hashlib.sha256(new_key).hexdigest()
            return json.dumps(doc, indent=1, sort_keys=True).encode()
        return data

    with pytest.raises(TamperError, match="signature does not match"):
        ExamPackage.open(rewrite(exam_path, tmp_path / "bad.zip", change))


def test_altered_scan_is_rejected(exam_path, tmp_path, package):
    scan = package.scan("item-002")
    scan.data[0, 50:60, 100:110] //= 2  # paint a shadow
    path = write_scan(scan, tmp_path / "s.npz")[0]
    bad = rewrite(
        exam_path,
        tmp_path / "bad.zip",
        lambda n, d: path.read_bytes() if n == "scans/item-002.npz" else d,
    )
    with pytest.raises(TamperError, match=re.escape("'scans/item-002.npz' does not match")):
        ExamPackage.open(bad)


def test_altered_manifest_is_rejected(exam_path, tmp_path):
    def change(name, data):
        if name != "exam.json":
            return data
        return data.replace(b'"time_limit_s": 30.0', b'"time_limit_s": 300.0')

    with pytest.raises(TamperError, match="signature does not match the manifest"):
        ExamPackage.open(rewrite(exam_path, tmp_path / "bad.zip", change))


def test_assist_assignment_is_signed(exam_path, tmp_path, package):
    """Who sits the exam with Detector assist travels in the signed manifest: a trainee who
    adds their name is caught like any other change."""
    assert package.assisted == {"perfect", "misses:narcotics"}
    assert package.assist_for("perfect") and not package.assist_for("random")
    manifest = json.loads(zipfile.ZipFile(exam_path).read("exam.json"))
    assert manifest["assisted"] == ["misses:narcotics", "perfect"]

    def change(name, data):
        if name != "exam.json":
            return data
        doc = json.loads(data)
        doc["assisted"].append("random")
        return json.dumps(doc, indent=1, sort_keys=True).encode()

    with pytest.raises(TamperError, match="signature does not match the manifest"):
        ExamPackage.open(rewrite(exam_path, tmp_path / "bad.zip", change))


def test_extra_or_missing_member_is_rejected(exam_path, tmp_path):
    def add(name, data):
        return data

    bad = rewrite(exam_path, tmp_path / "bad.zip", add)
    with zipfile.ZipFile(bad, "a") as zf:
        zf.writestr("answers.txt", b"item-002: narcotics")
    with pytest.raises(TamperError, match=re.escape("extra ['answers.txt']")):
        ExamPackage.open(bad)
    unsigned = rewrite(exam_path, tmp_path / "u.zip", lambda n, d: None if "sign" in n else d)
    with pytest.raises(TamperError, match="not signed"):
        ExamPackage.open(unsigned)


def test_corrupted_bytes_are_rejected(exam_path, tmp_path):
    data = exam_path.read_bytes()
    bad = tmp_path / "bad.zip"
    bad.write_bytes(flip(data, len(data) // 2))
    with pytest.raises(TamperError):
        ExamPackage.open(bad)


def test_re_signed_package_is_caught_by_fingerprint_and_passphrase(
    exam_path, tmp_path, package, passphrase
):
    """A forger re-signs a changed manifest with a key of their own."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    forger = Ed25519PrivateKey.generate()
    raw = forger.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    with zipfile.ZipFile(exam_path) as zf:
        doc = json.loads(zf.read("exam.json"))
    doc["crypto"]["public_key"] = base64.b64encode(raw).decode()
    doc["items"][0]["time_limit_s"] = 300.0
    manifest = json.dumps(doc, indent=1, sort_keys=True).encode()
    signature = json.dumps({"signature": base64.b64encode(forger.sign(manifest)).decode()})

    def change(name, data):
        return {"exam.json": manifest, "signature.json": signature.encode()}.get(name, data)

    forged = rewrite(exam_path, tmp_path / "forged.zip", change)
    opened = ExamPackage.open(forged)  # intact as *someone* signed it...
    assert opened.fingerprint != package.fingerprint
    with pytest.raises(TamperError, match="not the instructor's"):
        ExamPackage.open(forged, fingerprint=package.fingerprint)
    with pytest.raises(TamperError, match="re-signed"):
        opened.keys(passphrase)
    ExamPackage.open(exam_path, fingerprint=package.fingerprint.lower().replace("-", " "))


def test_not_a_package(tmp_path):
    path = tmp_path / "notes.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("notes.txt", "hello")
    with pytest.raises(SpecError, match="not a scanlab exam package"):
        ExamPackage.open(path)


# --- TIP items -----------------------------------------------------------------------------


def test_add_tip_item_and_clean_host(exam_path, tmp_path, passphrase):
    host = example_scan(rows=160, cols=480, seed=5)
    host_path = write_scan(host, tmp_path / "host.npz")[0]
    out = tmp_path / "with-tip.zip"
    item_id = add_tip_item(
        exam_path, host_path, "pistol", passphrase, row=80, col=240, time_limit_s=20.0, out=out
    )
    clean_id = add_tip_item(out, host_path, None, passphrase)
    pkg = ExamPackage.open(out)
    assert pkg.item_ids[-2:] == [item_id, clean_id] == ["item-009", "item-010"]
    keys = pkg.keys(passphrase)
    (obj,) = keys.answer_keys[item_id].objects
    assert (obj.threat_class, obj.concealment) == ("weapon", "tip")
    assert keys.answer_keys[clean_id].is_clean
    assert pkg.item(item_id).time_limit_s == 20.0 and pkg.item(item_id).declaration is None
    tip_scan = pkg.scan(item_id)
    assert "tip" not in tip_scan.metadata.attributes  # the TIP record stays in the key
    r0, c0, r1, c1 = obj.bbox
    assert np.mean(tip_scan.data[0, r0:r1, c0:c1]) < np.mean(host.data[0, r0:r1, c0:c1])
    assert pkg.fingerprint == ExamPackage.open(exam_path).fingerprint
