"""The shipped weights: they load by name, find an obvious concealment in a scan they never
saw, stay quiet on a clean one, and work on display exports (with TIP) too."""

from __future__ import annotations

import numpy as np
import pytest

from scanlab.detect import DetectorWeights, load_detector
from scanlab.detect._data import as_display_export, as_single_energy
from scanlab.evaluate import Mark, match_marks
from scanlab.io import read_scan, write_scan
from scanlab.synth import AnswerKey, SceneSpec, generate_scene, project_threat, render_threat

# Seeds far from every dataset spec's range (training 0..400k, held-out 900k..).
SEED = 7_000_001
#: cargo-anomaly-v1 learnt the vehicles as they were drawn before issue #12 (a clean chassis
#: band); on the rebuilt vehicles (real chassis parts, reefer units, yaw) it alarms on clean
#: scans until it is retrained. Strict: these fail loudly once the new weights pass them.
STALE_WEIGHTS = pytest.mark.xfail(
    reason="weights trained on the pre-#12 vehicles alarm on the new chassis: retrain",
    strict=True,
)


@pytest.fixture(scope="module")
def detector():
    return load_detector(DetectorWeights.DEFAULT)


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


def test_card_documents_the_weights(detector):
    card = detector.card
    assert card.name == "cargo-anomaly-v1" and card.false_alarm_rate == 0.01
    assert set(card.thresholds) == {"dual", "single", "display"}
    specs = {d["spec"] for d in card.training["data"]}
    assert specs == {"train-concealed", "train-normal"}
    assert all(len(d["spec_fingerprint"]) == 64 for d in card.training["data"])


@STALE_WEIGHTS
def test_finds_an_obvious_concealment_and_stays_quiet_on_clean(detector, concealed, clean):
    found = detector(concealed.scan)
    assert found.is_anomalous and hits(concealed.key, found) == len(concealed.key.objects)
    quiet = detector(clean.scan)
    assert not quiet.is_anomalous and quiet.regions == []
    assert found.score > quiet.score


@STALE_WEIGHTS
def test_single_energy_input(detector, concealed, clean):
    assert detector(as_single_energy(concealed.scan)).is_anomalous
    assert not detector(as_single_energy(clean.scan)).is_anomalous


@STALE_WEIGHTS
def test_display_png_and_tip(detector, concealed, clean, tmp_path):
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


@STALE_WEIGHTS
@pytest.mark.parametrize("pitch_mm", [4.0, 7.5, 10.0])
def test_other_pitches(detector, pitch_mm):
    """Scanners differ in pitch: scans taken at the model's own pitch (10 mm), or finer or
    coarser than the 5 mm of the training scans, are neither all flagged nor all missed."""
    seeds = range(SEED + 10, SEED + 14)
    clean = [SceneSpec("container_20ft", c, 0.6) for c in ("textiles", "rice")]
    flagged = [
        detector(generate_scene(spec, seed, pitch_mm=pitch_mm).scan).is_anomalous
        for spec, seed in zip(clean * 2, seeds, strict=True)
    ]
    assert sum(flagged) <= 1
    spec = SceneSpec("container_20ft", "paper_goods", 0.6, ["false_wall"])
    scene = generate_scene(spec, SEED + 20, pitch_mm=pitch_mm)
    assert hits(scene.key, detector(scene.scan)) == 1
