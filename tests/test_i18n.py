"""Languages: the catalogues hold every message of the code and compile, translations keep
the messages' fields and the glossary's terms, the language is chosen as documented, and
numbers, dates and cargo declarations read in the language."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

import pytest

from scanlab import i18n
from scanlab._catalogues import (
    catalogue_problems,
    compile_catalogue,
    extract,
    glossary,
    glossary_problems,
    read_catalogue,
)
from scanlab.i18n import (
    LANGUAGES,
    LanguageError,
    _,
    format_datetime,
    format_decimal,
    remember_language,
    remembered_language,
    resolve_language,
    use_language,
)

TRANSLATED = [lang for lang in LANGUAGES if lang != "en"]
ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("lang", TRANSLATED)
def test_catalogue_has_every_message_of_the_code_and_nothing_broken(lang):
    """Extraction (Babel, run here) finds nothing the catalogue lacks; nothing is fuzzy,
    untranslated, stale or with other {fields} than its message."""
    assert catalogue_problems(lang) == []


@pytest.mark.parametrize("lang", TRANSLATED)
def test_shipped_mo_is_the_compiled_po(lang):
    shipped = (i18n.LOCALE_DIR / lang / "LC_MESSAGES" / "scanlab.mo").read_bytes()
    assert shipped == compile_catalogue(lang), "run `make i18n` to compile the catalogues"


def test_template_lists_every_message():
    from babel.messages.pofile import read_po

    with (i18n.LOCALE_DIR / "scanlab.pot").open("rb") as fh:
        template = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(fh) if m.id}
    assert template == {m.id if isinstance(m.id, str) else m.id[0] for m in extract() if m.id}


@pytest.mark.parametrize("lang", TRANSLATED)
def test_catalogues_use_the_glossary_terms(lang):
    assert glossary_problems(lang) == []


def test_checks_catch_a_wrong_term_a_lost_field_and_an_untranslated_entry():
    po = read_catalogue("ru")
    po["Declared: EMPTY"].string = "Заявлено: ПУСТО"  # no glossary term in the English
    po["false wall"].string = "фальшивая стена"  # the glossary says ложная стенка
    po["wrote {path} ({trainee})"].string = "записан {path}"  # {trainee} lost
    po["Object"].string = ""
    assert glossary_problems("ru", po) == [
        "ru: 'false wall' should be 'ложная стенка' in 'фальшивая стена' ('false wall')"
    ]
    problems = catalogue_problems("ru", po)
    assert "ru: untranslated 'Object'" in problems
    assert any("записан {path}" in p and "{trainee:}" in p for p in problems)
    assert len(problems) == 2


def test_glossary_has_the_issue_terms_in_every_language():
    rows = {row["en"]: row for row in glossary()}
    for term in ("concealment", "false wall", "declaration", "consignee", "organic",
                 "inorganic", "metal", "attenuation"):  # fmt: skip
        assert all(rows[term][lang].strip() for lang in TRANSLATED), term


@pytest.mark.parametrize("lang", TRANSLATED)
def test_drafts_say_so_in_the_catalogue_and_the_readme(lang):
    po = read_catalogue(lang)
    assert po.language_team.startswith("DRAFT")
    assert "not yet" in po.header_comment and "native" in po.header_comment
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert re.search(r"drafts?.{0,80}native.speak", readme, re.IGNORECASE | re.DOTALL)


def test_no_literal_message_inside_an_f_string():
    """Babel cannot see ``_("...")`` inside an f-string (one token on Python 3.11): such a
    message would never reach the catalogue."""
    hits = [
        f"{path}:{n}"
        for path in (ROOT / "scanlab").rglob("*.py")
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"""f["'].*\{(_|ngettext)\(["']""", line)
    ]
    assert hits == []


# --- choosing the language -----------------------------------------------------------------


def test_language_order_explicit_then_env_then_system_then_english(monkeypatch):
    for var in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG", "SCANLAB_LANG"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(i18n.locale, "getlocale", lambda *_: (None, None))
    assert resolve_language() == "en"
    monkeypatch.setenv("LANG", "ky_KG.UTF-8")
    assert resolve_language() == "ky"
    monkeypatch.setenv("LANG", "de_DE.UTF-8")  # no catalogue: English, not an error
    assert resolve_language() == "en"
    monkeypatch.setenv("SCANLAB_LANG", "prs")  # Dari's ISO 639-3 code
    assert resolve_language() == "fa"
    assert resolve_language("ps_AF") == "ps"
    monkeypatch.setenv("SCANLAB_LANG", "xx")
    with pytest.raises(LanguageError, match=r"SCANLAB_LANG 'xx'.*en, ru, ky, fa, ps"):
        resolve_language()
    with pytest.raises(LanguageError, match="language 'klingon'"):
        resolve_language("klingon")


