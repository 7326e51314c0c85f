"""Researchers' view of graded exams: cohorts side by side, and humans against the detector on
the very same items."""

from __future__ import annotations

import csv
import html
import io
import math
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from scanlab.errors import SpecError
from scanlab.exercises._grading import ClassResults, TraineeResult, _ratings_roc, grade
from scanlab.exercises._package import ExamKeys, ExamPackage
from scanlab.exercises._report import _headers
from scanlab.exercises._submission import Submission, submission_from_detections
from scanlab.i18n import (
    _,
    chart_fonts,
    format_number,
    get_language,
    is_rtl,
    ngettext,
    rtl_lines,
    term,
    use_language,
)

__all__ = [
    "CohortComparison",
    "compare_assist",
    "compare_cohorts",
    "detector_submission",
    "write_cohort_report",
]


def detector_submission(
    package: ExamPackage, detector: Any, keys: ExamKeys, *, detector_id: str | None = None
) -> Submission:
    """Run a detector (``detector(scan) -> Detection``) on every item and sign its marks.

    Regions at or above the detector's own calibrated threshold become marks, so the
    detector is graded at its operating point, exactly like a trainee.
    """
    name = detector_id or f"detector:{getattr(detector, 'name', 'detector')}"
    detections: dict[str, list[tuple[tuple[int, int, int, int], float, str]]] = {}
    times: dict[str, float] = {}
    threshold = 0.0
    for item_id in package.item_ids:
        start = time.perf_counter()
        result = detector(package.scan(item_id))
        times[item_id] = time.perf_counter() - start
        threshold = float(result.threshold)
        # A detector flags anomalies, not classes; "narcotics" stands in and is not judged.
        detections[item_id] = [
            (tuple(int(v) for v in r.bbox), float(min(max(r.score, 0.0), 1.0)), "narcotics")  # type: ignore[misc]
            for r in result.regions
        ]
    return submission_from_detections(
        package,
        detections,
        detector_id=name,
        token=keys.token(name),
        threshold=min(max(threshold, 0.0), 1.0),
        time_spent_s=times,
    )


@dataclass
class CohortComparison:
    """Cohort summaries and per-object human/detector outcomes of one or more graded exams."""

    cohorts: list[dict[str, Any]] = field(default_factory=list)
    objects: list[dict[str, Any]] = field(default_factory=list)
    by_class: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Per cohort, trainees with Detector assist against those without (:func:`compare_assist`).
    assist: list[dict[str, Any]] = field(default_factory=list)
    #: Per cohort label, each trainee's overall (hit rate, false-alarm rate, d').
    trainees: dict[str, dict[str, tuple[float, float, float]]] = field(default_factory=dict)
    #: Per cohort label, each trainee's area under the ROC of their clear/suspect ratings
    #: (trainees who did not rate both kinds of scan are left out).
    rating_areas: dict[str, dict[str, float]] = field(default_factory=dict)


def _item_counts(trainee: TraineeResult) -> dict[str, tuple[int, int, int, int]]:
    """Per item: (hits, signal trials, false alarms, noise trials), as grading counts them
    (an object is a signal trial; a clean scan with any mark is a false alarm)."""
    return {
        it.item_id: (
            len(it.hits),
            len(it.hits) + len(it.misses),
            int(it.clean and it.n_marks > 0),
            int(it.clean),
        )
        for it in trainee.items
    }


def _item_ratings(trainee: TraineeResult) -> dict[str, tuple[int, bool]]:
    """Per rated item: (the clear/suspect rating, whether the scan holds an object)."""
    return {it.item_id: (it.rating, not it.clean) for it in trainee.items if it.rating is not None}


def _rating_area(pairs: Sequence[tuple[int, bool]]) -> float:
    """Area under the ROC of pooled (rating, signal) pairs; NaN without both kinds."""
    from scanlab.evaluate import rating_roc

    signal = [r for r, is_signal in pairs if is_signal]
    noise = [r for r, is_signal in pairs if not is_signal]
    return rating_roc(signal, noise).area if signal and noise else math.nan


def _rating_entry(pairs: Sequence[tuple[int, bool]]) -> dict[str, Any]:
    """The ratings of a group pooled: rated scans of each kind, the ROC area and the d' it
    implies, each (estimate, low, high) with its 95 % interval (None without both kinds)."""
    from scanlab.evaluate import rating_roc

    signal = [r for r, is_signal in pairs if is_signal]
    noise = [r for r, is_signal in pairs if not is_signal]
    out: dict[str, Any] = {
        "rated_signal": len(signal),
        "rated_noise": len(noise),
        "rating_area": None,
        "rating_d_prime": None,
    }
    if signal and noise:
        roc = rating_roc(signal, noise)
        out["rating_area"] = (roc.area, roc.area_low, roc.area_high)
        out["rating_d_prime"] = (roc.d_prime, roc.d_prime_low, roc.d_prime_high)
    return out


