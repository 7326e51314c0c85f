"""The files of a batch evaluation written from results made by hand (no detector runs):
tables, curve points and the HTML report hold exactly the figures given, worked out here."""

from __future__ import annotations

import csv
import json
from types import SimpleNamespace

import numpy as np
import pytest

from scanlab.evaluate._batch import BatchResults
from scanlab.evaluate._report import write_batch_report
from scanlab.i18n import use_language

A, B = "det a", "det<b>"


def _row(detector, scan_id, clean, score, detected=(), **extra):
    objects = [{"object_id": f"o{k}", "detected": d} for k, d in enumerate(detected)]
    return {
        "detector": detector,
        "scan_id": scan_id,
        "clean": clean,
        "score": score,
        "threshold": 0.5,
        "flagged": score > 0.5,
        "pitch_mm": [5.0, 4.5],
        "pitch_source": "metadata",
        "in_domain": True,
        "objects": objects,
        "false_regions": 1,
        "seconds": 0.25,
        "pixels": [1, 2, 3],
        "froc": {"x": 1},
        **extra,
    }


def _interval(value, low, high):
    return {"value": value, "low": low, "high": high}


@pytest.fixture
def results():
    # det a: clean scans s1 (0.1), s2 (0.4); concealed s3 (0.35, one of two objects found)
    # and s4 (0.8, its object found); s5 failed. det<b>: every scan clean, so no ROC.
    per_scan = {
        A: [
            _row(A, "s1", True, 0.1),
            _row(A, "s2", True, 0.4),
            _row(A, "s3", False, 0.35, (True, False)),
            _row(A, "s4", False, 0.8, (True,)),
            {"detector": A, "scan_id": "s5", "error": "s5.npz: damaged"},
        ],
        B: [_row(B, "s1", True, 0.2), _row(B, "s2", True, 0.3)],
    }
    metrics = {
        A: {
            "n_scans": 4,
            "n_clean": 2,
            "n_objects": 3,
            "n_errors": 1,
            "image_auroc": _interval(0.75, 0.5, 1.0),
            "detection_rate_at_fpr_0.01": _interval(0.5, 0.0, 1.0),
            "pixel_auroc": 0.9125,
            "warnings": ["only 2 clean scans"],
            "recall_by_class": {"cash": {"recall": 0.5, "low": 0.09, "high": 0.91, "n": 2}},
            # An entry without its interval (none is computed for it) shows NaN there.
            "recall_by_level": {"3": {"recall": 1.0, "n": 1}},
            "froc": {
                "thresholds": [0.8, 0.35],
                "mean_false_positives": [0.25, 1.0],
                "sensitivity": [1 / 3, 2 / 3],
            },
        },
        B: {"n_scans": 2, "n_clean": 2, "image_auroc": None},
    }
    comparisons = [
        {
            "a": A,
            "b": B,
            "n_scans": 4,
            "auroc_difference": 0.25,
            "delong": {"se": 0.1, "z": 2.5, "p_value": 0.0124, "low": -0.1, "high": 0.6},
            "bootstrap": {"low": -0.05, "high": 0.55, "se": 0.15},
            "mcnemar": {
                "0.05": {"only_a": 2, "only_b": 0, "both": 1, "neither": 0, "p_value": 0.5},
                "0.01": {"only_a": 1, "only_b": 1, "both": 0, "neither": 1, "p_value": 1.0},
            },
        },
        {"a": B, "b": "det c", "n_scans": 2, "note": "fewer than two concealed scans"},
    ]
    return BatchResults(
        per_scan=per_scan,
        metrics=metrics,
        errors=[per_scan[A][-1]],
        comparisons=comparisons,
        settings={
            "matching_rule": "overlap",
            "input": "display",
            "pitch_mm": [0.5, 0.75],
            "fprs": [0.01, 0.05],
            "n_bootstrap": 200,
        },
        overlays={A: [{"kind": "miss", "scan_id": "s3", "score": 0.35, "path": "overlays/x.png"}]},
    )


