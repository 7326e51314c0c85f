"""The Exercise widget: mark suspected concealments, judge the declaration, submit, see how
you did. Every change is on disk at once (see :class:`ExerciseSession`)."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from magicgui.widgets import (
    ComboBox,
    Container,
    Label,
    LineEdit,
    ProgressBar,
    PushButton,
    RadioButtons,
    TextEdit,
)
from psygnal import Signal
from qtpy.QtCore import QTimer

from scanlab import i18n
from scanlab.errors import ScanlabError
from scanlab.i18n import (
    LANGUAGES,
    N_,
    _,
    ngettext,
    remember_language,
    remembered_language,
    term,
)
from scanlab.napari_plugin._assist import assist_on_screen
from scanlab.napari_plugin._exercise import (
    CONFIDENCE_LEVELS,
    ExerciseResult,
    ExerciseSession,
    ExerciseSource,
    ItemResult,
    assist_allowed,
    default_progress_dir,
    exercise_mode,
    feedback_lines,
    is_package,
    open_exercise,
)
from scanlab.napari_plugin._layers import (
    CLASS_COLOURS,
    META_KEY,
    NAME_KEY,
    LayerData,
    LayerPrefetch,
    ScanRef,
    placement,
    scan_layers,
)
from scanlab.napari_plugin._marking import marks_from_shapes, result_shapes, shapes_from_marks
from scanlab.napari_plugin._progress import steps_of
from scanlab.napari_plugin._qt._util import (
    alive,
    catalogue_translator,
    file_dialog,
    install_canvas_font,
    retranslate,
    scan_ref_of,
    set_scale,
    show_scan,
    wrapping,
    zoom_to_box,
)
from scanlab.synth import THREAT_CLASSES

if TYPE_CHECKING:
    import napari
    from napari.layers import Shapes

    from scanlab.evaluate import Mark
    from scanlab.io import Scan

__all__ = ["PRACTICE_PASSPHRASE", "SHORTCUTS", "ExerciseWidget"]

#: Passphrase of the practice exams this widget builds: practice keys are not secret.
PRACTICE_PASSPHRASE = "scanlab-practice-exam"

#: Keyboard shortcuts (napari key names). Digits alone switch the shapes tools in napari,
#: so the class picker uses Alt + digit.
SHORTCUTS: dict[str, str] = {
    **{f"Alt-{i + 1}": f"class: {name}" for i, name in enumerate(THREAT_CLASSES)},
    "PageDown": N_("next item"),
    "PageUp": N_("previous item"),
    "Control-Enter": N_("submit"),
    "Control-Z": N_("undo the last change to the marks"),
}

#: The answers to "is the declaration consistent with the image?" and what they record.
_VERDICTS: dict[str, bool | None] = {
    N_("not answered"): None,
    N_("consistent"): True,
    N_("not consistent"): False,
}
#: A warning (red clock, notification) this many seconds before a scan's time, or the
#: whole exercise's, runs out.
_WARN_SCAN_S = 10.0
_WARN_ALL_S = 60.0
#: The call on a whole scan (practice) and what it records.
_DECISIONS: dict[str, bool | None] = {
    N_("not decided"): None,
    N_("clear"): False,
    N_("suspect"): True,
}
#: The layers that show a scored scan, one per outcome so that each can be toggled.
_RESULT_LAYERS = {"hit": N_("found"), "miss": N_("missed"), "false_alarm": N_("false alarms")}


class ExerciseWidget(Container):
    """Work through an exercise: an exam package (.zip) or scans with answer-key files.

    Parameters
    ----------
    viewer : napari.viewer.Viewer
    progress_dir : path, optional
        Where work in progress is saved (default :func:`default_progress_dir`).
    """

    item_shown = Signal(str)
    submitted = Signal(object)
    #: ``"exam"``, ``"practice"`` or ``""`` (nothing open): what the workstation may offer
    #: (with :attr:`assist`, set before it is emitted).
    mode_changed = Signal(str)
    #: (language before, language now): the other docked widgets follow the trainee's choice.
    language_changed = Signal(str, str)
    #: The scan shown and those next to it, as ``[(item id, scan), (item id, function
    #: giving the scan)...]`` (the shown one first; empty when the exercise closes): Detector
    #: assist runs ahead on them.
    scans_around = Signal(object)

    def __init__(
        self,
        viewer: napari.viewer.Viewer,
        *,
        progress_dir: str | Path | None = None,
        lang: str | None = None,
    ) -> None:
        # The trainee's language: given (``scanlab gui --lang``), else the one they chose
        # here last time, else an exam package's, else SCANLAB_LANG / the system's.
        self._chosen_language = lang or remembered_language(progress_dir or default_progress_dir())
        i18n.set_language(self._chosen_language)
        super().__init__(labels=False)
        install_canvas_font()  # the captions it draws on the canvas join Pashto's letters
        self.native.setMinimumWidth(380)
        self._viewer = viewer
        self._progress_dir = progress_dir
        self.session: ExerciseSession | None = None
        #: Whether Detector assist may be shown: in an exam, only to the trainees the
        #: package assigns it to (:func:`assist_allowed`).
        self.assist = True
        self._layers: list[Any] = []
        self._marks: Shapes | None = None
        self._syncing = False
        # The item whose answers the controls show: None while the controls are being reset
        # for another one, when anything they emit belongs to no item.
        self._shown: str | None = None

        self._language = ComboBox(
            label=_("Language"),
            choices=[(name, code) for code, name in LANGUAGES.items()],
            value=i18n.get_language(),
            tooltip=_("The language of this window; remembered for the next time"),
        )
        self._open = PushButton(text=_("Open exercise..."))
        self._practice = PushButton(text=_("New practice exam"))
        # Sign-in of an exam package: who answers is settled before any scan is shown.
        self._trainee = LineEdit(label=_("Trainee id"), value="")
        self._token = LineEdit(label=_("Token"), value="")
        self._token.tooltip = _("The submission token your instructor gave you for this exam")
        self._fingerprint = LineEdit(label=_("Exam fingerprint"), value="")
        self._fingerprint.tooltip = _(
            "The exam's fingerprint as your instructor gave it out (scanlab exam build prints "
            "it): a package signed by anyone else is refused"
        )
        # Only for a package with confidential (sealed) real scans.
        self._scan_code = LineEdit(label=_("Scan code"), value="", visible=False)
        self._scan_code.tooltip = _(
            "This exam holds confidential scans: type the scan code your instructor hands out "
            "when the exam starts"
        )
        self._start = PushButton(text=_("Start exam"))
        self._sign_in_note = Label(value="")
        wrapping(self._sign_in_note)  # an error says which field and why
        self._sign_in: Container[Any] = Container(
            widgets=[
                self._trainee,
                self._token,
                self._fingerprint,
                self._scan_code,
                self._start,
                self._sign_in_note,
            ],
            labels=True,
            visible=False,
        )
        self._pending: tuple[Path, str | None] | None = None
        self._question: Any = None  # the open confirmation box
        self._dialog: Any = None  # the open file dialog
        self.mode = ""
        self._warned: set[str] = set()  # time warnings given on the shown scan
        self._build_progress = ProgressBar(value=0, min=0, max=1, visible=False)
        self._title = Label(value=_("No exercise open."))
        wrapping(self._title)  # long exam names fit a narrow dock
        self._clock = Label(value="")
        self._prev = PushButton(text=_("< Previous (PgUp)"))
        self._next = PushButton(text=_("Next (PgDn) >"))
        self._class = ComboBox(label=_("Class (Alt+1..7)"), choices=_labelled(THREAT_CLASSES))
        self._rect = PushButton(text=_("Rectangle (R)"))
        self._poly = PushButton(text=_("Polygon (P)"))
        self._saved = Label(value="")
        self._declaration = TextEdit(value="")
        self._declaration.native.setReadOnly(True)
        self._declaration.native.setMinimumHeight(90)
        self._verdict = RadioButtons(choices=_labelled(_VERDICTS))
        self._verdict.value = "not answered"
        # The call on the whole scan, with confidence: in practice before the marks are
        # checked, in an exam handed in with them.
        self._decision = RadioButtons(choices=_labelled(_DECISIONS), orientation="horizontal")
        self._decision.value = "not decided"
        self._confidence = RadioButtons(
            label=_("Sure (1-4)"),
            tooltip=_("How sure you are of your call: 1 a guess, 4 certain"),
            choices=[str(i) for i in range(1, CONFIDENCE_LEVELS + 1)],
            orientation="horizontal",
        )
        self._confidence.value = "2"
        self._check = PushButton(text=_("Check this scan"))
        self._objects = ComboBox(label=_("Object"), choices=[], visible=False)
        self._zoom = PushButton(text=_("Zoom to it"), visible=False)
        self._feedback_objects: list[tuple[int, int, int, int]] = []
        self._practice_box: Container[Any] = Container(
            widgets=[
                Label(value=_("<b>Your call on this scan</b>")),
                self._decision,
                Container(widgets=[self._confidence], labels=True),
                self._check,
                Container(widgets=[self._objects, self._zoom], layout="horizontal"),
            ],
            visible=False,
        )
        self._submit = PushButton(text=_("Submit (Ctrl+Enter)"))
        self._results = TextEdit(value="")
        self._results.native.setReadOnly(True)
        self._results.native.setMinimumHeight(200)
        self._results.visible = False

        self.extend(
            [
                Container(widgets=[self._language], labels=True),
                Container(widgets=[self._open, self._practice], layout="horizontal"),
                self._build_progress,
                self._title,
                self._sign_in,
                self._clock,
                Container(widgets=[self._prev, self._next], layout="horizontal"),
                Label(value=_("<b>Mark what you suspect</b>")),
                Container(widgets=[self._class], labels=True),
                Container(widgets=[self._rect, self._poly], layout="horizontal"),
                self._saved,
                Label(value=_("<b>Cargo declaration</b>")),
                self._declaration,
                Label(value=_("Is the declaration consistent with the image?")),
                self._verdict,
                self._practice_box,
                self._submit,
                self._results,
            ]
        )
        self._language.changed.connect(self._on_language)
        self._open.changed.connect(self._choose_file)
        self._practice.changed.connect(self.new_practice_exam)
        self._start.changed.connect(self.start_exam)
        self._prev.changed.connect(self.previous_item)
        self._next.changed.connect(self.next_item)
        self._class.changed.connect(self._on_class)
        self._rect.changed.connect(lambda: self._draw("add_rectangle"))
        self._poly.changed.connect(lambda: self._draw("add_polygon"))
        self._verdict.changed.connect(self._on_verdict)
        self._decision.changed.connect(self._on_decision)
        self._confidence.changed.connect(self._on_decision)
        self._check.changed.connect(self.check_item)
        self._zoom.changed.connect(self._zoom_to_chosen)
        self._submit.changed.connect(self.request_submit)
        self._bind_viewer_keys()
        # Detector assist's layers coming, going, shown or hidden: its use is recorded.
        viewer.layers.events.inserted.connect(self._on_layer_inserted)
        viewer.layers.events.removed.connect(self._follow_assist)
        for layer in viewer.layers:
            self._watch_layer(layer)
        self.native.setToolTip(_shortcuts_text())
        self._alive = alive(self)
        self._prefetch = prefetch = LayerPrefetch(self._scan_layers)
        self.native.destroyed.connect(lambda *_: prefetch.close())
        self._timer = QTimer(self.native)  # dies with the widget
        self._timer.setInterval(1000)
        self._timer.timeout.connect(self._tick)
        self._timer.start()
        self._apply_direction()
        self._update_controls()

    # --- language -----------------------------------------------------------------------------

    def set_language(self, lang: str, *, remember: bool = True) -> str:
        """Show the widget in ``lang`` (a code of :data:`scanlab.i18n.LANGUAGES`), right to
        left for Dari and Pashto; ``remember`` keeps it as the trainee's choice."""
        before = i18n.get_language()
        code = i18n.set_language(lang)
        if remember:
            self._chosen_language = code
            remember_language(self._progress_dir or default_progress_dir(), code)
        retranslate(self, before, code)
        for choice in (self._class, self._verdict, self._decision):
            with self._guard():
                choice.reset_choices()
        with self._guard():
            self._language.value = code
        self.native.setToolTip(_shortcuts_text())
        self._apply_direction()
        self._refresh_texts()
        if code != before:
            self.language_changed.emit(before, code)
        return code

    def _on_language(self, code: str) -> None:
        if not self._syncing and code != i18n.get_language():
            self.set_language(code)

    def _apply_direction(self) -> None:
        from qtpy.QtCore import Qt

        rtl = i18n.is_rtl()
        direction = Qt.LayoutDirection.RightToLeft if rtl else Qt.LayoutDirection.LeftToRight
        self.native.setLayoutDirection(direction)
        _use_qt_translation(i18n.get_language())

    def _use_package_language(self, language: str | None) -> None:
        """An exam package that names its language speaks it, unless the trainee chose."""
        if language and not self._chosen_language and language != i18n.get_language():
            self.set_language(language, remember=False)

    def _refresh_texts(self) -> None:
        """The texts made from the exercise's state, again in the current language."""
        session = self.session
        if (
            session is not None
            and self._shown is not None
            and (session.submitted is not None or session.checked())
        ):
            self._show_item()  # the result layers' names and captions too; no clock runs
            return
        if session is not None and self._shown is not None:
            item = session.item
            if self._marks is not None:
                self._marks.name = f"{item.item_id} [{_(_YOUR_MARKS)}]"
            self._declaration.value = (
                item.declaration.as_text()
                if item.declaration
                else _("No declaration with this scan.")
            )
            self._saved.value = _saved_text(len(session.marks()))
        elif session is None and self._pending is None:
            self._title.value = _("No exercise open.")
        self._update_controls()

    # --- opening ------------------------------------------------------------------------------

    def open(
        self, source: ExerciseSource | str | Path, **exam_options: Any
    ) -> ExerciseSession | None:
        """Open an exercise (a source, an exam package or a scan/dataset path) and restore any
        saved work. ``exam_options``: ``trainee_id``, ``token``, ``passphrase``,
        ``fingerprint``.

        An exam package opened without a passphrase or token is not shown yet: the sign-in
        asks for the trainee id, the token and the exam's fingerprint (unless ``fingerprint``
        pins it), and the scan code when the package holds confidential scans, and
        :meth:`start_exam` checks them (returns None until then).
        """
        if isinstance(source, str | Path):
            if is_package(source) and not {"passphrase", "token"} & set(exam_options):
                self._ask_identity(Path(source), exam_options.get("fingerprint"))
                return None
            source = open_exercise(source, **exam_options)
        self.close_exercise()
        self._use_package_language(getattr(getattr(source, "package", None), "language", None))
        self.session = ExerciseSession(source, progress_dir=self._progress_dir)
        self.mode = exercise_mode(source)
        self.assist = assist_allowed(source)
        self.mode_changed.emit(self.mode)
        if self.session.submitted is not None:  # handed in before: show the results again
            try:
                self.session.submit()
            except ScanlabError as exc:
                self._results.value = str(exc)
                self._results.visible = True
        self._show_item()
        return self.session

    def close_exercise(self) -> None:
        self._shown = None
        self._prefetch.prepare([])
        self.scans_around.emit([])
        self._clear_layers()
        self.session = None
        self._pending = None
        self._sign_in.visible = False
        if self.mode:
            self.mode, self.assist = "", True
            self.mode_changed.emit("")
        self._results.visible = False
        self._practice_box.visible = False
        self._declaration.value = ""
        self._title.value = _("No exercise open.")
        self._update_controls()

    def _ask_identity(self, path: Path, fingerprint: str | None) -> None:
        from scanlab.exercises import ExamPackage

        package = ExamPackage.open(path, fingerprint=fingerprint)  # signature checked now
        self.close_exercise()
        self._use_package_language(package.language)
        self._pending = (path, fingerprint)
        self._fingerprint.value = fingerprint or ""
        self._fingerprint.enabled = fingerprint is None
        self._scan_code.value = ""
        self._scan_code.visible = package.sealed
        self._sign_in_note.value = ""
        self._sign_in.visible = True
        sign_in = (
            _(
                "<b>{name}</b>: {count} scans. Sign in with your trainee id, the token, the "
                "scan code and the exam fingerprint from your instructor; the clock starts "
                "when the first scan is shown."
            )
            if package.sealed
            else _(
                "<b>{name}</b>: {count} scans. Sign in with your trainee id, the token and the "
                "exam fingerprint from your instructor; the clock starts when the first scan is "
                "shown."
            )
        )
        self._title.value = sign_in.format(name=package.name or path.stem, count=len(package.items))
        self._update_controls()

    def start_exam(self, *_args: Any) -> ExerciseSession | None:
        """Check the sign-in (trainee id, token, fingerprint, and the scan code of a package
        with confidential scans) and show the first scan; a problem is said under the
        sign-in and nothing starts."""
        if self._pending is None:
            return None
        path, pinned = self._pending
        fingerprint = pinned or self._fingerprint.value.strip()
        try:
            if not fingerprint:
                raise ScanlabError(
                    _(
                        "type the exam fingerprint your instructor gave out (scanlab exam "
                        "build prints it)"
                    )
                )
            source = open_exercise(
                path,
                fingerprint=fingerprint,
                trainee_id=self._trainee.value,
                token=self._token.value.strip() or None,
                scan_code=self._scan_code.value.strip() or None,
            )
        except ScanlabError as exc:
            self._sign_in_note.value = f"<span style='color:#e74c3c'>{exc}</span>"
            return None
        return self.open(source)

    def _choose_file(self, *_args: Any) -> None:
        dialog = file_dialog(
            self.native,
            _("Open an exercise"),
            _("Exam packages (*.zip);;Scans with keys (*.*)"),
        )
        self._dialog = dialog  # for tests, to answer it
        try:
            chosen = dialog.selectedFiles() if dialog.exec() else []
        finally:
            self._dialog = None
        if chosen:
            self._open_reporting(chosen[0])

    def _open_reporting(self, path: str | Path, **options: Any) -> None:
        try:
            self.open(path, **options)
        except ScanlabError as exc:
            from napari.utils.notifications import show_error

            show_error(_("Cannot open the exercise: {error}").format(error=exc))

    def new_practice_exam(self, *_args: Any, count: int = 4) -> None:
        """Simulate a small practice exam in the background, then open it (results shown)."""
        from napari.qt.threading import create_worker

        from scanlab.exercises import ExamSpec, build_exam
        from scanlab.napari_plugin._exercise import default_progress_dir

        folder = Path(self._progress_dir or default_progress_dir()) / "practice-exams"
        seed = secrets.randbelow(2**31)
        spec = ExamSpec(
            name=f"practice-{seed}",
            seed=seed,
            count=count,
            clean_share=0.25,
            pitch_mm=10.0,
            max_tries=2,
            time_limit_s=120.0,
        )

        out = folder / f"{spec.name}.zip"
        worker = create_worker(steps_of, build_exam, spec, out, PRACTICE_PASSPHRASE)
        worker.yielded.connect(lambda p: self._on_build_progress(*p))
        worker.returned.connect(self._open_practice_exam)
        worker.finished.connect(lambda: setattr(self._build_progress, "visible", False))
        self._build_progress.visible = True
        self._title.value = _("Simulating a practice exam...")
        self._builder = worker  # keep a reference while it runs
        worker.start()

    def _open_practice_exam(self, path: Path) -> None:
        if self._alive():
            # Practice: the results are the trainee's own, nobody else grades them.
            trainee = self._trainee.value.strip() or "practice"
            self._open_reporting(path, trainee_id=trainee, passphrase=PRACTICE_PASSPHRASE)

    def _on_build_progress(self, done: int, total: int) -> None:
        self._build_progress.max = total
        self._build_progress.value = done

    # --- navigation ---------------------------------------------------------------------------

    def next_item(self, *_: Any) -> None:
        self.go_to(self.session.current + 1 if self.session else 0)

    def previous_item(self, *_: Any) -> None:
        self.go_to(self.session.current - 1 if self.session else 0)

    def go_to(self, index: int) -> None:
        if self.session is None:
            return
        before = self.session.current
        self.session.go_to(index)
        if self.session.current != before:
            self._show_item()

    def _show_item(self) -> None:
        session = self.session
        if session is None:
            return
        # Changing layers makes napari reset the docked widgets' choices, and the verdict
        # buttons re-emit their value: it must not land on the item being shown.
        self._shown = None
        item = session.item
        # The previous scan's layers show this one (in place: no layer removed and re-added).
        new = self._prefetch.take(item.item_id)
        self._layers = show_scan(self._viewer, self._layers, new)
        ref = self._layers[-1].metadata[META_KEY]
        self._marks = self._marks_layer(ref, item.item_id)
        self._layers.append(self._marks)
        if session.result is not None:
            self._show_result(ref)
        text = (
            item.declaration.as_text() if item.declaration else _("No declaration with this scan.")
        )
        self._declaration.value = text
        self._set_verdict(session.declaration_answer())
        self._set_decision(session.rating())
        self._objects.visible = self._zoom.visible = False
        # The call on the scan is asked in exams too (grading draws the ROC from it); only
        # practice checks it at once.
        self._practice_box.visible = session.result is None
        self._check.visible = session.practice
        if session.checked() and session.result is None:
            self._show_feedback(session.check_item(item.item_id))
        elif session.result is None:
            self._results.visible = False
        self._saved.value = _saved_text(len(session.marks()))
        self._viewer.reset_view()
        self._viewer.layers.selection.active = self._marks
        self._shown = item.item_id
        if session.submitted is None:
            session.scan_shown()  # its clock runs from now: loading was not counted
            self._follow_assist()
        self._warned = set()
        self._update_controls()
        self.item_shown.emit(item.item_id)
        # The neighbours are read while this scan is looked at; this one is kept for coming
        # back to it (the very same scan: what was computed on it still applies).
        ids = [i.item_id for i in session.items]
        around = [ids[j] for j in (session.current + 1, session.current - 1) if 0 <= j < len(ids)]
        self._prefetch.prepare(around, ready={item.item_id: new})
        self.scans_around.emit(
            [(item.item_id, ref.scan), *((key, self._prepared_scan(key)) for key in around)]
        )

    # --- Detector assist, as used -------------------------------------------------------------

    def assist_ran(self, *_args: Any) -> None:
        """Detector assist finished a run on the shown scan (its ``finished`` signal)."""
        if self.session is not None and self._shown is not None:
            self.session.assist_ran(self._shown)

    def _on_layer_inserted(self, event: Any) -> None:
        self._watch_layer(event.value)
        self._follow_assist()

    def _watch_layer(self, layer: Any) -> None:
        layer.events.visible.connect(self._follow_assist)
        layer.events.opacity.connect(self._follow_assist)

    def _follow_assist(self, *_: Any) -> None:
        """Tell the session whether Detector assist's map or regions over the shown scan are
        on screen: the time they are is recorded in the submission."""
        session = self.session
        if session is None or self._shown is None or session.submitted is not None:
            return
        scan_ids = {ref.scan_id for layer in self._layers if (ref := scan_ref_of(layer))}
        session.set_assist_visible(assist_on_screen(self._viewer.layers, scan_ids))

    def _scan_layers(self, item_id: str) -> list[LayerData]:
        """The layers of an item's scan (called in the prefetch thread too)."""
        session = self.session
        if session is None:
            return []
        layers = scan_layers(session.scan(item_id), name=item_id)
        for _data, kwargs, _kind in layers:
            meta = kwargs["metadata"]  # no free metadata: the scan and the layer's name only
            kwargs["metadata"] = {META_KEY: meta[META_KEY], NAME_KEY: meta[NAME_KEY]}
        return layers

    def _prepared_scan(self, item_id: str) -> Callable[[], Scan]:
        """A function giving the scan the prefetch prepares for ``item_id`` (waiting for it),
        the very one its layers will show."""
        future = self._prefetch.peek(item_id)

        def scan() -> Scan:
            if future is None:
                raise LookupError(item_id)
            return future.result()[-1][1]["metadata"][META_KEY].scan

        return scan

    def _clear_layers(self) -> None:
        """Remove the item's layers, and those other widgets made of its scan (renderings,
        rulers, detector overlays): the next item starts clean."""
        item_ids = {ref.scan_id for layer in self._layers if (ref := scan_ref_of(layer))}
        for layer in list(self._viewer.layers):
            ref = scan_ref_of(layer)
            if layer in self._layers or (ref is not None and ref.scan_id in item_ids):
                self._viewer.layers.remove(layer)
        self._layers = []
        self._marks = None

    # --- marking ------------------------------------------------------------------------------

    @property
    def marks_layer(self) -> Shapes | None:
        return self._marks

    def _marks_layer(self, ref: ScanRef, item_id: str) -> Shapes:
        """The marks layer, showing ``item_id``'s marks: the previous item's, taken over."""
        assert self.session is not None
        layer = self._marks
        if layer is None or layer not in self._viewer.layers:
            return self._add_marks_layer(ref, item_id)
        layer.metadata = {META_KEY: ref.with_role("marks")}
        set_scale(layer, ref.pitch_mm)
        layer.editable = True
        layer.text.visible = True
        self._load_marks(self.session.marks(item_id))
        layer.name = f"{item_id} [{_(_YOUR_MARKS)}]"
        if self.session.submitted is not None or self.session.out_of_time(item_id):
            _freeze(layer)
        return layer

    def _add_marks_layer(self, ref: ScanRef, item_id: str) -> Shapes:
        assert self.session is not None
        data, kinds, columns = shapes_from_marks(self.session.marks(item_id))
        features = _frame(columns)
        current = self._class.value
        layer = self._viewer.add_shapes(
            data or None,
            ndim=2,
            shape_type=kinds or "rectangle",
            name=f"{item_id} [{_(_YOUR_MARKS)}]",
            **placement(ref),
            edge_color=[CLASS_COLOURS[c] for c in columns["threat_class"]] or "white",
            face_color="transparent",
            edge_width=3.0,
            features=features,
            feature_defaults=_defaults(current),
            text={
                "string": "{threat_class}",
                "color": {"feature": "colour"},
                "size": 10,
                "anchor": "upper_left",
            },
            metadata={META_KEY: ref.with_role("marks")},
        )
        layer.current_edge_color = CLASS_COLOURS[current]
        layer.current_face_color = "transparent"
        layer.events.data.connect(self._on_marks_changed)
        if self.session.submitted is not None or self.session.out_of_time(item_id):
            _freeze(layer)
        return layer

    def undo(self, *_: Any) -> None:
        """Take back the last change to the shown scan's marks (Ctrl+Z)."""
        session, layer, item_id = self.session, self._marks, self._shown
        if session is None or layer is None or item_id is None or session.submitted is not None:
            return
        marks = session.undo_marks(item_id)
        if marks is not None:
            self._load_marks(marks)

    def _load_marks(self, marks: list[Mark]) -> None:
        """Show ``marks`` in the marks layer, in place of what it holds."""
        layer = self._marks
        if layer is None:
            return
        data, kinds, columns = shapes_from_marks(marks)
        if not data and not len(layer.data):  # nothing shown, nothing to show: no redraw
            self._saved.value = _saved_text(0)
            return
        with self._guard():
            layer.selected_data = set()
            layer.data = []
            if data:
                layer.add(data, shape_type=kinds)
            layer.features = _frame(columns)
            layer.feature_defaults = _defaults(self._class.value)
            layer.edge_color = [CLASS_COLOURS[c] for c in columns["threat_class"]]
            layer.refresh_text()
        self._saved.value = _saved_text(len(marks))

    def set_class(self, name: str) -> None:
        """The class of the next marks, and of the selected ones."""
        self._class.value = name

    def _on_class(self, name: str) -> None:
        layer = self._marks
        if layer is None:
            return
        layer.feature_defaults = _defaults(name)
        layer.current_edge_color = CLASS_COLOURS[name]  # recolours selected shapes too
        selected = sorted(layer.selected_data)
        if selected and layer.editable:
            classes = list(layer.features["threat_class"])
            for i in selected:
                classes[i] = name
            with self._guard():
                layer.features = {
                    **_plain(layer.features),
                    "threat_class": classes,
                    "colour": [CLASS_COLOURS[c] for c in classes],
                }
                layer.refresh_text()
            self.sync_marks()

    def _draw(self, mode: str) -> None:
        if self._marks is not None and self._marks.editable:
            self._viewer.layers.selection.active = self._marks
            self._marks.mode = mode

    def _on_marks_changed(self, event: Any) -> None:
        action = str(getattr(event, "action", "")).lower()
        if self._syncing or action.endswith("ing"):  # adding/changing/removing: not done yet
            return
        self.sync_marks()

    def sync_marks(self) -> None:
        """Give new shapes an id, turn the layer into marks and save them (atomically)."""
        session, layer, item_id = self.session, self._marks, self._shown
        if session is None or layer is None or item_id is None or session.submitted is not None:
            return
        if session.out_of_time(item_id):  # drawn in the last second: the saved marks stand
            self._load_marks(session.marks(item_id))
            _freeze(layer)
            return
        features = _plain(layer.features)
        # napari drops a polygon finished with too few vertices from the shapes but not its
        # row from the features (the last one): the table is cut or padded to the shapes.
        n_shapes = len(layer.data)
        aligned = len(features.get("mark_id", [])) == n_shapes
        ids = [str(v) if isinstance(v, str) else "" for v in features.get("mark_id", [])]
        ids = (ids + [""] * n_shapes)[:n_shapes]
        fixed = _unique_ids(ids)
        classes = [
            c if c in THREAT_CLASSES else self._class.value
            for c in features.get("threat_class", [])
        ]
        classes = (classes + [self._class.value] * n_shapes)[:n_shapes]
        if not aligned or fixed != ids or classes != features.get("threat_class"):
            with self._guard():
                layer.features = {
                    "mark_id": fixed,
                    "threat_class": classes,
                    "colour": [CLASS_COLOURS[c] for c in classes],
                }
                layer.refresh_text()
        previous = {m.mark_id: m for m in session.marks(item_id)}
        marks, skipped = marks_from_shapes(
            layer.data, layer.shape_type, fixed, classes, previous=previous
        )
        session.set_marks(item_id, marks)
        self._saved.value = _saved_text(len(marks), len(skipped))

    @contextmanager
    def _guard(self) -> Iterator[None]:
        """Changes made here are the widget's own: its event handlers ignore them."""
        self._syncing = True
        try:
            yield
        finally:
            self._syncing = False

    # --- declaration --------------------------------------------------------------------------

    def set_verdict(self, consistent: bool | None) -> None:
        """Answer the declaration question (True: consistent with the image)."""
        self._set_verdict(consistent)
        self._on_verdict()

    def _set_verdict(self, consistent: bool | None) -> None:
        label = next(k for k, v in _VERDICTS.items() if v is consistent)
        with self._guard():
            self._verdict.value = label

    def _on_verdict(self, *_: Any) -> None:
        session, item_id = self.session, self._shown
        if self._syncing or session is None or item_id is None or session.submitted is not None:
            return
        value = _VERDICTS[self._verdict.value]
        if session.out_of_time(item_id):
            self._set_verdict(session.declaration_answer(item_id))
            return
        if value is not session.declaration_answer(item_id):
            session.set_declaration_answer(item_id, value)

    def set_decision(self, suspect: bool | None, confidence: int = 2) -> None:
        """The call on the shown scan: clear or suspect, and how sure (1-4)."""
        self._set_decision(None if suspect is None else (confidence if suspect else -confidence))
        self._on_decision()

    def _set_decision(self, rating: int | None) -> None:
        with self._guard():
            self._decision.value = (
                "not decided" if rating is None else ("suspect" if rating > 0 else "clear")
            )
            if rating is not None:
                self._confidence.value = str(abs(rating))

    def _on_decision(self, *_: Any) -> None:
        session, item_id = self.session, self._shown
        if self._syncing or session is None or item_id is None or session.submitted is not None:
            return
        if session.checked(item_id) or session.out_of_time(item_id):
            self._set_decision(session.rating(item_id))
            return
        suspect = _DECISIONS[self._decision.value]
        session.set_decision(item_id, suspect, int(self._confidence.value))

    # --- submitting ---------------------------------------------------------------------------

    def request_submit(self, *_args: Any) -> ExerciseResult | None:
        """Submit (the button, Ctrl+Enter) after the trainee confirms, shown what may have
        been forgotten: scans not visited, without marks, declarations not answered."""
        session = self.session
        if session is None or session.submitted is not None:
            return None
        self.sync_marks()
        if not self._confirm(_("Submit your answers?"), _submit_question(session.open_questions())):
            return None
        return self.submit()

    def _confirm(self, title: str, text: str) -> bool:
        from qtpy.QtWidgets import QMessageBox

        box = QMessageBox(QMessageBox.Icon.Question, title, text, parent=self.native)
        # Typed differently by each binding's stubs (flag enum or QFlags): no cast fits both.
        buttons: Any = QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No
        box.setStandardButtons(buttons)
        box.setDefaultButton(QMessageBox.StandardButton.No)
        # Yes and No are Qt's words: in Kyrgyz and Pashto, which Qt lacks, they come from
        # scanlab's catalogue (_use_qt_translation).
        box.setLayoutDirection(self.native.layoutDirection())
        self._question = box  # for tests, to answer it
        try:
            return box.exec() == QMessageBox.StandardButton.Yes
        finally:
            self._question = None

    def submit(self, *_args: Any) -> ExerciseResult | None:
        """Hand in at once, read the keys, show hits, misses and false alarms and the scores."""
        session = self.session
        if session is None:
            return None
        if session.submitted is None:
            self.sync_marks()
        try:
            result = session.submit()
        except ScanlabError as exc:
            self._results.value = (
                _("Submitted at {time}. {error}").format(
                    time=f"{session.submitted:%H:%M:%S}", error=exc
                )
                if session.submitted
                else str(exc)
            )
            self._results.visible = True
            self._update_controls()
            return None
        if self._marks is not None:
            _freeze(self._marks)
        ref = self._layers[0].metadata[META_KEY] if self._layers else None
        if ref is not None:
            self._show_result(ref)
        self._update_controls()
        self.submitted.emit(result)
        return result

    def check_item(self, *_: Any) -> ItemResult | None:
        """Practice: score the shown scan now, show found, missed and false-alarm outlines
        with what each object was, and zoom to the first missed one."""
        session, item_id = self.session, self._shown
        if session is None or item_id is None or not self._layers:
            return None
        self.sync_marks()
        try:
            result = session.check_item(item_id)
        except ScanlabError as exc:
            self._results.value = str(exc)
            self._results.visible = True
            return None
        self._show_feedback(result)
        missed = [o for o in result.key.objects if o.object_id not in self._found(result)]
        if missed:
            self.zoom_to(missed[0].bbox)
        self._update_controls()
        return result

    @staticmethod
    def _found(result: ItemResult) -> set[str]:
        return {h.object_id for h in result.match.hits}

    def _show_feedback(self, result: ItemResult) -> None:
        ref = self._layers[0].metadata[META_KEY]
        self._add_result_layers(result, ref)
        if self._marks is not None:
            _freeze(self._marks)
        found, missed = _("found"), _("missed")
        self._objects.choices = [
            f"{i + 1}: {found if o.object_id in self._found(result) else missed} "
            f"{term(o.threat_class)}"
            for i, o in enumerate(result.key.objects)
        ]
        self._objects.visible = self._zoom.visible = bool(result.key.objects)
        self._feedback_objects = [o.bbox for o in result.key.objects]
        self._results.value = "\n".join([*feedback_lines(result), _(_COLOURS)])
        self._results.visible = True

    def zoom_to(self, bbox: tuple[int, int, int, int], *, margin: float = 3.0) -> None:
        """Centre the view on a box (row0, col0, row1, col1 in scan pixels), showing about
        ``margin`` times its size around it."""
        if not self._layers:
            return
        row_mm, col_mm = self._layers[0].scale[-2:]
        r0, c0, r1, c1 = bbox
        zoom_to_box(self._viewer, (r0 * row_mm, c0 * col_mm, r1 * row_mm, c1 * col_mm), margin)

    def _zoom_to_chosen(self, *_: Any) -> None:
        value = self._objects.value
        if value and self._feedback_objects:
            self.zoom_to(self._feedback_objects[int(str(value).split(":")[0]) - 1])

    def _show_result(self, ref: ScanRef) -> None:
        session = self.session
        if session is None or session.result is None:
            return
        item_result = session.result.items[session.item.item_id]
        self._add_result_layers(item_result, ref)
        self._results.value = "\n".join(self._result_lines())
        self._results.visible = True

    def _result_lines(self) -> list[str]:
        session = self.session
        assert session is not None and session.result is not None
        lines = feedback_lines(session.result.items[session.item.item_id])
        lines += ["", _("Whole exercise:"), *session.result.summary_lines()]
        if session.result.submission is not None:
            lines.append(_("Signed submission: {path}").format(path=session.result.submission))
        lines.append(_(_COLOURS))
        return lines

    def _add_result_layers(self, item_result: ItemResult, ref: ScanRef) -> None:
        session = self.session
        assert session is not None
        shapes = result_shapes(item_result, session.marks(item_result.item_id))
        for outcome, label in _RESULT_LAYERS.items():
            part = shapes.only(outcome)
            if part.data:
                layer = self._viewer.add_shapes(
                    part.data,
                    name=f"{session.item.item_id} [{_(label)}]",
                    **placement(ref),
                    metadata={META_KEY: ref.with_role("result", detail=outcome)},
                    **part.layer_kwargs(),
                )
                self._layers.append(layer)

    # --- keys, clock, enabled state -----------------------------------------------------------

    def _bind_viewer_keys(self) -> None:
        viewer = self._viewer
        # On the viewer, not the marks layer: they work whichever layer is selected.
        actions = {
            "PageDown": self.next_item,
            "PageUp": self.previous_item,
            "Control-Enter": self.request_submit,
            "Control-Z": self.undo,
            **{f"Alt-{i + 1}": _class_setter(self, name) for i, name in enumerate(THREAT_CLASSES)},
        }
        for key, action in actions.items():
            viewer.bind_key(key, _call(action), overwrite=True)

        def unbind(*_: Any) -> None:
            for key in actions:
                viewer.bind_key(key, None)

        self.native.destroyed.connect(unbind)

    def _tick(self) -> None:
        """The clock line, a warning before time runs out, and the limits enforced: a scan
        whose time is up locks and the next one with time left is shown; when the
        exercise's time is up it is submitted."""
        session = self.session
        if session is None:
            self._clock.value = ""
            return
        running = session.submitted is None and self._shown is not None
        if running and self._question is None and session.out_of_time():
            self._time_up(session)
            return
        spent = session.time_spent_s()
        limit = session.item.time_limit_s
        state = _("Submitted") if session.submitted else _("In progress")
        text = _("{state} · this scan {time}").format(state=state, time=_mmss(spent))
        if limit:
            text += " " + _("of {limit}").format(limit=_mmss(limit))
        total = session.exercise_time_left_s()
        if total is not None and session.submitted is None:
            text += " · " + _("{time} left in all").format(time=_mmss(max(total, 0.0)))
        left = session.time_left_s()
        short_all = total is not None and total <= _WARN_ALL_S
        short_scan = left is not None and left <= _WARN_SCAN_S
        if session.submitted is None and (short_all or short_scan):
            text = f"<span style='color:#e74c3c'><b>{text}</b></span>"
            what = "all" if short_all else "scan"
            if what not in self._warned:
                self._warned.add(what)
                from napari.utils.notifications import show_warning

                seconds = int((total if short_all else left) or 0.0)
                show_warning(
                    _("{seconds} s left for the whole exercise").format(seconds=seconds)
                    if short_all
                    else _("{seconds} s left on this scan").format(seconds=seconds)
                )
        self._clock.value = text

    def _time_up(self, session: ExerciseSession) -> None:
        total = session.exercise_time_left_s()
        later = [
            i
            for i in range(len(session.items))
            if i != session.current and not session.out_of_time(session.items[i].item_id)
        ]
        if (total is not None and total <= 0) or not later:
            self.submit()
            return
        after = [i for i in later if i > session.current]
        self.go_to((after or later)[0])

    def _update_controls(self) -> None:
        session = self.session
        open_ = session is not None
        editable = (
            open_
            and session.submitted is None  # type: ignore[union-attr]
            and not session.out_of_time()  # type: ignore[union-attr]
            and not session.checked()  # type: ignore[union-attr]
        )
        for w in (self._class, self._rect, self._poly, self._verdict, self._decision):
            w.enabled = bool(editable)
        self._confidence.enabled = self._check.enabled = bool(editable)
        self._submit.enabled = bool(open_ and session.submitted is None)  # type: ignore[union-attr]
        self._prev.enabled = bool(open_ and session.current > 0)  # type: ignore[union-attr]
        self._next.enabled = bool(open_ and session.current < len(session.items) - 1)  # type: ignore[union-attr]
        if session is not None:
            self._title.value = _("<b>{title}</b> · scan {number} of {count} ({item})").format(
                title=session.source.title,
                number=session.current + 1,
                count=len(session.items),
                item=session.item.item_id,
            )
            self._verdict.enabled = bool(editable and session.item.declaration is not None)
        self._tick()