def compare_assist(
    trainees: Sequence[TraineeResult],
    assisted: Collection[str],
    *,
    n_bootstrap: int = 1000,
    seed: int = 0,
) -> dict[str, Any]:
    """Trainees who worked with Detector assist against those who did not, on the same items:
    as assigned, and as it was actually used.

    Only items that both assigned groups answered count. Each group's hits, signal trials,
    false alarms and noise trials are pooled: hit and false-alarm rates with Wilson
    intervals, d' (log-linear rates) with the Gourevitch-Galanter interval. Their
    clear/suspect ratings of those items are pooled too: the area under the ratings ROC
    (Newcombe interval) and the d' it implies. The differences
    (with minus without) have percentile intervals from a bootstrap over items (the same
    resampled items for both groups, so the comparison stays paired).

    "As assigned" (``with``, ``without``) compares the trainees the package gave Detector
    assist with the others: the comparison the design randomises. "As used" (``used``)
    compares, trainee by item, the items on which the detector's map or regions were on
    screen (:attr:`ItemOutcome.assist_used`) with those on which they were not, whoever
    the trainee; a trainee chooses when to look, so read it beside the assigned one, not
    instead of it. It needs submissions that record the use (the Exercise widget does).

    Returns
    -------
    dict
        ``with``, ``without`` (each ``trainees``, ``hit_rate``, ``false_alarm_rate``,
        ``d_prime``, ``rating_area``, ``rating_d_prime`` as (estimate, low, high), and the
        pooled counts), ``difference`` (the same, ``rating_area`` included),
        ``n_items``, and ``used``: None when no submission recorded the use, else the
        same three entries per trainee and item (each group also counts its
        ``trainee_items``) with ``adherence``: per assigned group (``assigned``,
        ``not_assigned``), the items recorded, those with the detector's output seen (with
        a Wilson interval on the share) and the mean seconds it was on screen then.
    """
    groups = {
        "with": [t for t in trainees if t.trainee_id in assisted],
        "without": [t for t in trainees if t.trainee_id not in assisted],
    }
    if not groups["with"] or not groups["without"]:
        raise SpecError(
            _(
                "compare_assist: needs trainees both with and without Detector assist (assisted: "
                "{assisted})"
            ).format(assisted=sorted(assisted))
        )
    per_trainee = {t.trainee_id: _item_counts(t) for t in trainees}
    items = sorted(
        set.intersection(*(set(per_trainee[t.trainee_id]) for ts in groups.values() for t in ts))
    )
    if not items:
        raise SpecError(_("compare_assist: the two groups answered no item in common"))
    column = {item: i for i, item in enumerate(items)}

    def counts(cells: list[tuple[TraineeResult, str]]) -> np.ndarray:
        """Pooled (hits, signal, false alarms, noise) per item of the given (trainee, item)."""
        out = np.zeros((len(items), 4))
        for trainee, item in cells:
            out[column[item]] += per_trainee[trainee.trainee_id][item]
        return out

    assigned = {g: counts([(t, i) for t in ts for i in items]) for g, ts in groups.items()}
    # rated[g][i] = the (rating, signal) pairs group g gave item i
    rated = {
        g: [[r[i] for t in ts if i in (r := _item_ratings(t))] for i in items]
        for g, ts in groups.items()
    }
    out: dict[str, Any] = {"n_items": len(items)}
    for g, c in assigned.items():
        out[g] = {
            "trainees": len(groups[g]),
            **_group_scores(c),
            **_rating_entry([p for pairs in rated[g] for p in pairs]),
        }
    out["difference"] = _paired_difference(assigned, n_bootstrap=n_bootstrap, seed=seed)
    out["difference"]["rating_area"] = _rating_area_difference(
        rated, len(items), n_bootstrap=n_bootstrap, seed=seed
    )

    outcome = {(t.trainee_id, it.item_id): it for t in trainees for it in t.items}
    recorded = [
        (t, i) for t in trainees for i in items if outcome[t.trainee_id, i].assist_used is not None
    ]
    out["used"] = None
    if recorded:
        cells = {
            "with": [(t, i) for t, i in recorded if outcome[t.trainee_id, i].assist_used],
            "without": [(t, i) for t, i in recorded if not outcome[t.trainee_id, i].assist_used],
        }
        used_counts = {g: counts(c) for g, c in cells.items()}
        used: dict[str, Any] = {"n_items": len(items)}
        for g, c in used_counts.items():
            used[g] = {
                "trainees": len({t.trainee_id for t, _ in cells[g]}),
                "trainee_items": len(cells[g]),
                **_group_scores(c),
            }
        used["difference"] = _paired_difference(used_counts, n_bootstrap=n_bootstrap, seed=seed)
        used["adherence"] = {
            name: _adherence(
                [outcome[t.trainee_id, i] for t, i in recorded if (t.trainee_id in assisted) == yes]
            )
            for name, yes in (("assigned", True), ("not_assigned", False))
        }
        out["used"] = used
    return out


