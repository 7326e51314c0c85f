"""Input modes, determinism, detect_files, baselines and evaluation on a tiny network."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tifffile

from scanlab.detect import detect_files, input_mode, load_detector
from scanlab.detect._baselines import LocalBackgroundDetector, PadimDetector
from scanlab.detect._data import as_display_export, as_single_energy
from scanlab.detect._evaluate import evaluate_detectors, format_reports
from scanlab.detect._preprocess import scan_to_input
from scanlab.detect.torch_model import CargoUNet
from scanlab.errors import ScanlabError, ScanValidationError
from scanlab.io import read_scan, write_scan
from scanlab.synth import SceneSpec, generate_scene


@pytest.fixture(scope="module")
def scenes():
    specs = [
        SceneSpec("container_20ft", "paper_goods", 0.7, ["stowaway"]),
        SceneSpec("container_20ft", "rice", 0.6),
        SceneSpec("box_truck", "tyres", 0.8, ["pistol"]),
        SceneSpec("box_truck", "textiles", 0.5),
    ]
    return [generate_scene(s, 123_456 + i, pitch_mm=20.0) for i, s in enumerate(specs)]


def test_input_modes(scenes):
    scan = scenes[0].scan
    for variant, mode in [
        (scan, "dual"),
        (as_single_energy(scan), "single"),
        (as_display_export(scan), "display"),
    ]:
        planes, got = scan_to_input(variant, model_pitch_mm=10.0)
        assert got == mode == input_mode(variant)
        assert planes.shape == (4, scan.shape[0] * 2, scan.shape[1] * 2)
        assert planes[2].max() == (mode == "dual") and planes[3].max() == (mode == "display")
    with pytest.raises(ScanValidationError, match="Scan"):
        scan_to_input(np.zeros((10, 10)), model_pitch_mm=10.0)


def test_inference_is_deterministic_and_shaped(tiny_model_dir, scenes):
    det = load_detector(tiny_model_dir)
    scan = scenes[0].scan
    a, b = det(scan), det(scan)
    np.testing.assert_array_equal(a.anomaly_map, b.anomaly_map)
    assert a.anomaly_map.shape == scan.shape
    assert 0.0 <= a.anomaly_map.min() <= a.score <= 1.0
    assert det(as_display_export(scan)).input_mode == "display"


def test_detect_files_writes_maps_and_regions(tiny_model_dir, scenes, tmp_path):
    det = load_detector(tiny_model_dir)
    tif = write_scan(scenes[0].scan, tmp_path / "in" / "truck.tif")[0]
    png = write_scan(as_display_export(scenes[1].scan), tmp_path / "in" / "export.png")[0]
    seen = []
    done = detect_files(
        [tif, png], tmp_path / "out", detector=det, progress=lambda i, n: seen.append(i)
    )
    assert seen == [1, 2]
    assert [d.map_path.name for d in done] == ["truck.anomaly.tif", "export.anomaly.tif"]
    amap = tifffile.imread(done[0].map_path)
    assert amap.dtype == np.float32 and amap.shape == scenes[0].scan.shape
    record = json.loads(done[1].regions_path.read_text())
    assert record["input_mode"] == "display" and record["model"] == "tiny"
    assert record["score"] == pytest.approx(done[1].detection.score)
    (tmp_path / "bad.tif").write_bytes(b"II*\x00garbage")
    with pytest.raises(ScanlabError, match=r"bad\.tif"):
        detect_files([tmp_path / "bad.tif"], tmp_path / "out", detector=det)


def test_baselines_and_evaluation(scenes):
    local = LocalBackgroundDetector(threshold=5.0)
    padim = PadimDetector(CargoUNet(4, (4, 8, 16)), n_features=8).fit(
        s.scan for s in scenes if s.key.is_clean
    )
    reports = evaluate_detectors(
        {"local": local, "padim": padim}, [(s.scan, s.key) for s in scenes], pixel_step=1
    )
    for r in reports.values():
        assert r.n_scans == 4 and r.n_clean == 2 and r.n_objects == 2
        assert 0.0 <= r.image_auroc <= 1.0 and 0.0 <= r.aupro <= 1.0
        assert sum(n for _, n in r.recall_by_class.values()) == 2
    assert "local" in format_reports(reports)
    amap, mode = padim.anomaly_map(scenes[0].scan)
    assert amap.shape == scenes[0].scan.shape and mode == "dual"


def test_png_export_reads_as_display(scenes, tmp_path):
    png = write_scan(as_display_export(scenes[0].scan), tmp_path / "x.png")[0]
    assert input_mode(read_scan(png)) == "display"