def _mmss(seconds: float) -> str:
    return f"{int(seconds) // 60:02d}:{int(seconds) % 60:02d}"


def _submit_question(open_questions: dict[str, list[str]]) -> str:
    """What the confirmation lists: each kind of loose end with its scans."""
    lines = [
        _("{what}: {count} scan(s): {items}").format(
            what=_(what).capitalize(), count=len(ids), items=", ".join(ids)
        )
        for what, ids in open_questions.items()
        if ids
    ]
    head = _("After submitting, nothing can change.")
    return "\n\n".join([head, *lines] if lines else [head, _("Every scan was seen and answered.")])


def _saved_text(n_marks: int, n_skipped: int = 0) -> str:
    note = (
        ngettext(
            "; {count} shape ignored: draw rectangles or polygons",
            "; {count} shapes ignored: draw rectangles or polygons",
            n_skipped,
        ).format(count=n_skipped)
        if n_skipped
        else ""
    )
    return _("{count} mark(s), saved").format(count=n_marks) + note


_YOUR_MARKS = N_("your marks")
_COLOURS = N_("Colours: green found, amber missed, red false alarm.")


_qt_translator: Any = None


def _use_qt_translation(lang: str) -> None:
    """Qt's own words (file dialog, standard buttons, context menus) in ``lang``: Qt's
    translation where Qt ships one (``qtbase_ru``, ``qtbase_fa``), else, for Kyrgyz and
    Pashto, scanlab's catalogue (:func:`._util.catalogue_translator`)."""
    global _qt_translator
    from qtpy.QtCore import QCoreApplication, QLibraryInfo, QTranslator

    app = QCoreApplication.instance()
    if app is None:
        return
    if _qt_translator is not None:
        app.removeTranslator(_qt_translator)
        _qt_translator = None
    if hasattr(QLibraryInfo, "path"):  # Qt 6
        folder = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
    else:  # Qt 5 (looked up by name: the Qt 6 stubs, all CI has, do not know it)
        qt5_location = getattr(QLibraryInfo, "location")  # noqa: B009
        folder = qt5_location(getattr(QLibraryInfo, "TranslationsPath"))  # noqa: B009
    translator = QTranslator()
    if lang == "en":
        return
    if not translator.load(f"qtbase_{lang}", folder):
        translator = catalogue_translator(lang)
    app.installTranslator(translator)
    _qt_translator = translator


