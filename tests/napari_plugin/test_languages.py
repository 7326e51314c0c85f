"""The Exercise widget in the trainee's language: a real napari window under xvfb-run shows
it in each language, right to left for Dari and Pashto, with fonts that have the glyphs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from scanlab.i18n import LANGUAGES, RTL_LANGUAGES, translation
from scanlab.napari_plugin._launch import create_viewer

pytestmark = pytest.mark.napari


def _texts(widget) -> dict[str, str]:
    return {
        "open": widget._open.text,
        "start": widget._start.text,
        "submit": widget._submit.text,
        "check": widget._check.text,
        "trainee": widget._trainee.label,
        "confidence_tip": widget._confidence.tooltip,
    }


#: The English messages behind _texts, looked up in each catalogue by the test itself.
_MESSAGES = {
    "open": "Open exercise...",
    "start": "Start exam",
    "submit": "Submit (Ctrl+Enter)",
    "check": "Check this scan",
    "trainee": "Trainee id",
    "confidence_tip": "How sure you are of your call: 1 a guess, 4 certain",
}


def _choice_labels(widget) -> list[str]:
    return [b.text() for b in widget._verdict.native.findChildren(_qt_button())]


def _qt_button():
    from qtpy.QtWidgets import QRadioButton

    return QRadioButton


@pytest.mark.parametrize("lang", list(LANGUAGES))
def test_exercise_widget_speaks_each_language(lang, make_napari_viewer, exercise_dir, tmp_path):
    _viewer, widgets = create_viewer(exercise_dir, viewer=make_napari_viewer(), lang=lang)
    widget = widgets["Exercise"]
    catalogue = translation(lang)
    assert _texts(widget) == {k: catalogue.gettext(m) for k, m in _MESSAGES.items()}
    if lang != "en":  # every shown text is translated, none is left in English
        assert not set(_texts(widget).values()) & set(_MESSAGES.values())
    assert _choice_labels(widget) == [
        catalogue.gettext(m) for m in ("not answered", "consistent", "not consistent")
    ]
    assert widget._verdict.value == "not answered"  # the values stay the data's keys
    # The title says which scan of how many, in the language, around the item id.
    title = catalogue.gettext("<b>{title}</b> · scan {number} of {count} ({item})")
    assert widget._title.value == title.format(
        title="exercise", number=1, count=3, item="sample-00000"
    )
    from qtpy.QtCore import Qt

    rtl = widget.native.layoutDirection() == Qt.LayoutDirection.RightToLeft
    assert rtl is (lang in RTL_LANGUAGES)


def test_changing_language_is_remembered_and_retranslates(
    make_napari_viewer, exercise_dir, progress_dir, found_box
):
    _viewer, widgets = create_viewer(exercise_dir, viewer=make_napari_viewer())
    widget = widgets["Exercise"]
    box, found_class = found_box()
    widget.set_class(found_class)
    widget.marks_layer.add_rectangles(box)
    widget.set_verdict(True)
    assert widget._open.text == "Open exercise..."
    widget._language.value = "ru"  # the trainee picks Russian
    ru = translation("ru")
    assert widget._open.text == ru.gettext("Open exercise...") == "Открыть упражнение..."
    assert widget._confidence.label == ru.gettext("Sure (1-4)")
    assert widget._saved.value == ru.gettext("{count} mark(s), saved").format(count=1)
    assert widget._verdict.value == "consistent"  # the answer is kept, its label translated
    assert ru.gettext("consistent") in _choice_labels(widget)
    assert json.loads((progress_dir / "settings.json").read_text())["language"] == "ru"
    # The other docked widgets follow the trainee's choice.
    assert widgets["Enhance"]._reset.text == ru.gettext("Reset parameters")
    assert widgets["Inspect"]._add_ruler.text == ru.gettext("Add ruler (draw lines)")
    assert widgets["Detector assist"]._run.text == ru.gettext("Run detector") != "Run detector"
    # Results in Russian: the exercise feedback and the whole-exercise summary.
    result = widget.submit()
    assert result is not None
    text = widget._results.value
    assert ru.gettext("Whole exercise:") in text and "Whole exercise:" not in text
    assert "Найдено объектов: 1 из" in text
    # The next start remembers the choice; Dari turns the layout right to left.
    widget.set_language("fa")
    docked = create_viewer(None, viewer=make_napari_viewer())[1]
    again = docked["Exercise"]
    from qtpy.QtCore import Qt

    assert again._open.text == translation("fa").gettext("Open exercise...")
    assert docked["Enhance"]._reset.text == translation("fa").gettext("Reset parameters")
    assert again.native.layoutDirection() == Qt.LayoutDirection.RightToLeft


def test_exam_package_names_the_trainees_language(make_napari_viewer, tmp_path, progress_dir):
    from scanlab.exercises import ExamPackage, ExamSpec, build_exam

    spec = ExamSpec(
        name="kg-class",
        seed=5,
        count=2,
        clean_share=0.5,
        pitch_mm=20.0,
        max_tries=2,
        language="Kyrgyz",
    )
    path = build_exam(spec, tmp_path / "kg.zip", "instructor passphrase")
    assert ExamPackage.open(path).language == "ky"  # signed with the manifest
    widget = create_viewer(path, viewer=make_napari_viewer())[1]["Exercise"]
    assert widget._start.text == translation("ky").gettext("Start exam") == "Экзаменди баштоо"
    assert not (progress_dir / "settings.json").exists()  # the package's, not a choice
    # A trainee who chose a language keeps it over the package's.
    widget.set_language("ru")
    chosen = create_viewer(path, viewer=make_napari_viewer())[1]["Exercise"]
    assert chosen._start.text == "Начать экзамен"


def test_rtl_screenshot_has_the_scripts_glyphs(make_napari_viewer, exercise_dir, tmp_path):
    """Dari right to left: the language box sits left of its label, the declaration reads
    from the right, and the Arabic-script and Cyrillic text is drawn with real glyphs (a
    font that has them, not empty boxes); the screenshot is kept under tmp."""
    from PIL import Image
    from qtpy.QtGui import QFontDatabase, QRawFont

    viewer, widgets = create_viewer(exercise_dir, viewer=make_napari_viewer(), lang="fa")
    widget = widgets["Exercise"]
    viewer.window._qt_window.resize(1400, 900)
    viewer.window._qt_window.show()
    from qtpy.QtWidgets import QLabel

    box = widget._language.native
    label = next(
        w
        for w in box.parentWidget().findChildren(QLabel)
        if w.text() == translation("fa").gettext("Language")
    )
    assert label.mapTo(widget.native, label.rect().topLeft()).x() > (
        box.mapTo(widget.native, box.rect().topLeft()).x()
    )
    text = "دیوال کاذب اظهارنامه پښتو ګوتنښه Декларация"
    for ch in set(text) - {" "}:
        font = widget._title.native.font()
        raw = QRawFont.fromFont(font, _writing_system(ch))
        assert raw.isValid() and raw.supportsCharacter(ch), (
            f"no font for {ch!r}: install fonts-noto-core (make test does)"
        )
    assert QFontDatabase.families(QFontDatabase.WritingSystem.Arabic)
    shot = tmp_path / "exercise-fa.png"
    assert widget.native.grab().save(str(shot))
    with Image.open(shot) as img:
        grey = np.asarray(img.convert("L"))
    assert grey.shape[1] >= 380 and len(np.unique(grey)) > 10  # drawn, not blank


def _writing_system(ch: str):
    from qtpy.QtGui import QFontDatabase

    systems = QFontDatabase.WritingSystem
    return systems.Arabic if "\u0600" <= ch <= "\u06ff" else systems.Cyrillic


def test_submit_confirmation_in_pashto(make_napari_viewer, exercise_dir):
    """The confirmation dialog: its question, the loose ends and the Yes/No buttons (Qt has
    no Pashto of its own) in Pashto, right to left."""
    from qtpy.QtCore import Qt, QTimer
    from qtpy.QtWidgets import QMessageBox

    widget = create_viewer(exercise_dir, viewer=make_napari_viewer(), lang="ps")[1]["Exercise"]
    seen: dict[str, object] = {}

    def answer() -> None:
        box = widget._question
        if box is None:
            QTimer.singleShot(20, answer)
            return
        buttons = QMessageBox.StandardButton
        seen.update(
            title=box.windowTitle(),
            text=box.text(),
            yes=box.button(buttons.Yes).text(),
            no=box.button(buttons.No).text(),
            rtl=box.layoutDirection() == Qt.LayoutDirection.RightToLeft,
        )
        box.button(buttons.No).click()

    QTimer.singleShot(0, answer)
    assert widget.request_submit() is None  # answered No: nothing handed in
    ps = translation("ps")
    assert seen["title"] == ps.gettext("Submit your answers?")
    assert (seen["yes"], seen["no"], seen["rtl"]) == ("هو", "نه", True)
    not_visited = ps.gettext("not visited").capitalize()
    assert f"{not_visited}: 2 " in str(seen["text"])
    assert ps.gettext("After submitting, nothing can change.") in str(seen["text"])


def test_toolbar_presets_and_reference_follow_the_trainees_language(
    make_napari_viewer, exercise_dir
):
    """The workstation's other words (toolbar, preset picker and description, Reference
    library) switch with the Exercise widget's language box, and back."""
    from scanlab.enhance import load_preset

    _viewer, widgets = create_viewer(exercise_dir, viewer=make_napari_viewer())
    tools, enhance, reference = widgets["Tools"], widgets["Enhance"], widgets["Reference"]
    assert tools._zoom.text == "Zoom box F8" and tools._presets["standard"].text == "Standard F1"
    widgets["Exercise"]._language.value = "ru"
    ru = translation("ru")
    assert tools._zoom.text == ru.gettext("Zoom box") + " F8" == "Рамка масштаба F8"
    assert tools._presets["high_penetration"].text == ru.gettext("Dense") + " F2"
    assert tools._whole.tooltip == ru.gettext("Show the whole scan (F9)")

    def items(combo) -> list[str]:
        return [combo.native.itemText(i) for i in range(combo.native.count())]

    assert ru.gettext("high penetration") in items(enhance._preset)
    assert "high_penetration" in enhance._preset.choices  # the values stay the keys
    assert enhance._preset.value == "standard"  # relabelled, not reset
    assert enhance._about.value == ru.gettext(load_preset(enhance._preset.value).description)
    assert items(reference._kind) == [
        ru.gettext(m) for m in ("Threats", "Concealments", "Declared goods")
    ]
    assert ru.gettext("pistol") in items(reference._name) and reference._kind.value == "threat"
    from scanlab.napari_plugin._launch import dock_of

    assert dock_of(reference).windowTitle() == ru.gettext("Reference") == "Эталоны"
    widgets["Exercise"]._language.value = "en"
    assert tools._zoom.text == "Zoom box F8" and items(reference._kind)[0] == "Threats"
    assert dock_of(reference).windowTitle() == "Reference"


