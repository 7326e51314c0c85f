"""Class reports in the instructor's language: page, CSV headers and charts translated,
numbers and dates by the locale's rules (Babel), right to left for Dari and Pashto."""

from __future__ import annotations

import csv
import re

import pytest
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
    assert header[:5] == ["экзамен", "код экзамена", "курсант", "разбивка", "подгруппа"]
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
    ratings = _csv(tmp_path / "en" / "ratings.csv")
    assert ratings[0][:6] == ["exam", "exam_id", "trainee", "rated_signal", "rated_noise", "area"]


def test_ratings_table_and_pooled_row_in_the_language(results, tmp_path):
    """ratings.csv's headers are the instructor's words like the other tables', its pooled
    row keeps its key (a cell), and the page names that row in the language."""
    from scanlab.exercises._report import POOLED

    write_report(results, tmp_path / "ru", lang="ru")
    ru = translation("ru")
    header, *rows = _csv(tmp_path / "ru" / "ratings.csv")
    names = ("exam", "exam id", "trainee", "rated scans with an object", "rated clean scans")
    assert header[:5] == [ru.gettext(m) for m in names]
    assert ru.gettext("ROC area, 95 % low") in header and "area_low" not in header
    assert rows[-1][2] == POOLED  # a key, as scripts read it
    page = (tmp_path / "ru" / "report.html").read_text(encoding="utf-8")
    assert f"<td>{ru.gettext(POOLED)}</td>" in page and ru.gettext(POOLED) != POOLED
    assert POOLED not in page


def _drawn_titles(monkeypatch) -> list[tuple[str, object]]:
    """(text, font properties) of every title and axis label the report's charts save."""
    from matplotlib.figure import Figure

    drawn: list[tuple[str, object]] = []
    original = Figure.savefig

    def record(fig, *args, **kwargs):
        for ax in fig.axes:
            for text in (ax.title, ax.xaxis.label, ax.yaxis.label):
                if text.get_text():
                    drawn.append((text.get_text(), text.get_fontproperties()))
        return original(fig, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", record)
    return drawn


def test_chart_labels_are_translated_in_logical_order_and_right_to_left(
    results, tmp_path, monkeypatch
):
    """Every title matplotlib draws is the translation, given in logical order (matplotlib
    >= 3.11 shapes and orders it; text shaped beforehand would come out reversed) with
    every line marked right to left."""
    drawn = _drawn_titles(monkeypatch)
    write_report(results, tmp_path / "fa", lang="fa")
    titles = [t for t, _ in drawn]
    assert titles and not any(re.search("[a-z]{4}", t.replace("test-exam", "")) for t in titles)
    assert not any(re.search("[\ufb50-\ufdff\ufe70-\ufeff]", t) for t in titles)
    assert all(line.startswith("\u200f") for t in titles for line in t.split("\n"))
    fa = translation("fa")
    assert "\u200f" + fa.gettext("hit rate by concealment") in titles


def test_pashto_letters_are_joined_on_charts(results, tmp_path, monkeypatch):
    """Pashto's own letters (ټ ګ ښ ...) have no Arabic presentation forms in Unicode, so
    only a shaping engine joins them: the chart's font has them, and the glyphs drawn for
    them are the font's joined (initial, medial, final) forms, by the font's glyph names."""
    from matplotlib.font_manager import findfont
    from matplotlib.ft2font import FT2Font, LoadFlags

    drawn = _drawn_titles(monkeypatch)
    write_report(results, tmp_path / "ps", lang="ps")
    ps = translation("ps")
    wanted = "\u200f" + ps.gettext("progress across exams")  # په ازموینو کې پرمختګ
    assert "ګ" in wanted
    text, props = next(d for d in drawn if d[0] == wanted)
    font = FT2Font(findfont(props))
    pashto = "ټډړږښګڼېۍځڅ"
    assert all(font.get_char_index(ord(ch)) for ch in pashto), font.fname
    font.set_size(12, 72)
    names = {
        (item.char, font.get_glyph_name(item.glyph_index))
        for item in font._layout(text, LoadFlags.NO_HINTING)
    }
    # پرمختګ: ګ ends the word after ت, which joins forward: its final form.
    assert ("ګ", "uni06AB.fina") in names, sorted(names)
    # A word started by a Pashto letter joins it too: ټول ("all") by the same route.
    word = "\u200f" + "ټول"
    starts = [font.get_glyph_name(i.glyph_index) for i in font._layout(word, LoadFlags.NO_HINTING)]
    assert "uni067C.init" in starts


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


def test_exam_errors_reach_the_instructor_in_their_language(exam_path, tmp_path, monkeypatch):
    """A wrong passphrase, a package altered after signing: the library's errors that an
    instructor or trainee meets are in their language, with the file named."""
    import shutil
    import zipfile

    from scanlab.errors import TamperError
    from scanlab.exercises import ExamPackage
    from scanlab.i18n import use_language

    secret = tmp_path / "secret.txt"
    secret.write_text("not the passphrase of this exam\n", encoding="utf-8")
    secret.chmod(0o600)
    monkeypatch.setenv("SCANLAB_LANG", "ru")
    done = CliRunner().invoke(
        app, ["exam", "tokens", str(exam_path), "t1", "--passphrase-file", str(secret)]
    )
    assert done.exit_code == 1
    said = " ".join(done.output.split())  # rich wraps long lines
    assert "ошибка:" in said and "неверная парольная фраза для этого экзамена" in said
    assert exam_path.name in said

    altered = tmp_path / "altered.zip"
    shutil.copy(exam_path, altered)
    with zipfile.ZipFile(altered, "a") as zf:
        zf.writestr("scans/extra.npz", b"not a scan")
    with use_language("fa"), pytest.raises(TamperError) as caught:
        ExamPackage.open(altered)
    said = str(caught.value)
    assert said.startswith(f"{altered}: بسته آسیب دیده یا تغییر کرده است: ")
    assert "اضافی ['scans/extra.npz']" in said  # the member added, named
