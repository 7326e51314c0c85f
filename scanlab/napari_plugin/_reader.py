"""The napari reader: every format :mod:`scanlab.io` reads, opened as millimetre-scaled layers."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from fnmatch import fnmatch
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from scanlab.errors import ScanlabError
from scanlab.i18n import _
from scanlab.io import Scan, detect_format, read_scan
from scanlab.napari_plugin._layers import LayerData, scan_layers

__all__ = ["get_reader", "read_scans", "reader_patterns"]

#: napari's "read, but no layers" sentinel: returned when every file was damaged (each
#: already reported in a notification), so that napari neither raises nor asks another plugin.
_NO_LAYERS: list[Any] = [(None,)]

ReaderFunction = Callable[[str | Sequence[str]], list[LayerData]]


def get_reader(path: str | Sequence[str]) -> ReaderFunction | None:
    """``read_scans`` when every path is a scan file scanlab recognises or has the name of
    one (``READER_PATTERNS``), else None.

    Recognition reads the first 512 bytes of each file (the extension is only a tie-break).
    A file named like a scan that scanlab cannot read is still taken, so that its problem is
    said as ``scanlab info`` says it, not as napari's "Reader 'scanlab' refused the file".
    """
    paths = [path] if isinstance(path, str | Path) else list(path)
    if not paths:
        return None
    for p in paths:
        try:
            detect_format(p)
        except ScanlabError:
            if not any(fnmatch(Path(p).name.lower(), pat) for pat in reader_patterns()):
                return None
    return read_scans


@cache
def reader_patterns() -> tuple[str, ...]:
    """The file-name patterns the reader is registered for (from ``napari.yaml``)."""
    import yaml

    manifest = yaml.safe_load(Path(__file__).with_name("napari.yaml").read_text("utf-8"))
    return tuple(
        str(pattern)
        for reader in manifest["contributions"]["readers"]
        for pattern in reader["filename_patterns"]
    )


def read_scans(path: str | Sequence[str]) -> list[LayerData]:
    """Layer data of each scan; a damaged file becomes a notification, not an exception."""
    paths = [path] if isinstance(path, str | Path) else list(path)
    layers: list[LayerData] = []
    seen: list[Scan] = []
    for p in paths:
        try:
            scan = read_scan(p)
            if any(_same(scan, other) for other in seen):
                continue  # another file of a multi-file scan (FS6000 high/low/material)
            seen.append(scan)
            layers.extend(
                scan_layers(scan, name=scan.metadata.scan_id or Path(p).stem, source=str(p))
            )
        except ScanlabError as exc:
            _notify_error(
                _("scanlab could not open {name}: {error}").format(name=Path(p).name, error=exc)
            )
    return layers or _NO_LAYERS


def _same(a: Scan, b: Scan) -> bool:
    return (
        a.metadata.scan_id == b.metadata.scan_id
        and a.data.shape == b.data.shape
        and bool(np.array_equal(a.data, b.data))
    )


def _notify_error(message: str) -> None:
    from napari.utils.notifications import show_error

    show_error(message)