def test_instructor_report_language_apart_from_the_trainees():
    i18n.set_language("fa")
    assert _("Start exam") == "آغاز امتحان"
    with use_language("ru") as lang:
        assert lang == "ru" and _("Start exam") == "Начать экзамен"
    assert _("Start exam") == "آغاز امتحان"
    assert i18n.is_rtl() and not i18n.is_rtl("ru")


def test_the_trainees_choice_is_remembered(tmp_path):
    assert remembered_language(tmp_path) is None
    path = remember_language(tmp_path, "Pashto")
    assert json.loads(path.read_text(encoding="utf-8")) == {"language": "ps"}
    assert remembered_language(tmp_path) == "ps"
    path.write_text("{broken", encoding="utf-8")
    assert remembered_language(tmp_path) is None  # a damaged file is no choice


def test_plural_forms_follow_each_language():
    counts = (1, 2, 5, 21)
    forms = {
        "ru": ["1 место", "2 места", "5 мест", "21 место"],
        "en": ["1 package", "2 packages", "5 packages", "21 packages"],
    }
    for lang, want in forms.items():
        with use_language(lang):
            got = [i18n.ngettext("{count} package", "{count} packages", n) for n in counts]
        assert [g.format(count=n) for g, n in zip(got, counts)] == want


# --- numbers, dates, declarations ----------------------------------------------------------


def test_numbers_and_dates_by_locale():
    # CLDR: Russian and Kyrgyz group with a no-break space and use a decimal comma; Dari
    # (fa_AF) writes Latin digits with a dot; NaN is a dash in every language.
    assert format_decimal(1234.567, 2, lang="ru") == "1\xa0234,57"
    assert format_decimal(1234.567, 2, lang="ky") == "1\xa0234,57"
    assert format_decimal(1234.567, 2, lang="en") == "1,234.57"
    assert format_decimal(0.5, 1, lang="fa") == "0.5"
    assert format_decimal(float("nan"), lang="ru") == "–"
    when = "2026-12-01T18:05:00+00:00"
    assert format_datetime(when, lang="ru") == "1 дек. 2026\u202fг., 18:05:00"
    assert format_datetime(datetime(2026, 12, 1, 18, 5), lang="en") == "1 Dec 2026, 18:05:00"
    assert format_datetime("not a date", lang="ru") == "not a date"


def test_declaration_reads_in_the_officers_language():
    from scanlab.synth import CargoDeclaration, DeclaredGoods

    decl = CargoDeclaration(
        "MSCU1234565",
        "Kashgar Trading",
        "Bishkek Import LLC",
        [
            DeclaredGoods("tyres", "4011", "New pneumatic tyres of rubber", 200, 2000.0),
            DeclaredGoods("other", "9999", "Shipper's own words", 1, 12.5),
        ],
    )
    english = decl.as_text()
    assert "HS 4011  New pneumatic tyres of rubber: 200 packages, 2,000 kg" in english
    with use_language("ru"):
        text = decl.as_text()
    assert text.splitlines() == [
        "Контейнер MSCU1234565",
        "Грузоотправитель: Kashgar Trading",
        "Грузополучатель:  Bishkek Import LLC",
        "ТН ВЭД 4011  Шины пневматические резиновые новые: 200 мест, 2\xa0000 кг",
        "ТН ВЭД 9999  Shipper's own words: 1 место, 12 кг",  # not a standard wording: kept
    ]
    with use_language("fa"):
        assert "اظهار" not in decl.as_text() and "گیرنده" in decl.as_text()


# --- the workstation's words and the command line -------------------------------------------


def test_pitch_warning_and_detector_summary_in_russian():
    import numpy as np

    from scanlab.detect import Detection
    from scanlab.io import Scan
    from scanlab.napari_plugin._assist import detection_summary
    from scanlab.napari_plugin._layers import pitch_warning

    bare = Scan(np.zeros((1, 32, 64), np.uint8), "display")
    with use_language("ru"):
        warning = pitch_warning(bare)
        detection = Detection(0.9, np.zeros((2, 2)), [], 0.5, "display", (7.5, 7.5), "estimate")
        summary = detection_summary(detection)
    # The toolbar shows the first sentence: the split at ". " survives the translation.
    assert warning.split(". ")[0] + "." == (
        "В метаданных снимка нет шага пикселя: размеры считаются при 5 x 5 мм на пиксель."
    )
    assert "scanlab gui --pitch" in warning.split(". ")[1]
    # Decimals by the Russian locale: 0,90, not 0.90.
    assert summary.startswith("Оценка 0,90 (порог 0,50): отмечен; областей: 0.")
    assert summary.endswith("Шаг 7.5 мм (оценка).")


