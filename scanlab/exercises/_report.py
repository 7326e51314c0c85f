"""Class reports: an HTML page with charts (PNG) and the scores, ratings ROC and item
outcomes as CSV."""

from __future__ import annotations

import csv
import html
import math
from collections.abc import Sequence
from pathlib import Path
from statistics import NormalDist
from typing import Any

import numpy as np

from scanlab.errors import SpecError
from scanlab.evaluate import RatingRoc
from scanlab.exercises._grading import ClassResults, Scores, TraineeResult
from scanlab.i18n import (
    N_,
    _,
    chart_fonts,
    format_datetime,
    format_decimal,
    get_language,
    is_rtl,
    rtl_lines,
    term,
)
from scanlab.synth import DIFFICULTY_LEVELS

__all__ = ["REPORT_FILES", "write_report"]

#: What :func:`write_report` writes.
REPORT_FILES = (
    "report.html",
    "scores.csv",
    "ratings.csv",
    "items.csv",
    "hit_vs_fa.png",
    "rating_roc.png",
    "by_class.png",
    "by_difficulty.png",
    "progress.png",
)

_SCORE_COLUMNS = (
    "n_signal",
    "hits",
    "hit_rate",
    "hit_rate_low",
    "hit_rate_high",
    "hits_class_correct",
    "n_noise",
    "false_alarms",
    "fa_rate",
    "fa_rate_low",
    "fa_rate_high",
    "n_marks",
    "false_marks",
    "fa_per_mark",
    "false_marks_per_scan",
    "d_prime",
    "d_prime_low",
    "d_prime_high",
    "a_prime",
    "mean_time_s",
    "reliability",
)
#: The columns of ratings.csv, after exam, exam id and trainee.
_RATING_COLUMNS = (
    "rated_signal",
    "rated_noise",
    "area",
    "area_low",
    "area_high",
    "d_prime",
    "d_prime_low",
    "d_prime_high",
    "d_a",
    "slope",
    "criteria",
)
#: The row of ratings.csv for every trainee's ratings pooled (a key there; the page
#: translates it).
POOLED = N_("(class, pooled)")


def write_report(
    results: ClassResults | str | Path | Sequence[ClassResults | str | Path],
    out: str | Path,
    *,
    lang: str | None = None,
) -> list[Path]:
    """Write the class report into the folder ``out``; returns the files (:data:`REPORT_FILES`).

    ``lang`` is the instructor's language (default as :func:`scanlab.i18n.resolve_language`):
    the page, the charts and the CSV headers are in it, numbers and dates formatted by its
    locale (Babel); CSV cells stay machine-readable.

    Several graded exams of the same class give the progress chart; the other charts and
    the tables show the most recent exam (by creation time of its package). Figures that
    rest on fewer than ~100 trials are flagged as such in the page.
    """
    items = [results] if isinstance(results, ClassResults | str | Path) else list(results)
    exams = [r if isinstance(r, ClassResults) else ClassResults.load(r) for r in items]
    if not exams:
        raise SpecError("write_report: no results given")
    exams.sort(key=lambda r: (r.exam_created, r.graded_at))
    from scanlab.i18n import use_language

    with use_language(lang):
        return _write(exams, Path(out))


def _write(exams: list[ClassResults], out: Path) -> list[Path]:
    import matplotlib

    out.mkdir(parents=True, exist_ok=True)
    latest = exams[-1]
    files = [
        _scores_csv(exams, out / "scores.csv"),
        _ratings_csv(exams, out / "ratings.csv"),
        _items_csv(exams, out / "items.csv"),
    ]
    # matplotlib (>= 3.11, libraqm) joins Arabic-script letters and orders right-to-left
    # text itself, given a font with the letters.
    with matplotlib.rc_context(chart_fonts()):  # type: ignore[arg-type]
        files += [
            _hit_vs_fa(latest, out / "hit_vs_fa.png"),
            _rating_roc_chart(latest, out / "rating_roc.png"),
            _by_group(latest, out / "by_class.png"),
            _by_difficulty(latest, out / "by_difficulty.png"),
            _progress(exams, out / "progress.png"),
        ]
    files.insert(0, _html(exams, out / "report.html"))
    return files


