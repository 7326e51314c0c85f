"""Exams and practice on a site's own scans: real-host items mix with simulated ones."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from scanlab.cli import app
from scanlab.errors import PassphraseError
from scanlab.exercises import (
    ExamPackage,
    ExamSpec,
    build_exam,
    grade,
    recommend_next,
    simulate_trainee,
)
from scanlab.synth import write_simulated_hosts

PASSPHRASE = "correct horse battery staple"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    folder = tmp_path_factory.mktemp("site") / "our-scanner-exports"
    paths = write_simulated_hosts(folder, 3, seed=2, blur_px=1.0)
    (folder / "declarations.csv").write_text(
        "scan_id,container_id,goods,hs_code,packages,weight_kg,consistent\n"
        f"{paths[0].stem},MSCU1234565,paper_goods,4819,60,7000,\n"
        f"{paths[1].stem},TGHU7654329,rice,1006,400,18000,false\n"
    )
    return folder, paths


@pytest.fixture(scope="module")
def exam(site, tmp_path_factory):
    folder, _ = site
    spec = ExamSpec(
        name="site",
        seed=3,
        count=6,
        clean_share=0.34,
        pitch_mm=25.0,
        max_tries=4,
        hosts={
            "paths": [str(folder)],
            "declarations": str(folder / "declarations.csv"),
            "share": 0.5,
            "confidential": True,
        },
    )
    path = build_exam(spec, tmp_path_factory.mktemp("exam") / "site.zip", PASSPHRASE)
    return spec, path


def test_real_host_items_are_sealed_and_carry_provenance_but_no_path(site, exam):
    folder, paths = site
    spec, path = exam
    package = ExamPackage.open(path)
    real = [it for it in package.items if it.real_host]
    assert len(real) == round(spec.count * 0.5)
    digests = {hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}
    assert {it.host_sha256 for it in real} <= digests
    assert all(it.sealed for it in real) and not any(
        it.sealed for it in package.items if not it.real_host
    )
    # A sealed member is ciphertext: not an npz a trainee could open.
    with zipfile.ZipFile(path) as zf:
        sealed = zf.read(real[0].scan_member)
        with pytest.raises((ValueError, OSError, zipfile.BadZipFile)):
            np.load(io.BytesIO(sealed))
        everything = b"".join(zf.read(n) for n in zf.namelist())
    keys = package.keys(PASSPHRASE)
    plain_keys = json.dumps({k: v.to_dict() for k, v in keys.answer_keys.items()}).encode()
    for blob in (everything, plain_keys, json.dumps(keys.spec.to_dict()).encode()):
        assert folder.name.encode() not in blob
    with pytest.raises(PassphraseError, match="scan code"):
        package.scan(real[0].item_id)
    with pytest.raises(PassphraseError):
        package.unlock("AAAAAA-BBBBBB-CCCCCC-DDDDDD")
    package.unlock(keys.scan_code())
    scan = package.scan(real[0].item_id)
    assert scan.shape == real[0].shape and scan.data.dtype == np.uint8
    assert set(scan.metadata.attributes) == {"display"}  # nothing that gives the answer away
    for it in real:
        key = keys.answer_keys[it.item_id]
        assert key.attributes["real_host"] is True
        assert key.attributes["host_sha256"] == it.host_sha256
    # Every projected threat is checked against its host's own edges, and only those.
    checked = keys.projection_check()
    projected = {
        (it.item_id, o.object_id) for it in real for o in keys.answer_keys[it.item_id].objects
    }
    assert {(c["item_id"], c["object_id"]) for c in checked} == projected
    assert projected  # the exam has threats on real hosts
    for c in checked:
        if c["n_threat_edges"] == 0:  # nothing at the outline stands above the noise
            assert c["plausible"] and c["z_sharpness"] is None
        else:
            assert c["plausible"] == (abs(c["z_sharpness"]) <= 2 and abs(c["z_noise"]) <= 2)


def test_declarations_only_where_the_instructor_gave_one_and_verdicts_only_there(site, exam):
    _, paths = site
    _, path = exam
    package = ExamPackage.open(path)
    keys = package.keys(PASSPHRASE)
    by_sha = {hashlib.sha256(p.read_bytes()).hexdigest(): p.stem for p in paths}
    for it in package.items:
        if not it.real_host:
            assert it.declaration is not None
            continue
        stem = by_sha[it.host_sha256]
        assert (it.declaration is not None) == (stem in (paths[0].stem, paths[1].stem))
        if stem == paths[1].stem:
            assert keys.answer_keys[it.item_id].declaration_consistent is False
    package.unlock(keys.scan_code())
    subs = [
        simulate_trainee(package, behaviour, seed=1, passphrase=keys)
        for behaviour in ("perfect", "clicks_everywhere")
    ]
    tokens = {s.trainee_id: keys.token(s.trainee_id) for s in subs}
    files = []
    for s in subs:
        files.append(s.save(path.parent / f"{s.trainee_id}.json", token=tokens[s.trainee_id]))
    results = grade(path, files, keys)
    perfect = results.trainee("perfect")
    assert perfect.overall.hits == perfect.overall.n_signal > 0
    assert perfect.overall.false_alarms == 0
    with_declaration = {it.item_id for it in package.items if it.declaration is not None}
    for outcome in results.trainee("clicks_everywhere").items:
        # A verdict on an item without a declaration is not graded.
        assert (outcome.verdict_correct is not None) == (outcome.item_id in with_declaration)
    practice = recommend_next(perfect, base=exam[0])
    assert practice.hosts == exam[0].hosts


def test_cli_builds_datasets_and_exams_on_hosts(site, tmp_path):
    folder, _ = site
    runner = CliRunner()
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        yaml.safe_dump({"name": "cli", "count": 2, "clean_share": 0.5, "format": "npz"})
    )
    result = runner.invoke(app, ["synth", str(spec), str(tmp_path / "ds"), "--hosts", str(folder)])
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "ds" / "manifest.json").read_text())
    assert all(it["real_host"] for it in manifest["items"])
    exam_spec = tmp_path / "exam.yaml"
    exam_spec.write_text(
        yaml.safe_dump(
            {
                "name": "cli-exam",
                "count": 3,
                "pitch_mm": 25.0,
                "max_tries": 3,
                "hosts": {"paths": folder.name, "share": 1.0, "confidential": True},
            }
        )
    )
    # A relative host path is taken from the spec file's folder.
    (tmp_path / folder.name).symlink_to(folder)
    result = runner.invoke(
        app,
        ["exam", "build", str(exam_spec), str(tmp_path / "e.zip")],
        env={"SCANLAB_PASSPHRASE": PASSPHRASE},
    )
    assert result.exit_code == 0, result.output
    assert "scan code" in result.output
    assert "projection check:" in result.output
    assert all(it.real_host for it in ExamPackage.open(tmp_path / "e.zip").items)