def test_preset_and_reference_names_in_the_language():
    from scanlab.enhance import load_preset
    from scanlab.napari_plugin._enhance import preset_caption, preset_description, preset_label
    from scanlab.napari_plugin._reference import choices, reference_title
    from scanlab.synth import reference_image

    pistol = reference_image("threat", "pistol", pitch_mm=50.0)
    with use_language("fa"):
        assert preset_label("high_penetration") == "نفوذ بالا"
        assert preset_caption("density_highlight") == "باند"
        assert "تضعیف" in preset_description(load_preset("standard"))
        assert choices("threat")[0] == ("تفنگچه", "pistol")  # the value stays the key
        title = reference_title(pistol)
    # Its class, material and mass come from the rendered object, in Dari.
    assert title.startswith("تفنگچه: سلاح (فولاد، 2.1 کیلوگرام، ")
    assert "کانتینر" in title
    with use_language("ru"):
        assert choices("commodity")[0] == ("ТН ВЭД 4011 шины", "tyres")


def test_help_of_the_instructors_commands_in_their_language(monkeypatch):
    from typer.testing import CliRunner

    from scanlab.cli import app

    runner = CliRunner()
    monkeypatch.setattr("typer.rich_utils.MAX_WIDTH", 300)  # one line per help text
    monkeypatch.setenv("SCANLAB_LANG", "ru")
    russian = runner.invoke(app, ["exam", "tokens", "--help"])
    assert russian.exit_code == 0, russian.output
    ru = i18n.translation("ru")
    for message in (
        "The exam package.",
        "Trainee ids.",
        "Arguments",
        "Show this message and exit.",
    ):
        assert ru.gettext(message) in russian.output and message not in russian.output
    listing = runner.invoke(app, ["exam", "--help"]).output
    assert ru.gettext("Instructors: build exam packages, grade a class, write reports.") in listing
    assert (
        ru.gettext("Grade a class: match marks to the keys, score hits, false alarms, d' and A'.")
        in listing
    )
    monkeypatch.setenv("SCANLAB_LANG", "en")  # the texts were put back after the page
    english = runner.invoke(app, ["exam", "tokens", "--help"]).output
    assert "Trainee ids." in english and "Arguments" in english


@pytest.mark.parametrize(
    ("command", "help_text", "option"),
    [
        ("synth", "Override the spec's number of scans.", "--count"),
        ("evaluate", "Evaluate only the first N scans.", "--limit"),
        ("train", "Torch device (cpu, cuda); default CUDA when present.", "--device"),
        ("adapt", "Fine-tuning steps.", "--steps"),
        ("detect", "Override the calibrated threshold.", "--threshold"),
    ],
)
def test_help_of_the_researchers_commands_in_their_language(
    monkeypatch, command, help_text, option
):
    from typer.testing import CliRunner

    from scanlab.cli import app

    runner = CliRunner()
    monkeypatch.setattr("typer.rich_utils.MAX_WIDTH", 300)  # one line per help text
    monkeypatch.setenv("SCANLAB_LANG", "fa")
    page = runner.invoke(app, [command, "--help"])
    assert page.exit_code == 0, page.output
    fa = i18n.translation("fa")
    line = next(line for line in page.output.splitlines() if option in line)
    assert fa.gettext(help_text) in line and help_text not in line
    # click's own "Usage:" too, from scanlab's catalogue (click has no Dari).
    assert page.output.strip().startswith("استفاده:") and "Usage:" not in page.output
    monkeypatch.setenv("SCANLAB_LANG", "en")  # and put back after the page
    english = runner.invoke(app, [command, "--help"]).output
    assert help_text in english and english.strip().startswith("Usage:")


def test_evaluate_table_names_its_metrics_in_the_language():
    """In English the table keeps the metrics' keys (metrics.json's, which scripts read);
    in another language each row is the metric's name."""
    from types import SimpleNamespace

    from rich.console import Console

    from scanlab.cli import evaluation_table

    interval = {"value": 0.9, "low": 0.8, "high": 0.95}
    metrics = {
        "n_scans": 12,
        "image_auroc": interval,
        "detection_rate_at_fpr_0.01": interval,
        "pixel_f1_max": interval,
    }
    results = SimpleNamespace(metrics={"v2": metrics})

    def shown(lang: str) -> str:
        console = Console(record=True, width=200)
        with use_language(lang):
            console.print(evaluation_table(results, ["v2"]))
        return console.export_text()

    russian = shown("ru")
    ru = i18n.translation("ru")
    for name in ("scans evaluated", "image AUROC", "pixel F1-max"):
        assert ru.gettext(name) != name and ru.gettext(name) in russian
    assert "доля обнаружения при 1,0% ложных тревог" in russian  # the rate by the locale
    assert not any(key in russian for key in metrics)
    english = shown("en")
    assert all(key in english for key in metrics)


