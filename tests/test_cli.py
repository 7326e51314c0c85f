from __future__ import annotations

import dataclasses

import numpy as np
from typer.testing import CliRunner

from scanlab.cli import app
from scanlab.io import read_scan, write_scan

runner = CliRunner()


def test_info_shows_shape_energies_pitch_and_range(dual_scan, tmp_path):
    path = write_scan(dual_scan, tmp_path / "a.tif")[0]
    result = runner.invoke(app, ["info", str(path)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    lo, hi = dual_scan.value_range()
    for text in ("48 x 160", "uint16", "high+low", "counts", "6 / 4", "5 / 5", f"{lo:g} .. {hi:g}"):
        assert text in result.output


def test_info_reports_unreadable_files_and_fails(tmp_path):
    bad = tmp_path / "bad.tif"
    bad.write_bytes(b"II*\x00garbage")
    result = runner.invoke(app, ["info", str(bad)])
    assert result.exit_code == 1
    assert "bad.tif" in result.output


def test_convert_one_file_and_many_to_a_folder(dual_scan, tmp_path):
    src = write_scan(dual_scan, tmp_path / "a.tif")[0]
    result = runner.invoke(app, ["convert", str(src), str(tmp_path / "a.npz")])
    assert result.exit_code == 0, result.output
    np.testing.assert_array_equal(read_scan(tmp_path / "a.npz").data, dual_scan.data)

    others = [write_scan(dual_scan, tmp_path / f"s{i}.npy")[0] for i in range(3)]
    out = tmp_path / "out"
    result = runner.invoke(app, ["convert", *map(str, others), str(out), "--to", "tiff"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["s0.tif", "s1.tif", "s2.tif"]
    assert read_scan(out / "s1.tif").metadata == dual_scan.metadata


def test_demo_runs_end_to_end(tmp_path):
    result = runner.invoke(app, ["demo", "--out", str(tmp_path / "demo")], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "wrote and read back 8 formats" in result.output
    for name in ("example.tif", "example.dcs", "example_high.img", "example.ase", "example.png"):
        assert (tmp_path / "demo" / "formats" / name).exists()
    assert "graded set 'sample'" in result.output
    assert (tmp_path / "demo" / "graded-set" / "manifest.json").exists()


def test_info_on_a_dicos_file_shows_the_energies_and_pitch_written(dual_scan, tmp_path):
    meta = dataclasses.replace(dual_scan.metadata, energies_mev=(9.0, 6.0), pitch_mm=(4.5, 5.5))
    path = write_scan(dual_scan.replace(metadata=meta), tmp_path / "scan.dcs")[0]
    result = runner.invoke(app, ["info", str(path)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "dicos" in result.output
    assert "9 / 6" in result.output
    assert "4.5 / 5.5" in result.output


def test_enhance_one_file_and_many_with_a_pipeline_file(tmp_path):
    from PIL import Image

    from scanlab.synth import SceneSpec, generate_scene

    scan = generate_scene(SceneSpec("container_20ft", "textiles", 0.6), 1, pitch_mm=20.0).scan
    src = write_scan(scan, tmp_path / "a.tif")[0]
    result = runner.invoke(
        app, ["enhance", str(src), str(tmp_path / "a.png"), "--preset", "material"]
    )
    assert result.exit_code == 0, result.output
    picture = np.asarray(Image.open(tmp_path / "a.png"))
    assert picture.shape == (*scan.shape, 3)
    assert picture.dtype == np.uint8
    pipe = tmp_path / "mine.yaml"
    pipe.write_text(
        "name: mine\nsteps:\n  - step: window_level\n    params: {level: 2.0, width: 4.0}\n"
    )
    others = [write_scan(scan, tmp_path / f"s{i}.npz")[0] for i in range(2)]
    result = runner.invoke(
        app, ["enhance", *map(str, others), str(tmp_path / "out"), "--pipeline", str(pipe)]
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["s0.png", "s1.png"]
    pipe.write_text("name: bad\nsteps:\n  - step: sharpen_everything\n")
    result = runner.invoke(
        app, ["enhance", str(src), str(tmp_path / "b.png"), "--pipeline", str(pipe)]
    )
    assert result.exit_code == 1
    assert "sharpen_everything" in result.output


def test_gui_refuses_an_unknown_preset_before_starting_napari(monkeypatch):
    import scanlab.napari_plugin._launch as launch_module

    started: list[object] = []
    monkeypatch.setattr(launch_module, "launch", lambda *a, **k: started.append((a, k)))
    result = runner.invoke(app, ["gui", "--preset", "nope"])
    assert result.exit_code == 1 and "unknown preset 'nope'" in result.output
    assert started == []
    result = runner.invoke(app, ["gui", "--preset", "none"])
    assert result.exit_code == 0 and started[0][1]["preset"] is None
    runner.invoke(app, ["gui"])
    assert started[1][1]["preset"] == "standard"


def test_gui_pitch_reaches_the_detector_assist(monkeypatch):
    import scanlab.napari_plugin._launch as launch_module

    started: list[dict[str, object]] = []
    monkeypatch.setattr(launch_module, "launch", lambda *a, **k: started.append(k))
    assert runner.invoke(app, ["gui", "--pitch", "6,6.5"]).exit_code == 0
    assert started[-1]["scan_pitch_mm"] == (6.0, 6.5)
    assert runner.invoke(app, ["gui", "--pitch", "7"]).exit_code == 0
    assert started[-1]["scan_pitch_mm"] == 7.0
    assert runner.invoke(app, ["gui"]).exit_code == 0
    assert "scan_pitch_mm" not in started[-1]  # no option: the scans' own pitch
    bad = runner.invoke(app, ["gui", "--pitch", "0"])
    assert bad.exit_code != 0 and "--pitch" in bad.output and len(started) == 3
