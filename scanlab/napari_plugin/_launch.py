"""``scanlab gui``: napari with the scanlab widgets docked, opening a scan or an exercise."""

from __future__ import annotations

import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scanlab.i18n import N_
from scanlab.napari_plugin._enhance import DEFAULT_PRESET

if TYPE_CHECKING:
    import napari

__all__ = [
    "WIDGETS",
    "add_toolbar",
    "apply_mode",
    "create_viewer",
    "dock_of",
    "is_exercise",
    "launch",
    "prefer_qt6",
    "prefer_scanlab_reader",
]

#: The docked widgets, in tab order: (display name in napari.yaml, module:class).
WIDGETS: tuple[tuple[str, str], ...] = (
    (N_("Enhance"), "enhance_widget:EnhanceWidget"),
    (N_("Inspect"), "inspect_widget:InspectWidget"),
    (N_("Detector assist"), "assist_widget:AssistWidget"),
    (N_("Exercise"), "exercise_widget:ExerciseWidget"),
    (N_("Reference"), "reference_widget:ReferenceWidget"),
)


def is_exercise(path: Path) -> bool:
    """An exam package (``.zip``) or a folder of scans with keys; anything else is a scan."""
    return path.is_dir() or path.suffix.lower() == ".zip"


def launch(
    path: Path | None = None,
    *,
    scan_pitch_mm: float | tuple[float, float] | None = None,
    fingerprint: str | None = None,
    lang: str | None = None,
    preset: str | None = DEFAULT_PRESET,
) -> None:
    """Open napari with the plugin's widgets docked, then ``path`` (a scan file, an exam
    package or a folder of scans with answer keys), and run until the window closes.
    ``scan_pitch_mm`` is the pitch the Detector assist reads scans at (``--pitch``);
    ``fingerprint`` pins an exam package to the instructor's signing key; ``lang`` is the
    trainee's language (``--lang``; default: their last choice, SCANLAB_LANG, the system's);
    every scan opens through ``preset`` (``--preset``; None for the channels as read)."""
    prefer_qt6()
    import napari

    create_viewer(
        path, scan_pitch_mm=scan_pitch_mm, fingerprint=fingerprint, lang=lang, preset=preset
    )
    napari.run()


#: Qt bindings napari supports for the future, in the order tried (its PyQt5 support is
#: deprecated and shows trainees a notice on every start).
QT6_BINDINGS = ("pyqt6", "pyside6")


def prefer_qt6() -> str | None:
    """Choose a Qt 6 binding for qtpy (``QT_API``) when one is installed and nobody chose;
    call before napari or qtpy is imported. Returns the binding chosen (or already set)."""
    import importlib.util
    import os

    if os.environ.get("QT_API"):
        return os.environ["QT_API"]
    modules = {"pyqt6": "PyQt6", "pyside6": "PySide6"}
    for api in QT6_BINDINGS:
        if importlib.util.find_spec(modules[api]) is not None:
            os.environ["QT_API"] = api
            return api
    return None