def test_instructors_errors_in_their_language(tmp_path):
    """A results file of another kind, an exam spec with an unknown field and a package
    whose member name occurs twice are refused in the instructor's language."""
    import zipfile

    from scanlab.errors import SpecError, TamperError
    from scanlab.exercises import ClassResults, ExamPackage, load_exam_spec

    results = tmp_path / "results.json"
    results.write_text("{}", encoding="utf-8")
    with use_language("ru"), pytest.raises(SpecError) as caught:
        ClassResults.load(results)
    assert str(caught.value) == f"{results}: это не файл результатов группы scanlab версии 1"

    spec = tmp_path / "exam.yaml"
    spec.write_text("name: drill\ncolour: red\n", encoding="utf-8")
    with use_language("fa"), pytest.raises(SpecError) as caught:
        load_exam_spec(spec)
    said = str(caught.value)
    assert said.startswith(f"{spec}: فیلدهای ناشناخته ['colour']؛ شناخته‌شده: [")

    package = tmp_path / "exam.zip"
    with zipfile.ZipFile(package, "w") as zf:
        zf.writestr("manifest.json", "{}")
        with pytest.warns(UserWarning, match="Duplicate name"):
            zf.writestr("manifest.json", "{}")
    with use_language("ps"), pytest.raises(TamperError) as caught:
        ExamPackage.open(package)
    said = str(caught.value)  # within "package damaged or altered", in Pashto too
    assert said.startswith(f"{package}: بسته زیانمنه یا بدله شوې ده: ")
    assert said.endswith(": د یو غړي نوم دوه ځله راغلی (یوه پټه کاپي)")


def test_a_file_that_is_no_scan_is_refused_in_the_trainees_language(tmp_path):
    from scanlab.errors import UnsupportedFormatError
    from scanlab.io import read_scan

    notes = tmp_path / "notes.txt"
    notes.write_text("not an image", encoding="utf-8")
    with use_language("ky"), pytest.raises(UnsupportedFormatError) as caught:
        read_scan(notes)
    said = str(caught.value)
    assert said.startswith(f"{notes}: scanlab окуган эч бир форматтагы сүрөт файлы эмес (")
    assert "tiff" in said  # the formats it reads, as they are named