# --- CSV ---------------------------------------------------------------------------------


def _breakdowns(t: TraineeResult) -> list[tuple[str, str, Scores]]:
    rows = [("overall", "all", t.overall), ("declaration", "verdicts", t.declaration)]
    for kind, groups in (
        ("threat_class", t.by_class),
        ("concealment", t.by_concealment),
        ("difficulty", t.by_difficulty),
    ):
        rows += [(kind, g, s) for g, s in groups.items()]
    return rows


def _scores_csv(exams: list[ClassResults], path: Path) -> Path:
    from scanlab.io._common import atomic_open

    with atomic_open(path, "w") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(_headers(["exam", "exam_id", "trainee", "breakdown", "group", *_SCORE_COLUMNS]))
        for ex in exams:
            for t in ex.trainees:
                for kind, group, s in _breakdowns(t):
                    values = [_cell(getattr(s, c)) for c in _SCORE_COLUMNS]
                    w.writerow([ex.exam_name, ex.exam_id, t.trainee_id, kind, group, *values])
    return path


def _rocs(ex: ClassResults) -> list[tuple[str, tuple[int, int], RatingRoc | None]]:
    """Each trainee's ratings ROC with the rated (signal, noise) scans, then the pooled one."""
    rows = [(t.trainee_id, t.n_rated, t.ratings) for t in ex.trainees]
    n_pooled = (sum(n[0] for _, n, _ in rows), sum(n[1] for _, n, _ in rows))
    return [*rows, (POOLED, n_pooled, ex.pooled_ratings())]


def _ratings_csv(exams: list[ClassResults], path: Path) -> Path:
    from scanlab.io._common import atomic_open

    with atomic_open(path, "w") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(_headers(["exam", "exam_id", "trainee", *_RATING_COLUMNS]))
        for ex in exams:
            for who, (n_signal, n_noise), roc in _rocs(ex):
                figures: list[Any] = [""] * (len(_RATING_COLUMNS) - 2)
                if roc is not None:
                    figures = [_cell(getattr(roc, c)) for c in _RATING_COLUMNS[2:-1]]
                    figures.append(" ".join(str(c) for c in roc.criteria))
                w.writerow([ex.exam_name, ex.exam_id, who, n_signal, n_noise, *figures])
    return path


def _items_csv(exams: list[ClassResults], path: Path) -> Path:
    from scanlab.io._common import atomic_open

    with atomic_open(path, "w") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(
            _headers(
                [
                    "exam",
                    "trainee",
                    "item",
                    "clean",
                    "objects",
                    "hits",
                    "missed",
                    "false_marks",
                    "declaration_true",
                    "verdict_consistent",
                    "verdict_correct",
                    "time_spent_s",
                    "time_limit_s",
                    "answered",
                    "rating",
                ]
            )
        )
        for ex in exams:
            for t in ex.trainees:
                for it in t.items:
                    w.writerow(
                        [
                            ex.exam_name,
                            t.trainee_id,
                            it.item_id,
                            it.clean,
                            len(it.hits) + len(it.misses),
                            len(it.hits),
                            " ".join(it.misses),
                            len(it.false_marks),
                            _cell(it.declaration_consistent),
                            _cell(it.verdict),
                            _cell(it.verdict_correct),
                            it.time_spent_s,
                            it.time_limit_s,
                            it.answered,
                            _cell(it.rating),
                        ]
                    )
    return path


