"""Honest warnings: the shipped detector says "not calibrated for this scanner" for inputs
unlike its calibration scans (other tone curves, an inverted export) and not for its own
kind of scan, clean or with a concealment."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from scanlab.cli import app
from scanlab.detect import ADAPT_HINT, check_domain, load_detector
from scanlab.detect._domain import domain_ranges, input_statistics
from scanlab.detect._preprocess import network_input
from scanlab.io import Representation, Scan, read_scan
from scanlab.synth import (
    VENDOR_PIPELINES,
    DisplayCurve,
    SceneSpec,
    build_dataset,
    generate_scene,
    load_dataset_spec,
    load_manifest,
    render_display,
    render_export,
)

runner = CliRunner()


def test_domain_ranges_and_checks_by_hand():
    records = [{"thin_level": 0.1 + 0.01 * i, "hot_share": 0.0} for i in range(11)]
    ranges = domain_ranges(records)
    # 1st, 50th and 99th percentiles 0.101, 0.15 and 0.199; each end widened by half its
    # distance from the median and by 1 % of itself.
    low = 0.101 - 0.5 * (0.15 - 0.101) - 0.00101
    high = 0.199 + 0.5 * (0.199 - 0.15) + 0.00199
    assert ranges["thin_level"] == pytest.approx([low, high], abs=1e-4)
    assert ranges["hot_share"] == [0.0, 0.05]
    assert check_domain({"thin_level": 0.2, "hot_share": 0.01, "n_regions": 2}, ranges) == []
    assert len(check_domain({"thin_level": 0.3, "hot_share": 0.0}, ranges)) == 1
    assert "12 separate regions" in check_domain({"n_regions": 12}, ranges)[0]
    assert "6.0 % of the scan" in check_domain({"hot_share": 0.06}, ranges)[0]


@pytest.fixture(scope="module")
def v1():
    return load_detector("cargo-anomaly-v1")


@pytest.fixture(scope="module")
def scene():
    return generate_scene(SceneSpec("container_20ft", "mixed", 0.8), 21, pitch_mm=7.5)


def export(pixels: np.ndarray) -> Scan:
    return Scan(np.ascontiguousarray(pixels), Representation.DISPLAY)


def test_v1_warns_on_other_tone_curves_and_not_on_its_own(v1, scene):
    own = v1.detect(export(render_display(scene.scan).data[0]))
    # Its own tone curve: its grey levels are the calibration scans'. (v1 predates the
    # rebuilt vehicles and alarms on their chassis, test_shipped.py's strict xfail, so its
    # map alone may call this scan not calibrated, as its card says it should.)
    assert not any("grey levels" in w for w in own.warnings), own.warnings
    linear = DisplayCurve("power", gamma=0.9, white_transmission=0.99)
    others = {
        "darker curve": render_display(scene.scan, contrast=0.7).data[0],
        "transmission-linear curve": render_display(scene.scan, curve=linear).data[0],
        "inverted": 255 - render_display(scene.scan).data[0],
    }
    for name, pixels in others.items():
        got = v1.detect(export(pixels))
        assert not got.in_domain, name
        assert got.warnings[0].startswith(ADAPT_HINT), name
        assert got.to_dict()["in_domain"] is False
        # Another curve paints more of the scan than its own does.
        assert len(got.regions) > len(own.regions), name
        if name != "darker curve":  # these two move the grey levels out of range as well
            assert "grey levels unlike the calibration scans" in got.warnings[0], name


def test_cli_detect_says_not_calibrated(scene, tmp_path):
    dark = render_display(scene.scan, contrast=0.7)
    bare = tmp_path / "bare.png"  # the pixels without metadata, as vendors export
    cv2.imwrite(str(bare), dark.data[0])
    # v1: v2, trained on randomised display curves, reads this darker curve as in its domain.
    args = ["detect", str(bare), "--out", str(tmp_path / "o"), "--model", "cargo-anomaly-v1"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert "warning: bare.png: not calibrated for this scanner: run scanlab adapt" in said
    record = json.loads((tmp_path / "o" / "bare.regions.json").read_text())
    assert record["in_domain"] is False and record["warnings"][0].startswith(ADAPT_HINT)


def test_skewed_statistics_keep_a_tight_side():
    # thin_level sits at the walls' level on most scans and rises on a few: the low end must
    # stay near the walls' level, not be widened by the whole spread.
    walls = [{"thin_level": 0.150 + 0.0001 * (i % 7)} for i in range(90)]
    rest = [{"thin_level": v} for v in np.linspace(0.2, 0.55, 10)]
    low, high = domain_ranges(walls + rest)["thin_level"]
    assert 0.145 < low < 0.150 and high > 0.55
    ranges = {"thin_level": [low, high]}
    assert check_domain({"thin_level": 0.0889}, ranges)  # a lighter export's walls
    assert check_domain({"thin_level": 0.1502}, ranges) == []


def test_noise_level_measures_the_grain_of_mid_grey():
    rng = np.random.default_rng(3)
    for sigma in (0.02, 0.1):
        att = 2.5 + rng.normal(0.0, sigma, (200, 300)).astype(np.float32)
        att[:, :40] = 0.0  # air beside the vehicle does not count
        got = input_statistics(network_input(att))["noise_level"]
        # A pixel minus the mean of its 3 x 3 neighbourhood: variance sigma^2 * 8 / 9.
        assert got == pytest.approx(sigma * np.sqrt(8 / 9), rel=0.03)
    flat = np.full((50, 50), 2.5, np.float32)
    assert input_statistics(network_input(flat))["noise_level"] == 0.0
    assert np.isnan(input_statistics(network_input(np.zeros((50, 50))))["noise_level"])


@pytest.fixture(scope="module")
def v2():
    return load_detector("cargo-anomaly-v2")


@pytest.fixture(scope="module")
def heldout_clean(tmp_path_factory):
    """Clean scans of the held-out spec (never trained or calibrated on), at 10 mm."""
    import dataclasses

    spec = dataclasses.replace(load_dataset_spec("heldout"), count=4, pitch_mm=10.0)
    spec.clean_share = 1.0
    folder = tmp_path_factory.mktemp("heldout")
    return [read_scan(i["scan_path"]) for i in load_manifest(build_dataset(spec, folder))]


def test_v2_calls_its_own_kind_of_scan_in_domain(v2, heldout_clean):
    from scanlab.detect._data import as_display_export, as_single_energy

    for scan in heldout_clean:
        for variant in (scan, as_single_energy(scan), as_display_export(scan)):
            got = v2.detect(variant)
            assert got.in_domain, (scan.metadata.scan_id, got.input_mode, got.warnings)


def test_v2_calls_a_foreign_scanners_exports_not_calibrated(v2, tmp_path):
    import dataclasses

    # Another scanner (9 MV), another vendor's tone curve, pitch, sharpening and JPEG, and
    # no metadata: the exports a site without adaptation would give it.
    foreign = dataclasses.replace(
        VENDOR_PIPELINES["log"],
        export_pitch_mm=(6.5, 8.5),
        sharpen=0.8,
        sharpen_sigma_px=1.2,
        jpeg_quality=70,
    )
    for seed, (vehicle, cargo) in enumerate([("container_20ft", "textiles"),
                                             ("container_40ft", "tyres")]):  # fmt: skip
        spec = SceneSpec(vehicle, cargo, 0.7, scanner="scanlab-9MV-dual")
        scene = generate_scene(spec, 900 + seed, pitch_mm=10.0)
        rng = np.random.default_rng(seed)
        out = render_export(scene.scan, foreign, body_px=scene.key.attributes["body_px"], rng=rng)
        path = tmp_path / f"foreign-{seed}.jpg"
        path.write_bytes(out.encoded)
        got = v2.detect(read_scan(path))
        assert not got.in_domain, got.domain
        assert got.warnings[0].startswith(ADAPT_HINT)
        assert "thin_level" in got.warnings[0]  # its walls are lighter than any calibration scan


@pytest.mark.parametrize("pitch_mm", [7.5, 10.0])
def test_v2_does_not_call_a_concealment_out_of_domain(v2, pitch_mm):
    """A concealment is not a foreign scanner. (v1 alarms on the rebuilt chassis as well and
    may call such a scan not calibrated, as its card says.)"""
    hidden = generate_scene(
        SceneSpec("container_20ft", "mixed", 0.8, ["pistol"]), 22, pitch_mm=pitch_mm
    )
    for scan in (hidden.scan, render_display(hidden.scan)):
        got = v2.detect(scan)
        assert got.in_domain, got.warnings


def test_recalibrate_domain_replaces_image_ranges_and_keeps_the_rest(tmp_path, tiny_model_dir):
    import copy

    from scanlab.detect import ModelCard
    from scanlab.detect._data import as_display_export
    from scanlab.detect._preprocess import scan_to_input
    from scanlab.detect._train import recalibrate_domain
    from scanlab.synth import DatasetSpec

    vehicles = {"container_20ft": 1, "container_40ft": 1}
    raw = {"name": "cal", "seed": 5, "count": 6, "clean_share": 1.0, "pitch_mm": 25.0}
    spec = DatasetSpec.from_dict({**raw, "vehicles": vehicles, "format": "npz"})
    items = load_manifest(build_dataset(spec, tmp_path / "cal"))
    card = ModelCard.load(tiny_model_dir / "card.json")
    card.calibration = {"domain": {"display": {"thin_level": [-9.0, 9.0], "hot_share": [0, 0.2]}}}
    before = copy.deepcopy(card)
    new = recalibrate_domain(card, items, data={"spec": "cal"})
    assert card.calibration == before.calibration  # the card given is left as it was
    assert new.thresholds == card.thresholds
    display = new.calibration["domain"]["display"]
    assert display["hot_share"] == [0, 0.2]  # the map's range is kept
    assert set(new.calibration["domain"]) == {"dual", "single", "display"}
    assert {"thin_level", "median_level", "noise_level"} <= set(display)
    assert display["thin_level"][0] > 0.0  # no longer the old, boundless range
    assert new.calibration["domain_data"] == {"spec": "cal", "n_clean_scans": 6}
    # Every calibration scan's own display export lies inside the new ranges.
    for item in items:
        planes, _ = scan_to_input(
            as_display_export(read_scan(item["scan_path"])), model_pitch_mm=card.pitch_mm
        )
        assert check_domain(input_statistics(planes), display) == []
