"""Files a batch evaluation leaves behind: per-scan tables, metrics, ROC/FROC plots, HTML
(the page and the plots in the reader's language, the tables and metrics as keys)."""

from __future__ import annotations

import csv
import html
import io
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from scanlab.i18n import (
    N_,
    _,
    babel_locale,
    chart_fonts,
    format_number,
    get_language,
    is_rtl,
    ngettext,
    rtl_lines,
    term,
    use_language,
)
from scanlab.io._common import atomic_open

if TYPE_CHECKING:
    from scanlab.evaluate._batch import BatchResults

__all__ = ["METRIC_LABELS", "metric_label", "write_batch_report", "write_overlays"]

#: What the metrics of a batch evaluation are called in its report and table, as messages
#: of the catalogue (translated where shown).
METRIC_LABELS = {
    "n_scans": N_("scans evaluated"),
    "n_clean": N_("clean scans"),
    "n_objects": N_("concealed objects"),
    "n_errors": N_("scans that failed"),
    "image_auroc": N_("image AUROC"),
    "average_precision": N_("average precision"),
    "f1_max": N_("image F1-max"),
    "pixel_auroc": N_("pixel AUROC"),
    "pixel_average_precision": N_("pixel average precision"),
    "pixel_f1_max": N_("pixel F1-max"),
    "aupro_0.3": N_("AUPRO (false-positive rate up to 0.3)"),
    "false_alarm_rate_at_threshold": N_("false-alarm rate at the detector's threshold"),
    "seconds_per_scan": N_("seconds per scan (one worker)"),
}
_DETECTION_RATE = N_("detection rate at {rate} false alarms")


def metric_label(key: str, translate: Any = None) -> str:
    """The name of the metric ``key`` of a batch evaluation, passed through ``translate``
    (e.g. :func:`scanlab.i18n._`; default English); an unknown key is its own name.

    Examples
    --------
    >>> metric_label("image_auroc"), metric_label("detection_rate_at_fpr_0.01")
    ('image AUROC', 'detection rate at 1.0% false alarms')
    """
    say = translate or str
    if key.startswith("detection_rate_at_fpr_"):
        rate = float(key.rsplit("_", 1)[1])
        return say(_DETECTION_RATE).format(
            rate=format_number(rate, ".1%") if translate else f"{rate:.1%}"
        )
    return say(METRIC_LABELS[key]) if key in METRIC_LABELS else key


_CSV_FIELDS = (
    "detector",
    "scan_id",
    "clean",
    "score",
    "threshold",
    "flagged",
    "pitch_mm",
    "pitch_source",
    "in_domain",
    "n_objects",
    "n_detected",
    "false_regions",
    "seconds",
    "error",
)


#: How a run read its scans (its ``input`` setting), as the report's settings line says it.
_INPUT_MODES = {
    "as-recorded": N_("scans read as recorded"),
    "single": N_("scans read as single energy"),
    "display": N_("scans read as display exports"),
}


def settings_line(settings: dict[str, Any]) -> str:
    """The run's settings (``metrics.json``'s ``settings``: matching rule, input mode, pitch,
    false-alarm rates, bootstrap resamples) as the report's reader reads them: named in the
    current language, figures in its locale, listed as its language lists. A key the report
    does not know is shown as it is kept.

    Examples
    --------
    >>> settings_line({"matching_rule": "overlap", "pitch_mm": [0.5, 0.75], "fprs": [0.01]})
    'matching by overlap, pitch 0.5 × 0.75 mm and detection rates at 1.0% false alarms'
    """
    from babel.lists import format_list

    parts = []
    for key, value in settings.items():
        if key == "matching_rule":
            parts.append(_("matching by {rule}").format(rule=term(str(value))))
        elif key == "input" and value in _INPUT_MODES:
            parts.append(_(_INPUT_MODES[value]))
        elif key == "pitch_mm" and value is None:
            parts.append(_("pitch as each scan records it, else as measured"))
        elif key == "pitch_mm":
            values = value if isinstance(value, list | tuple) else [value]
            pitch = " × ".join(format_number(float(v), "g") for v in values)
            parts.append(_("pitch {pitch} mm").format(pitch=pitch))
        elif key == "fprs":
            rates = " / ".join(format_number(float(f), ".1%") for f in value)
            parts.append(_("detection rates at {rates} false alarms").format(rates=rates))
        elif key == "n_bootstrap":
            parts.append(
                ngettext(
                    "{count} bootstrap resample per interval",
                    "{count} bootstrap resamples per interval",
                    int(value),
                ).format(count=value)
            )
        elif value is not None:
            parts.append(f"{key} {value}")
    return str(format_list(parts, locale=babel_locale())) if parts else ""