#: The CSV columns as an instructor reads them; English keeps the column keys.
_COLUMN_NAMES = {
    "exam": N_("exam"),
    "exam_id": N_("exam id"),
    "trainee": N_("trainee"),
    "breakdown": N_("breakdown"),
    "group": N_("group"),
    "n_signal": N_("objects"),
    "hits": N_("hits"),
    "hit_rate": N_("hit rate"),
    "hit_rate_low": N_("hit rate, 95 % low"),
    "hit_rate_high": N_("hit rate, 95 % high"),
    "hits_class_correct": N_("hits with the right class"),
    "n_noise": N_("clean scans"),
    "false_alarms": N_("false alarms"),
    "fa_rate": N_("false-alarm rate"),
    "fa_rate_low": N_("false-alarm rate, 95 % low"),
    "fa_rate_high": N_("false-alarm rate, 95 % high"),
    "n_marks": N_("marks"),
    "false_marks": N_("false marks"),
    "fa_per_mark": N_("false marks / marks"),
    "false_marks_per_scan": N_("false marks per scan"),
    "d_prime": N_("d'"),
    "d_prime_low": N_("d', 95 % low"),
    "d_prime_high": N_("d', 95 % high"),
    "a_prime": N_("A'"),
    "mean_time_s": N_("mean time (s)"),
    "reliability": N_("reliability"),
    "item": N_("item"),
    "clean": N_("clean"),
    "objects": N_("objects"),
    "missed": N_("missed"),
    "declaration_true": N_("declaration true"),
    "verdict_consistent": N_("verdict: consistent"),
    "verdict_correct": N_("verdict correct"),
    "time_spent_s": N_("time spent (s)"),
    "time_limit_s": N_("time limit (s)"),
    "answered": N_("answered"),
    "rating": N_("rating"),
    # ratings.csv
    "area": N_("ROC area"),
    "area_low": N_("ROC area, 95 % low"),
    "area_high": N_("ROC area, 95 % high"),
    "d_a": N_("d_a (binormal fit)"),
    "slope": N_("binormal slope"),
    "criteria": N_("rating criteria"),
    # assist.csv of the cohort report (scanlab evaluate --cohort)
    "cohort": N_("cohort"),
    "basis": N_("basis"),
    "trainees": N_("trainees"),
    "trainee_items": N_("trainee-items"),
    "signal_trials": N_("signal trials"),
    "noise_trials": N_("noise trials"),
    "false_alarm_rate": N_("false-alarm rate"),
    "false_alarm_rate_low": N_("false-alarm rate, 95 % low"),
    "false_alarm_rate_high": N_("false-alarm rate, 95 % high"),
    "rated_signal": N_("rated scans with an object"),
    "rated_noise": N_("rated clean scans"),
    "rating_area": N_("ratings: ROC area"),
    "rating_area_low": N_("ratings: ROC area, 95 % low"),
    "rating_area_high": N_("ratings: ROC area, 95 % high"),
    "rating_d_prime": N_("ratings: d'"),
    "rating_d_prime_low": N_("ratings: d', 95 % low"),
    "rating_d_prime_high": N_("ratings: d', 95 % high"),
}


def _headers(columns: list[str]) -> list[str]:
    if get_language() == "en":
        return columns
    return [_(_COLUMN_NAMES[c]) for c in columns]


def _chart(text: str) -> str:
    return rtl_lines(text)  # a line starting with Latin letters would read left to right