def _rating_area_difference(
    rated: dict[str, list[list[tuple[int, bool]]]], n_items: int, *, n_bootstrap: int, seed: int
) -> tuple[float, float, float] | None:
    """With minus without, the area under each group's pooled ratings ROC, with a percentile
    interval from a bootstrap over the same resampled items for both groups; None where it
    is undefined in the data or in more than half of the resamples."""
    groups = ("with", "without")
    areas = {g: _rating_area([p for pairs in rated[g] for p in pairs]) for g in groups}
    point = areas["with"] - areas["without"]
    if not math.isfinite(point):
        return None
    rng = np.random.default_rng(seed + 1)
    draws = []
    for _draw in range(n_bootstrap):
        ix = rng.integers(0, n_items, n_items)
        pooled = {g: [p for i in ix for p in rated[g][i]] for g in groups}
        draws.append(_rating_area(pooled["with"]) - _rating_area(pooled["without"]))
    finite = np.array([d for d in draws if math.isfinite(d)])
    if finite.size < n_bootstrap / 2:
        return None
    low, high = np.quantile(finite, [0.025, 0.975])
    return float(point), float(low), float(high)


def _scores(total: np.ndarray) -> tuple[float, float, float]:
    """Hit rate, false-alarm rate and d' (log-linear rates) of pooled counts."""
    from scanlab.evaluate import d_prime, rates_with_correction

    hits, signal, fas, noise = total
    hit = hits / signal if signal else math.nan
    fa = fas / noise if noise else math.nan
    if signal and noise:
        h, f = rates_with_correction(int(hits), int(signal), int(fas), int(noise))
        return hit, fa, d_prime(h, f)
    return hit, fa, math.nan


def _group_scores(per_item: np.ndarray) -> dict[str, Any]:
    """Pooled counts of a group with Wilson intervals on its rates and the
    Gourevitch-Galanter interval on its d'."""
    from scanlab.evaluate import d_prime_ci, rate_ci, rates_with_correction

    hits, signal, fas, noise = (int(v) for v in per_item.sum(axis=0))
    entry: dict[str, Any] = {
        "hits": hits,
        "signal_trials": signal,
        "false_alarms": fas,
        "noise_trials": noise,
        "hit_rate": None,
        "false_alarm_rate": None,
        "d_prime": None,
    }
    if signal:
        ci = rate_ci(hits, signal)
        entry["hit_rate"] = (ci.estimate, ci.low, ci.high)
    if noise:
        ci = rate_ci(fas, noise)
        entry["false_alarm_rate"] = (ci.estimate, ci.low, ci.high)
    if signal and noise:
        h, f = rates_with_correction(hits, signal, fas, noise)
        ci = d_prime_ci(h, f, signal, noise)
        entry["d_prime"] = (ci.estimate, ci.low, ci.high)
    return entry


def _paired_difference(
    counts: dict[str, np.ndarray], *, n_bootstrap: int, seed: int
) -> dict[str, Any]:
    """With minus without, each score with a percentile interval from a bootstrap over items
    (both groups resampled on the same items); None where it is undefined in the data or
    in more than half of the resamples."""
    point = np.subtract(_scores(counts["with"].sum(0)), _scores(counts["without"].sum(0)))
    rng = np.random.default_rng(seed)
    n_items = len(counts["with"])
    draws = []
    for _draw in range(n_bootstrap):
        ix = rng.integers(0, n_items, n_items)
        draws.append(
            np.subtract(_scores(counts["with"][ix].sum(0)), _scores(counts["without"][ix].sum(0)))
        )
    draws_arr = np.array(draws).reshape(-1, 3)
    diff: dict[str, Any] = {}
    for k, name in enumerate(("hit_rate", "false_alarm_rate", "d_prime")):
        col = draws_arr[:, k][np.isfinite(draws_arr[:, k])]
        if math.isfinite(point[k]) and col.size >= n_bootstrap / 2 and col.size:
            low, high = np.quantile(col, [0.025, 0.975])
            diff[name] = (float(point[k]), float(low), float(high))
        else:
            diff[name] = None
    return diff


def _adherence(outcomes: list[Any]) -> dict[str, Any]:
    """Items recorded, items with the detector's output seen (share with a Wilson interval),
    and the mean seconds it was on screen on those."""
    from scanlab.evaluate import rate_ci

    used = [it for it in outcomes if it.assist_used]
    entry: dict[str, Any] = {"items": len(outcomes), "used": len(used), "share": None}
    if outcomes:
        ci = rate_ci(len(used), len(outcomes))
        entry["share"] = (ci.estimate, ci.low, ci.high)
    entry["mean_visible_s"] = float(np.mean([it.assist_visible_s for it in used])) if used else None
    return entry


