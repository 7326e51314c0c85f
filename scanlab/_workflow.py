"""The main job, end to end on built-in data: what ``scanlab demo`` (``make demo``) runs.

It grows with the project: today it checks every file format with a round trip, then simulates
a small graded image set (scans, answer keys, declarations) and summarises it.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from scanlab.io import example_scan, formats, read_scan, write_scan

__all__ = ["run_demo"]


def run_demo(out: Path, *, console: Console | None = None, set_size: int = 6) -> dict[str, Path]:
    """Run the main job into ``out``; return the main files it wrote.

    Raises :class:`AssertionError` if a file round trip changes pixels or metadata, so the
    demo doubles as an end-to-end check.
    """
    from scanlab.cli import info_table
    from scanlab.synth import build_dataset, load_dataset_spec, load_manifest, render_display

    console = console or Console()
    out.mkdir(parents=True, exist_ok=True)

    console.rule("1. file formats: write, read back, compare")
    scan = example_scan(seed=7)
    display = render_display(scan)
    written: dict[str, Path] = {}
    for name, fmt in formats().items():
        if fmt.write is None:
            continue
        source = display if name == "png" else scan
        path = out / "formats" / ("example_" if name == "fs6000" else f"example{fmt.extensions[0]}")
        files = write_scan(source, path, format=name)
        back = read_scan(files[0], format=name)
        if not (back.data == source.data).all() or back.metadata != source.metadata:
            raise AssertionError(f"{name}: round trip changed the scan ({files[0]})")
        written[name] = files[0]
    table, failures = info_table(list(written.values()))
    console.print(table)
    for path, exc in failures:
        console.print(f"[red]error:[/red] {path}: {exc}")
    console.print(f"wrote and read back {len(written)} formats in {out / 'formats'}/")

    console.rule("2. a graded image set from the simulator")
    spec = load_dataset_spec("sample")
    spec.count = set_size
    manifest = build_dataset(spec, out / "graded-set")
    items = load_manifest(manifest, verify=True)
    title = f"graded set '{spec.name}' ({len(items)} scans, {spec.pitch_mm:g} mm pitch)"
    summary = Table(title=title)
    for col in ("scan", "vehicle", "cargo", "concealed", "difficulty", "declaration"):
        summary.add_column(col)
    for item in items:
        summary.add_row(
            item["scan_id"],
            item["vehicle"],
            item["cargo"],
            ", ".join(item["classes"]) or "clean",
            ", ".join(item["levels"]) or "-",
            "consistent" if item["declaration_consistent"] else "[yellow]inconsistent[/yellow]",
        )
    console.print(summary)
    console.print(f"scans, answer keys and manifest in {out / 'graded-set'}/")
    written["manifest"] = manifest
    return written