def _cell(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return value


# --- charts ------------------------------------------------------------------------------


def _figure(width: float, height: float) -> Any:
    # The object API with its own Agg canvas: no pyplot, so no global backend is switched
    # (napari's Qt backend in the same process is left alone).
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _hit_vs_fa(ex: ClassResults, path: Path) -> Path:
    fig = _figure(6.0, 5.5)
    ax = fig.add_subplot()
    grid = np.linspace(0.001, 0.999, 200)
    normal = NormalDist()
    for d in (1.0, 2.0, 3.0):
        hits = [normal.cdf(normal.inv_cdf(f) + d) for f in grid]
        ax.plot(grid, hits, color="0.8", lw=0.8)
        ax.annotate(
            f"d' = {d:g}", (0.07, normal.cdf(normal.inv_cdf(0.05) + d)), color="0.5", size=8
        )
    ax.plot([0, 1], [0, 1], color="0.6", ls="--", lw=0.8, label=_chart(_("chance")))
    for i, t in enumerate(ex.trainees):
        s = t.overall
        if math.isnan(s.hit_rate) or math.isnan(s.fa_rate):
            continue
        ax.errorbar(
            s.fa_rate,
            s.hit_rate,
            xerr=[[s.fa_rate - s.fa_rate_low], [s.fa_rate_high - s.fa_rate]],
            yerr=[[s.hit_rate - s.hit_rate_low], [s.hit_rate_high - s.hit_rate]],
            fmt="osD^v<>p"[i % 8],
            markersize=max(10 - 1.5 * i, 4),  # trainees on the same spot stay visible
            alpha=0.85,
            capsize=3,
            label=t.trainee_id,
        )
    ax.set(
        xlim=(-0.02, 1.02),
        ylim=(-0.02, 1.02),
        xlabel=_chart(_("false-alarm rate (clean scans marked)")),
        ylabel=_chart(_("hit rate (objects found)")),
        title=_chart(
            _("{exam}: hit vs false-alarm rate (95 % intervals)").format(exam=ex.exam_name)
        ),
    )
    _number_ticks(ax)
    ax.legend(fontsize=8, loc="lower right")
    fig.savefig(path)
    return path


def _rating_roc_chart(ex: ClassResults, path: Path) -> Path:
    """Each trainee's ROC from the ratings, the class's pooled one, and beside each curve
    the single point the marks give (scans with an object found vs clean scans marked)."""
    fig = _figure(6.0, 5.5)
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], color="0.6", ls="--", lw=0.8, label=_chart(_("chance")))
    colours = iter(f"C{i % 10}" for i in range(10_000))
    drawn = 0
    for t in ex.trainees:
        colour = next(colours)
        if t.ratings is not None:
            r = t.ratings
            ax.plot(
                [0.0, *r.fa_rates, 1.0],
                [0.0, *r.hit_rates, 1.0],
                marker="o",
                ms=4,
                color=colour,
                label=_chart(
                    _("{trainee}: area {area} [{low}, {high}]").format(
                        trainee=t.trainee_id,
                        area=_f(r.area),
                        low=_f(r.area_low),
                        high=_f(r.area_high),
                    )
                ),
            )
            drawn += 1
        s = t.overall
        if not (math.isnan(s.hit_rate) or math.isnan(s.fa_rate)):
            ax.plot(s.fa_rate, s.hit_rate, "x", color=colour, ms=9, mew=2)
    pooled = ex.pooled_ratings()
    if pooled is not None:
        ax.plot(
            [0.0, *pooled.fa_rates, 1.0],
            [0.0, *pooled.hit_rates, 1.0],
            color="black",
            lw=2.5,
            label=_chart(_("class, pooled: area {area}").format(area=_f(pooled.area))),
        )
    if not drawn:
        ax.text(
            0.5,
            0.5,
            _chart(_("no trainee rated both kinds of scan")),
            ha="center",
            color="0.4",
        )
    ax.set(
        xlim=(-0.02, 1.02),
        ylim=(-0.02, 1.02),
        xlabel=_chart(_("false-alarm rate (clean scans called suspect)")),
        ylabel=_chart(_("hit rate (scans with an object called suspect)")),
        title=_chart(
            _(
                "{exam}: ROC from clear/suspect ratings\n(x: the marks' hit vs false-alarm point)"
            ).format(exam=ex.exam_name)
        ),
    )
    _number_ticks(ax)
    ax.legend(fontsize=7, loc="lower right")
    fig.savefig(path)
    return path


def _bars(ax: Any, trainees: list[TraineeResult], groups: list[str], attr: str) -> None:
    width = 0.8 / max(len(trainees), 1)
    x = np.arange(len(groups))
    for i, t in enumerate(trainees):
        table: dict[str, Scores] = getattr(t, attr)
        rates = [table[g].hit_rate if g in table else np.nan for g in groups]
        bars = ax.bar(x + (i - (len(trainees) - 1) / 2) * width, rates, width, label=t.trainee_id)
        ax.bar_label(
            bars, labels=[format_decimal(r) if r == r else "" for r in rates], fontsize=6, padding=1
        )
    counts = [
        max((getattr(t, attr).get(g, None) or _EMPTY).n_signal for t in trainees) for g in groups
    ]
    ax.set_xticks(
        x,
        [_chart(f"{term(g)}\n(n={n})") for g, n in zip(groups, counts, strict=True)],
        fontsize=8,
    )
    ax.set(ylim=(0, 1.12), ylabel=_chart(_("hit rate")))
    _number_ticks(ax, x_too=False)


