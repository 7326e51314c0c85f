from __future__ import annotations

import hashlib
import itertools
import json

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from scanlab.cli import app
from scanlab.errors import SpecError
from scanlab.io import read_scan
from scanlab.synth import (
    AnswerKey,
    DatasetSpec,
    build_dataset,
    dataset_names,
    load_dataset_spec,
    load_manifest,
)

SMALL = {
    "name": "tiny",
    "seed": 7,
    "count": 3,
    "clean_share": 0.34,
    "vehicles": {"container_20ft": 1},
    "cargo": {"textiles": 1, "tyres": 1},
    "concealments": {"pistol": 1, "drugs_in_cargo": 1},
    "pitch_mm": 25.0,
    "format": "npz",
}


def test_shipped_specs_load_and_are_disjoint_in_seeds():
    names = dataset_names()
    for required in (
        "train-normal",
        "train-concealed",
        "heldout",
        "exam-easy",
        "exam-medium",
        "exam-hard",
    ):
        assert required in names
    specs = [load_dataset_spec(n) for n in names]
    ranges = sorted((s.seed, s.seed + s.count) for s in specs)
    for (a0, a1), (b0, _b1) in itertools.pairwise(ranges):
        assert a1 <= b0, "seed ranges of shipped datasets overlap"
    assert load_dataset_spec("train-normal").clean_share == 1.0


def test_build_writes_scans_keys_and_a_verifiable_manifest(tmp_path):
    spec = DatasetSpec.from_dict(SMALL)
    manifest = build_dataset(spec, tmp_path)
    items = load_manifest(manifest, verify=True)
    assert len(items) == 3
    for item in items:
        scan = read_scan(item["scan_path"])
        key = AnswerKey.load(item["key_path"])
        assert key.scan_id == scan.metadata.scan_id == item["scan_id"]
        assert key.shape == scan.shape
        assert item["clean"] == key.is_clean
        digest = hashlib.sha256(item["scan_path"].read_bytes()).hexdigest()
        assert item["sha256"][item["scan"]] == digest
    assert yaml.safe_load((tmp_path / "spec.yaml").read_text())["name"] == "tiny"


def test_build_is_deterministic_and_resumes(tmp_path):
    spec = DatasetSpec.from_dict(SMALL)
    build_dataset(spec, tmp_path / "a")
    build_dataset(spec, tmp_path / "b")
    a = json.loads((tmp_path / "a" / "manifest.json").read_text())
    b = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert [i["sha256"] for i in a["items"]] == [i["sha256"] for i in b["items"]]
    # Damage one item: a rebuild regenerates it and keeps the others untouched.
    items = load_manifest(tmp_path / "a")
    items[1]["scan_path"].write_bytes(b"broken")
    kept = items[0]["scan_path"].stat().st_mtime_ns
    build_dataset(spec, tmp_path / "a")
    assert load_manifest(tmp_path / "a", verify=True)[1]["sha256"] == a["items"][1]["sha256"]
    assert items[0]["scan_path"].stat().st_mtime_ns == kept


def test_difficulty_filter_keeps_only_that_level(tmp_path):
    spec = DatasetSpec.from_dict(
        {
            **SMALL,
            "clean_share": 0.0,
            "difficulty": ["hard"],
            "concealments": {"pistol": 1},
            "max_tries": 20,
            "count": 2,
        }
    )
    items = load_manifest(build_dataset(spec, tmp_path))
    for item in items:
        assert item["levels"] == ["hard"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"count": 0}, "count"),
        ({"count": "many"}, "count"),
        ({"clean_share": 2}, "clean_share"),
        ({"vehicles": {"bicycle": 1}}, "vehicles"),
        ({"cargo": {"textiles": -1}}, "cargo"),
        ({"concealments": {}}, "concealments"),
        ({"fill": [0.9, 0.1]}, "fill"),
        ({"difficulty": ["impossible"]}, "difficulty"),
        ({"format": "bmp"}, "format"),
        ({"subpixels": 0}, "subpixels"),
        ({"subpixels": 1.5}, "subpixels"),
        ({"colour": "red"}, "unknown field"),
    ],
)
def test_invalid_specs_name_the_field(change, field, tmp_path):
    with pytest.raises(SpecError, match=field):
        DatasetSpec.from_dict({**SMALL, **change}, source="my.yaml")


