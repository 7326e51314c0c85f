"""The main job, end to end on built-in data: what ``scanlab demo`` (``make demo``) runs.

Every file format round-trips; the simulator makes a small graded image set; the shipped
detector runs on it; an exam is built, answered by simulated trainees and by the detector,
graded and reported; and the graded set gets the researchers' evaluation report.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from scanlab.io import example_scan, formats, read_scan, write_scan

__all__ = ["run_demo"]


DETECTOR = "cargo-anomaly-v2"


def run_demo(
    out: Path, *, console: Console | None = None, set_size: int = 6, exam_size: int = 5
) -> dict[str, Path]:
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

    console.rule("3. the detector on the graded set")
    from scanlab.detect import load_detector
    from scanlab.evaluate import match_marks
    from scanlab.io import read_scan as _read
    from scanlab.synth import AnswerKey

    detector = load_detector(DETECTOR)
    found = Table(title=f"{DETECTOR} (threshold {detector.threshold('dual'):.3f})")
    for col in ("scan", "truth", "score", "flagged", "regions", "objects found"):
        found.add_column(col)
    for item in items:
        key = AnswerKey.load(item["key_path"])
        det = detector(_read(item["scan_path"]))
        marks = [_region_mark(i, r.bbox) for i, r in enumerate(det.regions)]
        hits = len(match_marks(key, marks).hits)
        found.add_row(
            item["scan_id"],
            ", ".join(item["classes"]) or "clean",
            f"{det.score:.3f}",
            "yes" if det.is_anomalous else "no",
            str(len(det.regions)),
            f"{hits} of {len(key.objects)}" if key.objects else "-",
        )
    console.print(found)

    console.rule("4. an exam: build, simulated trainees and the detector, grade, report")
    from scanlab.exercises import (
        ExamPackage,
        build_exam,
        detector_submission,
        grade,
        load_exam_spec,
        simulate_trainee,
        write_report,
    )

    exam_spec = load_exam_spec("exam-medium")
    exam_spec.count, exam_spec.pitch_mm = exam_size, 10.0
    passphrase = "demo passphrase, not for real exams"
    package_path = build_exam(exam_spec, out / "exam" / "exam.zip", passphrase)
    package = ExamPackage.open(package_path)
    keys = package.keys(passphrase)
    submissions = [
        simulate_trainee(package, behaviour, seed=1, passphrase=keys)
        for behaviour in ("perfect", "misses:weapon", "random")
    ]
    submissions.append(detector_submission(package, detector, keys))
    results = grade(package, submissions, keys)
    results.save(out / "exam" / "results.json")
    report = write_report(results, out / "exam" / "report")
    scores = Table(title=f"exam '{exam_spec.name}': {len(package.item_ids)} items")
    for col in ("trainee", "hits", "false alarms (clean scans)", "d'", "A'"):
        scores.add_column(col)
    for t in results.trainees:
        sc = t.overall
        scores.add_row(
            t.trainee_id,
            f"{sc.hits}/{sc.n_signal}",
            f"{sc.false_alarms}/{sc.n_noise}",
            f"{sc.d_prime:.2f}",
            f"{sc.a_prime:.2f}",
        )
    console.print(scores)
    console.print(f"class report: {report[0].parent / 'report.html'}")
    written["exam"] = package_path

    console.rule("5. evaluation report of the graded set")
    from scanlab.evaluate import evaluate_dataset

    evaluation = evaluate_dataset(manifest, [DETECTOR], out / "evaluation", n_bootstrap=200)
    metrics = evaluation.metrics[DETECTOR]
    lines = []
    for name in ("image_auroc", "pixel_auroc", "aupro_0.3"):
        entry = metrics.get(name)
        if entry:
            lines.append(f"{name} {entry['value']:.3f}")
    console.print(", ".join(lines) + f" on {metrics['n_scans']} scans (a demo-sized set)")
    console.print(f"evaluation report: {out / 'evaluation' / 'report.html'}")
    written["evaluation"] = out / "evaluation" / "report.html"
    return written


def _region_mark(index: int, bbox: tuple[int, int, int, int]) -> Any:
    from scanlab.evaluate import Mark

    r0, c0, r1, c1 = bbox
    return Mark(f"r{index}", "rectangle", [(r0, c0), (r1 - 1, c1 - 1)], "narcotics")