def test_layer_names_follow_the_language_and_widgets_still_find_their_layers(
    make_napari_viewer, exercise_dir, qtbot, stub_detector
):
    """The layer list speaks the trainee's language; the widgets find their layers by the
    name kept in the metadata, so that a run, a toggle or a ruler after a change of language
    updates the same layers instead of adding others."""
    from scanlab.napari_plugin._qt.assist_widget import AssistWidget

    viewer, widgets = create_viewer(exercise_dir, viewer=make_napari_viewer())
    first = widgets["Exercise"].session.item.item_id
    assist = AssistWidget(viewer, loader=lambda name: stub_detector, names=("stub",))
    with qtbot.waitSignal(assist.finished, timeout=20000):
        assist.run()
    ruler = widgets["Inspect"].add_ruler()
    english = {layer.name for layer in viewer.layers}
    assert {f"{first} [high]", f"{first} [anomaly map]", f"{first} [ruler]"} <= english

    widgets["Exercise"]._language.value = "ps"
    ps = translation("ps")
    names = [layer.name for layer in viewer.layers]
    for word in ("high", "low", "anomaly map", "detector regions", "ruler", "your marks"):
        assert f"{first} [{ps.gettext(word)}]" in names, word
    assert not any("[" + w in n for n in names for w in ("high", "anomaly", "ruler", "your"))
    assert f"{first} [{ps.gettext('anomaly map')}]" == f"{first} [د ناسموالي نقشه]"

    count = len(viewer.layers)
    with qtbot.waitSignal(assist.finished, timeout=20000):
        assist.run()  # again, in Pashto: the same map and regions are updated
    assert len(viewer.layers) == count
    amap = next(ly for ly in viewer.layers if ly.name == f"{first} [{ps.gettext('anomaly map')}]")
    assist._overlay.value = False  # the toggle finds its layer too
    assert not amap.visible
    assert widgets["Inspect"].add_ruler() is ruler and len(viewer.layers) == count

    widgets["Exercise"]._language.value = "en"
    assert {layer.name for layer in viewer.layers} == english