def _labelled(values: Any) -> Any:
    """Choices shown in the current language, their values the English keys: a callable,
    so that napari's reset of the choices (on every layer change) and a change of language
    read the labels anew."""
    keys = list(values)

    def choices(_widget: Any) -> list[tuple[str, str]]:
        return [(term(v), v) for v in keys]

    return choices


def _shortcuts_text() -> str:
    kind = _("class")
    lines = [
        f"{k}: {kind}: {term(v.split(': ', 1)[1])}" if v.startswith("class: ") else f"{k}: {_(v)}"
        for k, v in SHORTCUTS.items()
    ]
    return _("Shortcuts:") + "\n" + "\n".join(lines)


def _freeze(marks: Shapes) -> None:
    """After submitting: marks can no longer change, and the result layers caption them."""
    marks.mode = "pan_zoom"
    marks.editable = False
    marks.text.visible = False


def _defaults(threat_class: str) -> dict[str, str]:
    """Features of the next shape drawn: no id yet (given on save), the class and its colour."""
    return {"mark_id": "", "threat_class": threat_class, "colour": CLASS_COLOURS[threat_class]}


def _call(action: Any) -> Any:
    def on_key(_viewer: Any) -> None:
        action()

    return on_key


def _class_setter(widget: ExerciseWidget, name: str) -> Any:
    def set_class() -> None:
        widget.set_class(name)

    return set_class


def _frame(columns: dict[str, list]) -> Any:
    """A features table with explicit object columns (an empty table would be float)."""
    import pandas as pd

    return pd.DataFrame({k: pd.Series(v, dtype=object) for k, v in columns.items()})


def _plain(features: Any) -> dict[str, list]:
    """A features table as a dict of plain lists (napari keeps a pandas DataFrame)."""
    return {str(col): list(features[col]) for col in features.columns}


def _unique_ids(ids: list[str]) -> list[str]:
    """``ids`` with blanks and repeats replaced by fresh ``m<n>`` ids (first one kept)."""
    taken = {i for i in ids if i}
    out: list[str] = []
    seen: set[str] = set()
    n = 1
    for mark_id in ids:
        if not mark_id or mark_id in seen:
            while f"m{n}" in taken:
                n += 1
            mark_id = f"m{n}"
            taken.add(mark_id)
        seen.add(mark_id)
        out.append(mark_id)
    return out
