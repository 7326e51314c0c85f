"""Batch evaluation speed: one versus two local Dask workers, scans per minute per worker.

Builds (once, cached in a temp folder) a 24-scan slice of the held-out spec at the shipped
model's pitch, then evaluates the shipped detector on it three ways: serially in this process
(the reference), on a local cluster of 1 worker and of 2 workers. Prints wall time, scans per
minute, scans per minute per worker, the speed-up from 1 to 2 workers, and checks that all
three runs give identical per-scan results.
Run: .venv/bin/python benchmarks/bench_evaluate.py [N_SCANS]
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

from scanlab.evaluate import evaluate_dataset  # noqa: E402
from scanlab.synth import build_dataset, load_dataset_spec  # noqa: E402

DETECTOR = "cargo-anomaly-v1"


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 24
    root = Path(tempfile.gettempdir()) / f"scanlab-bench-evaluate-{n}"
    spec = load_dataset_spec("heldout")
    spec.count = n
    start = time.perf_counter()
    build_dataset(spec, root / "data")
    print(f"dataset: {n} held-out scans ({time.perf_counter() - start:.1f} s to build or check)")
    runs = {}
    for label, workers in (
        ("serial (reference)", 0),
        ("dask, 1 worker", 1),
        ("dask, 2 workers", 2),
    ):
        out = root / f"eval-{workers}"
        shutil.rmtree(out, ignore_errors=True)
        start = time.perf_counter()
        results = evaluate_dataset(root / "data", [DETECTOR], out, workers=workers, n_bootstrap=200)
        seconds = time.perf_counter() - start
        rate = n / seconds * 60
        per_worker = rate / max(workers, 1)
        runs[workers] = (seconds, results)
        print(
            f"{label:20s} {seconds:7.1f} s  {rate:6.1f} scans/min  "
            f"{per_worker:6.1f} scans/min/worker"
        )
    speedup = runs[1][0] / runs[2][0]
    print(f"speed-up from 1 to 2 workers: {speedup:.2f}x (2 cores; cluster start-up included)")

    def same(a, b):  # type: ignore[no-untyped-def]
        strip = lambda rows: [{k: v for k, v in r.items() if k != "seconds"} for r in rows]  # noqa: E731
        return strip(a.per_scan[DETECTOR]) == strip(b.per_scan[DETECTOR])

    print(
        "results identical to the serial run:",
        same(runs[0][1], runs[1][1]) and same(runs[0][1], runs[2][1]),
    )
    metrics = runs[2][1].metrics[DETECTOR]
    print(
        f"image AUROC {metrics['image_auroc']['value']:.3f}, "
        f"pixel AUROC {metrics['pixel_auroc']['value']:.3f}"
    )


if __name__ == "__main__":
    main()
