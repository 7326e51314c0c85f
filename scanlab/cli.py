"""The ``scanlab`` command: each sub-command is a thin layer over a library function."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
import typer.core
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
from scanlab.i18n import N_, _, ngettext


class TranslatedHelp:
    """``--help`` in the user's language (``SCANLAB_LANG``, else the system locale): the
    help texts of commands made with this class are messages of the catalogue
    (``scanlab._catalogues`` extracts them from the command tree)."""

    def format_help(self, ctx: Any, formatter: Any) -> None:
        with _help_translated(self, ctx):
            super().format_help(ctx, formatter)  # type: ignore[misc]

    def format_usage(self, ctx: Any, formatter: Any) -> None:
        # The click Typer vendors writes "Usage: " as it is, in every language.
        pieces = self.collect_usage_pieces(ctx)  # type: ignore[attr-defined]
        formatter.write_usage(ctx.command_path, " ".join(pieces), prefix=_("Usage:") + " ")


class _Command(TranslatedHelp, typer.core.TyperCommand):
    """A command whose help is translated (every scanlab command)."""


class _Group(TranslatedHelp, typer.core.TyperGroup):
    """A group of commands whose help is translated."""


def help_texts(command: Any) -> list[str]:
    """The help texts of ``command`` (a click command) and its parameters, and for a group
    those of its translated commands (what ``--help`` lists)."""
    texts = [command.help, command.short_help]
    texts += [getattr(p, "help", None) for p in command.params]
    for sub in getattr(command, "commands", {}).values():
        if isinstance(sub, TranslatedHelp):
            texts += [getattr(sub, "help", None), getattr(sub, "short_help", None)]
    return [t for t in texts if t]


#: Typer's and click's own words in a help page (module constants of ``typer.rich_utils``
#: and the ``--help`` option's help), as messages of scanlab's catalogue.
_HELP_WORDS = {
    "ARGUMENTS_PANEL_TITLE": N_("Arguments"),
    "OPTIONS_PANEL_TITLE": N_("Options"),
    "COMMANDS_PANEL_TITLE": N_("Commands"),
    "REQUIRED_LONG_STRING": N_("[required]"),
    "DEFAULT_STRING": N_("[default: {}]"),
}
_HELP_OPTION = N_("Show this message and exit.")


@contextmanager
def _help_translated(command: Any, ctx: Any) -> Iterator[None]:
    import typer.rich_utils

    subs = [c for c in getattr(command, "commands", {}).values() if isinstance(c, TranslatedHelp)]
    fields = [(c, a) for c in (command, *subs) for a in ("help", "short_help")]
    fields += [(p, "help") for p in command.get_params(ctx) if getattr(p, "help", None)]
    fields += [(typer.rich_utils, name) for name in _HELP_WORDS]
    saved = [(obj, attr, getattr(obj, attr)) for obj, attr in fields]
    try:
        for obj, attr, text in saved:
            if text:
                setattr(
                    obj, attr, _(_HELP_WORDS.get(attr, text) if obj is typer.rich_utils else text)
                )
        yield
    finally:
        for obj, attr, text in saved:
            setattr(obj, attr, text)


app = typer.Typer(
    cls=_Group,
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


PitchOption = Annotated[
    str | None,
    typer.Option(
        "--pitch",
        help="Pixel pitch of the scans in mm, 'ROW' or 'ROW,COL' (overrides their metadata; "
        "default: metadata, else estimated from the ISO container, else 5 mm).",
    ),
]


def _pitch_mm(text: str | None) -> float | tuple[float, float] | None:
    """``--pitch`` as mm: one value or a (row, col) pair, each in (0, 1000)."""
    if text is None:
        return None
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise typer.BadParameter(
            _("--pitch must be mm as 'ROW' or 'ROW,COL', got {text!r}").format(text=text)
        ) from None
    if len(values) not in (1, 2) or not all(0 < v < 1000 for v in values):
        raise typer.BadParameter(
            _("--pitch must be one or two sizes in (0, 1000) mm, got {text!r}").format(text=text)
        )
    return values[0] if len(values) == 1 else (values[0], values[1])


def _error() -> str:
    return "[red]" + _("error:") + "[/red]"


def _warning() -> str:
    return "[yellow]" + _("warning:") + "[/yellow]"


def _fail(exc: ScanlabError) -> typer.Exit:
    err_console.print(f"{_error()} {exc}")
    return typer.Exit(code=1)


LangOption = Annotated[
    str | None,
    typer.Option(
        "--lang",
        help="Language: en, ru, ky, fa (Dari) or ps (Pashto); default $SCANLAB_LANG, else the "
        "system locale, else English.",
    ),
]


PassphraseFileOption = Annotated[
    Path | None,
    typer.Option(
        "--passphrase-file",
        help="File whose first line is the instructor passphrase, readable by you only "
        "(chmod 600); else $SCANLAB_PASSPHRASE, else asked. Never on the command line.",
    ),
]


def _passphrase(file: Path | None, *, confirm: bool = False) -> str:
    """The instructor passphrase from a 0600 file, the environment or a prompt: never from
    the command line, where ``ps`` and the shell history would show it."""
    from scanlab.exercises import read_passphrase_file

    if file is not None:
        try:
            return read_passphrase_file(file)
        except ScanlabError as exc:
            raise _fail(exc) from None
    given = os.environ.get("SCANLAB_PASSPHRASE")
    if given:
        return given
    return str(
        typer.prompt(_("instructor passphrase"), hide_input=True, confirmation_prompt=confirm)
    )


def _fmt_tuple(values: tuple[float, ...] | None, unit: str = "") -> str:
    if not values:
        return "-"
    return " / ".join(f"{v:g}" for v in values) + unit


def info_table(paths: list[Path]) -> tuple[Table, list[tuple[Path, ScanlabError]]]:
    """A table of the scans at ``paths``, and the errors of those that could not be read."""
    from scanlab.io import detect_format, read_scan

    table = Table(title="scanlab info")
    for col in (
        _("file"),
        _("format"),
        _("shape"),
        _("dtype"),
        _("channels"),
        _("values"),
        _("MeV"),
        _("pitch mm"),
        _("value range"),
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


@app.command(cls=_Command)
def info(files: Annotated[list[Path], typer.Argument(help="Scan files, any format.")]) -> None:
    """Show shape, type, channels, energies, pitch and value range of scans."""
    table, failures = info_table(files)
    if table.row_count:
        console.print(table)
    for _path, exc in failures:
        err_console.print(f"{_error()} {exc}")
    if failures:
        raise typer.Exit(code=1)


@app.command(cls=_Command)
def convert(
    inputs: Annotated[list[Path], typer.Argument(help="Input scans, then the output.")],
    to: Annotated[
        str | None, typer.Option(help="Output format when OUT is a folder (e.g. tiff, dicos).")
    ] = None,
) -> None:
    """Convert scans between formats: ``convert IN OUT`` or ``convert IN... OUTDIR --to FMT``."""
    from scanlab.io import formats, read_scan, write_scan

    if len(inputs) < 2:
        raise typer.BadParameter(_("give at least one input and an output"))
    *sources, target = inputs
    jobs: list[tuple[Path, Path]] = []
    if len(sources) == 1 and not target.is_dir() and to is None:
        jobs.append((sources[0], target))
    else:
        known = formats()
        writable = sorted(n for n, f in known.items() if f.write)
        if to not in writable:
            raise typer.BadParameter(
                _("--to must name a writable format: {formats}").format(formats=writable)
            )
        target.mkdir(parents=True, exist_ok=True)
        ext = known[to].extensions[0]
        jobs = [(src, target / (src.name.split(".")[0] + ext)) for src in sources]
    failures = 0
    with progress_bar() as bar:
        task = bar.add_task(_("converting"), total=len(jobs), visible=len(jobs) > 1)
        for src, dst in jobs:
            try:
                write_scan(read_scan(src), dst, format=to)
            except ScanlabError as exc:
                failures += 1
                err_console.print(f"{_error()} {exc}")
            bar.advance(task)
    if failures:
        raise typer.Exit(code=1)
    console.print(_("converted {count} scan(s)").format(count=len(jobs) - failures))


@app.command(cls=_Command)
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
        raise typer.BadParameter(_("give at least one input and an output"))
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
        task = bar.add_task(
            _("enhancing ({pipeline})").format(pipeline=pipe.name),
            total=len(jobs),
            visible=len(jobs) > 1,
        )
        for src, dst in jobs:
            try:
                enhance_file(src, dst, pipe)
            except ScanlabError as exc:
                failures += 1
                err_console.print(f"{_error()} {exc}")
            bar.advance(task)
    console.print(
        _("enhanced {count} scan(s) with {pipeline!r}").format(
            count=len(jobs) - failures, pipeline=pipe.name
        )
    )
    if failures:
        raise typer.Exit(code=1)


HostsOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--hosts",
        help="A folder (or file) of your own clean scans to project threats into; repeat for "
        "more. Sets the spec's hosts.paths (all items on hosts unless the spec's hosts.share "
        "says otherwise).",
    ),
]


def _with_hosts(block: dict[str, Any] | None, paths: list[Path]) -> dict[str, Any]:
    return {**(block or {}), "paths": [str(p.resolve()) for p in paths]}


@app.command(cls=_Command)
def synth(
    spec: Annotated[str, typer.Argument(help="A shipped spec name or a YAML/JSON spec file.")],
    out: Annotated[Path, typer.Argument(help="Output folder (scans, keys, manifest.json).")],
    count: Annotated[int | None, typer.Option(help="Override the spec's number of scans.")] = None,
    hosts: HostsOption = None,
) -> None:
    """Simulate a dataset of scans with answer keys and a manifest.

    With hosts (in the spec or --hosts), items are made on your own clean scans by threat
    image projection.
    """
    from scanlab.synth import build_dataset, load_dataset_spec

    try:
        dataset = load_dataset_spec(spec)
        if count is not None:
            dataset.count = count
        if hosts:
            dataset.hosts = _with_hosts(dataset.hosts, hosts)
        if count is not None or hosts:
            dataset.check(source=spec)
        with progress_bar() as bar:
            task = bar.add_task(
                _("simulating {dataset}").format(dataset=dataset.name), total=dataset.count
            )
            manifest = build_dataset(
                dataset, out, progress=lambda done, total: bar.update(task, completed=done)
            )
    except ScanlabError as exc:
        raise _fail(exc) from None
    console.print(
        _("wrote {count} scans and {manifest}").format(count=dataset.count, manifest=manifest)
    )


def _fa_list(text: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise typer.BadParameter(
            _("--fa takes rates separated by commas, got {text!r}").format(text=text)
        ) from None
    if not values or not all(0.0 < v < 1.0 for v in values):
        raise typer.BadParameter(
            _("--fa rates must lie strictly between 0 and 1, got {text!r}").format(text=text)
        )
    return values


@app.command(cls=_Command)
def evaluate(
    dataset: Annotated[
        Path | None, typer.Argument(help="A dataset folder or its manifest.json.")
    ] = None,
    detector: Annotated[
        list[str] | None,
        typer.Option(
            "--detector",
            "-d",
            help="Detector name or weights folder, a baseline (local-background, padim), or "
            "file.py:factory for your own (repeat to compare).",
        ),
    ] = None,
    fa: Annotated[
        str, typer.Option("--fa", help="False-alarm rates of the detection rates, e.g. 0.01,0.05.")
    ] = "0.01,0.05",
    input_mode: Annotated[
        str,
        typer.Option("--input", help="Read scans as-recorded, as single energy or as display."),
    ] = "as-recorded",
    pitch: PitchOption = None,
    match: Annotated[
        str, typer.Option(help="How a region hits an object: overlap or centroid.")
    ] = "overlap",
    bootstrap: Annotated[int, typer.Option(help="Bootstrap resamples per interval.")] = 1000,
    overlays: Annotated[
        int, typer.Option(help="Top false alarms and misses drawn per detector.")
    ] = 3,
    baseline_data: Annotated[
        Path | None,
        typer.Option(help="Clean scans to fit the baselines on (default: the recipe's)."),
    ] = None,
    cohort: Annotated[
        list[Path] | None,
        typer.Option(help="Graded exam results (scanlab exam grade) to aggregate (repeat)."),
    ] = None,
    name: Annotated[
        list[str] | None,
        typer.Option("--name", help="A label per --cohort, in order (default: the file name)."),
    ] = None,
    assisted: Annotated[
        list[str] | None,
        typer.Option(
            help="A trainee who worked with Detector assist (repeat); the rest without. "
            "Default: the assignment in the exam package, as grading recorded it."
        ),
    ] = None,
    package: Annotated[
        list[Path] | None,
        typer.Option(help="Exam packages of the cohorts, to grade the detector on them too."),
    ] = None,
    out: Annotated[Path, typer.Option(help="Output folder (results, tables, plots, HTML).")] = Path(
        "evaluation"
    ),
    scheduler: Annotated[
        str | None,
        typer.Option(
            help="A running Dask scheduler: tcp://host:port (or host:port, tls://host:port), "
            "or the scheduler file it wrote (dask scheduler --scheduler-file sched.json)."
        ),
    ] = None,
    workers: Annotated[int, typer.Option(help="Local Dask workers (0: in this process).")] = 2,
    threads_per_worker: Annotated[
        int | None, typer.Option(help="Threads per worker (default: cores / workers).")
    ] = None,
    limit: Annotated[int | None, typer.Option(help="Evaluate only the first N scans.")] = None,
    passphrase_file: PassphraseFileOption = None,
) -> None:
    """Evaluate and compare detectors over a dataset on Dask (resumable), and/or aggregate
    graded cohorts and compare them with a detector on the same items."""
    detectors = detector or []
    if dataset is None and not cohort:
        raise typer.BadParameter(_("give a DATASET to evaluate detectors on, or --cohort files"))
    if dataset is not None:
        if not detectors:
            raise typer.BadParameter(_("name at least one --detector to evaluate on the dataset"))
        options = {
            "scheduler": scheduler,
            "workers": workers,
            "threads_per_worker": threads_per_worker,
            "limit": limit,
            "fprs": _fa_list(fa),
            "input_mode": input_mode,
            "pitch_mm": _pitch_mm(pitch),
            "matching_rule": match,
            "n_bootstrap": bootstrap,
            "n_overlays": overlays,
            "baseline_data": baseline_data,
        }
        _evaluate_detectors(dataset, detectors, out, options)
    if cohort:
        if name and len(name) != len(cohort):
            raise typer.BadParameter(
                _("give one --name per --cohort ({count}), or none").format(count=len(cohort))
            )
        _compare_cohorts(
            cohort,
            name or [],
            assisted or None,
            package or [],
            detectors,
            passphrase_file,
            out / "cohorts",
        )


def _evaluate_detectors(
    dataset: Path, detectors: list[str], out: Path, options: dict[str, Any]
) -> None:
    from scanlab.evaluate import evaluate_dataset

    try:
        with progress_bar() as bar:
            task = bar.add_task(_("evaluating"), total=None)
            results = evaluate_dataset(
                dataset,
                detectors,
                out,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
                **options,
            )
    except ScanlabError as exc:
        raise _fail(exc) from None
    console.print(evaluation_table(results, detectors))
    if results.comparisons:
        console.print(comparison_table(results.comparisons))
    for n in detectors:
        for warning in results.metrics[n].get("warnings", []):
            err_console.print(f"{_warning()} {n}: {warning}")
    for err in results.errors:
        skipped = _("skipped {scan} ({detector}): {error}").format(
            scan=err["scan_id"], detector=err["detector"], error=err["error"]
        )
        err_console.print(f"[yellow]{skipped}[/yellow]")
    console.print(_("report: {path}").format(path=out / "report.html"))
    if results.errors:
        # The report covers what ran; the exit status says not everything did (a rerun
        # retries the failed items).
        err_console.print(
            f"{_error()} "
            + _("{count} item(s) failed; fix them and run again").format(count=len(results.errors))
        )
        raise typer.Exit(code=1)


def evaluation_table(results: Any, detectors: list[str]) -> Table:
    """The metrics of a batch evaluation, one column per detector: in English by their keys
    (as ``metrics.json`` has them, which scripts read), in another language by name."""
    from scanlab.evaluate._report import metric_label
    from scanlab.i18n import get_language

    def label(key: str) -> str:
        return key if get_language() == "en" else metric_label(key, _)

    table = Table(title=_("detector evaluation (95 % bootstrap intervals)"))
    table.add_column(_("metric"))
    for n in detectors:
        table.add_column(n)
    for key in results.metrics[detectors[0]]:
        values: list[Any] = [results.metrics[n].get(key) for n in detectors]
        if all(isinstance(v, dict) and "value" in v for v in values):
            table.add_row(
                label(key),
                *(f"{v['value']:.3f} [{v['low']:.3f}, {v['high']:.3f}]" for v in values),
            )
        elif all(isinstance(v, int | float) for v in values):
            table.add_row(label(key), *(f"{v:g}" for v in values))
    return table


def comparison_table(comparisons: list[dict[str, Any]]) -> Table:
    """Paired comparisons: AUROC difference, bootstrap and DeLong, McNemar per FA rate."""
    table = Table(title=_("paired comparison on the same scans"))
    fprs = sorted({f for c in comparisons for f in c.get("mcnemar", {})}, key=float)
    for col in ("a - b", _("AUROC diff."), _("paired bootstrap 95 %"), _("DeLong p")):
        table.add_column(col)
    for f in fprs:
        table.add_column(_("McNemar @{rate} FA (a/b only, p)").format(rate=f"{float(f):.1%}"))
    for c in comparisons:
        if "delong" not in c:
            table.add_row(f"{c['a']} - {c['b']}", c.get("note", ""))
            continue
        table.add_row(
            f"{c['a']} - {c['b']}",
            f"{c['auroc_difference']:+.3f}",
            f"[{c['bootstrap']['low']:+.3f}, {c['bootstrap']['high']:+.3f}]",
            f"{c['delong']['p_value']:.3g}",
            *(
                f"{c['mcnemar'][f]['only_a']}/{c['mcnemar'][f]['only_b']}, "
                f"p={c['mcnemar'][f]['p_value']:.3g}"
                for f in fprs
            ),
        )
    return table


def _compare_cohorts(
    cohorts: list[Path],
    names: list[str],
    assisted: list[str] | None,
    packages: list[Path],
    detectors: list[str],
    passphrase_file: Path | None,
    out: Path,
) -> None:
    from scanlab.exercises import ExamPackage, compare_cohorts, write_cohort_report

    try:
        detector = None
        if detectors and packages:
            from scanlab.detect import load_detector

            detector = load_detector(detectors[0])
        opened = {p.exam_id: p for p in (ExamPackage.open(path) for path in packages)}
        comparison = compare_cohorts(
            cohorts,
            names=names or None,
            assisted=assisted,
            detector=detector,
            packages=dict(opened),
            passphrase=_passphrase(passphrase_file) if detector else None,
        )
        write_cohort_report(comparison, out)
    except ScanlabError as exc:
        raise _fail(exc) from None
    table = Table(title=_("cohorts"))
    for col in (
        _("cohort"),
        _("exam"),
        _("trainees"),
        _("hit rate"),
        _("false-alarm rate"),
        _("detector hit rate"),
    ):
        table.add_column(col)
    for c in comparison.cohorts:
        hit, fa = c.get("hit_rate"), c.get("false_alarm_rate")
        machine = c.get("detector") or {}
        table.add_row(
            c["cohort"],
            c["exam"],
            str(c["trainees"]),
            f"{hit[0]:.2f}" if hit else "-",
            f"{fa[0]:.2f}" if fa else "-",
            f"{machine['hit_rate']:.2f}" if machine else "-",
        )
    console.print(table)
    if comparison.assist:
        from scanlab.exercises._cohorts import _adherence_text

        assist = Table(title=_("with and without Detector assist, same items (95 % intervals)"))
        for col in (_("cohort"), _("basis"), _("group"), _("trainees"), _("hit rate"),
                    _("false-alarm rate"), _("d'")):  # fmt: skip
            assist.add_column(col)
        groups = {"with": _("with"), "without": _("without"), "difference": _("with - without")}
        bases = {"assigned": _("as assigned"), "used": _("as used")}
        for a in comparison.assist:
            for basis, entry in (("assigned", a), ("used", a["used"])):
                if entry is None:
                    continue
                for group in ("with", "without", "difference"):
                    g = entry[group]
                    who = str(g.get("trainees", ""))
                    if "trainee_items" in g:
                        n = g["trainee_items"]
                        who = ngettext(
                            "{trainees} ({count} trainee-item)",
                            "{trainees} ({count} trainee-items)",
                            n,
                        ).format(trainees=who, count=n)
                    assist.add_row(
                        a["cohort"],
                        bases[basis],
                        groups[group],
                        who,
                        _interval_text(g["hit_rate"]),
                        _interval_text(g["false_alarm_rate"]),
                        _interval_text(g["d_prime"]),
                    )
        console.print(assist)
        for a in comparison.assist:
            if a["used"] is None:
                console.print(
                    _("{cohort}: the submissions do not record Detector assist use").format(
                        cohort=a["cohort"]
                    )
                )
            else:
                ad = a["used"]["adherence"]
                console.print(
                    f"{a['cohort']}: {_adherence_text(ad['assigned'], assigned=True)}; "
                    f"{_adherence_text(ad['not_assigned'], assigned=False)}"
                )
    console.print(_("cohort report: {path}").format(path=out / "cohorts.html"))


def _interval_text(v: Any) -> str:
    return f"{v[0]:.2f} [{v[1]:.2f}, {v[2]:.2f}]" if v else "-"


@app.command(cls=_Command)
def train(
    config: Annotated[str, typer.Argument(help="A shipped recipe name or a YAML/JSON recipe.")],
    out: Annotated[
        Path | None, typer.Option(help="Weights folder; default models/<name> of the repository.")
    ] = None,
    cache: Annotated[
        Path | None,
        typer.Option(help="Simulated data and checkpoints; default $SCANLAB_CACHE or ~/.cache."),
    ] = None,
    device: Annotated[
        str | None, typer.Option(help="Torch device (cpu, cuda); default CUDA when present.")
    ] = None,
) -> None:
    """Train a detector from scratch by a recipe (data spec, seed, epochs); resumes from the
    last checkpoint. Writes weights, model card and recipe."""
    from scanlab.detect import train as train_detector

    try:
        with progress_bar() as bar:
            tasks: dict[str, Any] = {}

            def progress(stage: str, done: int, total: int) -> None:
                if stage not in tasks:
                    label = {"train": "training", "calibrate": "calibrating"}.get(
                        stage, f"simulating {stage.removeprefix('data:')} data"
                    )
                    tasks[stage] = bar.add_task(label, total=total)
                bar.update(tasks[stage], completed=done)

            result = train_detector(
                config, out_dir=out, cache_dir=cache, device=device, progress=progress
            )
    except ScanlabError as exc:
        raise _fail(exc) from None
    table = Table(
        title=_("{model}: thresholds at {rate} false alarms on clean scans").format(
            model=result.card.name, rate=f"{result.card.false_alarm_rate:.0%}"
        )
    )
    table.add_column(_("input"))
    table.add_column(_("threshold"), justify="right")
    for mode, value in result.card.thresholds.items():
        table.add_row(mode, f"{value:.4f}")
    console.print(table)
    final = result.card.training.get("final", {})
    console.print(
        _(
            "trained {steps} steps in {seconds:.0f} s; validation Dice {dice:.3f}; wrote {path}"
        ).format(
            steps=result.card.training["steps"],
            seconds=result.card.training["wall_seconds"],
            dice=final.get("val_dice", float("nan")),
            path=result.out_dir,
        )
    )


@app.command(cls=_Command)
def adapt(
    clean: Annotated[
        list[Path], typer.Argument(help="Clean scans of the site, any format (JPEG exports too).")
    ],
    out: Annotated[Path, typer.Option(help="Folder of the adapted model, e.g. models/<site>.")],
    model: Annotated[str, typer.Option(help="Model to start from.")] = "cargo-anomaly-v2",
    pitch: PitchOption = None,
    steps: Annotated[int, typer.Option(min=1, help="Fine-tuning steps.")] = 1200,
    false_alarm_rate: Annotated[
        float, typer.Option(help="Share of held-out clean scans the threshold may flag.")
    ] = 0.01,
    heldout: Annotated[
        float, typer.Option(help="Share of the scans held out to calibrate and measure.")
    ] = 0.2,
    seed: Annotated[int, typer.Option(help="Seed of the split, sampling and projection.")] = 0,
    threads: Annotated[int, typer.Option(min=1, help="CPU threads for torch.")] = 2,
    device: Annotated[str | None, typer.Option(help="Torch device (default: auto).")] = None,
) -> None:
    """Fine-tune a detector on a site's own clean scans (no labels: library threats are
    projected into them), calibrate its threshold on held-out ones; resumes if interrupted."""
    from scanlab.detect import AdaptConfig
    from scanlab.detect import adapt as adapt_detector

    config = AdaptConfig(
        steps=steps,
        false_alarm_rate=false_alarm_rate,
        heldout_share=heldout,
        seed=seed,
        threads=threads,
    )
    labels = {"read": _("reading scans"), "train": _("fine-tuning"), "measure": _("calibrating")}
    try:
        with progress_bar() as bar:
            tasks: dict[str, Any] = {}

            def progress(stage: str, done: int, total: int) -> None:
                if stage not in tasks:
                    tasks[stage] = bar.add_task(labels.get(stage, stage), total=total)
                bar.update(tasks[stage], completed=done)

            result = adapt_detector(
                clean,
                out,
                base=model,
                pitch_mm=_pitch_mm(pitch),
                config=config,
                device=device,
                progress=progress,
            )
    except ScanlabError as exc:
        raise _fail(exc) from None
    m = result.metrics
    before = m.get("before_adaptation", {})
    mode, threshold = next(iter(result.card.thresholds.items()))
    console.print(
        _(
            "{model}: {mode} threshold {threshold:.4f} at {rate} false alarms on {count} "
            "held-out clean scans; false alarms (cross-fitted) {cross_fitted}, projected "
            "threats found {found}, image AUROC {auroc:.3f} (before: {rate_before} false "
            "alarms, AUROC {auroc_before:.3f}); wrote {path}"
        ).format(
            model=result.card.name,
            mode=mode,
            threshold=threshold,
            rate=f"{false_alarm_rate:.0%}",
            count=m["n_scans"],
            cross_fitted=f"{m['false_alarm_rate_cross_fitted']:.1%}",
            found=f"{m['tip_found_at_threshold']:.0%}",
            auroc=m["tip_image_auroc"],
            rate_before=f"{before.get('false_alarm_rate_at_its_threshold', float('nan')):.0%}",
            auroc_before=before.get("tip_image_auroc", float("nan")),
            path=result.out_dir,
        )
    )


@app.command(cls=_Command)
def detect(
    scans: Annotated[list[Path], typer.Argument(help="Scan files, any format (JPEG/PNG too).")],
    out: Annotated[Path, typer.Option(help="Folder for anomaly maps (TIFF) and regions (JSON).")],
    model: Annotated[
        str, typer.Option(help="Weights name in models/ or a weights folder.")
    ] = "cargo-anomaly-v2",
    threshold: Annotated[
        float | None, typer.Option(help="Override the calibrated threshold.")
    ] = None,
    pitch: PitchOption = None,
) -> None:
    """Run the anomaly detector on scans: an anomaly map and regions per scan.

    The pitch of each scan comes from --pitch, else its metadata, else the ISO container
    in the image (exports without metadata), else 5 mm; the table says which. A scan unlike
    the model's calibration scans is reported as not calibrated instead of flagged."""
    from scanlab.detect import detect_files, load_detector

    try:
        detector = load_detector(model, scan_pitch_mm=_pitch_mm(pitch))
    except ScanlabError as exc:
        raise _fail(exc) from None
    if threshold is not None:
        if not 0.0 < threshold <= 1.0:
            raise typer.BadParameter(_("--threshold must be in (0, 1]"))
        detector.card.thresholds = dict.fromkeys(detector.card.thresholds, threshold)
    failures: list[Path] = []

    def failed(path: Path, exc: ScanlabError) -> None:
        failures.append(path)
        err_console.print(f"{_error()} {exc}")

    with progress_bar() as bar:
        task = bar.add_task(
            _("detecting ({detector})").format(detector=detector.name), total=len(scans)
        )
        done = detect_files(
            scans,
            out,
            detector=detector,
            progress=lambda i, n: bar.update(task, completed=i),
            on_error=failed,
        )
    table = Table(
        title=_("{detector} on {count} scan(s)").format(detector=detector.name, count=len(done))
    )
    columns = (N_("scan"), N_("input"), N_("pitch mm"), N_("score"), N_("threshold"),
               N_("flagged"), N_("regions"))  # fmt: skip
    for column in columns:
        table.add_column(_(column), justify="left" if column in ("scan", "input") else "right")
    for item in done:
        d = item.detection
        if not d.in_domain:
            flagged = "[yellow]" + _("not calibrated") + "[/yellow]"
        else:
            flagged = "[red]" + _("yes") + "[/red]" if d.is_anomalous else _("no")
        table.add_row(
            item.source.name,
            d.input_mode,
            f"{_fmt_tuple(d.pitch_mm)} ({d.pitch_source})" if d.pitch_mm else "",
            f"{d.score:.3f}",
            f"{d.threshold:.3f}",
            flagged,
            str(len(d.regions)),
        )
    console.print(table)
    for item in done:
        for warning in item.detection.warnings:
            err_console.print(f"{_warning()} {item.source.name}: {warning}")
    console.print(_("wrote {count} file(s) to {path}").format(count=2 * len(done), path=out))
    if failures:
        raise typer.Exit(code=1)