#: How the pictures of :func:`write_overlays` are called (their ``kind``, a key).
_OVERLAY_KINDS = {"false-alarm": N_("false-alarm"), "miss": N_("miss")}


def write_batch_report(
    results: BatchResults, out: Path, *, lang: str | None = None
) -> dict[str, Path]:
    """Write ``per_scan.csv``, ``per_scan.jsonl``, ``metrics.json``, ``roc.png``,
    ``roc.csv``, ``froc.png``, ``froc.csv`` and ``report.html`` into ``out``; return their
    paths.

    ``lang``: the language of the page and the plots (default the current one, see
    :func:`scanlab.i18n.get_language`); the tables, curve points and metrics keep their
    keys and Python's numbers, for scripts.
    """
    with use_language(lang):
        return _write(results, out)


def _write(results: BatchResults, out: Path) -> dict[str, Path]:
    import matplotlib

    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "csv": out / "per_scan.csv",
        "jsonl": out / "per_scan.jsonl",
        "metrics": out / "metrics.json",
        "roc": out / "roc.png",
        "froc": out / "froc.png",
        "roc_csv": out / "roc.csv",
        "froc_csv": out / "froc.csv",
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
                "pitch_mm": " x ".join(f"{v:g}" for v in r.get("pitch_mm") or []),
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
        json.dump(
            {
                "settings": results.settings,
                "metrics": results.metrics,
                "comparisons": results.comparisons,
                "overlays": results.overlays,
                "errors": results.errors,
            },
            fh,
            indent=1,
        )
    # matplotlib (>= 3.11, libraqm) joins Arabic-script letters and orders right-to-left
    # text itself, given a font with the letters.
    with matplotlib.rc_context(chart_fonts()):  # type: ignore[arg-type]
        _plot_roc(results, paths["roc"])
        _plot_froc(results, paths["froc"])
    _curve_csvs(results, paths["roc_csv"], paths["froc_csv"])
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
        fpr, tpr, _thresholds = roc_curve(y, np.array([r["score"] for r in ok]))
        auc = results.metrics.get(name, {}).get("image_auroc") or {}
        auroc = format_number(auc.get("value", float("nan")), ".3f")
        ax.plot(fpr, tpr, label=rtl_lines(f"{name} (AUROC {auroc})"))
    ax.plot([0, 1], [0, 1], color="0.7", lw=0.8, ls="--")
    ax.set_xlabel(rtl_lines(_("false-alarm rate (clean scans flagged)")))
    ax.set_ylabel(rtl_lines(_("detection rate (scans with a concealment flagged)")))
    ax.set_title(rtl_lines(_("image-level ROC")))
    if ax.get_legend_handles_labels()[0]:  # none when every scan failed
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
    ax.set_xlabel(rtl_lines(_("mean false regions per scan")))
    ax.set_ylabel(rtl_lines(_("sensitivity (objects found)")))
    ax.set_xscale("symlog", linthresh=0.1)
    ax.set_ylim(0, 1.02)
    ax.set_title("FROC")
    if ax.get_legend_handles_labels()[0]:  # none when every scan failed
        ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    with atomic_open(path) as fh:
        fig.savefig(fh, format="png", dpi=110)
    plt.close(fig)


def _curve_csvs(results: BatchResults, roc_path: Path, froc_path: Path) -> None:
    """The points of both plots, one row per point and detector."""
    from scanlab.evaluate._metrics import roc_curve

    roc = io.StringIO()
    w = csv.writer(roc)
    w.writerow(["detector", "threshold", "false_alarm_rate", "detection_rate"])
    for name, rows in results.per_scan.items():
        ok = [r for r in rows if "error" not in r]
        y = np.array([not r["clean"] for r in ok], dtype=bool)
        if not ok or y.all() or not y.any():
            continue
        fpr, tpr, thr = roc_curve(y, np.array([r["score"] for r in ok]))
        w.writerows(
            [name, f"{t:.6g}", f"{f:.6g}", f"{p:.6g}"]
            for t, f, p in zip(thr, fpr, tpr, strict=True)
        )
    with atomic_open(roc_path, "w") as fh:
        fh.write(roc.getvalue())
    froc = io.StringIO()
    w = csv.writer(froc)
    w.writerow(["detector", "threshold", "mean_false_regions_per_scan", "sensitivity"])
    for name in results.per_scan:
        curve = results.metrics.get(name, {}).get("froc")
        if curve:
            w.writerows(
                [name, t, f"{f:.6g}", f"{s:.6g}"]
                for t, f, s in zip(
                    curve["thresholds"],
                    curve["mean_false_positives"],
                    curve["sensitivity"],
                    strict=True,
                )
            )
    with atomic_open(froc_path, "w") as fh:
        fh.write(froc.getvalue())