def test_library_errors_of_each_package_in_the_language_scanlab_lang_names(tmp_path, monkeypatch):
    """A representative error of each package (io, synth, detect, exercises, evaluate,
    enhance), raised on a bad file, reads in Russian when SCANLAB_LANG says so: the file
    named, the problem said (the Russian written out here, not looked up), fields kept."""
    import numpy as np

    from scanlab.detect._card import WeightsError
    from scanlab.detect._weights import resolve_weights
    from scanlab.enhance import Pipeline
    from scanlab.errors import CorruptFileError, SpecError
    from scanlab.evaluate import read_marks
    from scanlab.exercises import load_exam_spec
    from scanlab.exercises._submission import ItemResponse
    from scanlab.io import read_scan
    from scanlab.io._ase import read_ase
    from scanlab.synth import load_manifest

    monkeypatch.setattr(i18n, "_process_language", None)
    monkeypatch.setenv("SCANLAB_LANG", "ru")

    pickled = tmp_path / "objects.npy"
    np.save(pickled, np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    with pytest.raises(CorruptFileError) as caught:
        read_scan(pickled)
    assert f"{pickled}: содержит объекты Python, которые scanlab никогда не распаковывает" in str(
        caught.value
    )

    manifest = tmp_path / "manifest.json"
    manifest.write_text("[1, 2", encoding="utf-8")
    with pytest.raises(SpecError) as caught:
        load_manifest(manifest)
    assert str(caught.value).startswith(f"{manifest}: не читаемый манифест scanlab: ")

    with pytest.raises(WeightsError) as caught:
        resolve_weights(tmp_path)
    assert str(caught.value) == f"{tmp_path}: не папка модели (нет card.json)"

    with pytest.raises(SpecError) as caught:
        ItemResponse.from_dict({"marks": [], "colour": "red"})
    assert str(caught.value) == "неизвестные поля ['colour']"

    marks = tmp_path / "marks.json"
    marks.write_text('{"marks": []}', encoding="utf-8")
    with pytest.raises(SpecError) as caught:
        read_marks(marks)
    assert str(caught.value) == f"{marks}: не файл отметок scanlab (нет поля 'scanlab_marks')"

    truncated = tmp_path / "short.ase"  # a scanner format's own check
    truncated.write_bytes(b"12345")
    with pytest.raises(CorruptFileError) as caught:
        read_ase(truncated)
    assert (
        str(caught.value)
        == f"{truncated}: обрезанный файл ASE в 5 байт; один заголовок занимает 16"
    )

    with pytest.raises(SpecError) as caught:
        Pipeline.from_yaml("steps: []", source="night.yaml")
    assert str(caught.value) == "night.yaml: поле конвейера 'steps' должно быть непустым списком"

    spec = tmp_path / "drill.yaml"  # a field's own check, after the file and the spec
    spec.write_text("name: drill\ntime_limit_s: -5\n", encoding="utf-8")
    with pytest.raises(SpecError) as caught:
        load_exam_spec(spec)
    assert str(caught.value) == (
        f"{spec}: спецификация экзамена 'drill': поле 'time_limit_s' должно быть числом секунд "
        "> 0, получено -5"
    )

    monkeypatch.setenv("SCANLAB_LANG", "en")  # and in English as the code writes it
    with pytest.raises(SpecError) as caught:
        read_marks(marks)
    assert str(caught.value) == f"{marks}: not a scanlab marks file (no 'scanlab_marks' field)"


def test_spec_file_and_adapt_errors_in_the_language_scanlab_lang_names(tmp_path, monkeypatch):
    """A recipe or dataset spec that is neither a file nor a shipped name, one that does not
    parse, and an adaptation given too few clean scans read in Russian (the Russian written
    out here), the noun of the spec-file sentences translated with it."""
    from scanlab.detect import adapt, load_recipe, recipe_names
    from scanlab.errors import SpecError
    from scanlab.synth import dataset_names, load_dataset_spec

    monkeypatch.setattr(i18n, "_process_language", None)
    monkeypatch.setenv("SCANLAB_LANG", "ru")

    with pytest.raises(SpecError) as caught:
        load_recipe("no-such-recipe")
    assert str(caught.value) == (
        "no-such-recipe: нет такого файла (рецепт), и это не рецепт из поставки "
        f"({', '.join(recipe_names())})"
    )
    with pytest.raises(SpecError) as caught:
        load_dataset_spec("no-such-spec")
    assert str(caught.value) == (
        "no-such-spec: нет такого файла (спецификация), и это не спецификация из поставки "
        f"({', '.join(dataset_names())})"
    )
    broken = tmp_path / "broken.json"
    broken.write_text("{1", encoding="utf-8")
    with pytest.raises(SpecError) as caught:
        load_dataset_spec(broken)
    assert str(caught.value).startswith(f"{broken}: не удаётся разобрать файл (спецификация): ")

    pytest.importorskip("torch")
    with pytest.raises(SpecError) as caught:
        adapt(["a.png", "b.png"], tmp_path / "site")
    assert str(caught.value) == (
        "adapt: нужно не меньше 3 чистых снимков (2 откладываются), получено 2"
    )

    monkeypatch.setenv("SCANLAB_LANG", "en")  # and in English as the code writes it
    with pytest.raises(SpecError) as caught:
        load_recipe("no-such-recipe")
    assert str(caught.value).startswith(
        "no-such-recipe: no such recipe file, and not a shipped recipe ("
    )


def test_a_broken_scanlab_header_and_an_unknown_export_pipeline_in_russian(tmp_path):
    """A scanlab header without its representation, and an export through a vendor pipeline
    that does not exist, are refused in Russian (written out here), naming the file and the
    pipelines there are."""
    from scanlab.errors import CorruptFileError, SpecError
    from scanlab.io import example_scan
    from scanlab.io._common import header_from_json
    from scanlab.synth import VENDOR_PIPELINES, render_export

    broken = tmp_path / "scan.json"
    header = '{"scanlab_scan": 1, "representation": "brightness"}'
    with use_language("ru"), pytest.raises(CorruptFileError) as caught:
        header_from_json(header, source=broken)
    assert str(caught.value) == (
        f"{broken}: в заголовке scanlab нет допустимого поля 'representation'"
    )
    with use_language("ru"), pytest.raises(SpecError) as caught:
        render_export(example_scan(rows=16, cols=32), "vendor-x")
    assert str(caught.value) == (
        "неизвестный конвейер экспорта производителя 'vendor-x'; допустимые: "
        + ", ".join(VENDOR_PIPELINES)
    )
