"""The ``scanlab`` command: each sub-command is a thin layer over a library function."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from scanlab.errors import ScanlabError

app = typer.Typer(
    help="scanlab: learn to read X-ray images of cargo.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
console = Console()
err_console = Console(stderr=True)


def progress_bar() -> Progress:
    """The progress bar every long command shows: count, rate and time left."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        _RateColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
    )


class _RateColumn(ProgressColumn):
    """Items per second (rich's own speed column counts bytes)."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("" if speed is None else f"{speed:.2f}/s", style="progress.data.speed")


def _fail(exc: ScanlabError) -> typer.Exit:
    err_console.print(f"[red]error:[/red] {exc}")
    return typer.Exit(code=1)


def _fmt_tuple(values: tuple[float, ...] | None, unit: str = "") -> str:
    if not values:
        return "-"
    return " / ".join(f"{v:g}" for v in values) + unit


def info_table(paths: list[Path]) -> tuple[Table, list[tuple[Path, ScanlabError]]]:
    """A table of the scans at ``paths``, and the errors of those that could not be read."""
    from scanlab.io import detect_format, read_scan

    table = Table(title="scanlab info")
    for col in (
        "file",
        "format",
        "shape",
        "dtype",
        "channels",
        "values",
        "MeV",
        "pitch mm",
        "value range",
    ):
        table.add_column(col, overflow="fold")
    failures = []
    for path in paths:
        try:
            fmt = detect_format(path)
            s = read_scan(path, format=fmt).summary()
        except ScanlabError as exc:
            failures.append((path, exc))
            continue
        lo, hi = s["value_range"]
        table.add_row(
            str(path),
            fmt,
            f"{s['shape'][0]} x {s['shape'][1]}",
            s["dtype"],
            "+".join(s["channels"]),
            s["representation"],
            _fmt_tuple(s["energies_mev"]),
            _fmt_tuple(s["pitch_mm"]),
            f"{lo:g} .. {hi:g}",
        )
    return table, failures


@app.command()
def info(files: Annotated[list[Path], typer.Argument(help="Scan files, any format.")]) -> None:
    """Show shape, type, channels, energies, pitch and value range of scans."""
    table, failures = info_table(files)
    if table.row_count:
        console.print(table)
    for _path, exc in failures:
        err_console.print(f"[red]error:[/red] {exc}")
    if failures:
        raise typer.Exit(code=1)


@app.command()
def convert(
    inputs: Annotated[list[Path], typer.Argument(help="Input scans, then the output.")],
    to: Annotated[
        str | None, typer.Option(help="Output format when OUT is a folder (e.g. tiff, dicos).")
    ] = None,
) -> None:
    """Convert scans between formats: ``convert IN OUT`` or ``convert IN... OUTDIR --to FMT``."""
    from scanlab.io import formats, read_scan, write_scan

    if len(inputs) < 2:
        raise typer.BadParameter("give at least one input and an output")
    *sources, target = inputs
    jobs: list[tuple[Path, Path]] = []
    if len(sources) == 1 and not target.is_dir() and to is None:
        jobs.append((sources[0], target))
    else:
        known = formats()
        writable = sorted(n for n, f in known.items() if f.write)
        if to not in writable:
            raise typer.BadParameter(f"--to must name a writable format: {writable}")
        target.mkdir(parents=True, exist_ok=True)
        ext = known[to].extensions[0]
        jobs = [(src, target / (src.name.split(".")[0] + ext)) for src in sources]
    failures = 0
    with progress_bar() as bar:
        task = bar.add_task("converting", total=len(jobs), visible=len(jobs) > 1)
        for src, dst in jobs:
            try:
                write_scan(read_scan(src), dst, format=to)
            except ScanlabError as exc:
                failures += 1
                err_console.print(f"[red]error:[/red] {exc}")
            bar.advance(task)
    if failures:
        raise typer.Exit(code=1)
    console.print(f"converted {len(jobs) - failures} scan(s)")


@app.command()
def enhance(
    inputs: Annotated[list[Path], typer.Argument(help="Input scans, then the output.")],
    preset: Annotated[str, typer.Option(help="Preset name (see --list).")] = "standard",
    pipeline: Annotated[
        Path | None, typer.Option(help="A pipeline file (JSON/YAML) instead of a preset.")
    ] = None,
    to: Annotated[str, typer.Option(help="Output type when OUT is a folder: png or tif.")] = "png",
) -> None:
    """Enhance scans with a preset or pipeline: ``enhance IN OUT.png`` or ``IN... OUTDIR``."""
    from scanlab.enhance import Pipeline, enhance_file, load_preset

    if len(inputs) < 2:
        raise typer.BadParameter("give at least one input and an output")
    *sources, target = inputs
    try:
        pipe = Pipeline.load(pipeline) if pipeline else load_preset(preset)
    except ScanlabError as exc:
        raise _fail(exc) from None
    if len(sources) == 1 and target.suffix:
        jobs = [(sources[0], target)]
    else:
        jobs = [(src, target / f"{src.name.split('.')[0]}.{to}") for src in sources]
    failures = 0
    with progress_bar() as bar:
        task = bar.add_task(f"enhancing ({pipe.name})", total=len(jobs), visible=len(jobs) > 1)
        for src, dst in jobs:
            try:
                enhance_file(src, dst, pipe)
            except ScanlabError as exc:
                failures += 1
                err_console.print(f"[red]error:[/red] {exc}")
            bar.advance(task)
    console.print(f"enhanced {len(jobs) - failures} scan(s) with {pipe.name!r}")
    if failures:
        raise typer.Exit(code=1)


@app.command()
def synth(
    spec: Annotated[str, typer.Argument(help="A shipped spec name or a YAML/JSON spec file.")],
    out: Annotated[Path, typer.Argument(help="Output folder (scans, keys, manifest.json).")],
    count: Annotated[int | None, typer.Option(help="Override the spec's number of scans.")] = None,
) -> None:
    """Simulate a dataset of scans with answer keys and a manifest."""
    from scanlab.synth import build_dataset, load_dataset_spec

    try:
        dataset = load_dataset_spec(spec)
        if count is not None:
            dataset.count = count
            dataset.check(source=spec)
        with progress_bar() as bar:
            task = bar.add_task(f"simulating {dataset.name}", total=dataset.count)
            manifest = build_dataset(
                dataset, out, progress=lambda done, total: bar.update(task, completed=done)
            )
    except ScanlabError as exc:
        raise _fail(exc) from None
    console.print(f"wrote {dataset.count} scans and {manifest}")


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Folder for everything the demo writes.")] = Path(
        "demo-output"
    ),
) -> None:
    """Run the main job end to end on built-in data and print what it made."""
    from scanlab._workflow import run_demo

    try:
        run_demo(out, console=console)
    except ScanlabError as exc:
        raise _fail(exc) from None


def main() -> None:  # pragma: no cover - entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    app()