def _number_ticks(ax: Any, *, x_too: bool = True) -> None:
    """Tick labels in the report language's decimal separator."""
    from matplotlib.ticker import FuncFormatter

    fmt = FuncFormatter(lambda v, _pos: format_decimal(v, 1))
    ax.yaxis.set_major_formatter(fmt)
    if x_too:
        ax.xaxis.set_major_formatter(fmt)


_EMPTY = Scores.from_counts(n_signal=0, hits=0, n_noise=0, false_alarms=0)


def _group_names(trainees: list[TraineeResult], attr: str) -> list[str]:
    return list(dict.fromkeys(g for t in trainees for g in getattr(t, attr)))


def _by_group(ex: ClassResults, path: Path) -> Path:
    fig = _figure(10.0, 6.5)
    top, bottom = fig.subplots(2, 1)
    _bars(top, ex.trainees, _group_names(ex.trainees, "by_class"), "by_class")
    top.set_title(_chart(_("{exam}: hit rate by threat class").format(exam=ex.exam_name)))
    top.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    _bars(bottom, ex.trainees, _group_names(ex.trainees, "by_concealment"), "by_concealment")
    bottom.set_title(_chart(_("hit rate by concealment")))
    fig.savefig(path)
    return path


def _by_difficulty(ex: ClassResults, path: Path) -> Path:
    fig = _figure(10.0, 4.5)
    ax, cnr = fig.subplots(1, 2, width_ratios=[2.2, 1])
    levels = [lv for lv in DIFFICULTY_LEVELS if lv in _group_names(ex.trainees, "by_difficulty")]
    _bars(ax, ex.trainees, levels, "by_difficulty")
    ax.set_title(_chart(_("{exam}: hit rate by measured difficulty").format(exam=ex.exam_name)))
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    present = [lv for lv in DIFFICULTY_LEVELS if lv in ex.difficulty]
    contrast = [ex.difficulty[lv]["contrast"] for lv in present]
    bars = cnr.bar([_chart(term(lv)) for lv in present], contrast, color="0.5")
    cnr.bar_label(bars, labels=[format_decimal(c, 1) for c in contrast], fontsize=8)
    cnr.set(
        title=_chart(_("mean contrast-to-noise\nof the objects")),
        ylabel=_chart(_("CNR (log scale)")),
        yscale="log",
    )
    fig.savefig(path)
    return path


def _progress(exams: list[ClassResults], path: Path) -> Path:
    """Each trainee's d' from the marks (top) and area under the ratings ROC (bottom) in
    every exam, in order, with their 95 % intervals; the class's pooled ratings in black."""
    fig = _figure(8.0, 7.0)
    marks_ax, ratings_ax = fig.subplots(2, 1, sharex=True)
    trainees = list(dict.fromkeys(t.trainee_id for ex in exams for t in ex.trainees))
    x = np.arange(len(exams))
    for k, tid in enumerate(trainees):
        colour = f"C{k % 10}"
        d, lo, hi = [], [], []
        for ex in exams:
            s = next((t.overall for t in ex.trainees if t.trainee_id == tid), _EMPTY)
            d.append(s.d_prime)
            lo.append(s.d_prime - s.d_prime_low)
            hi.append(s.d_prime_high - s.d_prime)
        marks_ax.errorbar(x, d, yerr=[lo, hi], marker="o", capsize=3, label=tid, color=colour)
        area = _rating_series([_trainee_ratings(ex, tid) for ex in exams])
        # Side by side within an exam, so that the intervals stay apart.
        offset = 0.25 * (k - (len(trainees) - 1) / 2) / max(len(trainees), 1)
        ratings_ax.errorbar(x + offset, area[0], yerr=area[1:], marker="o", capsize=3, color=colour)
    pooled = _rating_series([ex.pooled_ratings() for ex in exams])
    ratings_ax.errorbar(
        x, pooled[0], yerr=pooled[1:], color="black", lw=2.5, marker="s", capsize=4,
        label=_chart(_("class, pooled")),
    )  # fmt: skip
    marks_ax.axhline(0, color="0.6", lw=0.8)
    ratings_ax.axhline(0.5, color="0.6", lw=0.8)
    ratings_ax.set_xticks(x, [ex.exam_name for ex in exams], fontsize=8)
    marks_ax.set(
        ylabel=_chart(_("d' (log-linear), 95 % interval")),
        title=_chart(_("progress across exams")),
    )
    ratings_ax.set(
        ylim=(-0.03, 1.05),
        ylabel=_chart(_("area under the ratings ROC,\n95 % interval")),
    )
    for ax in (marks_ax, ratings_ax):
        _number_ticks(ax, x_too=False)
    marks_ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ratings_ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.savefig(path)
    return path


