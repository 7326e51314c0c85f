"""The Examples sections of the physics docstrings run."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "_dual", "_elements", "_lookup", "_materials", "_nist", "_scanner", "_spectra", "_transmission",
]  # fmt: skip


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(f"scanlab.physics.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    assert result.attempted > 0