def _pooled(trainees: Sequence[TraineeResult]) -> dict[str, Any]:
    from scanlab.evaluate import d_prime, rate_ci, rates_with_correction

    hits = sum(t.overall.hits for t in trainees)
    signal = sum(t.overall.n_signal for t in trainees)
    fas = sum(t.overall.false_alarms for t in trainees)
    noise = sum(t.overall.n_noise for t in trainees)
    out: dict[str, Any] = {
        "trainees": len(trainees),
        "hits": hits,
        "signal_trials": signal,
        "false_alarms": fas,
        "noise_trials": noise,
    }
    if signal:
        ci = rate_ci(hits, signal)
        out["hit_rate"] = (ci.estimate, ci.low, ci.high)
    if noise:
        ci = rate_ci(fas, noise)
        out["false_alarm_rate"] = (ci.estimate, ci.low, ci.high)
    if signal and noise:
        h, f = rates_with_correction(hits, signal, fas, noise)
        out["pooled_d_prime"] = d_prime(h, f)
    d = [t.overall.d_prime for t in trainees if math.isfinite(t.overall.d_prime)]
    out["mean_d_prime"] = float(np.mean(d)) if d else math.nan
    out["sd_d_prime"] = float(np.std(d, ddof=1)) if len(d) > 1 else math.nan
    # The clear/suspect ratings: every trainee's pooled, and the mean of each one's area.
    pooled = _ratings_roc([it for t in trainees for it in t.items])
    out["rated_signal"] = sum(t.n_rated[0] for t in trainees)
    out["rated_noise"] = sum(t.n_rated[1] for t in trainees)
    if pooled is not None:
        out["rating_area"] = (pooled.area, pooled.area_low, pooled.area_high)
        out["rating_d_prime"] = (pooled.d_prime, pooled.d_prime_low, pooled.d_prime_high)
    areas = [t.ratings.area for t in trainees if t.ratings is not None]
    out["mean_rating_area"] = float(np.mean(areas)) if areas else math.nan
    return out


def compare_cohorts(
    results: Sequence[ClassResults | str | Path],
    *,
    names: Sequence[str] | None = None,
    assisted: Collection[str] | None = None,
    detector: Any | None = None,
    packages: dict[str, ExamPackage | str | Path] | None = None,
    passphrase: str | None = None,
) -> CohortComparison:
    """Aggregate graded exams by cohort and compare humans with the detector item by item.

    Parameters
    ----------
    results : sequence of ClassResults or paths
        Graded exams (:func:`grade` output); each is one cohort.
    names : sequence of str, optional
        A label per cohort; default each file's name without its suffix (an exam given
        twice, in spring and autumn, stays two cohorts), or the exam's name.
    assisted : collection of str, optional
        Trainees who worked with Detector assist; with some in a cohort, the others are
        compared with them on the same items (:func:`compare_assist`). Default: the
        assignment each exam package holds (``ExamSpec.assisted``), as grading recorded it
        per trainee; given, it replaces that for every cohort (for exams built without one).
    detector : callable, optional
        ``detector(scan) -> Detection``; with ``packages`` (exam id -> package) and the
        instructor ``passphrase`` it is run on each cohort's items and graded like a trainee.
    """
    loaded = [r if isinstance(r, ClassResults) else ClassResults.load(r) for r in results]
    if not loaded:
        raise SpecError(_("compare_cohorts: no graded exams given"))
    if names is not None and len(names) != len(loaded):
        raise SpecError(
            _("compare_cohorts: {count} names for {count2} cohorts").format(
                count=len(names), count2=len(loaded)
            )
        )
    labels = (
        list(names)
        if names is not None
        else [r.exam_name if isinstance(r, ClassResults) else Path(r).stem for r in results]
    )
    labels = [  # two cohorts must never share a label
        f"{label} ({i + 1})" if labels.count(label) > 1 else label for i, label in enumerate(labels)
    ]
    out = CohortComparison()
    human_by_class: dict[str, list[bool]] = {}
    machine_by_class: dict[str, list[bool]] = {}
    for label, cohort in zip(labels, loaded, strict=True):
        humans = [t for t in cohort.trainees if not t.trainee_id.startswith("detector:")]
        machine: TraineeResult | None = next(
            (t for t in cohort.trainees if t.trainee_id.startswith("detector:")), None
        )
        if detector is not None and machine is None:
            if not packages or cohort.exam_id not in packages or passphrase is None:
                raise SpecError(
                    _(
                        "exam {exam_name}: to grade the detector, pass its package "
                        "(packages={{exam_id: path}}) and the passphrase"
                    ).format(exam_name=cohort.exam_name)
                )
            pkg = packages[cohort.exam_id]
            package = pkg if isinstance(pkg, ExamPackage) else ExamPackage.open(pkg)
            keys = package.keys(passphrase)
            sub = detector_submission(package, detector, keys)
            machine = grade(
                package, [sub], keys, rule=cohort.rule, min_iou=cohort.min_iou
            ).trainees[0]
        summary = {
            "cohort": label,
            "exam": cohort.exam_name,
            "exam_id": cohort.exam_id,
            **_pooled(humans),
        }
        out.trainees[label] = {
            t.trainee_id: (t.overall.hit_rate, t.overall.fa_rate, t.overall.d_prime) for t in humans
        }
        out.rating_areas[label] = {
            t.trainee_id: t.ratings.area for t in humans if t.ratings is not None
        }
        with_assist = (
            {t.trainee_id for t in humans if t.assisted} if assisted is None else set(assisted)
        )
        if any(t.trainee_id in with_assist for t in humans):
            out.assist.append({"cohort": label, **compare_assist(humans, with_assist)})
        if machine is not None:
            summary["detector"] = {
                "id": machine.trainee_id,
                "hit_rate": machine.overall.hit_rate,
                "false_alarm_rate": machine.overall.fa_rate,
                "d_prime": machine.overall.d_prime,
            }
        out.cohorts.append(summary)
        found_by: dict[str, list[bool]] = {}
        facts: dict[str, Any] = {}
        for t in humans:
            for o in t.objects:
                key = f"{o.item_id}/{o.object_id}"
                found_by.setdefault(key, []).append(o.hit)
                facts[key] = o
        machine_hits = (
            {f"{o.item_id}/{o.object_id}": o.hit for o in machine.objects} if machine else {}
        )
        for key, hits in sorted(found_by.items()):
            o = facts[key]
            share = float(np.mean(hits))
            out.objects.append(
                {
                    "cohort": label,
                    "exam": cohort.exam_name,
                    "item_id": o.item_id,
                    "object_id": o.object_id,
                    "threat_class": o.threat_class,
                    "level": o.level,
                    "contrast": o.contrast,
                    "humans_found": share,
                    "n_humans": len(hits),
                    "detector_found": machine_hits.get(key),
                }
            )
            human_by_class.setdefault(o.threat_class, []).extend(hits)
            if key in machine_hits:
                machine_by_class.setdefault(o.threat_class, []).append(machine_hits[key])
    for cls in sorted(human_by_class):
        out.by_class[cls] = {
            "human_recall": float(np.mean(human_by_class[cls])),
            "human_marks": len(human_by_class[cls]),
            "detector_recall": float(np.mean(machine_by_class[cls]))
            if machine_by_class.get(cls)
            else None,
            "objects": len(machine_by_class.get(cls, [])),
        }
    return out


