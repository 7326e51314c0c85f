"""ExamSpec: fields checked by name, shipped specs load, items allotted exactly."""

from __future__ import annotations

import numpy as np
import pytest

from scanlab.errors import SpecError
from scanlab.exercises import ExamSpec, load_exam_spec
from scanlab.exercises._package import _targets


def test_shipped_dataset_spec_loads_as_exam():
    spec = load_exam_spec("exam-easy")
    assert spec.difficulty == {"easy": 1.0}
    assert spec.count == 30
    assert spec.time_limit_s == 60.0


def test_spec_file_with_exam_fields(tmp_path):
    path = tmp_path / "exam.yaml"
    path.write_text(
        "name: weekly\ncount: 12\nclean_share: 0.5\ntime_limit_s: 45\npitch_mm: 20\n"
        "difficulty: {easy: 1, hard: 3}\nconcealments: {pistol: 1, drugs_in_tyre: 2}\n"
    )
    spec = load_exam_spec(path)
    assert (spec.count, spec.time_limit_s, spec.difficulty) == (12, 45, {"easy": 1, "hard": 3})


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"difficulty": {"impossible": 1}}, "difficulty"),
        ({"difficulty": {"easy": 0}}, "difficulty"),
        ({"time_limit_s": 0}, "time_limit_s"),
        ({"concealments": {"drones": 1}}, "concealments"),
        ({"clean_share": 1.5}, "clean_share"),
        ({"pitch_mm": 200.0}, "pitch_mm"),
        ({"subpixels": 0}, "subpixels"),
        ({"assisted": "ana"}, "assisted"),
        ({"assisted": ["ana", "ana"]}, "assisted"),
        ({"assisted": [" ana"]}, "assisted"),
        ({"assisted": [3]}, "assisted"),
    ],
)
def test_bad_field_is_named(change, field):
    with pytest.raises(SpecError, match=field):
        ExamSpec(name="x", **change)


def test_unknown_field_is_named(tmp_path):
    path = tmp_path / "exam.json"
    path.write_text('{"name": "x", "time_limit": 30}')
    with pytest.raises(SpecError, match="time_limit"):
        load_exam_spec(path)


def test_items_are_allotted_exactly():
    spec = ExamSpec(name="x", count=10, clean_share=0.3, difficulty={"easy": 1, "hard": 2})
    targets = _targets(spec, np.random.default_rng(0))
    assert targets.count(None) == 3
    assert (targets.count("easy"), targets.count("hard")) == (2, 5)  # 7 * 1/3 = 2.33, 7 * 2/3


def test_an_exam_can_draw_its_scenes_finer_than_its_pixels(tmp_path):
    from scanlab.exercises import ExamPackage, build_exam

    plain = ExamSpec(name="x", count=1, clean_share=1.0, pitch_mm=25.0)
    fine = ExamSpec(name="x", count=1, clean_share=1.0, pitch_mm=25.0, subpixels=2)
    assert "subpixels" not in plain.to_dict()  # as packages recorded specs before it
    assert fine.to_dict()["subpixels"] == 2 and fine.dataset_spec().subpixels == 2
    word = "correct horse battery staple"
    one, two = (
        ExamPackage.open(build_exam(spec, tmp_path / f"{i}.zip", word))
        for i, spec in enumerate((plain, fine))
    )
    (item,) = one.item_ids
    a, b = one.scan(item), two.scan(item)
    # The same scene (packages drop the simulator's attributes), read over each aperture.
    assert a.shape == b.shape and not np.array_equal(a.data, b.data)
    assert b.data[0].mean() >= a.data[0].mean()