def test_cli_synth_builds_and_reports_bad_specs(tmp_path):
    runner = CliRunner()
    spec_file = tmp_path / "tiny.yaml"
    spec_file.write_text(yaml.safe_dump({**SMALL, "count": 2}))
    result = runner.invoke(app, ["synth", str(spec_file), str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert len(load_manifest(tmp_path / "out")) == 2
    spec_file.write_text(yaml.safe_dump({**SMALL, "vehicles": {"bicycle": 1}}))
    result = runner.invoke(app, ["synth", str(spec_file), str(tmp_path / "bad")])
    assert result.exit_code == 1
    assert "tiny.yaml" in result.output and "'vehicles'" in result.output


def test_committed_sample_set_is_intact_and_readable():
    from pathlib import Path

    root = Path(__file__).parents[2] / "datasets" / "sample"
    items = load_manifest(root, verify=True)
    assert len(items) == 6
    assert any(not i["clean"] for i in items)
    assert any(i["clean"] for i in items)
    for item in items:
        scan = read_scan(item["scan_path"])
        key = AnswerKey.load(item["key_path"])
        assert scan.is_dual_energy
        assert key.shape == scan.shape
        assert (root / item["display"]).exists()


def test_stowaway_beside_an_undeclared_car_in_a_20ft_box():
    # heldout item 147 crashed: a car leaves less than 1.8 m of the 20 ft box for a person.
    from scanlab.synth import SceneSpec, generate_scene

    for seed in range(6):
        spec = SceneSpec("container_20ft", "tyres", 0.39, ["vehicle", "stowaway"])
        scene = generate_scene(spec, seed, pitch_mm=25.0)
        assert "vehicle" in {o.threat_class for o in scene.key.objects}
        for obj in scene.key.objects:
            r0, c0, r1, c1 = obj.bbox
            assert 0 <= r0 < r1 <= scene.scan.shape[0] and 0 <= c0 < c1 <= scene.scan.shape[1]


@pytest.mark.parametrize("name", dataset_names())
def test_every_shipped_spec_builds_end_to_end(tmp_path, name):
    spec = load_dataset_spec(name)
    spec.count, spec.pitch_mm = 4, 25.0
    spec.check(source=name)
    items = load_manifest(build_dataset(spec, tmp_path), verify=True)
    assert len(items) == 4
    assert not (tmp_path / ".items").exists()  # the journal goes once the manifest is written


def test_a_killed_build_resumes_keeping_finished_items(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    spec_file = tmp_path / "spec.json"
    spec_file.write_text(json.dumps({**SMALL, "count": 8, "pitch_mm": 20.0}))
    out = tmp_path / "set"
    cmd = [sys.executable, "-m", "scanlab.cli", "synth", str(spec_file), str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if len(list((out / ".items").glob("*.json"))) >= 2:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the build finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (out / "manifest.json").exists()
    done = sorted(p.stem for p in (out / ".items").glob("*.json"))
    assert len(done) >= 2
    before = {p: p.stat().st_mtime_ns for d in done for p in (out / "keys").glob(f"{d}.json")}
    build_dataset(DatasetSpec.from_dict({**SMALL, "count": 8, "pitch_mm": 20.0}), out)
    items = load_manifest(out, verify=True)
    assert [i["scan_id"] for i in items] == [f"tiny-{i:05d}" for i in range(8)]
    for path, mtime in before.items():
        assert path.stat().st_mtime_ns == mtime, f"{path.name} was simulated again"


def test_chilled_goods_are_drawn_in_reefers():
    import numpy as np

    from scanlab.synth._dataset import REEFER_CARGO, sample_scene_spec

    spec = DatasetSpec.from_dict(
        {
            **SMALL,
            "vehicles": {"container_20ft": 1, "container_40ft": 1, "curtain_side": 1},
            "cargo": {"frozen_beef": 1, "citrus": 1, "coffee": 1},
        }
    )
    drawn = [sample_scene_spec(spec, np.random.default_rng(s)) for s in range(60)]
    for scene in drawn:
        if scene.cargo in REEFER_CARGO and scene.vehicle != "curtain_side":
            assert scene.vehicle.startswith("reefer_")
        if scene.cargo == "coffee":
            assert not scene.vehicle.startswith("reefer_")
    assert {"reefer_20ft", "reefer_40ft"} <= {s.vehicle for s in drawn}


def test_a_changed_spec_rebuilds_instead_of_keeping_old_items(tmp_path):
    build_dataset(DatasetSpec.from_dict(SMALL), tmp_path)
    first = load_manifest(tmp_path)
    changed = DatasetSpec.from_dict({**SMALL, "cargo": {"cotton": 1}})
    build_dataset(changed, tmp_path)
    items = load_manifest(tmp_path, verify=True)
    assert {i["cargo"] for i in items} == {"cotton"}
    assert {i["cargo"] for i in first} != {"cotton"}


def test_a_spec_can_draw_its_scenes_finer_than_its_pixels(tmp_path):
    plain = DatasetSpec.from_dict({**SMALL, "count": 1, "concealments": {"pistol": 1}})
    # At its default the field is left out of the fingerprint that manifests and detector
    # cards recorded before it existed.
    assert "subpixels" not in plain.to_dict()
    assert (
        plain.fingerprint()
        == DatasetSpec.from_dict(
            {**SMALL, "count": 1, "concealments": {"pistol": 1}, "subpixels": 1}
        ).fingerprint()
    )
    fine = DatasetSpec.from_dict(
        {**SMALL, "count": 1, "concealments": {"pistol": 1}, "subpixels": 2}
    )
    assert fine.fingerprint() != plain.fingerprint()
    a = load_manifest(build_dataset(plain, tmp_path / "plain"))[0]
    b = load_manifest(build_dataset(fine, tmp_path / "fine"))[0]
    assert load_dataset_spec(tmp_path / "fine" / "spec.yaml").subpixels == 2
    one, two = read_scan(a["scan_path"]), read_scan(b["scan_path"])
    assert one.shape == two.shape and not np.array_equal(one.data, two.data)
    # The same scene, read over each pixel's aperture: on average no darker.
    assert two.data[0].mean() >= one.data[0].mean()


def test_a_changed_simulator_rebuilds_instead_of_keeping_old_items(tmp_path, monkeypatch):
    import scanlab.synth._dataset as dataset_module

    spec = DatasetSpec.from_dict({**SMALL, "count": 2, "pitch_mm": 20.0})
    build_dataset(spec, tmp_path)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["simulator_version"] == dataset_module.simulator_version()
    first = load_manifest(tmp_path)
    built = {i["scan_id"]: i["scan_path"].stat().st_mtime_ns for i in first}
    # Same spec again: every item is kept, none is simulated anew.
    build_dataset(spec, tmp_path)
    assert {i["scan_id"]: i["scan_path"].stat().st_mtime_ns for i in first} == built
    # Same spec, another simulator: nothing of the old build is kept.
    monkeypatch.setattr(dataset_module, "simulator_version", lambda: "f" * 64)
    build_dataset(spec, tmp_path)
    rebuilt = json.loads((tmp_path / "manifest.json").read_text())
    assert rebuilt["simulator_version"] == "f" * 64
    assert rebuilt["spec_sha256"] == manifest["spec_sha256"]
    for item in load_manifest(tmp_path, verify=True):
        assert item["scan_path"].stat().st_mtime_ns != built[item["scan_id"]]


def test_an_interrupted_build_of_another_simulator_is_not_resumed(tmp_path, monkeypatch):
    import scanlab.synth._dataset as dataset_module

    spec = DatasetSpec.from_dict({**SMALL, "count": 2, "pitch_mm": 20.0})
    monkeypatch.setattr(dataset_module, "simulator_version", lambda: "0" * 64)
    build_dataset(spec, tmp_path)
    # Turn the finished build back into an interrupted one: its items only in the journal.
    items = json.loads((tmp_path / "manifest.json").read_text())["items"]
    (tmp_path / "manifest.json").unlink()
    (tmp_path / ".items").mkdir()
    (tmp_path / ".items" / "spec.sha256").write_text(spec.build_fingerprint())
    for item in items:
        (tmp_path / ".items" / f"{item['scan_id']}.json").write_text(json.dumps(item))
    old = {i["scan_id"]: (tmp_path / i["scan"]).stat().st_mtime_ns for i in items}
    monkeypatch.undo()
    build_dataset(spec, tmp_path)
    for item in load_manifest(tmp_path, verify=True):
        assert item["scan_path"].stat().st_mtime_ns != old[item["scan_id"]]


def test_simulator_version_follows_code_not_comments(tmp_path, monkeypatch, request):
    import shutil
    from pathlib import Path

    import scanlab.synth._version as version

    package = Path(version.__file__).parents[1]
    copy = tmp_path / "scanlab"
    for sub in ("synth", "physics"):
        shutil.copytree(package / sub, copy / sub, ignore=shutil.ignore_patterns("__pycache__"))
    request.addfinalizer(version.simulator_version.cache_clear)
    monkeypatch.setattr(version, "_PACKAGE", copy)
    monkeypatch.setattr(version, "_SIMULATOR", (copy / "synth", copy / "physics"))

    def current() -> str:
        version.simulator_version.cache_clear()
        return version.simulator_version()

    base = current()
    canvas = copy / "synth" / "_canvas.py"
    source = canvas.read_text()
    # Comments, docstrings, layout and the shipped specs leave it alone...
    canvas.write_text("# a new comment\n" + source.replace('"""', '"""Reworded. ', 1) + "\n\n")
    (copy / "synth" / "specs" / "heldout.yaml").write_text("name: changed\n")
    assert current() == base
    # ... code of the scene generator, of the physics and their tables do not.
    scene = copy / "synth" / "_scene.py"
    text = scene.read_text()
    scene.write_text(text + "\nEXTRA_CONSTANT = 1\n")
    changed_scene = current()
    assert changed_scene != base
    scene.write_text(text)
    assert current() == base
    table = next((copy / "physics" / "data").iterdir())
    table.write_bytes(table.read_bytes() + b"\n")
    assert current() != base