def _flat(row: dict[str, Any]) -> dict[str, Any]:
    """A CSV row: an (estimate, low, high) triple becomes three columns (``name``,
    ``name_low``, ``name_high``); nested dicts stay out."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, dict):
            continue
        if isinstance(value, tuple | list) and len(value) == 3:
            out[key], out[f"{key}_low"], out[f"{key}_high"] = value
        else:
            out[key] = value
    return out


def write_cohort_report(
    comparison: CohortComparison, out: str | Path, *, lang: str | None = None
) -> list[Path]:
    """``cohorts.csv``, ``objects.csv``, ``humans_vs_detector.png``, ``trainees.png``,
    ``ratings.png``, ``cohorts.html`` and, with trainees with and without Detector assist,
    ``assist.csv`` (a row per cohort, basis, as assigned or as used, and group).

    ``lang``: the instructor's language (default the current one, see
    :func:`scanlab.i18n.get_language`): the page, the charts and ``assist.csv``'s headers
    are in it; the CSV cells and the other CSV files' headers stay machine-readable keys.
    """
    with use_language(lang):
        return _write(comparison, Path(out))


def _write(comparison: CohortComparison, out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from scanlab.io._common import atomic_open

    out.mkdir(parents=True, exist_ok=True)
    paths = []
    tables = [("cohorts.csv", comparison.cohorts), ("objects.csv", comparison.objects)]
    if comparison.assist:
        tables.append(("assist.csv", _assist_rows(comparison.assist)))
    for name, rows in tables:
        buffer = io.StringIO()
        flat = [_flat(r) for r in rows]
        fields = sorted({k for r in flat for k in r})
        header = fields
        if name == "assist.csv":  # read by instructors: in their order and language
            fields = [k for k in _ASSIST_COLUMNS if k in fields] + [
                k for k in fields if k not in _ASSIST_COLUMNS
            ]
            header = _headers(fields)
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(header)
        writer.writerows([r.get(k, "") for k in fields] for r in flat)
        with atomic_open(out / name, "w") as fh:
            fh.write(buffer.getvalue())
        paths.append(out / name)
    # matplotlib (>= 3.11, libraqm) joins Arabic-script letters and orders right-to-left
    # text itself, given a font with the letters.
    with matplotlib.rc_context(chart_fonts()):  # type: ignore[arg-type]
        classes = list(comparison.by_class)
        fig, ax = plt.subplots(figsize=(max(5, 1.2 * len(classes) + 2), 4))
        x = np.arange(len(classes))
        human = [comparison.by_class[c]["human_recall"] for c in classes]
        machine = [comparison.by_class[c]["detector_recall"] or 0.0 for c in classes]
        ax.bar(x - 0.2, human, 0.4, label=rtl_lines(_("trainees (mean)")))
        ax.bar(x + 0.2, machine, 0.4, label=rtl_lines(_("detector")))
        ax.set_xticks(x, [rtl_lines(term(c)) for c in classes], rotation=20)
        ax.set_ylim(0, 1.05)
        ax.set_ylabel(rtl_lines(_("share of objects found")))
        ax.set_title(rtl_lines(_("humans and the detector on the same items")))
        ax.legend()
        fig.tight_layout()
        with atomic_open(out / "humans_vs_detector.png") as fh:
            fig.savefig(fh, format="png", dpi=110)
        plt.close(fig)
        paths.append(out / "humans_vs_detector.png")
        paths.append(_trainee_chart(comparison, out / "trainees.png"))
        paths.append(_ratings_chart(comparison, out / "ratings.png"))
    esc = _esc
    rate = _figure

    table = "".join(
        f"<tr><td>{esc(c['cohort'])}</td>"
        f"<td>{esc(c['exam'])}</td><td>{c['trainees']}</td>"
        f"<td>{rate(c.get('hit_rate'))}</td><td>{rate(c.get('false_alarm_rate'))}</td>"
        f"<td>{rate(c.get('mean_d_prime'))} &plusmn; {rate(c.get('sd_d_prime'))}</td>"
        f"<td>{rate(c.get('rating_area'))}</td><td>{rate(c.get('rating_d_prime'))}</td>"
        f"<td>{rate(c.get('mean_rating_area'))}</td>"
        f"<td>{rate((c.get('detector') or {}).get('hit_rate'))}</td>"
        f"<td>{rate((c.get('detector') or {}).get('false_alarm_rate'))}</td></tr>"
        for c in comparison.cohorts
    )
    disagree = [
        o
        for o in comparison.objects
        if o["detector_found"] is not None and (o["humans_found"] >= 0.5) != o["detector_found"]
    ]
    items = "".join(
        "<li>"
        + esc(
            (
                _(
                    "{cohort} {item}: {threat_class} ({level}) - found by {share} of trainees, "
                    "found by the detector"
                )
                if o["detector_found"]
                else _(
                    "{cohort} {item}: {threat_class} ({level}) - found by {share} of trainees, "
                    "missed by the detector"
                )
            ).format(
                cohort=o["cohort"],
                item=o["item_id"],
                threat_class=term(o["threat_class"]),
                level=term(str(o["level"])),
                share=format_number(o["humans_found"], ".0%"),
            )
        )
        + "</li>"
        for o in disagree
    )
    header = [
        _("cohort"),
        _("exam"),
        _("trainees"),
        _("hit rate [95 %]"),
        _("false alarms [95 %]"),
        _("d' mean ± sd"),
        _("ratings: ROC area [95 %], pooled"),
        _("ratings: d' [95 %], pooled"),
        _("ratings: mean of each trainee's area"),
        _("detector hit rate"),
        _("detector false alarms"),
    ]
    ratings = _(
        "Ratings: every trainee's clear/suspect call with its confidence (1-4) on each scan, "
        "pooled into one ROC per cohort (signal: scans with an object; noise: clean scans); "
        "its area with Newcombe's interval, and the d' that area implies. Trainees place "
        "their criteria differently, so the pooled area lies at or below the mean of their "
        "own areas."
    )
    alt = html.escape
    humans_alt = _("humans vs detector")
    trainees_alt = _("each trainee's hit and false-alarm rate")
    ratings_alt = _("the ratings' ROC area of each cohort and trainee")
    page = "\n".join(
        [
            f"<!doctype html><html lang='{get_language()}' dir='{'rtl' if is_rtl() else 'ltr'}'>"
            "<head><meta charset='utf-8'>" + _tag("title", _("cohorts")),
            "<style>body{font-family:sans-serif;margin:2em}"
            "td,th{border:1px solid #ccc;padding:4px 8px;text-align:start}"
            "table{border-collapse:collapse}</style></head><body>",
            _tag("h1", _("Cohorts and the detector")),
            "<table><tr>" + "".join(f"<th>{esc(h)}</th>" for h in header) + "</tr>",
            f"{table}</table>",
            f"<p>{esc(ratings)}</p>",
            f"<img src='humans_vs_detector.png' alt='{alt(humans_alt)}'>",
            f"<img src='trainees.png' alt='{alt(trainees_alt)}'>",
            f"<img src='ratings.png' alt='{alt(ratings_alt)}'>",
            _assist_html(comparison.assist),
            _tag("h2", _("Where most trainees and the detector disagree"))
            + "<ul>"
            + (items or _tag("li", _("nowhere")))
            + "</ul>",
            "</body></html>",
        ]
    )
    with atomic_open(out / "cohorts.html", "w") as fh:
        fh.write(page)
    paths.append(out / "cohorts.html")
    return paths


def _esc(text: str) -> str:
    """``text`` for an element's content (quotes left as written)."""
    return html.escape(text, quote=False)


