"""scanlab.detect stays light: torch loads only when a model is built or run."""

from __future__ import annotations

import subprocess
import sys


def test_import_does_not_load_torch():
    code = "import sys, scanlab.detect; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_without_torch_the_error_says_how_to_install_it(monkeypatch, tmp_path):
    import pytest

    from scanlab.detect import cargo_unet, load_detector, train
    from scanlab.errors import MissingDependencyError

    monkeypatch.setitem(sys.modules, "torch", None)  # import torch now raises ImportError
    for call in (lambda: load_detector(), lambda: cargo_unet(), lambda: train("cargo-anomaly-v1")):
        with pytest.raises(MissingDependencyError, match=r"pip install 'scanlab\[torch\]'"):
            call()