def create_viewer(
    path: Path | None = None,
    *,
    viewer: napari.Viewer | None = None,
    scan_pitch_mm: float | tuple[float, float] | None = None,
    fingerprint: str | None = None,
    lang: str | None = None,
    preset: str | None = DEFAULT_PRESET,
) -> tuple[napari.Viewer, dict[str, Any]]:
    """The viewer (made if not given) with the widgets docked and ``path`` opened (an exam
    package waits at the sign-in; ``fingerprint`` pins it to the instructor's key; ``lang``
    is the language the Exercise widget starts in). Every scan opens through ``preset``
    (None: its channels as read).

    Returns the viewer and the widgets by name. A file napari cannot open is reported in a
    notification, not raised, as when it is dropped on the window. The widgets and the
    toolbar are docked once per viewer: called again on the same viewer, it opens ``path``
    in the widgets already there (in ``lang`` when given).
    """
    import functools
    import importlib

    import napari

    from scanlab.i18n import _, remembered_language, resolve_language, set_language
    from scanlab.napari_plugin._assist import load_detector
    from scanlab.napari_plugin._exercise import default_progress_dir
    from scanlab.napari_plugin._qt._util import retitle_layers, retranslate

    if lang is not None:
        lang = resolve_language(lang)  # a language without a catalogue is refused first
    # Every widget starts in the trainee's language: given, else chosen last time.
    set_language(lang or remembered_language(default_progress_dir()))
    viewer = viewer or napari.Viewer(title="scanlab")
    docked = getattr(viewer.window, _WIDGETS_ATTR, None)
    if docked:  # docked already: a second set would double every dock and key
        widgets = dict(docked)
        if lang is not None:
            widgets["Exercise"].set_language(lang)
        _open(viewer, widgets, path, fingerprint)
        return viewer, widgets
    prefer_scanlab_reader(viewer)
    widgets = {}
    options: dict[str, dict[str, Any]] = {}
    if scan_pitch_mm is not None:
        loader = functools.partial(load_detector, scan_pitch_mm=scan_pitch_mm)
        options["Detector assist"] = {"loader": loader}
    if lang is not None:
        options["Exercise"] = {"lang": lang}
    options["Enhance"] = {"preset": preset}
    for name, target in WIDGETS:
        module, cls = target.split(":")
        widget = getattr(importlib.import_module(f"scanlab.napari_plugin._qt.{module}"), cls)(
            viewer, **options.get(name, {})
        )
        # In a scroll area: the tallest (Exercise) must not make the window taller than a
        # 1366 x 768 screen.
        viewer.window.add_dock_widget(
            scrolling(widget.native), name=_(name), area="right", tabify=True
        )
        widgets[name] = widget
    _raise_dock(widgets[WIDGETS[0][0]])
    widgets["Tools"] = add_toolbar(viewer, enhance=widgets["Enhance"])
    widgets["Exercise"].mode_changed.connect(lambda mode: apply_mode(viewer, widgets, mode))
    widgets["Reference"].follow(widgets["Exercise"])  # offers the shown scan's declared goods
    # Each run of Detector assist on an exam's scan is recorded in the submission.
    widgets["Detector assist"].finished.connect(widgets["Exercise"].assist_ran)
    # Once run, it runs ahead on the scans the trainee may look at next.
    widgets["Exercise"].scans_around.connect(widgets["Detector assist"].scans_around)

    def follow_language(before: str, after: str) -> None:
        _window_direction()
        retitle_layers(viewer)
        for name, widget in widgets.items():
            if name != "Exercise":
                retranslate(widget, before, after)
            dock = dock_of(widget) if name != "Tools" else None
            if dock is not None:  # the tab's title, and the title bar napari draws
                dock.setWindowTitle(_(name))
                label = getattr(getattr(dock, "title", None), "title", None)
                if label is not None:
                    label.setText(_(name))

    widgets["Exercise"].language_changed.connect(follow_language)
    _window_direction()
    # Held weakly: the docks own the widgets, and a closed window must not keep them (and
    # the exercise session, answer keys included) alive through the viewer.
    setattr(viewer.window, _WIDGETS_ATTR, weakref.WeakValueDictionary(widgets))
    _open(viewer, widgets, path, fingerprint)
    return viewer, widgets


#: Attribute of a viewer's window holding the widgets :func:`create_viewer` docked in it.
_WIDGETS_ATTR = "_scanlab_widgets"


def _open(
    viewer: napari.Viewer, widgets: dict[str, Any], path: Path | None, fingerprint: str | None
) -> None:
    """Open a scan or an exercise in the workstation; what cannot be opened is notified."""
    from napari.utils.notifications import show_error

    from scanlab.errors import ScanlabError
    from scanlab.i18n import _

    if path is None:
        return
    path = Path(path)
    try:
        if is_exercise(path):
            exam_options = {"fingerprint": fingerprint} if fingerprint else {}
            widgets["Exercise"].open(path, **exam_options)
            _raise_dock(widgets["Exercise"])
        else:
            viewer.open(path, plugin="scanlab")
    except (ScanlabError, ValueError, OSError) as exc:
        show_error(_("scanlab cannot open {path}: {error}").format(path=path, error=exc))


def _window_direction() -> None:
    """The whole window right to left in Dari and Pashto (menus, toolbar, every dock), as
    Qt's own Persian translation does for Dari; Qt ships none for Pashto."""
    from qtpy.QtCore import Qt
    from qtpy.QtWidgets import QApplication

    from scanlab.i18n import is_rtl

    rtl = is_rtl()
    QApplication.setLayoutDirection(
        Qt.LayoutDirection.RightToLeft if rtl else Qt.LayoutDirection.LeftToRight
    )


