"""Fixtures shared by all tests: small, seeded scans. Qt tests run on a Qt 6 binding."""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from scanlab.io import Scan, example_scan
from scanlab.napari_plugin._launch import prefer_qt6

# Before qtpy, napari or pytest-qt choose a binding: the same one for all of them.
if (_api := prefer_qt6()) is not None:
    os.environ.setdefault("PYTEST_QT_API", _api)

#: ``make test`` installs every extra and sets this: there a test skipped for a missing
#: module (``pytest.importorskip("torch")``) is a failure, not a silent skip.
REQUIRE_EXTRAS = os.environ.get("SCANLAB_TEST_REQUIRE_EXTRAS") == "1"
if REQUIRE_EXTRAS:
    try:
        importlib.import_module("torch")  # imported: a broken install fails here too
        missing = [m for m in ("dask.distributed", "napari") if not importlib.util.find_spec(m)]
    except ImportError as exc:
        missing = [f"torch ({exc})"]
    if missing:
        raise ImportError(
            f"SCANLAB_TEST_REQUIRE_EXTRAS=1 (make test installs every extra) but {missing} "
            "cannot be imported: the tests that need them would be skipped silently"
        )


def _fail_if_an_extra_is_missing(report: pytest.CollectReport | pytest.TestReport) -> None:
    if REQUIRE_EXTRAS and report.skipped and "could not import" in str(report.longrepr):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = (
            f"{reason}: SCANLAB_TEST_REQUIRE_EXTRAS=1 (make test installs every extra), so a "
            "missing module fails the test instead of skipping it"
        )


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector):
    report = yield
    _fail_if_an_extra_is_missing(report)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    _fail_if_an_extra_is_missing(report)
    return report


#: ``benchmarks/mutate.py`` sets this to a folder of its own for a module's mutation run: there
#: an exam or scan set that tests build with code outside the mutated module is built once and
#: read by every mutant's tests, instead of once per mutant (20 s of each mutant's run on the
#: test exam). Unset, as in every ordinary run, each session builds its own under its tmp path.
BUILD_CACHE = os.environ.get("SCANLAB_TEST_BUILD_CACHE")


def _built_once(
    tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], object]
) -> Path:
    if BUILD_CACHE is None:
        folder = tmp_path_factory.mktemp(name)
        build(folder)
        return folder
    import fcntl  # mutation runs fork, so they run on POSIX only
    import shutil

    folder = Path(BUILD_CACHE) / name
    with open(Path(BUILD_CACHE) / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (folder / ".built").exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            build(folder)
            (folder / ".built").touch()
    return folder


@pytest.fixture(scope="session")
def built_once(tmp_path_factory) -> Callable[[str, Callable[[Path], object]], Path]:
    """``built_once(name, build)``: a folder that ``build(folder)`` filled, for tests that
    only read it: a fresh tmp folder, or under a mutation run the one kept under
    ``SCANLAB_TEST_BUILD_CACHE`` (built by the first run to ask, under a lock, so that mutants
    run side by side never see half of it)."""
    return lambda name, build: _built_once(tmp_path_factory, name, build)


@pytest.fixture(autouse=True)
def _work_in_a_temporary_folder(tmp_path_factory, monkeypatch):
    """Tests write only under tmp paths: a file a command writes by default (``results.json``
    of ``scanlab exam grade``, say) lands in a fresh folder, never in the repository."""
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))


@pytest.fixture(autouse=True)
def _english(monkeypatch):
    """Messages are English unless a test chooses a language: a tester's own locale
    (LANG=ru_RU...) must not change what the tests read."""
    import scanlab.i18n

    monkeypatch.setenv("SCANLAB_LANG", "en")
    monkeypatch.setattr(scanlab.i18n, "_process_language", None)
    yield
    # A Dari or Pashto window turns the whole application right to left: not the next test's.
    qt_widgets = sys.modules.get("qtpy.QtWidgets")
    if qt_widgets is not None and qt_widgets.QApplication.instance() is not None:
        from qtpy.QtCore import Qt

        qt_widgets.QApplication.setLayoutDirection(Qt.LayoutDirection.LeftToRight)


@pytest.fixture
def dual_scan() -> Scan:
    """A 48 x 160 dual-energy counts scan with full metadata."""
    return example_scan(rows=48, cols=160, seed=3)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)
