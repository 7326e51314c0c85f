"""Adaptive practice: the next spec leans towards what the trainee missed."""

from __future__ import annotations

import pytest

from scanlab.errors import SpecError
from scanlab.exercises import KIND_PRODUCES, ExamSpec, recommend_next
from scanlab.synth import CONCEALMENT_TYPES


def test_every_concealment_kind_is_mapped():
    assert set(KIND_PRODUCES) == set(CONCEALMENT_TYPES)


def test_narcotics_missed_gives_more_narcotics(results):
    spec = recommend_next(results.trainee("misses:narcotics"))
    w = spec.concealments
    drugs_only = ("drugs_in_tyre", "drugs_in_spare_wheel", "drugs_in_cargo")
    assert min(w[k] for k in drugs_only) > max(w["pistol"], w["rifle"], w["vehicle"])
    assert max(w, key=w.get) in (*drugs_only, "false_wall", "false_floor", "false_roof")
    assert isinstance(spec, ExamSpec)  # a spec build_exam takes as it is
    assert spec.name == "practice-misses:narcotics"


def test_practice_differs_from_the_exam_and_keeps_the_base(results, make_spec):
    base = make_spec()
    spec = recommend_next(results.trainee("perfect"), base=base)
    assert spec.seed != base.seed
    assert (spec.count, spec.pitch_mm, spec.time_limit_s) == (8, 20.0, 30.0)


def test_false_alarms_raise_the_clean_share(results):
    assert recommend_next(results.trainee("clicks_everywhere")).clean_share == 0.5
    assert recommend_next(results.trainee("perfect")).clean_share == 0.33


def test_one_trainee_at_a_time(results):
    with pytest.raises(SpecError, match="several trainees"):
        recommend_next(results.trainees)