def test_per_scan_tables(results, tmp_path):
    paths = write_batch_report(results, tmp_path / "ev")
    assert set(paths) == {"csv", "jsonl", "metrics", "roc", "froc", "roc_csv", "froc_csv", "html"}
    with open(paths["csv"], newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["detector"], r["scan_id"]) for r in rows] == [
        (A, "s1"), (A, "s2"), (A, "s3"), (A, "s4"), (A, "s5"), (B, "s1"), (B, "s2"),
    ]  # fmt: skip
    s3 = rows[2]
    assert (s3["clean"], s3["score"], s3["flagged"], s3["pitch_mm"]) == (
        "False", "0.35", "False", "5 x 4.5",
    )  # fmt: skip
    assert (s3["n_objects"], s3["n_detected"], s3["false_regions"], s3["error"]) == (
        "2", "1", "1", "",
    )  # fmt: skip
    assert (rows[4]["error"], rows[4]["n_objects"], rows[4]["pitch_mm"]) == (
        "s5.npz: damaged", "0", "",
    )  # fmt: skip
    lines = [json.loads(line) for line in paths["jsonl"].read_text().splitlines()]
    assert len(lines) == 7 and all("pixels" not in r and "froc" not in r for r in lines)
    assert lines[2]["objects"] == [
        {"object_id": "o0", "detected": True},
        {"object_id": "o1", "detected": False},
    ]
    saved = json.loads(paths["metrics"].read_text())
    assert saved["metrics"] == results.metrics and saved["settings"] == results.settings
    assert saved["comparisons"] == results.comparisons and saved["errors"] == results.errors
    assert saved["overlays"] == results.overlays


def test_curve_points(results, tmp_path):
    paths = write_batch_report(results, tmp_path / "ev")
    with open(paths["roc_csv"], newline="") as fh:
        roc = list(csv.reader(fh))
    # det a, called positive at score >= t: t = inf none; 0.8: s4 (tpr 1/2); 0.4: s2 too
    # (fpr 1/2); 0.35: s3 (tpr 1); 0.1: s1 (fpr 1). det<b> has no concealed scan: no curve.
    assert roc == [
        ["detector", "threshold", "false_alarm_rate", "detection_rate"],
        [A, "inf", "0", "0"],
        [A, "0.8", "0", "0.5"],
        [A, "0.4", "0.5", "0.5"],
        [A, "0.35", "0.5", "1"],
        [A, "0.1", "1", "1"],
    ]
    with open(paths["froc_csv"], newline="") as fh:
        froc = list(csv.reader(fh))
    assert froc == [
        ["detector", "threshold", "mean_false_regions_per_scan", "sensitivity"],
        [A, "0.8", "0.25", "0.333333"],
        [A, "0.35", "1", "0.666667"],
    ]
    for name in ("roc", "froc"):
        assert paths[name].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # Written again over the same folder (a run resumed): the same files.
    again = write_batch_report(results, tmp_path / "ev")
    assert again == paths and again["froc_csv"].read_text() == paths["froc_csv"].read_text()