def _tag(name: str, text: str) -> str:
    """``text`` as the content of an element ``name``: ``<h2>...</h2>``."""
    return f"<{name}>{_esc(text)}</{name}>"


def _figure(v: Any) -> str:
    """An (estimate, low, high) triple as ``0.50 [0.20, 0.80]``, a number with two decimals,
    in the current language's decimal sign; ``-`` for none."""
    if isinstance(v, tuple | list) and len(v) == 3:
        return "{} [{}, {}]".format(*(format_number(x, ".2f") for x in v))
    if v is None:
        return "-"
    return format_number(v, ".2f") if isinstance(v, float) else _esc(str(v))


def _assist_html(assist: list[dict[str, Any]]) -> str:
    if not assist:
        return ""
    esc = _esc
    rows = []
    notes = []
    bases = {"assigned": _("as assigned"), "used": _("as used, per item")}
    labels = {
        "with": _("with Detector assist"),
        "without": _("without"),
        "difference": _("with − without"),
    }
    for a in assist:
        cohort = esc(a["cohort"])
        used = a.get("used")
        for basis, entry in (("assigned", a), ("used", used)):
            if entry is None:
                continue
            for g, label in labels.items():
                e = entry[g]
                who = str(e.get("trainees", ""))
                if "trainee_items" in e:
                    n = e["trainee_items"]
                    who = ngettext(
                        "{trainees} ({count} trainee-item)", "{trainees} ({count} trainee-items)", n
                    ).format(trainees=who, count=n)
                rows.append(
                    f"<tr><td>{cohort}</td><td>{esc(bases[basis])}</td><td>{esc(label)}</td>"
                    f"<td>{esc(who)}</td><td>{_figure(e['hit_rate'])}</td>"
                    f"<td>{_figure(e['false_alarm_rate'])}</td><td>{_figure(e['d_prime'])}</td>"
                    f"<td>{_figure(e.get('rating_area'))}</td></tr>"
                )
        if used is None:
            said = _("{cohort}: the submissions do not record Detector assist use").format(
                cohort=a["cohort"]
            )
            notes.append(f"<li>{esc(said)}.</li>")
        else:
            ad = used["adherence"]
            adherence = [
                _adherence_text(ad[k], assigned=k == "assigned")
                for k in ("assigned", "not_assigned")
            ]
            notes.append(f"<li>{cohort}: {esc('; '.join(adherence))}.</li>")
    header = [
        _("cohort"),
        _("basis"),
        _("group"),
        _("trainees"),
        _("hit rate"),
        _("false-alarm rate"),
        _("d'"),
        _("ratings: ROC area"),
    ]
    about = _(
        "Pooled over each group; rates with Wilson 95 % intervals, d' with the "
        "Gourevitch-Galanter interval, the ratings' ROC area (as assigned) with Newcombe's; "
        'differences with a 95 % bootstrap interval over items. "As assigned" compares the '
        "trainees the exam gave Detector assist with the others (the randomised comparison); "
        '"as used" compares, trainee by item, the items on which the detector\'s map or '
        "regions were on screen with those on which they were not (trainees choose when to "
        "look: read it beside the assigned comparison)."
    )
    return (
        _tag("h2", _("Humans with and without Detector assist, on the same items"))
        + f"\n<p>{esc(about)}</p>\n"
        "<table><tr>" + "".join(f"<th>{esc(h)}</th>" for h in header) + "</tr>"
        f"{''.join(rows)}</table>\n"
        + _tag("p", _("Detector assist actually used:"))
        + f"<ul>{''.join(notes)}</ul>"
    )


