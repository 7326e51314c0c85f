"""One small exam for all the exercises tests: 8 items at 20 mm pitch, built once."""

from __future__ import annotations

import os

import pytest

from scanlab.exercises import ExamKeys, ExamPackage, ExamSpec, build_exam, grade, simulate_trainee

PASSPHRASE = "correct horse battery staple"
BEHAVIOURS = ("perfect", "random", "misses:narcotics", "clicks_everywhere")
#: No cigarettes among the goods, so that no declaration names a threat class.
CARGO = {
    "paper_goods": 1.0,
    "furniture": 1.0,
    "rice": 1.0,
    "machinery": 1.0,
    "tyres": 1.0,
    "textiles": 1.0,
    "mixed": 1.0,
}


#: The trainees (simulated, named by behaviour) the test exam gives Detector assist.
ASSISTED = ("perfect", "misses:narcotics")


def small_spec(**changes) -> ExamSpec:
    """8 items, 2 clean; 2 easy, 2 medium, 2 hard. Seed 1 holds narcotics (in 3 items),
    cigarettes, a weapon and a car. Two of the four simulated trainees sit it with Detector
    assist."""
    fields = dict(
        name="test-exam",
        seed=1,
        count=8,
        clean_share=0.25,
        pitch_mm=20.0,
        time_limit_s=30.0,
        cargo=CARGO,
        assisted=list(ASSISTED),
    )
    return ExamSpec(**(fields | changes))


def _shared(fixture_name: str, config: pytest.Config) -> str:
    """Session scope, except in mutmut's stats run (``make mutate``), which records the
    functions each test calls to choose the tests it runs on a mutant of them: there each test
    opens, derives and grades its own, so that a test reading the shared results is linked to
    the grading code that made them, not only the test that happened to make them first."""
    return "function" if os.environ.get("MUTANT_UNDER_TEST") == "stats" else "session"


@pytest.fixture(scope="session")
def passphrase() -> str:
    return PASSPHRASE


@pytest.fixture(scope="session")
def make_spec():
    """``make_spec(**changes)``: the test exam's spec with some fields changed."""
    return small_spec


@pytest.fixture(scope="session")
def exam_path(built_once):
    def build(folder):
        build_exam(small_spec(), folder / "exam.zip", PASSPHRASE)

    return built_once("exam", build) / "exam.zip"


@pytest.fixture(scope=_shared)
def package(exam_path) -> ExamPackage:
    return ExamPackage.open(exam_path)


@pytest.fixture(scope=_shared)
def keys(package) -> ExamKeys:
    return package.keys(PASSPHRASE)


@pytest.fixture(scope=_shared)
def submissions(package, keys):
    """One signed submission per simulated behaviour (trainee id = behaviour)."""
    return {b: simulate_trainee(package, b, seed=0, passphrase=keys) for b in BEHAVIOURS}


@pytest.fixture(scope=_shared)
def results(package, submissions):
    return grade(package, list(submissions.values()), PASSPHRASE)