def add_toolbar(viewer: napari.Viewer, *, enhance: Any = None) -> Any:
    """The toolbar (presets, zoom box, whole scan, pitch warning) above the canvas."""
    from qtpy.QtWidgets import QToolBar

    from scanlab.napari_plugin._qt.toolbar_widget import ToolbarWidget

    window = viewer.window._qt_window
    held = getattr(viewer.window, _TOOLS_ATTR, None)
    before = held() if held is not None else None
    if before is not None:
        before.detach()  # its keys and mouse go to the new one
    for old in window.findChildren(QToolBar, _TOOLBAR):  # one toolbar per window, the newest
        window.removeToolBar(old)
        old.deleteLater()
    tools = ToolbarWidget(viewer, enhance=enhance)
    bar = QToolBar("scanlab tools", window)
    bar.setObjectName(_TOOLBAR)
    bar.setMovable(False)
    bar.addWidget(tools.native)
    setattr(viewer.window, _TOOLS_ATTR, weakref.ref(tools))  # the toolbar owns it
    window.addToolBar(bar)
    return tools


#: Object name of the toolbar :func:`add_toolbar` puts above the canvas.
_TOOLBAR = "scanlab-tools"
#: Attribute of a viewer's window holding the toolbar's widget.
_TOOLS_ATTR = "_scanlab_tools"


def apply_mode(viewer: napari.Viewer, widgets: dict[str, Any], mode: str) -> None:
    """An exam hides (and disables) napari's layer list and controls, so that a trainee sees
    the scans as the exam gives them, and Detector assist unless the package assigns it to
    this trainee (the Exercise widget's ``assist``); practice shows them again."""
    exam = mode == "exam"
    qt_viewer = viewer.window._qt_viewer
    for dock in (qt_viewer.dockLayerList, qt_viewer.dockLayerControls):
        dock.setVisible(not exam)
    assist = widgets.get("Detector assist")
    if assist is not None:
        shown = not exam or bool(getattr(widgets.get("Exercise"), "assist", False))
        assist.enabled = shown
        dock = dock_of(assist)
        if dock is not None:
            dock.setVisible(shown)
    if exam:
        _raise_dock(widgets["Exercise"])


def prefer_scanlab_reader(viewer: napari.Viewer) -> None:
    """While ``viewer`` is open, File > Open and drag-and-drop read scanlab's formats with
    scanlab, without offering napari's builtin reader (which loads a TIFF or NumPy scan as a
    raw stack with no scale, that Enhance and Detector assist cannot use).

    It is napari's reader preference (``settings.plugins.extension2reader``), set for the
    patterns the user has not chosen a reader for, without saving it, and put back as it
    was when the window closes.
    """
    from napari.settings import get_settings

    from scanlab.napari_plugin._reader import reader_patterns

    settings = get_settings()
    before = dict(settings.plugins.extension2reader)
    wanted = {**dict.fromkeys(reader_patterns(), "scanlab"), **before}
    if wanted == before:
        return
    _set_unsaved(settings, wanted)

    def restore(*_: Any) -> None:
        current = settings.plugins.extension2reader
        # Choices the user made meanwhile (in the preferences) stay.
        changed = {k: v for k, v in current.items() if wanted.get(k) != v}
        _set_unsaved(settings, {**before, **changed})

    viewer.window._qt_window.destroyed.connect(restore)


def _set_unsaved(settings: Any, extension2reader: dict[str, str]) -> None:
    save, settings._save_on_change = settings._save_on_change, False
    try:
        settings.plugins.extension2reader = extension2reader
    finally:
        settings._save_on_change = save


def dock_of(widget: Any) -> Any:
    """The dock (``QDockWidget``) a docked widget sits in, or None."""
    from qtpy.QtWidgets import QDockWidget

    parent = widget.native.parentWidget()
    while parent is not None and not isinstance(parent, QDockWidget):
        parent = parent.parentWidget()
    return parent


def scrolling(widget: Any) -> Any:
    """``widget`` in a vertical scroll area as wide as it needs: a dock that fits a small
    screen, scrolled when its content is taller."""
    from qtpy.QtWidgets import QFrame, QScrollArea, QStyle

    layout = widget.layout()
    if layout is not None:
        layout.addStretch(1)  # spare height goes below the controls, not between them
    area = QScrollArea()
    area.setWidget(widget)
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    style = area.style()
    bar = (style.pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent) if style else 16) + 4
    area.setMinimumWidth(max(widget.minimumWidth(), widget.minimumSizeHint().width()) + bar)
    return area


def _raise_dock(widget: Any) -> None:
    """Bring a tabbed dock widget to the front."""
    dock = dock_of(widget)
    if dock is not None:
        dock.raise_()