def test_html_report(results, tmp_path):
    import html

    page = write_batch_report(results, tmp_path / "ev")["html"].read_text()
    assert "<th>det a</th><th>det&lt;b&gt;</th>" in page
    assert (
        "<p>Settings: matching by overlap, scans read as display exports, pitch 0.5 × 0.75 mm, "
        "detection rates at 1.0% / 5.0% false alarms and 200 bootstrap resamples per "
        "interval.</p>" in page
    )
    # The metrics, one row each: counts, the image-level figures, then the rest.
    table = page.split("<table><tr><th>metric</th>", 1)[1].split("</table>", 1)[0]
    cells = [html.unescape(row.split("</td>", 1)[0]) for row in table.split("<tr><td>")[1:]]
    assert cells == [
        "scans evaluated",
        "clean scans",
        "concealed objects",
        "scans that failed",
        "image AUROC",
        "average precision",
        "image F1-max",
        "detection rate at 1.0% false alarms",
        "pixel AUROC",
        "pixel average precision",
        "pixel F1-max",
        "AUPRO (false-positive rate up to 0.3)",
        "false-alarm rate at the detector's threshold",
        "seconds per scan (one worker)",
    ]
    assert "<li>det a: only 2 clean scans</li>" in page
    assert (
        "<tr><td>image AUROC</td><td>0.750 <small>[0.500, 1.000]</small></td><td>n/a</td></tr>"
        in page
    )
    assert "<tr><td>scans evaluated</td><td>4</td><td>2</td></tr>" in page
    assert "<tr><td>scans that failed</td><td>1</td><td>n/a</td></tr>" in page
    assert (
        "<tr><td>detection rate at 1.0% false alarms</td>"
        "<td>0.500 <small>[0.000, 1.000]</small></td><td>n/a</td></tr>" in page
    )
    assert "<tr><td>pixel AUROC</td><td>0.912</td><td>n/a</td></tr>" in page
    assert "<h2>Recall per threat class (at each detector's threshold)</h2>" in page
    assert "<tr><td>cash</td><td>50% <small>[9%, 91%] n=2</small></td><td>-</td></tr>" in page
    assert (
        "<h2>Recall per difficulty level</h2><table><tr><th></th><th>det a</th>"
        "<th>det&lt;b&gt;</th></tr><tr><td>3</td><td>100% <small>[nan%, nan%] n=1</small>"
        "</td><td>-</td></tr></table>" in page
    )
    assert (
        "<p>Same scans for both detectors. AUROC difference with its paired bootstrap 95 % "
        "interval and DeLong's test; McNemar's exact test on the concealed scans each detector "
        "flags at a false-alarm rate set on its own clean scores.</p>" in page
    )
    # The comparisons, rates in increasing order: 1 % then 5 %.
    assert (
        "<th>McNemar at 1.0% FA<br><small>a only / b only, p</small></th>"
        "<th>McNemar at 5.0% FA<br><small>a only / b only, p</small></th>" in page
    )
    assert (
        "<tr><td>det a &minus; det&lt;b&gt; <small>(4 scans)</small></td><td>+0.250</td>"
        "<td>[-0.050, +0.550]</td><td>[-0.100, +0.600], p = 0.0124</td>"
        "<td>1 / 1, p = 1</td><td>2 / 0, p = 0.5</td></tr>" in page
    )
    assert (
        "<tr><td>det&lt;b&gt; &minus; det c</td><td colspan='5'>"
        "fewer than two concealed scans</td></tr>" in page
    )
    assert "<figcaption>miss: s3 (score 0.350)</figcaption>" in page
    assert '<img src="overlays/x.png" alt="miss">' in page
    assert "<li>det a / s5: s5.npz: damaged</li>" in page


def test_settings_line_says_where_the_pitch_came_from_and_keeps_unknown_keys():
    from scanlab.evaluate._report import settings_line

    with use_language("en"):
        line = settings_line({"matching_rule": "centroid", "pitch_mm": None, "workers": 4})
        assert line == (
            "matching by centroid, pitch as each scan records it, else as measured and workers 4"
        )
        assert settings_line({"pitch_mm": 0.8, "n_bootstrap": 1}) == (
            "pitch 0.8 mm and 1 bootstrap resample per interval"
        )
        assert settings_line({}) == ""


def test_html_report_of_one_detector_without_failures(tmp_path):
    one = BatchResults(per_scan={A: [_row(A, "s1", True, 0.1), _row(A, "s2", False, 0.9)]})
    page = write_batch_report(one, tmp_path / "ev")["html"].read_text()
    assert "<p>One detector only: nothing to compare.</p>" in page
    assert "<ul><li>none</li></ul>" in page and "<p>none drawn</p>" in page


# --- in the reader's language --------------------------------------------------------------

#: The headings of the English page (title, h1-h3, table headers) as the report wrote them
#: before it was translated: the English page must keep them.
ENGLISH_HEADINGS = [
    ("title", "scanlab evaluation"),
    ("h1", "Detector evaluation"),
    ("th", "metric"), ("th", A), ("th", B),
    ("h2", "Paired comparison"),
    ("th", "a − b"), ("th", "AUROC difference"), ("th", "paired bootstrap"),
    ("th", "DeLong interval, p"),
    ("th", "McNemar at 1.0% FA a only / b only, p"),
    ("th", "McNemar at 5.0% FA a only / b only, p"),
    ("h2", "Recall per concealment method (at each detector's threshold)"),
    ("th", ""), ("th", A), ("th", B),
    ("h2", "Recall per threat class (at each detector's threshold)"),
    ("th", ""), ("th", A), ("th", B),
    ("h2", "Recall per difficulty level"),
    ("th", ""), ("th", A), ("th", B),
    ("h2", "Curves"),
    ("h2", "Top false alarms and misses"),
    ("h3", A),
    ("h2", "Items that could not be evaluated"),
]  # fmt: skip
#: Headings that are names, not words: the same in every language.
NAMES = {A, B, "a − b", ""}