@pytest.mark.parametrize("lang", ["ky", "ps"])
def test_file_dialog_speaks_kyrgyz_and_pashto(make_napari_viewer, exercise_dir, lang):
    """Qt ships no Kyrgyz or Pashto: the Open dialog's labels, buttons and tool tips come
    from scanlab's catalogue, and in Pashto it is laid out right to left."""
    from qtpy.QtCore import Qt, QTimer
    from qtpy.QtWidgets import QDialogButtonBox, QFileDialog, QToolButton

    widget = create_viewer(exercise_dir, viewer=make_napari_viewer(), lang=lang)[1]["Exercise"]
    opened = widget.session
    seen: dict[str, object] = {}

    def answer() -> None:
        dialog = widget._dialog
        if dialog is None:
            QTimer.singleShot(20, answer)
            return
        labels = QFileDialog.DialogLabel
        seen["labels"] = [
            dialog.labelText(getattr(labels, k))
            for k in ("LookIn", "FileName", "FileType", "Accept", "Reject")
        ]
        box = dialog.findChild(QDialogButtonBox)
        seen["buttons"] = sorted(b.text() for b in box.buttons())
        tips = {b.objectName(): b.toolTip() for b in dialog.findChildren(QToolButton)}
        seen["tips"] = [tips.get(n) for n in ("backButton", "toParentButton", "newFolderButton")]
        seen["title"] = dialog.windowTitle()
        seen["rtl"] = dialog.layoutDirection() == Qt.LayoutDirection.RightToLeft
        dialog.reject()

    QTimer.singleShot(0, answer)
    widget._choose_file()
    catalogue = translation(lang)
    words = ["Look in:", "File name:", "Files of type:", "Open", "Cancel"]
    assert seen["labels"] == [catalogue.gettext(w) for w in words]
    assert not set(seen["labels"]) & set(words)  # none left in English
    assert seen["buttons"] == sorted(catalogue.gettext(w) for w in ("Open", "Cancel"))
    assert seen["tips"] == [
        catalogue.gettext(w) for w in ("Back", "Parent folder", "Create a new folder")
    ]
    assert seen["title"] == catalogue.gettext("Open an exercise")
    assert seen["rtl"] is (lang == "ps")
    assert widget.session is opened  # cancelled: the exercise open stays