#: The columns of ``assist.csv`` in the order it gives them (see :data:`_report._COLUMN_NAMES`
#: for their names in other languages).
_ASSIST_COLUMNS = (
    "cohort",
    "basis",
    "group",
    "trainees",
    "trainee_items",
    "signal_trials",
    "hits",
    *(f"hit_rate{s}" for s in ("", "_low", "_high")),
    "noise_trials",
    "false_alarms",
    *(f"false_alarm_rate{s}" for s in ("", "_low", "_high")),
    *(f"d_prime{s}" for s in ("", "_low", "_high")),
    "rated_signal",
    "rated_noise",
    *(f"rating_area{s}" for s in ("", "_low", "_high")),
    *(f"rating_d_prime{s}" for s in ("", "_low", "_high")),
)


def _assist_rows(assist: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The assist comparisons flat: estimate, low and high of each score in columns."""
    rows = []
    for a in assist:
        for basis, entry in (("assigned", a), ("used", a.get("used"))):
            if entry is None:
                continue
            for group in ("with", "without", "difference"):
                row: dict[str, Any] = {"cohort": a["cohort"], "basis": basis, "group": group}
                for k, v in entry[group].items():
                    if k in ("hit_rate", "false_alarm_rate", "d_prime"):
                        row[k], row[f"{k}_low"], row[f"{k}_high"] = v or ("", "", "")
                    else:
                        row[k] = v
                rows.append(row)
    return rows


def _adherence_text(entry: dict[str, Any], *, assigned: bool) -> str:
    """'trainees assigned Detector assist used it on 7 of 8 items (0.88 [0.53, 0.98]), its
    output on screen 12.5 s per item used' or so, in the current language; ``assigned``:
    of the trainees the exam gave Detector assist, else of the others."""
    n = entry["items"]
    if assigned:
        text = ngettext(
            "trainees assigned Detector assist used it on {used} of {items} item",
            "trainees assigned Detector assist used it on {used} of {items} items",
            n,
        )
    else:
        text = ngettext(
            "the others used Detector assist on {used} of {items} item",
            "the others used Detector assist on {used} of {items} items",
            n,
        )
    out = text.format(used=entry["used"], items=n)
    share = entry["share"]
    if share:
        out += f" ({_figure(share)})"
    if entry["mean_visible_s"] is not None:
        out += _(", its output on screen {seconds:.1f} s per item used").format(
            seconds=entry["mean_visible_s"]
        )
    return out


def _trainee_chart(comparison: CohortComparison, path: Path) -> Path:
    """Each trainee's hit rate against false-alarm rate, one marker shape per cohort.

    Trainees on the same point are spread on a small circle around it and each is named
    in the legend, so identical scores stay distinguishable.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from scanlab.io._common import atomic_open

    markers = "osD^vP*Xh<>"
    fig, ax = plt.subplots(figsize=(7, 5))
    seen: dict[tuple[float, float], int] = {}
    for k, (label, trainees) in enumerate(comparison.trainees.items()):
        for trainee, (hit, fa, _rated) in sorted(trainees.items()):
            if not (math.isfinite(hit) and math.isfinite(fa)):
                continue
            spot = (round(hit, 6), round(fa, 6))
            n = seen.get(spot, 0)
            seen[spot] = n + 1
            angle = 2.4 * n  # golden-angle steps: no two offsets coincide
            dx, dy = (0.0, 0.0) if n == 0 else (0.012 * math.cos(angle), 0.012 * math.sin(angle))
            ax.scatter(
                fa + dx,
                hit + dy,
                marker=markers[k % len(markers)],
                s=45,
                alpha=0.85,
                label=rtl_lines(f"{label}: {trainee}"),
            )
    ax.set_xlim(-0.05, 1.05)
    ax.set_ylim(-0.05, 1.05)
    ax.plot([0, 1], [0, 1], color="0.7", lw=0.8, ls="--")
    ax.set_xlabel(rtl_lines(_("false-alarm rate (clean scans marked)")))
    ax.set_ylabel(rtl_lines(_("hit rate (objects found)")))
    ax.set_title(rtl_lines(_("trainees by cohort")))
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.tight_layout()
    with atomic_open(path) as fh:
        fig.savefig(fh, format="png", dpi=110)
    plt.close(fig)
    return path


def _ratings_chart(comparison: CohortComparison, path: Path) -> Path:
    """Per cohort, the area under the pooled ratings ROC with its 95 % interval (black)
    and each trainee's own area (dots)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from scanlab.io._common import atomic_open

    labels = [c["cohort"] for c in comparison.cohorts]
    fig, ax = plt.subplots(figsize=(max(5.0, 1.3 * len(labels) + 2), 4))
    for k, cohort in enumerate(comparison.cohorts):
        area = cohort.get("rating_area")
        if area is not None:
            ax.errorbar(
                [k], [area[0]], yerr=[[area[0] - area[1]], [area[2] - area[0]]],
                color="black", marker="s", capsize=5, lw=2,
                label=rtl_lines(_("cohort, pooled [95 %]")) if k == 0 else None,
            )  # fmt: skip
        own = sorted(comparison.rating_areas.get(cohort["cohort"], {}).values())
        if own:
            spread = np.linspace(-0.15, 0.15, len(own)) if len(own) > 1 else [0.0]
            ax.scatter(
                k + 0.25 + np.asarray(spread), own, s=18, alpha=0.8, color="C0",
                label=rtl_lines(_("each trainee")) if k == 0 else None,
            )  # fmt: skip
    ax.axhline(0.5, color="0.7", lw=0.8, ls="--")
    ax.set_xticks(np.arange(len(labels)), [rtl_lines(x) for x in labels], rotation=20)
    ax.set_xlim(-0.6, len(labels) - 0.4)
    ax.set_ylim(-0.03, 1.05)
    ax.set_ylabel(rtl_lines(_("area under the ratings ROC")))
    ax.set_title(rtl_lines(_("clear/suspect ratings by cohort")))
    if any(c.get("rating_area") is not None for c in comparison.cohorts):
        ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    with atomic_open(path) as fh:
        fig.savefig(fh, format="png", dpi=110)
    plt.close(fig)
    return path
