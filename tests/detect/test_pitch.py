"""The pitch a scan is read at: option, metadata, an estimate from the ISO container of an
export stripped of its metadata, or the default; recorded in the detection and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from scanlab.cli import app
from scanlab.detect import estimate_pitch, load_detector, resolve_pitch
from scanlab.detect._pitch import pitch_recorded
from scanlab.io import Representation, Scan, read_scan
from scanlab.synth import SceneSpec, generate_scene, render_display

runner = CliRunner()


def stripped_export(scan: Scan, path: Path, *, quality: int = 85) -> Path:
    """An 8-bit JPEG export with nothing but pixels (as real exports often come)."""
    shown = render_display(scan, rng=np.random.default_rng(0)).data[0]
    assert cv2.imwrite(str(path), shown, [cv2.IMWRITE_JPEG_QUALITY, quality])
    return path


@pytest.mark.parametrize(
    ("vehicle", "cargo", "pitch"),
    [
        ("container_20ft", "empty", 4.0),
        ("container_20ft", "mixed", 5.0),
        ("container_20ft", "tyres", 7.5),
        ("container_20ft", "paper_goods", 10.0),
        ("container_40ft", "mixed", 7.5),
    ],
)
def test_pitch_of_a_stripped_export_is_measured_on_the_container(vehicle, cargo, pitch, tmp_path):
    scene = generate_scene(SceneSpec(vehicle, cargo, 0.8), 11, pitch_mm=pitch)
    scan = read_scan(stripped_export(scene.scan, tmp_path / "export.jpg"))
    assert not pitch_recorded(scan) and scan.metadata.pitch_mm == (5.0, 5.0)
    found = estimate_pitch(scan)
    assert found is not None
    assert found.container == f"{vehicle[-4:-2]} ft standard"
    assert found.pitch_mm == pytest.approx((pitch, pitch), rel=0.015)
    resolved = resolve_pitch(scan)
    assert resolved.source == "estimate" and resolved.pitch_mm == found.pitch_mm


def test_a_high_cube_is_told_from_a_standard_box():
    # Stretch a 20 ft standard box's rows by 2,896 / 2,591: the outline of a high cube.
    scene = generate_scene(SceneSpec("container_20ft", "empty", 0.5), 3, pitch_mm=5.0)
    shown = render_display(scene.scan).data[0]
    rows = round(shown.shape[0] * 2896 / 2591)
    tall = cv2.resize(shown, (shown.shape[1], rows), interpolation=cv2.INTER_LINEAR)
    found = estimate_pitch(Scan(tall, Representation.DISPLAY))
    assert found is not None and found.container == "20 ft high cube"
    assert found.pitch_mm == pytest.approx((5.0, 5.0), rel=0.015)


def test_no_estimate_without_a_container():
    trailer = generate_scene(SceneSpec("curtain_side", "mixed", 0.8), 11, pitch_mm=7.5)
    assert estimate_pitch(render_display(trailer.scan)) is None
    flat = Scan(np.full((200, 600), 255, np.uint8), Representation.DISPLAY)
    assert estimate_pitch(flat) is None
    resolved = resolve_pitch(flat)
    assert resolved.source == "default" and resolved.pitch_mm == (5.0, 5.0)


def test_option_wins_then_metadata():
    scene = generate_scene(SceneSpec("container_20ft", "empty", 0.5), 3, pitch_mm=7.5)
    assert resolve_pitch(scene.scan).pitch_mm == (7.5, 7.5)
    assert resolve_pitch(scene.scan).source == "metadata"
    assert resolve_pitch(scene.scan, (4.0, 6.0)).to_dict() == {
        "pitch_mm": [4.0, 6.0],
        "source": "option",
    }
    with pytest.raises(Exception, match="pitch_mm must be positive"):
        resolve_pitch(scene.scan, -1.0)


def test_detection_records_the_pitch_and_its_source(tiny_model_dir, tmp_path):
    scene = generate_scene(SceneSpec("container_20ft", "mixed", 0.8), 11, pitch_mm=10.0)
    export = read_scan(stripped_export(scene.scan, tmp_path / "e.jpg"))
    detector = load_detector(tiny_model_dir)
    got = detector.detect(export)
    assert got.pitch_source == "estimate" and got.pitch_mm == pytest.approx((10, 10), rel=0.015)
    assert got.domain["pitch"]["container"] == "20 ft standard"
    assert detector.detect(scene.scan).pitch_source == "metadata"
    fixed = load_detector(tiny_model_dir, scan_pitch_mm=7.5)
    assert fixed.detect(export).to_dict()["pitch_mm"] == [7.5, 7.5]
    assert fixed.detect(export, pitch_mm=9.0).pitch_mm == (9.0, 9.0)
    blank = Scan(np.full((64, 200), 255, np.uint8), Representation.DISPLAY)
    got = detector.detect(blank)
    assert got.pitch_source == "default"
    assert any("pitch unknown" in w for w in got.warnings)


def test_cli_detect_pitch_option(tiny_model_dir, tmp_path):
    scene = generate_scene(SceneSpec("container_20ft", "empty", 0.5), 3, pitch_mm=7.5)
    jpg = stripped_export(scene.scan, tmp_path / "site.jpg")
    out = tmp_path / "found"
    base = ["detect", str(jpg), "--out", str(out), "--model", str(tiny_model_dir)]
    result = runner.invoke(app, base)
    assert result.exit_code == 0, result.output
    record = json.loads((out / "site.regions.json").read_text())
    assert record["pitch_source"] == "estimate"
    assert record["pitch_mm"] == pytest.approx([7.5, 7.5], rel=0.015)
    result = runner.invoke(app, [*base, "--pitch", "6,6.5"])
    assert result.exit_code == 0, result.output
    record = json.loads((out / "site.regions.json").read_text())
    assert record["pitch_source"] == "option" and record["pitch_mm"] == [6.0, 6.5]
    assert "(option)" in result.output
    result = runner.invoke(app, [*base, "--pitch", "abc"])
    assert result.exit_code != 0 and "--pitch" in result.output


@pytest.mark.parametrize(("pipeline", "pitch"), [("linear", (5.0, 7.5)), ("log", (4.0, 4.0))])
def test_pitch_of_a_vendor_export_cropped_rotated_and_not_square(pipeline, pitch):
    import dataclasses

    from scanlab.synth import VENDOR_PIPELINES, render_export

    scene = generate_scene(SceneSpec("container_40ft", "tyres", 0.8), 11, pitch_mm=5.0)
    vendor = dataclasses.replace(VENDOR_PIPELINES[pipeline], export_pitch_mm=pitch)
    export = render_export(
        scene.scan, vendor, body_px=scene.key.attributes["body_px"], rng=np.random.default_rng(3)
    )
    found = estimate_pitch(Scan(export.scan.data[0], Representation.DISPLAY))
    assert found is not None and found.container.startswith("40 ft standard")
    assert found.pitch_mm == pytest.approx(pitch, rel=0.015)