def _trainee_ratings(ex: ClassResults, trainee_id: str) -> RatingRoc | None:
    return next((t.ratings for t in ex.trainees if t.trainee_id == trainee_id), None)


def _rating_series(rocs: list[RatingRoc | None]) -> tuple[list[float], list[float], list[float]]:
    """Areas of ``rocs`` and their interval's distances below and above (NaN where an exam
    has no ratings of both kinds), as ``errorbar`` takes them."""
    area = [r.area if r is not None else math.nan for r in rocs]
    low = [r.area - r.area_low if r is not None else math.nan for r in rocs]
    high = [r.area_high - r.area if r is not None else math.nan for r in rocs]
    return area, low, high


# --- HTML --------------------------------------------------------------------------------


def _f(value: float, digits: int = 2) -> str:
    return format_decimal(value, digits)


def _rate(count: int, n: int, s_low: float, s_high: float) -> str:
    if not n:
        return "–"
    return f"{count}/{n} = {_f(count / n)} [{_f(s_low)}, {_f(s_high)}]"


def _area_cell(roc: RatingRoc | None) -> str:
    return "–" if roc is None else f"{_f(roc.area)} [{_f(roc.area_low)}, {_f(roc.area_high)}]"


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _score_rows(named: list[tuple[str, Scores]]) -> list[list[str]]:
    return [
        [
            name,
            _rate(s.hits, s.n_signal, s.hit_rate_low, s.hit_rate_high),
            _rate(s.false_alarms, s.n_noise, s.fa_rate_low, s.fa_rate_high),
            _f(s.fa_per_mark),
            f"{_f(s.d_prime)} [{_f(s.d_prime_low)}, {_f(s.d_prime_high)}]",
            _f(s.a_prime),
            _f(s.mean_time_s, 0),
            _reliability(s),
        ]
        for name, s in named
    ]


def _reliability(s: Scores) -> str:
    """The reliability note in the report's language (the saved one is in the grader's)."""
    from scanlab.evaluate import reliability_note

    n = s.n_signal + s.n_noise
    return reliability_note(n) if n >= 2 else s.reliability


def _score_header() -> list[str]:
    return [
        "",
        _("hit rate [95 %]"),
        _("false alarms per clean scan [95 %]"),
        _("false marks / marks"),
        _("d' [95 %]"),
        _("A'"),
        _("mean time (s)"),
        _("reliability"),
    ]


