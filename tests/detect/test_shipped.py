"""The shipped weights: they load by name, find an obvious concealment in a scan they never
saw, stay quiet on a clean one, and work on display exports (with TIP) and at other pitches.
The default model (cargo-anomaly-v2) must pass all of it; cargo-anomaly-v1, kept loadable,
passes what it still can."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from scanlab.detect import DetectorWeights, load_detector
from scanlab.detect._data import as_display_export, as_single_energy
from scanlab.evaluate import Mark, match_marks
from scanlab.io import read_scan, write_scan
from scanlab.synth import AnswerKey, SceneSpec, generate_scene, project_threat, render_threat

# Seeds far from every dataset spec's range (training 0..400k, held-out 900k..).
SEED = 7_000_001
V1, V2 = DetectorWeights.CARGO_ANOMALY_V1.value, DetectorWeights.CARGO_ANOMALY_V2.value
#: cargo-anomaly-v1 learnt the vehicles as they were drawn before issue #12 (a clean chassis
#: band); on the rebuilt vehicles (real chassis parts, reefer units, yaw) it alarms on clean
#: scans, as its card says. Strict: such a test fails loudly if v1 ever passes it.
STALE_V1 = pytest.param(
    V1,
    marks=pytest.mark.xfail(
        reason="v1 was trained on the pre-#12 vehicles and alarms on the new chassis", strict=True
    ),
)
BOTH = pytest.mark.parametrize("name", [V1, V2])
QUIET = pytest.mark.parametrize("name", [STALE_V1, V2])


@pytest.fixture(scope="module")
def loaded():
    return {}


@pytest.fixture
def detector(name, loaded):
    """Each model loaded once per module."""
    if name not in loaded:
        loaded[name] = load_detector(name)
    return loaded[name]


@pytest.fixture(scope="module")
def concealed():
    spec = SceneSpec("container_20ft", "paper_goods", 0.6, ["stowaway"])
    return generate_scene(spec, SEED, pitch_mm=5.0)


@pytest.fixture(scope="module")
def clean():
    return generate_scene(SceneSpec("container_20ft", "textiles", 0.6), SEED + 1, pitch_mm=5.0)


def hits(key: AnswerKey, detection) -> int:
    marks = [
        Mark(f"r{i}", "rectangle", [(r0, c0), (r1 - 1, c1 - 1)], "narcotics")
        for i, (r0, c0, r1, c1) in enumerate(r.bbox for r in detection.regions)
    ]
    return len(match_marks(key, marks).hits)


def test_the_default_is_v2_and_v1_stays_loadable():
    assert DetectorWeights.DEFAULT is DetectorWeights.CARGO_ANOMALY_V2
    assert load_detector().card.name == V2
    assert DetectorWeights.CARGO_ANOMALY_V1.card().name == V1


@BOTH
def test_card_documents_the_weights(name, detector):
    card = detector.card
    assert card.name == name and card.false_alarm_rate == 0.01
    assert set(card.thresholds) == {"dual", "single", "display"}
    specs = {d["spec"] for d in card.training["data"]}
    assert specs == {"train-concealed", "train-normal"}
    assert all(len(d["spec_fingerprint"]) == 64 for d in card.training["data"])
    assert any("real" in item for item in card.limitations)


def test_v2_card_records_its_randomised_training():
    card = DetectorWeights.CARGO_ANOMALY_V2.card()
    recipe = card.training["recipe"]
    assert recipe["pitch_range_mm"] == [4.0, 10.0]
    assert "log" not in recipe["display_family"]  # the foreign scanner of bench_adapt
    assert recipe["readout_share"] > 0
    pitches = {d["pitch_mm"] for d in card.training["data"]}
    assert pitches == {4.0, 6.0, 8.0, 10.0}
    assert card.training["steps"] == recipe["epochs"] * recipe["steps_per_epoch"]


@BOTH
def test_finds_an_obvious_concealment(name, detector, concealed):
    found = detector(concealed.scan)
    assert found.is_anomalous and hits(concealed.key, found) == len(concealed.key.objects)


@QUIET
def test_stays_quiet_on_clean(name, detector, concealed, clean):
    quiet = detector(clean.scan)
    assert not quiet.is_anomalous and quiet.regions == []
    assert detector(concealed.scan).score > quiet.score


@QUIET
def test_single_energy_input(name, detector, concealed, clean):
    assert detector(as_single_energy(concealed.scan)).is_anomalous
    assert not detector(as_single_energy(clean.scan)).is_anomalous


@QUIET
def test_display_png_and_tip(name, detector, concealed, clean, tmp_path):
    png = write_scan(as_display_export(clean.scan), tmp_path / "clean.png")[0]
    shown = read_scan(png)
    quiet = detector(shown)
    assert quiet.input_mode == "display" and not quiet.is_anomalous
    # TIP of a threat into the display image itself, as an instructor would do it.
    tipped, obj = project_threat(
        shown,
        render_threat("stowaway", pitch_mm=5.0),
        row=600,
        col=1200,
        rng=np.random.default_rng(0),
    )
    found = detector(tipped)
    assert found.is_anomalous
    assert hits(AnswerKey("tip", tipped.shape, [obj]), found) == 1
    assert detector(as_display_export(concealed.scan)).is_anomalous


@QUIET
@pytest.mark.parametrize("pitch_mm", [4.0, 7.5, 10.0])
def test_quiet_at_other_pitches(name, detector, pitch_mm):
    """Scanners differ in pitch: clean scans taken at the model's own pitch (10 mm), or finer
    or coarser than the 5 mm of the calibration scans, are not flagged."""
    seeds = range(SEED + 10, SEED + 14)
    clean = [SceneSpec("container_20ft", c, 0.6) for c in ("textiles", "rice")]
    flagged = [
        detector(generate_scene(spec, seed, pitch_mm=pitch_mm).scan).is_anomalous
        for spec, seed in zip(clean * 2, seeds, strict=True)
    ]
    assert sum(flagged) <= 1


#: v2's dual-energy threshold, recalibrated on the current simulator and tiling (0.886 ->
#: 0.969), lies above the wall's score at 10 mm (0.91). Strict: passing again says so.
WALL_MISSED_AT_10MM = pytest.param(
    10.0,
    marks=pytest.mark.xfail(
        reason="at 10 mm the wall scores under v2's recalibrated dual threshold", strict=True
    ),
)


@pytest.mark.parametrize("name", [V2])
@pytest.mark.parametrize("pitch_mm", [4.0, 7.5, WALL_MISSED_AT_10MM])
def test_finds_a_false_wall_at_other_pitches(name, detector, pitch_mm):
    """v2 finds a false wall in a 20 ft box at other pitches, and every region it reports
    lies on the wall (a high threshold may split the wall's hot area in two, as at 7.5 mm),
    none on the chassis or the cargo. (v1 is left out: it alarms on the rebuilt chassis
    too, so a region on the wall means little; at 10 mm it misses it among 7 others.)"""
    spec = SceneSpec("container_20ft", "paper_goods", 0.6, ["false_wall"])
    scene = generate_scene(spec, SEED + 20, pitch_mm=pitch_mm)
    found = detector(scene.scan)
    assert hits(scene.key, found) == 1 and found.in_domain
    for region in found.regions:
        assert hits(scene.key, SimpleNamespace(regions=[region])) == 1, region