def write_overlays(
    results: BatchResults, items: list[dict[str, Any]], out: Path, *, n: int = 3
) -> dict[str, list[dict[str, Any]]]:
    """Draw each detector's ``n`` worst false alarms and misses, to see what fools it.

    False alarms are the clean scans with the highest image scores; misses are the scans
    with a concealed object the detector did not find at its threshold, lowest score
    first. Each picture shows the scan, the anomaly map over it, the answer key's objects
    (green found, amber missed) and the detector's regions (red at or above its threshold,
    grey below). The detector runs again on these few scans only. Their titles are in the
    current language.
    """
    import matplotlib

    from scanlab.evaluate._batch import _detector, _model, _read_as, _safe
    from scanlab.io import read_scan
    from scanlab.synth import AnswerKey

    by_id = {i["scan_id"]: i for i in items}
    drawn: dict[str, list[dict[str, Any]]] = {}
    for name, rows in results.per_scan.items():
        ok = [r for r in rows if "error" not in r and r["scan_id"] in by_id]
        alarms = sorted((r for r in ok if r["clean"]), key=lambda r: -r["score"])[:n]
        misses = sorted(
            (r for r in ok if any(not o["detected"] for o in r["objects"])),
            key=lambda r: r["score"],
        )[:n]
        drawn[name] = []
        for kind, chosen in (("false-alarm", alarms), ("miss", misses)):
            for rank, r in enumerate(chosen, 1):
                item = by_id[r["scan_id"]]
                scan = _read_as(read_scan(item["scan_path"]), r.get("settings", {}))
                key = AnswerKey.load(item["key_path"])
                model = _model(name, out)
                det = _detector(model.weights, model.key)(scan)
                rel = Path("overlays") / _safe(name) / f"{kind}-{rank}-{_safe(r['scan_id'])}.png"
                found = {o["object_id"] for o in r["objects"] if o["detected"]}
                title = _(
                    "{detector}: {kind} {rank} - {scan} (score {score}, threshold {threshold})"
                ).format(
                    detector=name,
                    kind=_(_OVERLAY_KINDS[kind]),
                    rank=rank,
                    scan=r["scan_id"],
                    score=format_number(r["score"], ".3f"),
                    threshold=format_number(r["threshold"], ".3f"),
                )
                with matplotlib.rc_context(chart_fonts()):  # type: ignore[arg-type]
                    _draw_overlay(scan, det, key, found, title, out / rel)
                drawn[name].append(
                    {"kind": kind, "scan_id": r["scan_id"], "score": r["score"], "path": str(rel)}
                )
    return drawn