exam_app = typer.Typer(
    cls=_Group, help="Instructors: build exam packages, grade a class, write reports."
)
app.add_typer(exam_app, name="exam")


@exam_app.command("build", cls=_Command)
def exam_build(
    spec: Annotated[str, typer.Argument(help="An exam spec name (exam-easy...) or file.")],
    out: Annotated[Path, typer.Argument(help="The exam package file to write (.zip).")],
    passphrase_file: PassphraseFileOption = None,
    hosts: HostsOption = None,
    assisted: Annotated[
        list[str] | None,
        typer.Option(
            help="A trainee who sits the exam with Detector assist (repeat); the others "
            "without. Replaces the spec's 'assisted' list.",
        ),
    ] = None,
) -> None:
    """Simulate an exam's scans and pack them with encrypted answer keys, signed.

    With hosts (in the spec or --hosts), items are made on your own clean scans by threat
    image projection; confidential hosts are sealed under a scan code (printed here). The
    assist assignment (the spec's 'assisted' or --assisted) is signed into the package: the
    napari Exercise widget shows Detector assist to those trainees only, and the cohort
    report compares them with the others.
    """
    from scanlab.exercises import ExamPackage, ExamSpec, build_exam, load_exam_spec

    secret = _passphrase(passphrase_file, confirm=True)
    try:
        exam: ExamSpec | str = spec
        if hosts or assisted:
            loaded = load_exam_spec(spec)
            changes: dict[str, Any] = {}
            if hosts:
                changes["hosts"] = _with_hosts(loaded.hosts, hosts)
            if assisted:
                changes["assisted"] = assisted
            exam = ExamSpec.from_dict({**loaded.to_dict(), **changes}, source=spec)
        with progress_bar() as bar:
            task = bar.add_task(_("building exam"), total=None)
            path = build_exam(
                exam,
                out,
                secret,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
        package = ExamPackage.open(path)
    except ScanlabError as exc:
        raise _fail(exc) from None
    console.print(_("wrote {path}: {count} items").format(path=path, count=len(package.item_ids)))
    console.print(
        _("fingerprint (print it on the exam sheet): {fingerprint}").format(
            fingerprint=package.fingerprint
        )
    )
    if package.assisted:
        console.print(
            _("with Detector assist: {trainees}; every other trainee without").format(
                trainees=", ".join(sorted(package.assisted))
            )
        )
    keys = package.keys(secret)
    checked = keys.projection_check()
    if checked:
        odd = sorted({c["item_id"] for c in checked if not c["plausible"]})
        console.print(
            # Not in the catalogues yet: printed in English until they are updated.
            "projection check: {ok} of {n} projected threats have edges like the host's own"
            "{more}".format(
                ok=len(checked) - sum(not c["plausible"] for c in checked),
                n=len(checked),
                more=f"; look at {', '.join(odd)} before use" if odd else "",
            )
        )
    if package.sealed:
        code = keys.scan_code()
        console.print(_("scan code (hand it out when the exam starts): {code}").format(code=code))


@exam_app.command("tokens", cls=_Command)
def exam_tokens(
    package: Annotated[Path, typer.Argument(help="The exam package.")],
    trainees: Annotated[list[str], typer.Argument(help="Trainee ids.")],
    passphrase_file: PassphraseFileOption = None,
) -> None:
    """Print each trainee's signing token for this exam (hand them out on paper)."""
    from scanlab.exercises import ExamPackage

    try:
        pkg = ExamPackage.open(package)
        keys = pkg.keys(_passphrase(passphrase_file))
    except ScanlabError as exc:
        raise _fail(exc) from None
    table = Table(title=_("tokens for {exam}").format(exam=package.name))
    table.add_column(_("trainee"))
    table.add_column(_("token"))
    if pkg.assisted:
        table.add_column(_("Detector assist"))
    for trainee in trainees:
        assist = [_("with") if pkg.assist_for(trainee) else _("without")] if pkg.assisted else []
        table.add_row(trainee, keys.token(trainee), *assist)
    console.print(table)


@exam_app.command("simulate", cls=_Command)
def exam_simulate(
    package: Annotated[Path, typer.Argument(help="The exam package.")],
    out: Annotated[Path, typer.Argument(help="The submission file to write.")],
    behaviour: Annotated[
        str, typer.Option(help="perfect, random, misses:<class>, clicks_everywhere")
    ] = "perfect",
    seed: Annotated[int, typer.Option(help="Seed of the simulated trainee.")] = 0,
    trainee: Annotated[str | None, typer.Option(help="Trainee id (default: behaviour).")] = None,
    passphrase_file: PassphraseFileOption = None,
) -> None:
    """Write the signed submission of a simulated trainee with known behaviour."""
    from scanlab.exercises import ExamPackage, simulate_trainee

    try:
        pkg = ExamPackage.open(package)
        keys = pkg.keys(_passphrase(passphrase_file))
        sub = simulate_trainee(pkg, behaviour, seed=seed, passphrase=keys, trainee_id=trainee)
        sub.submit(out, token=keys.token(sub.trainee_id))
    except ScanlabError as exc:
        raise _fail(exc) from None
    console.print(_("wrote {path} ({trainee})").format(path=out, trainee=sub.trainee_id))


@exam_app.command("grade", cls=_Command)
def exam_grade(
    package: Annotated[Path, typer.Argument(help="The exam package.")],
    submissions: Annotated[list[Path], typer.Argument(help="Signed submission files.")],
    out: Annotated[Path, typer.Option(help="Results file (JSON).")] = Path("results.json"),
    rule: Annotated[str, typer.Option(help="Matching rule: overlap or centroid.")] = "overlap",
    min_iou: Annotated[float, typer.Option(help="Overlap rule: least IoU for a hit.")] = 0.1,
    passphrase_file: PassphraseFileOption = None,
) -> None:
    """Grade a class: match marks to the keys, score hits, false alarms, d' and A'."""
    from scanlab.exercises import grade

    try:
        secret = _passphrase(passphrase_file)
        results = grade(package, submissions, secret, rule=rule, min_iou=min_iou)
        results.save(out)
    except ScanlabError as exc:
        raise _fail(exc) from None
    table = Table(title=_("graded {count} submission(s)").format(count=len(results.trainees)))
    design = any(t.assisted for t in results.trainees)  # the package assigns Detector assist
    for col in (
        _("trainee"),
        _("hit rate"),
        _("false alarms / clean scan"),
        _("d'"),
        _("reliability"),
    ):
        table.add_column(col)
    if design:
        table.add_column(_("Detector assist"))
    for t in results.trainees:
        sc = t.overall
        table.add_row(
            t.trainee_id,
            f"{sc.hits}/{sc.n_signal}",
            f"{sc.false_alarms}/{sc.n_noise}",
            f"{sc.d_prime:.2f}",
            sc.reliability.split(":")[0],
            *([_("with") if t.assisted else _("without")] if design else []),
        )
    console.print(table)
    console.print(_("results in {path}").format(path=out))


@exam_app.command("report", cls=_Command)
def exam_report(
    results: Annotated[list[Path], typer.Argument(help="Results files of one or more exams.")],
    out: Annotated[Path, typer.Option(help="Report folder.")] = Path("class-report"),
    lang: LangOption = None,
) -> None:
    """Write the class report (HTML, CSV, charts); several exams give a progress chart."""
    from scanlab.exercises import write_report
    from scanlab.i18n import set_language

    try:
        set_language(lang)
        paths = write_report(results, out, lang=lang)
    except ScanlabError as exc:
        raise _fail(exc) from None
    console.print(
        _("wrote {count} files; open {path}").format(count=len(paths), path=out / "report.html")
    )


@app.command(cls=_Command)
def gui(
    path: Annotated[
        Path | None,
        typer.Argument(help="A scan, an exam package (.zip) or an exercise folder to open."),
    ] = None,
    pitch: PitchOption = None,
    fingerprint: Annotated[
        str | None,
        typer.Option(help="The exam's fingerprint (scanlab exam build prints it): pins it."),
    ] = None,
    lang: LangOption = None,
    preset: Annotated[
        str,
        typer.Option(help="The preset every scan opens through (F1-F6 switch); 'none': as read."),
    ] = "standard",
) -> None:
    """Open napari with scanlab's widgets docked (Enhance, Inspect, Detector assist, Exercise)."""
    from scanlab.enhance import load_preset
    from scanlab.napari_plugin._launch import launch

    pitch_mm = _pitch_mm(pitch)
    try:
        if preset != "none":
            load_preset(preset)  # an unknown name is refused before napari starts
        pitch_option = {"scan_pitch_mm": pitch_mm} if pitch_mm is not None else {}
        launch(
            path,
            fingerprint=fingerprint,
            lang=lang,
            preset=None if preset == "none" else preset,
            **pitch_option,
        )
    except ScanlabError as exc:
        raise _fail(exc) from None


@app.command(cls=_Command)
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
