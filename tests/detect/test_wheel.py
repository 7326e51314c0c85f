"""A non-editable install finds the shipped weights (issue #15): build scanlab's wheel from a
copy of the source, install it into a target folder and load the default model
(``cargo-anomaly-v2``) and ``cargo-anomaly-v1`` from there, in a fresh interpreter that cannot
see the repository."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("setuptools")

ROOT = Path(__file__).parents[2]

_LOAD = """
import pathlib, sys
import scanlab
from scanlab.detect import load_detector, models_dir
target = pathlib.Path(sys.argv[1]).resolve()
assert pathlib.Path(scanlab.__file__).resolve().is_relative_to(target), scanlab.__file__
assert models_dir().resolve().is_relative_to(target), models_dir()
for detector in (load_detector(), load_detector("cargo-anomaly-v1")):
    print(detector.card.name, detector.card.weights_sha256)
"""


@pytest.mark.slow
def test_a_wheel_install_finds_the_shipped_weights(tmp_path):
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.tmp")
    for folder in ("scanlab", "models"):
        shutil.copytree(ROOT / folder, source / folder, ignore=ignore)
    dist = tmp_path / "dist"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    # setuptools' PEP 517 hook directly: no build isolation, nothing downloaded.
    build = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, setuptools.build_meta as b; print(b.build_wheel(sys.argv[1]))",
            str(dist),
        ],
        cwd=source,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stderr[-3000:]
    wheel = dist / build.stdout.strip().splitlines()[-1]
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
    for model in ("cargo-anomaly-v1", "cargo-anomaly-v2"):
        assert f"scanlab/models/{model}/weights.pt" in names
        assert f"scanlab/models/{model}/card.json" in names

    target = tmp_path / "site"
    install = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--no-index",
            "--target",
            str(target),
            str(wheel),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert install.returncode == 0, install.stderr[-3000:]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    load = subprocess.run(
        [sys.executable, "-c", _LOAD, str(target)],
        cwd=elsewhere,
        env={**env, "PYTHONPATH": str(target)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert load.returncode == 0, load.stderr[-3000:]
    import json

    expected = []
    for model in ("cargo-anomaly-v2", "cargo-anomaly-v1"):
        card = json.loads((ROOT / "models" / model / "card.json").read_text())
        expected += [model, card["weights_sha256"]]
    assert load.stdout.split() == expected