def headings(page: str) -> list[tuple[str, str]]:
    """(tag, text) of the page's title, headings and table headers, tags taken out."""
    import html
    import re

    found = re.findall(r"<(title|h1|h2|h3|th)>(.*?)</\1>", page, re.S)
    return [(tag, " ".join(html.unescape(re.sub("<[^>]+>", " ", t)).split())) for tag, t in found]


def drawn_texts(monkeypatch) -> list[str]:
    """Every title, axis label and legend entry of the figures saved from now on."""
    from matplotlib.figure import Figure

    drawn: list[str] = []
    original = Figure.savefig

    def record(fig, *args, **kwargs):
        for ax in fig.axes:
            texts = [ax.title, ax.xaxis.label, ax.yaxis.label]
            if ax.get_legend():
                texts += ax.get_legend().get_texts()
            drawn.extend(t.get_text() for t in texts if t.get_text())
        return original(fig, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", record)
    return drawn


def test_english_page_keeps_its_headings(results, tmp_path):
    page = write_batch_report(results, tmp_path / "en", lang="en")["html"].read_text()
    assert '<html lang="en" dir="ltr">' in page
    assert headings(page) == ENGLISH_HEADINGS


@pytest.mark.parametrize("lang", ["ru", "fa"])
def test_page_and_plots_in_the_readers_language(results, tmp_path, monkeypatch, lang):
    """Every heading the English page has is there in ``lang``: the catalogue's translation
    where the heading is one message, and in any case no longer the English; names stay.
    Dari reads right to left; the tables and metrics stay keys, as scripts read them."""
    from scanlab.i18n import translation

    said = translation(lang)
    drawn = drawn_texts(monkeypatch)
    paths = write_batch_report(results, tmp_path / lang, lang=lang)
    page = paths["html"].read_text(encoding="utf-8")
    direction = "rtl" if lang == "fa" else "ltr"
    assert f'<html lang="{lang}" dir="{direction}">' in page
    translated = headings(page)
    assert len(translated) == len(ENGLISH_HEADINGS)
    for (tag, english), (tag_here, text) in zip(ENGLISH_HEADINGS, translated, strict=True):
        assert tag_here == tag
        if english in NAMES:
            assert text == english
            continue
        assert text != english, f"{english!r} left in English"
        if said.gettext(english) != english:  # one message: its translation
            assert text == said.gettext(english)
    assert f"<h2>{said.gettext('Top false alarms and misses')}</h2>" in page
    # The metrics' names, the overlay's caption and "none" of the recall tables' names.
    for english in ("scans evaluated", "image AUROC", "pixel AUROC"):
        assert f"<tr><td>{said.gettext(english)}</td>" in page and english not in page
    assert (
        said.gettext("{kind}: {scan} (score {score})").format(
            kind=said.gettext("miss"), scan="s3", score="0" + ("," if lang == "ru" else ".") + "350"
        )
        in page
    )
    assert f"<td>{said.gettext('cash')}</td>" in page  # threat classes by name
    # The run's settings named in the language, figures in its locale (Dari as written in
    # Afghanistan keeps the decimal point), listed as the language lists (and, و).
    settings = {
        "ru": "Настройки: сопоставление: перекрытие, снимки прочитаны как экспорт для экрана, "
        "шаг пикселя 0,5 × 0,75 мм, доля обнаружения при 1,0% / 5,0% ложных тревог и 200 "
        "бутстреп-выборок на интервал.",
        "fa": "تنظیمات: تطبیق بر اساس همپوشانی،\u200f اسکن‌ها به‌صورت خروجی نمایشی خوانده "
        "شد،\u200f گام پیکسل 0.5 × 0.75 میلی‌متر،\u200f نرخ کشف در 1.0% / 5.0% هشدار کاذب، و "
        "200 نمونه‌گیری بوت‌استرپ برای هر بازه.",
    }
    assert f"<p>{settings[lang]}</p>" in page
    if lang == "ru":  # a decimal comma in the figures of the page, none in the tables
        assert "<td>0,750 <small>[0,500, 1,000]</small></td>" in page
        assert "p = 0,0124" in page
    assert "0.35" in paths["csv"].read_text() and "detector,scan_id" in paths["csv"].read_text()
    assert json.loads(paths["metrics"].read_text())["metrics"] == results.metrics
    assert paths["roc_csv"].read_text().startswith("detector,threshold,false_alarm_rate")

    # The plots: axis labels and titles translated, each line right to left in Dari.
    for english in ("false-alarm rate (clean scans flagged)", "image-level ROC",
                    "mean false regions per scan", "sensitivity (objects found)"):  # fmt: skip
        mark = "\u200f" if lang == "fa" else ""
        assert mark + said.gettext(english) in drawn
        assert english not in drawn


@pytest.fixture
def figures(monkeypatch):
    """The figures the report draws, kept open when it closes them, so that what they show
    is checked and not only that a PNG was written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    close, kept = plt.close, []

    def keep(fig=None):  # plt.close(None) closes the current figure
        kept.append(plt.gcf() if fig is None else fig)

    monkeypatch.setattr(plt, "close", keep)
    yield kept
    for fig in kept:
        close(fig)


def _png_size(path):
    """(width, height) in pixels, from the PNG's header."""
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


def test_roc_and_froc_plots(results, tmp_path, figures):
    from matplotlib.colors import to_rgba

    paths = write_batch_report(results, tmp_path / "ev")
    roc, froc = figures
    # 5 x 4.5 inches at 110 dpi.
    assert tuple(roc.get_size_inches()) == tuple(froc.get_size_inches()) == (5.0, 4.5)
    assert _png_size(paths["roc"]) == _png_size(paths["froc"]) == (550, 495)
    (ax,) = roc.axes
    assert ax.get_xlabel() == "false-alarm rate (clean scans flagged)"
    assert ax.get_ylabel() == "detection rate (scans with a concealment flagged)"
    assert ax.get_title() == "image-level ROC"
    # det a's curve (the points of test_curve_points), then the chance diagonal; det<b> has
    # no concealed scan and no curve.
    curve, chance = ax.get_lines()
    assert curve.get_label() == "det a (AUROC 0.750)"
    assert list(curve.get_xdata()) == [0, 0, 0.5, 0.5, 1]
    assert list(curve.get_ydata()) == [0, 0.5, 0.5, 1, 1]
    assert (list(chance.get_xdata()), list(chance.get_ydata())) == ([0, 1], [0, 1])
    assert to_rgba(chance.get_color()) == to_rgba("0.7")
    assert (chance.get_linewidth(), chance.get_linestyle()) == (0.8, "--")
    legend = ax.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["det a (AUROC 0.750)"]
    assert legend._loc == 4  # "lower right"
    assert legend.get_texts()[0].get_fontsize() == 8
    (ax,) = froc.axes
    assert ax.get_xlabel() == "mean false regions per scan"
    assert ax.get_ylabel() == "sensitivity (objects found)"
    assert ax.get_title() == "FROC"
    assert ax.get_xscale() == "symlog" and ax.xaxis.get_transform().linthresh == 0.1
    assert ax.get_ylim() == (0, 1.02)
    (curve,) = ax.get_lines()
    assert curve.get_label() == "det a" and curve.get_marker() == "."
    assert list(curve.get_xdata()) == [0.25, 1.0]
    assert list(curve.get_ydata()) == [1 / 3, 2 / 3]
    legend = ax.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["det a"]
    assert legend._loc == 4 and legend.get_texts()[0].get_fontsize() == 8


def test_plots_without_a_curve_have_no_legend(tmp_path, figures):
    # Every scan of the one detector failed: empty axes, no legend (and no error).
    failed = BatchResults(per_scan={A: [{"detector": A, "scan_id": "s1", "error": "damaged"}]})
    write_batch_report(failed, tmp_path / "ev")
    roc, froc = figures
    (chance,) = roc.axes[0].get_lines()  # the diagonal alone
    assert (list(chance.get_xdata()), list(chance.get_ydata())) == ([0, 1], [0, 1])
    assert froc.axes[0].get_lines() == []
    assert roc.axes[0].get_legend() is None and froc.axes[0].get_legend() is None


class _Object:
    """What the overlay reads of an answer key's object: its id and its mask."""

    def __init__(self, object_id, bbox):
        self.object_id, self.bbox = object_id, bbox

    def full_mask(self, shape):
        r0, c0, r1, c1 = self.bbox
        mask = np.zeros(shape, dtype=bool)
        mask[r0:r1, c0:c1] = True
        return mask


def _overlay(scan, amap, tmp_path, figures):
    """Draw one overlay: objects o0 (found) and o1 (missed), one region at the threshold
    and one below it; return the figure and the PNG's path."""
    from scanlab.evaluate._report import _draw_overlay

    key = SimpleNamespace(
        shape=(40, 60), objects=[_Object("o0", (5, 8, 15, 20)), _Object("o1", (22, 30, 35, 50))]
    )
    regions = [
        SimpleNamespace(bbox=(4, 7, 16, 22), score=0.5),
        SimpleNamespace(bbox=(25, 2, 30, 9), score=0.49),
    ]
    det = SimpleNamespace(anomaly_map=amap, threshold=0.5, regions=regions)
    path = tmp_path / "overlays" / "det" / "miss-1-s1.png"
    _draw_overlay(scan, det, key, {"o0"}, "det: miss 1 - s1", path)
    (fig,) = figures
    return fig, path


def test_overlay_picture(tmp_path, figures):
    from matplotlib.colors import to_rgba

    from scanlab.io import Scan

    # A display export (dark = dense): the picture shows 1 - value / 255, its grey scale cut
    # at the 1st and 99.5th percentiles.
    pixels = np.arange(40 * 60, dtype=np.uint8).reshape(1, 40, 60)
    amap = np.zeros((40, 60), dtype=np.float32)
    amap[5:15, 8:20], amap[0, 0] = 2.0, 0.08  # 0.08 / 2 = 0.04 is under the 5 % shown
    fig, path = _overlay(Scan(pixels, "display"), amap, tmp_path, figures)
    grey = 1.0 - pixels[0] / 255.0
    lo, hi = np.percentile(grey, [1, 99.5])
    assert tuple(fig.get_size_inches()) == pytest.approx((12, 12 * 40 / 60 * 2 + 0.8))
    assert _png_size(path) == (1080, 1512)  # at 90 dpi
    top, bottom = fig.axes
    assert not top.axison and not bottom.axison
    assert (top.get_title(), top.title.get_fontsize()) == ("det: miss 1 - s1", 9)
    assert bottom.get_title() == (
        "anomaly map; key objects green (found) / amber (missed); regions red (at or above "
        "the threshold) / grey (below)"
    )
    assert bottom.title.get_fontsize() == 8
    (image,) = top.get_images()
    scan_image, map_image = bottom.get_images()
    for shown in (image, scan_image):
        np.testing.assert_array_equal(shown.get_array(), grey)
        assert shown.get_clim() == (lo, hi) and shown.get_cmap().name == "gray_r"
    shown = map_image.get_array()
    assert shown.mask.sum() == 40 * 60 - 10 * 12  # the object's block alone, at 2 / 2 = 1
    assert shown[5:15, 8:20].tolist() == np.ones((10, 12)).tolist()
    assert map_image.get_cmap().name == "inferno" and map_image.get_alpha() == 0.55
    for ax in (top, bottom):
        found, missed = ax.collections  # the objects' outlines: green found, amber missed
        for outline, colour, (r0, c0, r1, c1) in (
            (found, "limegreen", (5, 8, 15, 20)),
            (missed, "orange", (22, 30, 35, 50)),
        ):
            assert list(outline.levels) == [0.5]
            assert [tuple(c) for c in outline.get_edgecolor()] == [to_rgba(colour)]
            assert list(outline.get_linewidth()) == [1.2]
            points = np.concatenate(outline.allsegs[0])
            assert (points[:, 0].min(), points[:, 0].max()) == (c0 - 0.5, c1 - 0.5)
            assert (points[:, 1].min(), points[:, 1].max()) == (r0 - 0.5, r1 - 0.5)
        # The regions: red solid at or above the threshold, grey dashed below; each box
        # (row0, col0, row1, col1) drawn round its pixels.
        at, below = ax.patches
        for box, (x, y, w, h), colour, style in (
            (at, (6.5, 3.5, 15, 12), "red", "-"),
            (below, (1.5, 24.5, 7, 5), "0.6", "--"),
        ):
            assert (*box.get_xy(), box.get_width(), box.get_height()) == (x, y, w, h)
            assert box.get_edgecolor() == to_rgba(colour) and box.get_linestyle() == style
            assert box.get_linewidth() == 1.2 and not box.get_fill()


def test_overlay_of_a_flat_scan_and_an_empty_map(tmp_path, figures):
    from scanlab.io import Scan

    # Attenuation shown as it is; a flat scan gets a grey scale one unit wide, and a map of
    # zeros shows nothing (no division by its zero peak).
    scan = Scan(np.full((1, 40, 60), 3.0, dtype=np.float32), "attenuation")
    fig, _ = _overlay(scan, np.zeros((40, 60), dtype=np.float32), tmp_path, figures)
    top, bottom = fig.axes
    (image,) = top.get_images()
    np.testing.assert_array_equal(image.get_array(), np.full((40, 60), 3.0))
    assert image.get_clim() == (3.0, 4.0)
    shown = bottom.get_images()[1].get_array()
    assert shown.mask.all() and not np.isnan(shown.data).any()


_DETECTOR_FILE = """
from types import SimpleNamespace


def make():
    return lambda scan: SimpleNamespace(score={score})
"""


def _overlay_item(tmp_path):
    """One clean scan on disk with its answer key, as a manifest lists them."""
    from scanlab.io import Scan, write_scan
    from scanlab.synth import AnswerKey

    scan_path = tmp_path / "s1.npz"
    write_scan(Scan(np.full((1, 8, 8), 0.5, np.float32), "attenuation"), scan_path)
    key_path = AnswerKey("s1", (8, 8)).save(tmp_path / "s1.json")
    return [{"scan_id": "s1", "scan_path": str(scan_path), "key_path": str(key_path)}]


def test_overlays_use_a_detector_file_as_it_is_now(tmp_path, monkeypatch):
    # Detectors are loaded once per process, keyed by their file's fingerprint: when the file
    # has changed since, the overlays are drawn with the new detector, not the one loaded then.
    import scanlab.evaluate._report as report

    items = _overlay_item(tmp_path)
    detector = tmp_path / "mine.py"
    name = f"{detector}:make"
    results = BatchResults(per_scan={name: [_row(name, "s1", True, 0.1)]})
    drawn_by = []
    monkeypatch.setattr(report, "_draw_overlay", lambda scan, det, *_: drawn_by.append(det.score))
    for score in (0.25, 0.5):  # files of different sizes: no stale bytecode
        detector.write_text(_DETECTOR_FILE.format(score=score))
        report.write_overlays(results, items, tmp_path / "ev", n=1)
    assert drawn_by == [0.25, 0.5]


def test_overlays_read_the_scan_as_the_run_did(tmp_path, monkeypatch):
    # A run with --input display --pitch 2.5 gave its detector display exports at that
    # pitch; the overlay shows, and runs the detector on, the scan read the same way.
    import scanlab.evaluate._report as report

    detector = tmp_path / "mine.py"
    detector.write_text(_DETECTOR_FILE.format(score=0.25))
    name = f"{detector}:make"
    settings = {"input": "display", "pitch_mm": 2.5}
    results = BatchResults(per_scan={name: [_row(name, "s1", True, 0.1, settings=settings)]})
    shown = []
    monkeypatch.setattr(report, "_draw_overlay", lambda scan, *_: shown.append(scan))
    report.write_overlays(results, _overlay_item(tmp_path), tmp_path / "ev", n=1)
    (scan,) = shown
    assert scan.representation.value == "display" and scan.metadata.pitch_mm == (2.5, 2.5)