def _rating_rows(ex: ClassResults) -> list[list[str]]:
    marks = {t.trainee_id: t.overall for t in ex.trainees}
    rows = []
    for who, (n_signal, n_noise), roc in _rocs(ex):
        s = marks.get(who)
        shown = _(POOLED) if who == POOLED else who
        from_marks = (
            "" if s is None else f"{_f(s.d_prime)} [{_f(s.d_prime_low)}, {_f(s.d_prime_high)}]"
        )
        if roc is None:
            rows.append(
                [
                    shown,
                    f"{n_signal} / {n_noise}",
                    _("no ratings of both kinds"),
                    "",
                    "",
                    from_marks,
                ]
            )
            continue
        rows.append(
            [
                shown,
                f"{n_signal} / {n_noise}",
                f"{_f(roc.area)} [{_f(roc.area_low)}, {_f(roc.area_high)}]",
                f"{_f(roc.d_prime)} [{_f(roc.d_prime_low)}, {_f(roc.d_prime_high)}]",
                _f(roc.d_a),
                from_marks,
            ]
        )
    return rows


def _html(exams: list[ClassResults], path: Path) -> Path:
    from scanlab.io._common import atomic_open

    ex = exams[-1]
    class_rule = _("required") if ex.require_class else _("reported, not required")
    everyone = list(dict.fromkeys(t.trainee_id for e in exams for t in e.trainees))
    progress_rows = [
        [e.exam_name, format_datetime(e.exam_created)]
        + [
            _f(next((t.overall.d_prime for t in e.trainees if t.trainee_id == tid), math.nan))
            for tid in everyone
        ]
        for e in exams
    ]
    rating_progress_rows = [
        [e.exam_name, format_datetime(e.exam_created)]
        + [_area_cell(_trainee_ratings(e, tid)) for tid in everyone]
        + [_area_cell(e.pooled_ratings())]
        for e in exams
    ]
    esc = html.escape
    lang = get_language()
    direction = "rtl" if is_rtl() else "ltr"
    score_header = _score_header()
    parts = [
        f"<!doctype html><html lang='{lang}' dir='{direction}'><head><meta charset='utf-8'>",
        "<title>" + esc(_("scanlab class report: {exam}").format(exam=ex.exam_name)) + "</title>",
        "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto}"
        "table{border-collapse:collapse;margin:1em 0;font-size:90%}"
        "td,th{border:1px solid #bbb;padding:3px 6px;text-align:start}"
        "th{background:#eee}.note{color:#555;font-size:90%}</style></head><body>",
        "<h1>" + esc(_("Class report: {exam}").format(exam=ex.exam_name)) + "</h1>",
        "<p>"
        + _(
            "Exam {exam_id} created {created}, graded {graded}. Marks hit objects by the "
            "<b>{rule}</b> rule (min IoU {min_iou}; threat class {class_rule})."
        ).format(
            exam_id=esc(ex.exam_id),
            created=esc(format_datetime(ex.exam_created)),
            graded=esc(format_datetime(ex.graded_at)),
            rule=esc({"overlap": _("overlap"), "centroid": _("centroid")}.get(ex.rule, ex.rule)),
            min_iou=esc(format_decimal(ex.min_iou)),
            class_rule=esc(class_rule),
        )
        + "</p>",
        "<p class='note'>"
        + esc(
            _(
                "A hit is a concealed object matched by a mark; a false alarm is a clean scan "
                "with any mark. d' and A' use log-linearly corrected rates (count + 0.5) / "
                "(trials + 1). Screener research asks for about 100 trials before a score is "
                "called reliable: read the reliability column before comparing trainees."
            )
        )
        + "</p>",
        "<h2>" + esc(_("Trainees")) + "</h2>",
        _table(
            [_("trainee"), *score_header[1:], _("over time"), _("unanswered")],
            [
                [*row, str(t.n_over_time), str(t.n_unanswered)]
                for t, row in zip(
                    ex.trainees,
                    _score_rows([(t.trainee_id, t.overall) for t in ex.trainees]),
                    strict=True,
                )
            ],
        ),
        "<img src='hit_vs_fa.png' alt='" + esc(_("hit rate vs false-alarm rate")) + "'>",
        "<h2>"
        + esc(_("Confidence ratings"))
        + "</h2><p class='note'>"
        + esc(
            _(
                "Before looking for objects the trainee calls each scan clear or suspect with a "
                "confidence of 1 to 4. Each rating is one criterion, so the ratings trace an ROC "
                "where the marks give one point: signal trials are scans with an object, noise "
                "trials clean scans. Area: the chance that a scan with an object is rated more "
                "suspect than a clean one (ties half), 95 % interval by Newcombe's method 5. d' "
                "from ratings: sqrt(2) z(area), the equal-variance d' of that area, from the "
                "corrected area (pairs + 0.5) / (pairs + 1); d_a: the binormal fit (unequal "
                "variances). The marks' d' counts objects and clean scans, so it answers another "
                "question; read the two side by side."
            )
        )
        + "</p>",
        _table(
            [
                _("trainee"),
                _("rated scans (object / clean)"),
                _("ROC area [95 %]"),
                _("d' from ratings [95 %]"),
                "d_a",
                _("d' from marks [95 %]"),
            ],
            _rating_rows(ex),
        ),
        "<img src='rating_roc.png' alt='" + esc(_("ROC from confidence ratings")) + "'>",
        "<h2>"
        + esc(_("Declarations"))
        + "</h2><p class='note'>"
        + esc(
            _(
                "Signal: false declarations (hit: judged not consistent); noise: true ones. "
                "Items without a declaration or verdict are not counted."
            )
        )
        + "</p>",
        _table(
            [
                _("trainee"),
                _("false declarations flagged [95 %]"),
                _("true declarations flagged [95 %]"),
                _("d' [95 %]"),
                _("A'"),
                _("reliability"),
            ],
            [
                [r[0], r[1], r[2], r[4], r[5], r[7]]
                for r in _score_rows([(t.trainee_id, t.declaration) for t in ex.trainees])
            ],
        ),
        "<h2>" + esc(_("By threat class, concealment and difficulty")) + "</h2>",
        "<img src='by_class.png' alt='" + esc(_("hit rate by threat class")) + "'>",
        "<img src='by_difficulty.png' alt='" + esc(_("hit rate by difficulty")) + "'>",
        "<p class='note'>"
        + esc(
            _(
                "Difficulty is measured from each image (contrast-to-noise, superposition, "
                "clutter, size). Means over this exam's objects:"
            )
        )
        + "</p>",
        _table(
            [
                _("level"),
                _("objects"),
                _("contrast-to-noise"),
                _("superposition (-ln T)"),
                _("clutter"),
                _("size (px)"),
            ],
            [
                [
                    term(lv),
                    _f(d["n_objects"], 0),
                    _f(d["contrast"], 1),
                    _f(d["superposition"]),
                    _f(d["clutter"], 3),
                    _f(d["size_px"], 0),
                ]
                for lv, d in ex.difficulty.items()
            ],
        ),
    ]
    for t in ex.trainees:
        named = [(_("class: {name}").format(name=term(g)), s) for g, s in t.by_class.items()]
        named += [
            (_("concealment: {name}").format(name=term(g)), s) for g, s in t.by_concealment.items()
        ]
        named += [
            (_("difficulty: {name}").format(name=term(g)), s) for g, s in t.by_difficulty.items()
        ]
        parts += [
            f"<h3>{esc(t.trainee_id)}</h3>",
            _table(score_header, _score_rows(named)),
        ]
    parts += [
        "<h2>" + esc(_("Progress")) + "</h2>",
        "<img src='progress.png' alt='" + esc(_("d' across exams")) + "'>",
        "<p class='note'>" + esc(_("d' from the marks, each exam:")) + "</p>",
        _table([_("exam"), _("created"), *everyone], progress_rows),
        "<p class='note'>"
        + esc(_("Area under the ROC of the clear/suspect ratings [95 %], each exam:"))
        + "</p>",
        _table([_("exam"), _("created"), *everyone, _(POOLED)], rating_progress_rows),
        "<p class='note'>"
        + esc(
            _(
                "Files: scores.csv (every figure above), ratings.csv (the ratings ROC of each "
                "trainee and the class), items.csv (every item of every trainee)."
            )
        )
        + "</p></body></html>",
    ]
    with atomic_open(path, "w") as fh:
        fh.write("\n".join(parts))
    return path
