"""The trainee's workstation as a trainee meets it: the Exercise widget docked in
``scanlab gui``'s viewer, driven by keys and clicks (run under xvfb-run)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from scanlab.napari_plugin._launch import create_viewer

pytestmark = pytest.mark.napari

FIRST, SECOND = "sample-00000", "sample-00003"


def _press(keymap_owner, key: str) -> None:
    from napari.utils.key_bindings import KeyBinding

    keymap_owner.keymap[KeyBinding.from_str(key)](keymap_owner)


@pytest.fixture
def gui(make_napari_viewer, exercise_dir: Path):
    """``scanlab gui exercise_dir``: the viewer with every widget docked, the exercise open."""
    viewer, widgets = create_viewer(exercise_dir, viewer=make_napari_viewer())
    return viewer, widgets["Exercise"]


def _saved_verdicts(session) -> dict[str, object]:
    doc = json.loads((session.folder / "state.json").read_text())
    return {k: v["declaration_consistent"] for k, v in doc["items"].items()}


# --- bugs -----------------------------------------------------------------------------------


def test_declaration_verdict_stays_with_its_scan(gui, exercise_dir) -> None:
    viewer, widget = gui
    session = widget.session
    widget.set_verdict(True)  # "consistent" on scan 1
    _press(viewer, "PageDown")
    assert session.item.item_id == SECOND
    assert widget._verdict.value == "not answered"
    assert _saved_verdicts(session) == {FIRST: True, SECOND: None, "sample-00004": None}
    widget.set_verdict(False)
    _press(viewer, "PageUp")
    assert widget._verdict.value == "consistent"
    assert _saved_verdicts(session) == {FIRST: True, SECOND: False, "sample-00004": None}
    _press(viewer, "PageDown")
    _press(viewer, "PageDown")  # a scan never answered stays unanswered
    assert _saved_verdicts(session)["sample-00004"] is None

    # After a crash: the saved work is restored without any answer moving.
    widget.close_exercise()
    _viewer, widgets2 = create_viewer(exercise_dir, viewer=viewer)
    restored = widgets2["Exercise"].session
    assert restored is not None and restored.item.item_id == "sample-00004"
    assert widgets2["Exercise"]._verdict.value == "not answered"
    assert _saved_verdicts(restored) == {FIRST: True, SECOND: False, "sample-00004": None}


def test_saved_label_counts_the_shown_scans_marks(gui) -> None:
    viewer, widget = gui
    marks = widget.marks_layer
    marks.add_rectangles(np.array([[10.0, 10.0], [50.0, 80.0]]))
    marks.add_rectangles(np.array([[60.0, 10.0], [90.0, 80.0]]))
    assert widget._saved.value.startswith("2 mark(s)")
    _press(viewer, "PageDown")
    assert widget._saved.value.startswith("0 mark(s)")
    _press(viewer, "PageUp")
    assert widget._saved.value.startswith("2 mark(s)")
