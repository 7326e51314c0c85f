"""Batch evaluation speed: the serial run against local Dask clusters of 1, 2, ... workers.

Builds (once, cached in a temp folder) a slice of the held-out spec, then evaluates the
shipped detector on it serially in this process (the reference: torch uses every core) and
on local clusters. Two series:

- one thread per worker, 1, 2, 4, ... workers up to the cores this process may use: the
  scaling (speed-up against one single-threaded worker, and that divided by the workers,
  the parallel efficiency; near-linear scaling keeps it near 100 % while workers <= cores);
- the default, the cores shared out among the workers (``threads_per_worker=None``).

Every run prints wall time, scans per minute and its speed-up against the serial run, a
closing line the largest cluster's speed-up against one worker and against serial, and
the script prints how far each run's per-scan scores are from the serial run's (0 when the
workers have as many threads as the serial run; float32 sums depend on the thread count).
Run: .venv/bin/python benchmarks/bench_evaluate.py [--scans 24] [--workers 1,2]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from scanlab.evaluate import evaluate_dataset
from scanlab.evaluate._batch import available_cores
from scanlab.synth import build_dataset, load_dataset_spec

DETECTOR = "cargo-anomaly-v1"


def _score_gap(results: Any, reference: Any) -> float:
    """Largest difference of a per-scan image score from the reference run (0: identical)."""
    pairs = zip(results.per_scan[DETECTOR], reference.per_scan[DETECTOR], strict=True)
    return max(abs(a["score"] - b["score"]) for a, b in pairs)


def main() -> None:
    cores = available_cores()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scans", type=int, default=24)
    default_workers = ",".join(str(2**i) for i in range(cores.bit_length()) if 2**i <= cores)
    parser.add_argument("--workers", default=default_workers, help="worker counts, e.g. 1,2,4")
    args = parser.parse_args()
    counts = [int(w) for w in args.workers.split(",")]
    n = args.scans
    root = Path(tempfile.gettempdir()) / f"scanlab-bench-evaluate-{n}"
    spec = load_dataset_spec("heldout")
    spec.count = n
    start = time.perf_counter()
    build_dataset(spec, root / "data")
    print(f"dataset: {n} held-out scans ({time.perf_counter() - start:.1f} s to build or check)")
    print(f"machine: {cores} cores available to this process (of {os.cpu_count()})")

    def run(label: str, workers: int, threads: int | None) -> tuple[float, Any]:
        out = root / f"eval-{workers}-{threads}"
        shutil.rmtree(out, ignore_errors=True)
        t0 = time.perf_counter()
        results = evaluate_dataset(
            root / "data",
            [DETECTOR],
            out,
            workers=workers,
            threads_per_worker=threads,
            n_bootstrap=200,
            n_overlays=0,
        )
        seconds = time.perf_counter() - t0
        return seconds, results

    serial_s, serial = run("serial", 0, None)
    print(f"{'serial (reference)':34s} {serial_s:7.1f} s  {n / serial_s * 60:6.1f} scans/min")
    gaps = []
    single: float | None = None
    scaling_rows: list[tuple[int, float]] = []
    for title, threads in (("one thread per worker", 1), ("cores shared out (default)", None)):
        print(title + ":")
        for workers in counts:
            seconds, results = run(title, workers, threads)
            gaps.append(_score_gap(results, serial))
            if threads == 1 and workers == 1:
                single = seconds
            scaling = ""
            if threads == 1 and single:
                speedup = single / seconds
                scaling = f"  {speedup:5.2f}x vs 1 worker ({speedup / workers:4.0%} efficiency)"
                scaling_rows.append((workers, seconds))
            t = threads or max(1, cores // workers)
            print(
                f"  {workers:2d} workers x {t:2d} threads {'':9s} {seconds:7.1f} s  "
                f"{n / seconds * 60:6.1f} scans/min  {serial_s / seconds:5.2f}x vs serial{scaling}"
                f"  max |score - serial| {gaps[-1]:.1g}"
            )
    if single and scaling_rows:
        workers, seconds = max(scaling_rows)
        print(
            f"scaling on {cores} cores: {workers} single-threaded workers ran "
            f"{single / seconds:.2f}x as fast as one ({single / seconds / workers:.0%} of "
            f"linear) and {serial_s / seconds:.2f}x as fast as the serial run"
        )
    # oneDNN's float32 sums depend on the thread count: a run whose workers have as many
    # threads as the serial run is bit-identical, others differ in the last bit of a score.
    print(f"largest per-scan score difference from the serial run: {max(gaps):.1g}")
    metrics = serial.metrics[DETECTOR]
    print(
        f"image AUROC {metrics['image_auroc']['value']:.3f}, "
        f"pixel AUROC {metrics['pixel_auroc']['value']:.3f} (cluster start-up included in times)"
    )


if __name__ == "__main__":
    main()
