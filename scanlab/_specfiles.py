"""What dataset specs and training recipes share: reading a shipped spec by name or a
YAML/JSON file by path, and the sha256 of a file (manifests, weights)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import yaml

from scanlab.errors import SpecError
from scanlab.i18n import _

__all__ = ["file_sha256", "read_spec_file", "shipped_names"]


def file_sha256(path: str | Path) -> str:
    """Hex sha256 of a file's bytes, read in blocks."""
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def shipped_names(folder: Path) -> tuple[str, ...]:
    """Names of the ``*.yaml`` specs in a package folder."""
    return tuple(sorted(p.stem for p in folder.glob("*.yaml")))


def read_spec_file(name_or_path: str | Path, folder: Path, what: str) -> tuple[Any, Path]:
    """The parsed content and path of a YAML/JSON file, or of the shipped spec
    ``folder/<name>.yaml``; SpecError naming the file (``what``: the noun, already through
    ``_()``: "spec", "recipe") if it is neither or cannot be parsed."""
    path = Path(name_or_path)
    if not path.is_file():
        candidate = folder / f"{name_or_path}.yaml"
        if not candidate.is_file():
            raise SpecError(
                _(
                    "{name_or_path}: no such {what} file, and not a shipped {what} ({shipped})"
                ).format(
                    name_or_path=name_or_path,
                    what=what,
                    shipped=", ".join(shipped_names(folder)) or _("none"),
                )
            )
        path = candidate
    try:
        text = path.read_text(encoding="utf-8")
        raw = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError) as exc:
        raise SpecError(
            _("{path}: cannot parse the {what}: {error}").format(path=path, what=what, error=exc)
        ) from None
    return raw, path