def _draw_overlay(scan: Any, det: Any, key: Any, found: set[str], title: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    if scan.representation.value == "display":
        grey = 1.0 - np.asarray(scan.data[0], dtype=np.float64) / 255.0
    else:
        grey = np.asarray(scan.to_attenuation().data[0], dtype=np.float64)
    lo, hi = np.percentile(grey, [1, 99.5])
    rows, cols = grey.shape
    fig, axes = plt.subplots(2, 1, figsize=(12, 12 * rows / cols * 2 + 0.8))
    for ax, with_map in zip(axes, (False, True), strict=True):
        ax.imshow(grey, cmap="gray_r", vmin=lo, vmax=hi if hi > lo else lo + 1)
        if with_map:
            amap = np.asarray(det.anomaly_map, dtype=np.float64)
            peak = float(amap.max()) or 1.0
            ax.imshow(np.ma.masked_less(amap / peak, 0.05), cmap="inferno", alpha=0.55)
        for o in key.objects:
            colour = "limegreen" if o.object_id in found else "orange"
            ax.contour(o.full_mask(key.shape), levels=[0.5], colors=[colour], linewidths=1.2)
        for reg in det.regions:
            r0, c0, r1, c1 = reg.bbox
            above = reg.score >= det.threshold
            ax.add_patch(
                Rectangle(
                    (c0 - 0.5, r0 - 0.5),
                    c1 - c0,
                    r1 - r0,
                    fill=False,
                    ec="red" if above else "0.6",
                    ls="-" if above else "--",
                    lw=1.2,
                )
            )
        ax.set_axis_off()
    axes[0].set_title(rtl_lines(title), fontsize=9)
    axes[1].set_title(
        rtl_lines(
            _(
                "anomaly map; key objects green (found) / amber (missed); regions red (at or "
                "above the threshold) / grey (below)"
            )
        ),
        fontsize=8,
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(path) as fh:
        fig.savefig(fh, format="png", dpi=90)
    plt.close(fig)


def _fmt(entry: Any) -> str:
    if entry is None:
        return html.escape(_("n/a"))
    if isinstance(entry, dict) and "value" in entry:
        value, low, high = (format_number(entry[k], ".3f") for k in ("value", "low", "high"))
        return f"{value} <small>[{low}, {high}]</small>"
    if isinstance(entry, float):
        return format_number(entry, ".3f")
    return html.escape(str(entry))


def _esc(text: str) -> str:
    """``text`` for an element's content (quotes left as written)."""
    return html.escape(text, quote=False)


def _tag(name: str, text: str) -> str:
    """``text`` as the content of an element ``name``: ``<h2>...</h2>``."""
    return f"<{name}>{_esc(text)}</{name}>"


def _link(name: str) -> str:
    return f'<a href="{name}">{name}</a>'


def _html(results: BatchResults) -> str:
    esc = _esc
    names = list(results.per_scan)
    head = "".join(f"<th>{esc(n)}</th>" for n in names)
    first = ["n_scans", "n_clean", "n_objects", "n_errors", "image_auroc", "average_precision"]
    keys = [*first, "f1_max"]
    keys += [k for k in next(iter(results.metrics.values()), {}) if k.startswith("detection_rate")]
    keys += [k for k in METRIC_LABELS if k not in keys]
    body = "".join(
        f"<tr><td>{esc(metric_label(key, _))}</td>"
        + "".join(f"<td>{_fmt(results.metrics.get(n, {}).get(key))}</td>" for n in names)
        + "</tr>"
        for key in keys
    )
    warnings = "".join(
        f"<li>{esc(n)}: {esc(w)}</li>"
        for n in names
        for w in results.metrics.get(n, {}).get("warnings", [])
    )

    def recall_table(field: str, title: str) -> str:
        groups = sorted({g for n in names for g in results.metrics.get(n, {}).get(field, {})})

        def cell(n: str, g: str) -> str:
            e = results.metrics.get(n, {}).get(field, {}).get(g)
            if e is None:
                return "<td>-</td>"
            recall, low, high = (
                format_number(e.get(k, float("nan")), ".0%") for k in ("recall", "low", "high")
            )
            return f"<td>{recall} <small>[{low}, {high}] n={e['n']}</small></td>"

        rows = "".join(
            f"<tr><td>{esc(term(g))}</td>" + "".join(cell(n, g) for n in names) + "</tr>"
            for g in groups
        )
        return f"<h2>{esc(title)}</h2><table><tr><th></th>{head}</tr>{rows}</table>"

    overlays = "".join(
        f"<h3>{esc(n)}</h3>"
        + "".join(
            f'<figure><a href="{html.escape(o["path"])}"><img src="{html.escape(o["path"])}" '
            f'alt="{html.escape(_overlay_kind(o["kind"]))}"></a><figcaption>'
            + esc(
                _("{kind}: {scan} (score {score})").format(
                    kind=_overlay_kind(o["kind"]),
                    scan=o["scan_id"],
                    score=format_number(o["score"], ".3f"),
                )
            )
            + "</figcaption></figure>"
            for o in results.overlays.get(n, [])
        )
        for n in names
        if results.overlays.get(n)
    )
    settings = settings_line(results.settings)
    errors = "".join(
        f"<li>{esc(e['detector'])} / {esc(e['scan_id'])}: {esc(e['error'])}</li>"
        for e in results.errors
    )
    files = _("Per-scan results: {csv}, {jsonl}; metrics: {metrics}.").format(
        csv=_link("per_scan.csv"), jsonl=_link("per_scan.jsonl"), metrics=_link("metrics.json")
    )
    at_threshold = {
        "recall_by_concealment": _("Recall per concealment method (at each detector's threshold)"),
        "recall_by_class": _("Recall per threat class (at each detector's threshold)"),
        "recall_by_level": _("Recall per difficulty level"),
    }
    intervals = _(
        "Figures in brackets are 95 % bootstrap intervals over scans. Detection rates use the "
        "threshold set on the clean scans' scores so that at most that share of them is flagged."
    )
    parts = [
        f'<!doctype html><html lang="{get_language()}" dir="{"rtl" if is_rtl() else "ltr"}">',
        '<head><meta charset="utf-8">' + _tag("title", _("scanlab evaluation")),
        "<style>body{font-family:sans-serif;margin:2em;max-width:80em}"
        "table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:4px 10px;text-align:end}"
        "td:first-child{text-align:start}img{max-width:48%;margin-inline-end:1%}"
        "figure{display:inline-block;width:48%;margin:0 0 1em 0;margin-inline-end:1%}"
        "figure img{max-width:100%}.warn{color:#a60}</style></head><body>",
        _tag("h1", _("Detector evaluation")),
        _tag("p", _("Settings: {settings}.").format(settings=settings)),
        f"<p>{esc(intervals)}</p>",
        f'<ul class="warn">{warnings}</ul>',
        "<table><tr>" + _tag("th", _("metric")) + f"{head}</tr>{body}</table>",
        _tag("h2", _("Paired comparison")) + _comparison_table(results.comparisons),
        *(recall_table(field, title) for field, title in at_threshold.items()),
        _tag("p", _("Recall intervals are 95 % Wilson intervals over objects.")),
        _tag("h2", _("Curves")) + '<img src="roc.png" alt="ROC"><img src="froc.png" alt="FROC">',
        "<p>"
        + _("Points: {roc}, {froc}.").format(roc=_link("roc.csv"), froc=_link("froc.csv"))
        + "</p>",
        _tag("h2", _("Top false alarms and misses")) + (overlays or _tag("p", _("none drawn"))),
        _tag("h2", _("Items that could not be evaluated"))
        + "<ul>"
        + (errors or _tag("li", _("none")))
        + "</ul>",
        f"<p>{files}</p>",
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def _overlay_kind(kind: str) -> str:
    return _(_OVERLAY_KINDS[kind]) if kind in _OVERLAY_KINDS else kind


def _comparison_table(comparisons: list[dict[str, Any]]) -> str:
    esc = _esc
    if not comparisons:
        return _tag("p", _("One detector only: nothing to compare."))
    fprs = sorted({f for c in comparisons for f in c.get("mcnemar", {})}, key=float)
    head = "".join(
        "<th>"
        + esc(_("McNemar at {rate} FA").format(rate=format_number(float(f), ".1%")))
        + "<br>"
        + _tag("small", _("a only / b only, p"))
        + "</th>"
        for f in fprs
    )
    rows = []
    for c in comparisons:
        pair = f"{esc(c['a'])} &minus; {esc(c['b'])}"
        if "delong" not in c:
            rows.append(
                f"<tr><td>{pair}</td><td colspan='{3 + len(fprs)}'>"
                + esc(_(c["note"]) if c.get("note") else "")
                + "</td></tr>"
            )
            continue
        d, b = c["delong"], c["bootstrap"]
        mc = "".join(
            f"<td>{c['mcnemar'][f]['only_a']} / {c['mcnemar'][f]['only_b']}, "
            f"p = {format_number(c['mcnemar'][f]['p_value'], '.3g')}</td>"
            for f in fprs
        )
        n_scans = ngettext("({count} scan)", "({count} scans)", c["n_scans"])
        rows.append(
            f"<tr><td>{pair} <small>{esc(n_scans.format(count=c['n_scans']))}</small></td>"
            f"<td>{format_number(c['auroc_difference'], '+.3f')}</td>"
            f"<td>[{format_number(b['low'], '+.3f')}, {format_number(b['high'], '+.3f')}]</td>"
            f"<td>[{format_number(d['low'], '+.3f')}, {format_number(d['high'], '+.3f')}], "
            f"p = {format_number(d['p_value'], '.3g')}</td>{mc}</tr>"
        )
    intro = _(
        "Same scans for both detectors. AUROC difference with its paired bootstrap 95 % "
        "interval and DeLong's test; McNemar's exact test on the concealed scans each detector "
        "flags at a false-alarm rate set on its own clean scores."
    )
    return (
        f"<p>{esc(intro)}</p>"
        + "<table><tr><th>a &minus; b</th>"
        + _tag("th", _("AUROC difference"))
        + _tag("th", _("paired bootstrap"))
        + _tag("th", _("DeLong interval, p"))
        + f"{head}</tr>{''.join(rows)}</table>"
    )
