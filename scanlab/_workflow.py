"""The main job, end to end on built-in data: what ``scanlab demo`` (``make demo``) runs."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
from rich.console import Console

from scanlab.io import Representation, Scan, example_scan, formats, read_scan, write_scan

__all__ = ["run_demo"]


def run_demo(out: Path, *, console: Console | None = None) -> dict[str, Path]:
    """Build a small scan, write it in every writable format, read each back and compare.

    Returns the file written for each format. Raises :class:`AssertionError` if a round trip
    changes pixels or metadata, so the demo doubles as an end-to-end check.
    """
    from scanlab.cli import info_table

    console = console or Console()
    out.mkdir(parents=True, exist_ok=True)
    scan = example_scan(seed=7)
    display = _display_copy(scan)
    written: dict[str, Path] = {}
    for name, fmt in formats().items():
        if fmt.write is None:
            continue
        source = display if name == "png" else scan
        path = out / f"example{fmt.extensions[0] if fmt.extensions else ''}"
        if name == "fs6000":
            path = out / "example_"
        files = write_scan(source, path, format=name)
        back = read_scan(files[0], format=name)
        exact = (back.data == source.data).all()
        same_meta = back.metadata == source.metadata
        if not exact or not same_meta:
            raise AssertionError(f"{name}: round trip changed the scan ({files[0]})")
        written[name] = files[0]
    table, failures = info_table(list(written.values()))
    console.print(table)
    for path, exc in failures:
        console.print(f"[red]error:[/red] {path}: {exc}")
    console.print(f"wrote and read back {len(written)} formats in {out}/")
    return written


def _display_copy(scan: Scan) -> Scan:
    """An 8-bit log-scaled rendering of the high-energy channel, as scanners export it."""
    att = scan.to_attenuation().high
    img = np.clip(255.0 * (1.0 - att / max(float(att.max()), 1e-6)), 0, 255).astype(np.uint8)
    meta = dataclasses.replace(
        scan.metadata, energies_mev=scan.metadata.energies_mev[:1], air_level=None, dark_level=None
    )
    return scan.replace(data=img, representation=Representation.DISPLAY, metadata=meta)
