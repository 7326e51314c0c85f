"""The README's detector table, every row from ``scanlab evaluate``.

Builds the held-out set with ``scanlab synth heldout`` (once), runs one ``scanlab evaluate``
per input mode (dual energy with the baselines, single energy, 8-bit display), prints each
command before it runs, and prints the table in the README's Markdown from the
``metrics.json`` files those commands write (a value with its 95 % bootstrap interval).
Results are kept in ``--out``: a rerun resumes and only recomputes the table.

A row is one entry of ``RUNS``; ``--detector NAME`` adds a detector (a new model, e.g.
``cargo-anomaly-v2``) to every run, and ``--only NAME`` keeps only the named detectors in
every run (a model's rows without recomputing the others'); ``--input display`` runs only
that input mode's ``scanlab evaluate`` (repeat for more). Runs serially in this process
(``--workers 0``) at low priority; the full table (200 + 100 + 100 scans, PaDiM fitted on 60
clean training scans) takes about two hours on 2 cores busy with other jobs (1-14 s per scan
and detector).

Run: .venv/bin/python benchmarks/detector_table.py [--count 200] [--mode-count 100]
     [--detector cargo-anomaly-v2] [--only cargo-anomaly-v2] [--input display]
     [--out detector-table]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, NamedTuple


class Run(NamedTuple):
    label: str  # the table's "input" column
    input_mode: str  # scanlab evaluate --input
    detectors: tuple[str, ...]
    count_option: str  # which of --count / --mode-count limits it


RUNS = (
    Run("dual energy", "as-recorded", ("cargo-anomaly-v1", "local-background", "padim"), "count"),
    Run("single energy", "single", ("cargo-anomaly-v1",), "mode_count"),
    Run("8-bit display", "display", ("cargo-anomaly-v1",), "mode_count"),
)
METHOD_NAMES = {
    "local-background": "local background statistics",
    "padim": "PaDiM over the U-Net encoder",
}
FPR = 0.01  # the table's detection rate is at 1 % false alarms
COLUMNS = ("image_auroc", f"detection_rate_at_fpr_{FPR:g}", "pixel_auroc", "aupro_0.3")


def _scanlab() -> list[str]:
    """The ``scanlab`` command of this interpreter's environment."""
    beside = Path(sys.executable).with_name("scanlab")
    return [str(beside)] if beside.exists() else [shutil.which("scanlab") or "scanlab"]


def _call(args: list[str]) -> None:
    print("$ scanlab " + " ".join(args), flush=True)
    t0 = time.perf_counter()
    subprocess.run(["nice", "-n", "10", *_scanlab(), *args], check=True)
    print(f"  ({time.perf_counter() - t0:.0f} s)", flush=True)


def _cell(metric: dict[str, float] | None) -> str:
    if metric is None:
        return "n/a"
    return f"{metric['value']:.3f} [{metric['low']:.3f}, {metric['high']:.3f}]"


def table(runs: list[tuple[Run, int, Path]]) -> str:
    """The README's Markdown table from the ``metrics.json`` of each run."""
    lines = [
        "| input | method | image AUROC | det. @ 1 % FA | pixel AUROC | AUPRO (FPR ≤ 0.3) |",
        "|---|---|---|---|---|---|",
    ]
    for run, _, out in runs:
        metrics: dict[str, Any] = json.loads((out / "metrics.json").read_text())["metrics"]
        for name in run.detectors:
            m = metrics[name]
            label = f"{run.label} ({m['n_scans']} scans, {m['n_clean']} clean)"
            cells = " | ".join(_cell(m.get(c)) for c in COLUMNS)
            lines.append(f"| {label} | {METHOD_NAMES.get(name, name)} | {cells} |")
    return "\n".join(lines)


def _found(groups: dict[str, dict[str, float]]) -> str:
    return ", ".join(f"{k} {round(g['recall'] * g['n'])}/{g['n']}" for k, g in groups.items())


def details(runs: list[tuple[Run, int, Path]]) -> str:
    """Per detector and run: clean scans flagged at its own threshold, objects found per
    threat class and difficulty level (Wilson intervals are in ``metrics.json``)."""
    lines = []
    for run, _, out in runs:
        metrics: dict[str, Any] = json.loads((out / "metrics.json").read_text())["metrics"]
        for name in run.detectors:
            m = metrics[name]
            flagged = m["false_alarm_rate_at_threshold"]
            by_class = m["recall_by_class"]
            found = sum(round(g["recall"] * g["n"]) for g in by_class.values())
            lines.append(
                f"{run.label}, {name}: clean flagged at its threshold "
                f"{round(flagged * m['n_clean'])}/{m['n_clean']} ({flagged:.1%}); objects "
                f"found {found}/{m['n_objects']}: {_found(by_class)}; "
                f"{_found(m['recall_by_level'])}; {m['seconds_per_scan']:.2f} s per scan"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200, help="held-out scans, dual energy")
    parser.add_argument("--mode-count", type=int, default=100, help="scans, single and display")
    parser.add_argument("--detector", action="append", default=[], help="add to every run")
    parser.add_argument("--only", action="append", default=[], help="keep only these detectors")
    parser.add_argument(
        "--input",
        action="append",
        default=[],
        choices=[run.input_mode for run in RUNS],
        help="run only these input modes (repeat; default: all)",
    )
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=0, help="Dask workers (0: serial)")
    parser.add_argument("--out", type=Path, default=Path("detector-table"))
    parser.add_argument("--table-only", action="store_true", help="only print the table")
    args = parser.parse_args()
    data = args.out / "heldout"
    counts = {"count": args.count, "mode_count": args.mode_count}
    runs = []
    for run in RUNS:
        if args.input and run.input_mode not in args.input:
            continue
        detectors = run.detectors + tuple(d for d in args.detector if d not in run.detectors)
        if args.only:
            detectors = tuple(d for d in detectors if d in args.only)
        out = args.out / f"eval-{run.input_mode}"
        runs.append((run._replace(detectors=detectors), counts[run.count_option], out))
    if not args.table_only:
        if not (data / "manifest.json").exists():
            _call(["synth", "heldout", str(data)])
        for run, limit, out in runs:
            options = [f"--detector={d}" for d in run.detectors]
            if run.input_mode != "as-recorded":
                options.append(f"--input={run.input_mode}")
            _call(
                [
                    "evaluate",
                    str(data),
                    *options,
                    f"--limit={limit}",
                    f"--fa={FPR:g}",
                    f"--bootstrap={args.bootstrap}",
                    f"--workers={args.workers}",
                    f"--out={out}",
                ]
            )
    print(table(runs))
    print(details(runs))


if __name__ == "__main__":
    main()
