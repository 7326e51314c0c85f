"""Pieces every format module shares: atomic file writes and the scanlab JSON header."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from scanlab.errors import CorruptFileError
from scanlab.i18n import _
from scanlab.io._scan import Representation, Scan, ScanMetadata

__all__ = ["HEADER_KEY", "atomic_open", "header_from_json", "header_to_json"]

#: Key that marks a JSON document as scanlab's own header.
HEADER_KEY = "scanlab_scan"
HEADER_VERSION = 1


@contextmanager
def atomic_open(
    path: str | os.PathLike[str], mode: str = "wb", *, private: bool = False
) -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path`` and move it over ``path`` only on success.

    A crash or an exception leaves the previous file untouched and no partial file behind.
    ``private=True`` keeps the file readable and writable by its owner only (0600) from the
    moment it exists, for files that hold secrets.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.close(fd)
        if not private:
            # mkstemp creates the file 0600; give it the usual permissions for a new file.
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        with open(tmp, mode) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def header_to_json(scan: Scan, **extra: Any) -> str:
    """Representation and metadata of ``scan`` as one line of JSON."""
    doc = {
        HEADER_KEY: HEADER_VERSION,
        "representation": scan.representation.value,
        "channels": scan.n_channels,
        "metadata": scan.metadata.to_dict(),
        **extra,
    }
    return json.dumps(doc, separators=(",", ":"), sort_keys=True)


def header_from_json(text: str | bytes, *, source: str | Path) -> dict[str, Any] | None:
    """Parse a header written by :func:`header_to_json`; ``None`` if ``text`` is not one.

    The returned dict has ``representation`` as a :class:`Representation` and ``metadata`` as
    a :class:`ScanMetadata`.
    """
    try:
        doc = json.loads(text)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(doc, dict) or HEADER_KEY not in doc:
        return None
    try:
        doc["representation"] = Representation(doc["representation"])
    except (KeyError, ValueError):
        raise CorruptFileError(
            _("{source}: scanlab header has no valid 'representation'").format(source=source)
        ) from None
    doc["metadata"] = ScanMetadata.from_dict(doc.get("metadata", {}), source=source)
    return doc
