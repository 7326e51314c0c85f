"""Class reports in the instructor's language: page, CSV headers and charts translated,
numbers and dates by the locale's rules (Babel), right to left for Dari and Pashto."""

from __future__ import annotations

import csv
import re

from typer.testing import CliRunner

from scanlab.cli import app
from scanlab.exercises import write_report
from scanlab.i18n import get_language, translation


def _csv(path) -> list[list[str]]:
    return list(csv.reader(path.read_text(encoding="utf-8").splitlines()))


def test_report_in_russian_with_locale_numbers_and_dates(results, tmp_path):
    write_report(results, tmp_path / "ru", lang="ru")
    page = (tmp_path / "ru" / "report.html").read_text(encoding="utf-8")
    assert "<html lang='ru' dir='ltr'>" in page
    assert "<h1>Отчёт по группе: test-exam</h1>" in page
    for english in ("Trainees", "hit rate [95 %]", "reliability", "far too few"):
        assert english not in page
    ru = translation("ru")
    assert f"<th>{ru.gettext('hit rate [95 %]')}</th>" in page
    # The perfect trainee found 6 of 6: 6/6 = 1,00 with a decimal comma, and no decimal dot
    # is left in the score tables.
    assert "6/6 = 1,00 [" in page
    tables = "".join(re.findall(r"<table>.*?</table>", page))
    assert not re.search(r"\d\.\d", tables.replace("-ln T", ""))
    assert "слишком мало для оценки" in page  # the reliability note, in Russian
    assert get_language() == "en"  # the report's language did not leak into the process

    header, *rows = _csv(tmp_path / "ru" / "scores.csv")
    assert header[:5] == ["экзамен", "код экзамена", "курсант", "разбивка", "группа"]
    assert "доля попаданий" in header
    assert all(re.fullmatch(r"-?[\d.e+-]*", c) for row in rows for c in row[5:-1])


def test_report_in_dari_is_right_to_left_and_english_keeps_its_columns(results, tmp_path):
    write_report(results, tmp_path / "fa", lang="prs")
    page = (tmp_path / "fa" / "report.html").read_text(encoding="utf-8")
    assert "<html lang='fa' dir='rtl'>" in page and "text-align:start" in page
    assert "گزارش صنف: test-exam" in page
    write_report(results, tmp_path / "en", lang="en")
    header = _csv(tmp_path / "en" / "scores.csv")[0]
    assert header[:5] == ["exam", "exam_id", "trainee", "breakdown", "group"]


def test_chart_labels_are_translated_and_shaped(results, tmp_path, monkeypatch):
    """Every text matplotlib draws is the translation, and in Dari it is shaped (Arabic
    presentation forms) in display order, since matplotlib does neither."""
    from matplotlib.figure import Figure

    drawn: list[str] = []
    original = Figure.savefig

    def record(fig, *args, **kwargs):
        for ax in fig.axes:
            drawn.extend([ax.get_title(), ax.get_xlabel(), ax.get_ylabel()])
        return original(fig, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", record)
    write_report(results, tmp_path / "fa", lang="fa")
    titles = [t for t in drawn if t]
    assert titles and not any(re.search("[a-z]{4}", t.replace("test-exam", "")) for t in titles)
    shaped = [t for t in titles if re.search("[\ufb50-\ufdff\ufe70-\ufeff]", t)]
    assert len(shaped) == len(titles)


def test_exam_report_cli_lang(results, tmp_path):
    saved = results.save(tmp_path / "results.json")
    runner = CliRunner()
    out = tmp_path / "report"
    done = runner.invoke(app, ["exam", "report", str(saved), "--out", str(out), "--lang", "ky"])
    assert done.exit_code == 0, done.output
    assert "файл жазылды" in done.output
    assert "<html lang='ky'" in (out / "report.html").read_text(encoding="utf-8")
    bad = runner.invoke(app, ["exam", "report", str(saved), "--out", str(out), "--lang", "xx"])
    assert bad.exit_code == 1 and "language 'xx' has no catalogue" in bad.output
