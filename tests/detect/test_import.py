"""scanlab.detect stays light: torch loads only when a model is built or run."""

from __future__ import annotations

import subprocess
import sys


def test_import_does_not_load_torch():
    code = "import sys, scanlab.detect; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
