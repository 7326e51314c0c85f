"""The cohort report (``scanlab evaluate --cohort``) in the instructor's language: the page,
its charts and assist.csv's headers translated, Dari right to left, the CSV cells and the
other tables' headers left as keys, and the English page as it was."""

from __future__ import annotations

import csv
import html
import re

import pytest

from scanlab.exercises import compare_cohorts, write_cohort_report
from scanlab.i18n import get_language, translation

#: The headings of the English page (title, h1, h2, table headers) as it was before it was
#: translated: the English page keeps them.
ENGLISH_HEADINGS = [
    ("title", "cohorts"),
    ("h1", "Cohorts and the detector"),
    ("th", "cohort"), ("th", "exam"), ("th", "trainees"), ("th", "hit rate [95 %]"),
    ("th", "false alarms [95 %]"), ("th", "d' mean ± sd"),
    ("th", "ratings: ROC area [95 %], pooled"), ("th", "ratings: d' [95 %], pooled"),
    ("th", "ratings: mean of each trainee's area"), ("th", "detector hit rate"),
    ("th", "detector false alarms"),
    ("h2", "Humans with and without Detector assist, on the same items"),
    ("th", "cohort"), ("th", "basis"), ("th", "group"), ("th", "trainees"), ("th", "hit rate"),
    ("th", "false-alarm rate"), ("th", "d'"), ("th", "ratings: ROC area"),
    ("h2", "Where most trainees and the detector disagree"),
]  # fmt: skip
#: Symbols, the same in every language.
SYMBOLS = {"d'"}


def headings(page: str) -> list[tuple[str, str]]:
    found = re.findall(r"<(title|h1|h2|h3|th)>(.*?)</\1>", page, re.S)
    return [(tag, " ".join(html.unescape(re.sub("<[^>]+>", " ", t)).split())) for tag, t in found]


@pytest.fixture
def comparison(results, tmp_path):
    """The test class as cohort "spring", with one object most trainees found and the
    detector missed (as a detector graded on the package would report it)."""
    spring = tmp_path / "spring.json"
    results.save(spring)
    made = compare_cohorts([spring])
    made.objects.append(
        {
            "cohort": "spring",
            "exam": results.exam_name,
            "item_id": "item-07",
            "object_id": "o1",
            "threat_class": "narcotics",
            "concealment": "false_wall",
            "level": "hard",
            "humans_found": 0.75,
            "detector_found": False,
        }
    )
    return made


def _charts(monkeypatch) -> list[str]:
    """Titles, axis labels, tick labels and legend entries of every chart saved from now on."""
    from matplotlib.figure import Figure

    drawn: list[str] = []
    original = Figure.savefig

    def record(fig, *args, **kwargs):
        for ax in fig.axes:
            texts = [ax.title, ax.xaxis.label, ax.yaxis.label, *ax.get_xticklabels()]
            if ax.get_legend():
                texts += ax.get_legend().get_texts()
            drawn.extend(t.get_text() for t in texts if t.get_text())
        return original(fig, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", record)
    return drawn


def test_english_page_keeps_its_headings(comparison, tmp_path):
    write_cohort_report(comparison, tmp_path / "en", lang="en")
    page = (tmp_path / "en" / "cohorts.html").read_text(encoding="utf-8")
    assert "<html lang='en' dir='ltr'>" in page
    assert headings(page) == ENGLISH_HEADINGS
    assert (
        "<li>spring item-07: narcotics (hard) - found by 75% of trainees, missed by the "
        "detector</li>" in page
    )


@pytest.mark.parametrize("lang", ["ru", "fa"])
def test_cohort_report_in_the_instructors_language(comparison, tmp_path, monkeypatch, lang):
    said = translation(lang)
    drawn = _charts(monkeypatch)
    out = tmp_path / lang
    write_cohort_report(comparison, out, lang=lang)
    page = (out / "cohorts.html").read_text(encoding="utf-8")
    assert f"<html lang='{lang}' dir='{'rtl' if lang == 'fa' else 'ltr'}'>" in page
    translated = headings(page)
    assert len(translated) == len(ENGLISH_HEADINGS)
    for (tag, english), (tag_here, text) in zip(ENGLISH_HEADINGS, translated, strict=True):
        assert tag_here == tag
        if english in SYMBOLS:
            assert text == english
            continue
        assert text == said.gettext(english) != english, f"{english!r} left in English"
    for table in (translated[2:13], translated[14:22]):  # no two columns named alike
        assert len({text for _, text in table}) == len(table), table
    # The explanations, the groups and the disagreement, threat class and level by name.
    for english in ("with Detector assist", "with − without", "as assigned"):
        assert f"<td>{said.gettext(english)}</td>" in page
        assert f"<td>{english}</td>" not in page
    assert "Pooled over each group" not in page and "Ratings: every trainee" not in page
    disagreement = said.gettext(
        "{cohort} {item}: {threat_class} ({level}) - found by {share} of trainees, missed by "
        "the detector"
    ).format(
        cohort="spring",
        item="item-07",
        threat_class=said.gettext("narcotics"),
        level=said.gettext("hard"),
        share="75%",
    )
    assert f"<li>{disagreement}</li>" in page
    if lang == "ru":  # figures with a decimal comma, as the class report writes them
        assert not re.search(r"<td>\d\.\d\d", page) and re.search(r"<td>\d,\d\d \[", page)
    assert get_language() == "en"  # the report's language did not leak into the process

    # assist.csv: headers in the language, cells as keys; cohorts.csv as keys throughout.
    header, *rows = list(csv.reader((out / "assist.csv").read_text(encoding="utf-8").splitlines()))
    assert header[:3] == [said.gettext(m) for m in ("cohort", "basis", "group")]
    assert len(set(header)) == len(header)
    assert [r[1:3] for r in rows[:3]] == [
        ["assigned", "with"], ["assigned", "without"], ["assigned", "difference"]
    ]  # fmt: skip
    cohorts_header = (out / "cohorts.csv").read_text().splitlines()[0].split(",")
    assert {"cohort", "exam", "hit_rate", "hit_rate_low"} <= set(cohorts_header)

    # Charts: every title and label the catalogue's, each line right to left in Dari.
    mark = "\u200f" if lang == "fa" else ""
    for english in ("humans and the detector on the same items", "share of objects found",
                    "trainees by cohort", "hit rate (objects found)",
                    "clear/suspect ratings by cohort", "area under the ratings ROC",
                    "trainees (mean)", "detector"):  # fmt: skip
        assert mark + said.gettext(english) in drawn, english
        assert english not in drawn
    assert mark + said.gettext("narcotics") in drawn or not comparison.by_class
    if lang == "fa":  # words, not the axes' numbers
        worded = [t for t in drawn if re.search(r"[^\W\d_]", t)]
        assert all(line.startswith("\u200f") for t in worded for line in t.split("\n")), [
            t for t in worded if not t.startswith("\u200f")
        ]
