"""Held-out evaluation (the figures of the model card and bench_detect.py) with known-answer
detectors: a perfect one (its map is the answer key's mask), an inverted and a constant one."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from scanlab.detect import Detection, Region
from scanlab.detect._evaluate import evaluate_detectors, format_reports, samples
from scanlab.synth import DatasetSpec, build_dataset, load_manifest


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    spec = DatasetSpec.from_dict(
        {
            "name": "known",
            "seed": 5,
            "count": 9,
            "clean_share": 0.35,
            "vehicles": {"container_20ft": 1},
            "cargo": {"textiles": 1, "tyres": 1},
            "concealments": {"pistol": 1, "drugs_in_cargo": 1, "cash": 1},
            "pitch_mm": 25.0,
            "format": "npz",
        }
    )
    out = tmp_path_factory.mktemp("known")
    build_dataset(spec, out)
    return list(samples(load_manifest(out)))


def _known(data):
    """Detectors that look the scan's answer key up (by the scan's identity)."""
    keys = {id(scan): key for scan, key in data}

    def perfect(scan):
        key = keys[id(scan)]
        mask = (key.label_image() > 0).astype(np.float32)
        regions = [Region(o.bbox, 1.0, int(o.mask.sum())) for o in key.objects]
        return Detection(float(mask.max()), mask, regions, 0.5)

    def inverted(scan):
        mask = (keys[id(scan)].label_image() > 0).astype(np.float32)
        return Detection(1.0 - float(mask.max()), 1.0 - mask, [], 0.5)

    def constant(scan):
        shape = keys[id(scan)].shape
        return Detection(0.5, np.full(shape, 0.5, np.float32), [], 0.75)

    return {"perfect": perfect, "inverted": inverted, "constant": constant}


def test_known_answer_detectors(data):
    reports = evaluate_detectors(_known(data), data, fpr=0.01, pixel_step=1)
    keys = [key for _, key in data]
    n_clean = sum(k.is_clean for k in keys)
    classes = Counter(o.threat_class for k in keys for o in k.objects)
    levels = Counter(o.difficulty.level for k in keys for o in k.objects)
    assert n_clean >= 2 and len(keys) - n_clean >= 2
    perfect, inverted, constant = reports["perfect"], reports["inverted"], reports["constant"]
    for r in reports.values():
        assert (r.n_scans, r.n_clean, r.n_objects) == (9, n_clean, sum(classes.values()))
    assert (perfect.image_auroc, inverted.image_auroc, constant.image_auroc) == (1.0, 0.0, 0.5)
    assert (perfect.pixel_auroc, inverted.pixel_auroc, constant.pixel_auroc) == (1.0, 0.0, 0.5)
    assert perfect.aupro == pytest.approx(1.0) and inverted.aupro == pytest.approx(0.0)
    assert perfect.detection_rate_at_fpr == 1.0
    assert inverted.detection_rate_at_fpr == constant.detection_rate_at_fpr == 0.0
    assert (perfect.false_alarm_rate_at_threshold, perfect.detection_rate_at_threshold) == (0, 1)
    assert (inverted.false_alarm_rate_at_threshold, inverted.detection_rate_at_threshold) == (1, 0)
    assert (constant.false_alarm_rate_at_threshold, constant.detection_rate_at_threshold) == (0, 0)
    assert perfect.object_recall_at_threshold == 1.0
    assert inverted.object_recall_at_threshold == constant.object_recall_at_threshold == 0.0
    assert perfect.recall_by_class == {c: [n, n] for c, n in sorted(classes.items())}
    assert constant.recall_by_class == {c: [0, n] for c, n in sorted(classes.items())}
    assert perfect.recall_by_level == {
        lv: [levels[lv], levels[lv]] for lv in ("easy", "medium", "hard") if lv in levels
    }
    assert perfect.threshold == 0.5 and constant.threshold == 0.75
    card = perfect.to_dict()
    assert card["recall_by_class"]["cash"] == {
        "hit": classes["cash"],
        "of": classes["cash"],
        "recall": 1.0,
    }
    table = format_reports(reports, title="known answers")
    lines = table.splitlines()
    assert lines[0] == "known answers"
    assert lines[1] == f"9 scans ({n_clean} clean), {sum(classes.values())} objects"
    assert lines[3].split()[:4] == ["perfect", "1.000", "1.000", "1.000"]
    assert lines[4].split()[:4] == ["inverted", "0.000", "0.000", "0.000"]
    assert lines[5].split()[:4] == ["constant", "0.500", "0.000", "0.500"]