#: What Qt asks its translators for that scanlab leaves as Qt says it: keys' names in
#: shortcuts (Ctrl+C) and the file dialog's shortcuts, as Qt's own translations keep them.
#: Qt also asks which way the language is written: scanlab sets the direction itself.
def _key_name(context: str, source: str) -> bool:
    return (
        context == "QShortcut"
        or source in {"Alt+Left", "Alt+Right", "Alt+Up"}
        or (context, source) == ("QGuiApplication", "QT_LAYOUT_DIRECTION")
    )


@pytest.mark.parametrize("lang", ["ky", "ps"])
def test_every_word_of_qts_dialogs_comes_from_the_catalogue(make_napari_viewer, exercise_dir, lang):
    """Qt ships no Kyrgyz or Pashto: every word Qt asks for while scanlab's windows show its
    file dialog (list headers, context menus, the name box's menu) and a message box's
    standard buttons is one of scanlab's catalogue (recorded as Qt asks), and what the
    dialog shows is that message in ``lang``, with no shortcut mark left over."""
    from qtpy.QtCore import QCoreApplication, Qt, QTimer, QTranslator
    from qtpy.QtWidgets import QAction, QLineEdit, QMessageBox, QTreeView

    from scanlab.napari_plugin._qt_words import QT_WORDS

    widget = create_viewer(exercise_dir, viewer=make_napari_viewer(), lang=lang)[1]["Exercise"]
    asked: set[tuple[str, str]] = set()

    class Recorder(QTranslator):  # asked first (installed last); answers nothing
        def translate(self, context, source, disambiguation=None, n=-1):
            asked.add((context, source))
            return None

        def isEmpty(self):
            return False

    recorder = Recorder()
    app = QCoreApplication.instance()
    app.installTranslator(recorder)
    catalogue = translation(lang)
    say = {key: catalogue.gettext(message) for key, message in QT_WORDS.items()}
    seen: dict[str, list[str]] = {}

    def answer() -> None:
        dialog = widget._dialog
        if dialog is None:
            QTimer.singleShot(20, answer)
            return
        dialog.setDirectory(str(exercise_dir))
        tree = dialog.findChild(QTreeView, "treeView")
        header = Qt.Orientation.Horizontal
        seen["headers"] = [tree.model().headerData(i, header) for i in range(4)]
        seen["actions"] = sorted(a.text() for a in dialog.findChildren(QAction) if a.text())
        menu = dialog.findChild(QLineEdit, "fileNameEdit").createStandardContextMenu()
        seen["name_menu"] = [a.text().split("\t")[0] for a in menu.actions() if a.text()]
        box = QMessageBox(QMessageBox.Icon.Warning, "", "", parent=dialog)
        buttons = QMessageBox.StandardButton
        box.setStandardButtons(buttons.Ok | buttons.Cancel | buttons.Save | buttons.Close)
        seen["box"] = sorted(b.text() for b in box.buttons())
        dialog.reject()

    try:
        QTimer.singleShot(0, answer)
        widget._choose_file()
        # The whole window says its words again in the other language: Qt asks for each.
        widget._language.value = "ps" if lang == "ky" else "ky"
        QCoreApplication.processEvents()
    finally:
        app.removeTranslator(recorder)
    assert seen["headers"] == [
        say["QFileSystemModel", w] for w in ("Name", "Size", "Type", "Date Modified")
    ]
    menu_words = [("QFileDialog", w) for w in ("&Rename", "&Delete", "Show &hidden files")]
    assert set(seen["actions"]) >= {say[key] for key in menu_words}
    assert seen["name_menu"] == [
        say["QLineEdit", w]
        for w in ("&Undo", "&Redo", "Cu&t", "&Copy", "&Paste", "Delete", "Select All")
    ]
    assert seen["box"] == sorted(
        say["QPlatformTheme", w] for w in ("OK", "Cancel", "Save", "Close")
    )
    shown = seen["headers"] + seen["actions"] + seen["name_menu"] + seen["box"]
    assert not any("&" in text for text in shown)
    # What the words are in the language, checked by hand for a few: not Qt's English.
    if lang == "ky":
        assert seen["headers"][0] == "Аты" and "Көчүрүү" in seen["name_menu"]
    else:
        assert seen["headers"][0] == "نوم" and "کاپي" in seen["name_menu"]
    # Every word Qt asked for is the catalogue's (key names aside).
    untranslated = {key for key in asked if key not in QT_WORDS and not _key_name(*key)}
    assert asked and not untranslated, sorted(untranslated)


def test_qt_words_keep_qts_placeholders_in_every_language():
    """Qt puts a name where its text says %1: each translation keeps it."""
    from scanlab.napari_plugin._qt_words import QT_WORDS

    for lang in LANGUAGES:
        catalogue = translation(lang)
        for (_context, source), message in QT_WORDS.items():
            assert catalogue.gettext(message).count("%1") == source.count("%1"), (lang, message)
