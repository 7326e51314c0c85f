"""The simulator's version: a digest of the code and tables that make scenes, so that scenes
built by an older simulator are never taken for current ones (dataset resumes, caches)."""

from __future__ import annotations

import ast
import functools
import hashlib
from collections.abc import Iterable
from pathlib import Path

__all__ = ["simulator_version"]

_PACKAGE = Path(__file__).parents[1]
#: What scenes are made of: the scene generator, TIP and display (scanlab.synth) and the
#: physics (scanlab.physics) with their data tables. Dataset specs are not part of it: a
#: spec's own fingerprint covers them.
_SIMULATOR = (_PACKAGE / "synth", _PACKAGE / "physics")
_SKIP = ("specs", "__pycache__")


@functools.cache
def simulator_version() -> str:
    """sha256 of the simulator: the Python code of ``scanlab.synth`` and ``scanlab.physics``
    (comments, docstrings and layout left out) and their data tables.

    Any change that can alter a scene changes it; editing a comment or a docstring, or
    reformatting, does not. :func:`scanlab.synth.build_dataset` keeps items only from the
    same spec *and* simulator version, and the detector's dataset cache is keyed by both.

    Examples
    --------
    >>> from scanlab.synth import simulator_version
    >>> len(simulator_version())
    64
    """
    files = (
        p
        for root in _SIMULATOR
        for p in root.rglob("*")
        if p.is_file() and not any(part in _SKIP for part in p.relative_to(root).parts)
    )
    return code_digest(files, root=_PACKAGE)


def code_digest(paths: Iterable[Path], *, root: Path) -> str:
    """sha256 over files named by their path under ``root``: Python files as their syntax
    tree without docstrings, other files as bytes (``*.pyc`` are skipped)."""
    digest = hashlib.sha256()
    named = sorted((p.relative_to(root).as_posix(), p) for p in paths if p.suffix != ".pyc")
    for name, path in named:
        content = _normalised_source(path).encode() if path.suffix == ".py" else path.read_bytes()
        digest.update(f"{name}\0{len(content)}\0".encode())
        digest.update(content)
    return digest.hexdigest()


def _normalised_source(path: Path) -> str:
    """The module's syntax tree (no comments, layout or line numbers) with docstrings
    removed: what the interpreter runs, not how it reads."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if (
                body
                and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)
            ):
                node.body = body[1:] or [ast.Pass()]
    return ast.dump(tree)
