"""Files a batch evaluation leaves behind: per-scan tables, metrics, ROC/FROC plots, HTML."""

from __future__ import annotations

import csv
import html
import io
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from scanlab.io._common import atomic_open

if TYPE_CHECKING:
    from scanlab.evaluate._batch import BatchResults

__all__ = ["write_batch_report"]

_CSV_FIELDS = (
    "detector",
    "scan_id",
    "clean",
    "score",
    "threshold",
    "flagged",
    "n_objects",
    "n_detected",
    "false_regions",
    "seconds",
    "error",
)


def write_batch_report(results: BatchResults, out: Path) -> dict[str, Path]:
    """Write ``per_scan.csv``, ``per_scan.jsonl``, ``metrics.json``, ``roc.png``,
    ``froc.png`` and ``report.html`` into ``out``; return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "csv": out / "per_scan.csv",
        "jsonl": out / "per_scan.jsonl",
        "metrics": out / "metrics.json",
        "roc": out / "roc.png",
        "froc": out / "froc.png",
        "html": out / "report.html",
    }
    rows = [r for name in results.per_scan for r in results.per_scan[name]]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=_CSV_FIELDS, extrasaction="ignore")
    writer.writeheader()
    for r in rows:
        objects = r.get("objects", [])
        writer.writerow(
            {
                **r,
                "n_objects": len(objects),
                "n_detected": sum(o["detected"] for o in objects),
                "error": r.get("error", ""),
            }
        )
    with atomic_open(paths["csv"], "w") as fh:
        fh.write(buffer.getvalue())
    with atomic_open(paths["jsonl"], "w") as fh:
        for r in rows:
            slim = {k: v for k, v in r.items() if k not in ("pixels", "froc")}
            fh.write(json.dumps(slim) + "\n")
    with atomic_open(paths["metrics"], "w") as fh:
        json.dump({"metrics": results.metrics, "errors": results.errors}, fh, indent=1)
    _plot_roc(results, paths["roc"])
    _plot_froc(results, paths["froc"])
    with atomic_open(paths["html"], "w") as fh:
        fh.write(_html(results))
    return paths


def _plot_roc(results: BatchResults, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from scanlab.evaluate._metrics import roc_curve

    fig, ax = plt.subplots(figsize=(5, 4.5))
    for name, rows in results.per_scan.items():
        ok = [r for r in rows if "error" not in r]
        y = np.array([not r["clean"] for r in ok])
        if not ok or y.all() or not y.any():
            continue
        fpr, tpr, _ = roc_curve(y, np.array([r["score"] for r in ok]))
        auc = results.metrics.get(name, {}).get("image_auroc") or {}
        ax.plot(fpr, tpr, label=f"{name} (AUROC {auc.get('value', float('nan')):.3f})")
    ax.plot([0, 1], [0, 1], color="0.7", lw=0.8, ls="--")
    ax.set_xlabel("false-alarm rate (clean scans flagged)")
    ax.set_ylabel("detection rate (scans with a concealment flagged)")
    ax.set_title("image-level ROC")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    with atomic_open(path) as fh:
        fig.savefig(fh, format="png", dpi=110)
    plt.close(fig)


def _plot_froc(results: BatchResults, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 4.5))
    for name in results.per_scan:
        curve = results.metrics.get(name, {}).get("froc")
        if curve:
            ax.plot(curve["mean_false_positives"], curve["sensitivity"], marker=".", label=name)
    ax.set_xlabel("mean false regions per scan")
    ax.set_ylabel("sensitivity (objects found)")
    ax.set_xscale("symlog", linthresh=0.1)
    ax.set_ylim(0, 1.02)
    ax.set_title("FROC")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    with atomic_open(path) as fh:
        fig.savefig(fh, format="png", dpi=110)
    plt.close(fig)


def _fmt(entry: Any) -> str:
    if entry is None:
        return "n/a"
    if isinstance(entry, dict) and "value" in entry:
        return f"{entry['value']:.3f} <small>[{entry['low']:.3f}, {entry['high']:.3f}]</small>"
    if isinstance(entry, float):
        return f"{entry:.3f}"
    return html.escape(str(entry))


def _html(results: BatchResults) -> str:
    names = list(results.per_scan)
    head = "".join(f"<th>{html.escape(n)}</th>" for n in names)
    keys = [
        ("n_scans", "scans evaluated"),
        ("n_errors", "scans that failed"),
        ("image_auroc", "image AUROC"),
        ("average_precision", "average precision"),
    ]
    for key in next(iter(results.metrics.values()), {}):
        if key.startswith("detection_rate_at_fpr_"):
            keys.append((key, f"detection rate at {float(key.rsplit('_', 1)[1]):.0%} false alarms"))
    keys += [
        ("pixel_auroc", "pixel AUROC"),
        ("aupro_0.3", "AUPRO (FPR &le; 0.3)"),
        ("false_alarm_rate_at_threshold", "false-alarm rate at the detector's threshold"),
        ("seconds_per_scan", "seconds per scan (one worker)"),
    ]
    body = "".join(
        f"<tr><td>{label}</td>"
        + "".join(f"<td>{_fmt(results.metrics.get(n, {}).get(key))}</td>" for n in names)
        + "</tr>"
        for key, label in keys
    )

    def recall_table(field: str, title: str) -> str:
        groups = sorted({g for n in names for g in results.metrics.get(n, {}).get(field, {})})
        rows = "".join(
            f"<tr><td>{html.escape(g)}</td>"
            + "".join(
                "<td>{:.0%} <small>(n={})</small></td>".format(
                    results.metrics[n][field][g]["recall"], results.metrics[n][field][g]["n"]
                )
                if g in results.metrics.get(n, {}).get(field, {})
                else "<td>-</td>"
                for n in names
            )
            + "</tr>"
            for g in groups
        )
        return f"<h2>{title}</h2><table><tr><th></th>{head}</tr>{rows}</table>"

    errors = "".join(
        f"<li>{html.escape(e['detector'])} / {html.escape(e['scan_id'])}: "
        f"{html.escape(e['error'])}</li>"
        for e in results.errors
    )
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>scanlab evaluation</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:70em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 10px;text-align:right}}td:first-child{{text-align:left}}
img{{max-width:48%;margin-right:1%}}</style></head><body>
<h1>Detector evaluation</h1>
<p>Figures in brackets are 95 % bootstrap intervals over scans. Detection rates use the
threshold set on the clean scans' scores so that at most that share of them is flagged.</p>
<table><tr><th>metric</th>{head}</tr>{body}</table>
{recall_table("recall_by_class", "Recall per concealment class (at each detector's threshold)")}
{recall_table("recall_by_level", "Recall per difficulty level")}
<h2>Curves</h2><img src="roc.png" alt="ROC"><img src="froc.png" alt="FROC">
<h2>Items that could not be evaluated</h2><ul>{errors or "<li>none</li>"}</ul>
<p>Per-scan results: <a href="per_scan.csv">per_scan.csv</a>,
<a href="per_scan.jsonl">per_scan.jsonl</a>; metrics: <a href="metrics.json">metrics.json</a>.</p>
</body></html>
"""
