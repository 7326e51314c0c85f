"""The napari plugin: a reader for every scan format, sample scans with answer keys, and the
Enhance, Inspect, Detector assist and Exercise widgets.

The only part of scanlab that imports napari or Qt, and only inside its ``_qt`` modules and
functions: ``import scanlab.napari_plugin`` stays light. Start the application with
:func:`launch` (``scanlab gui``). The exercise session the Exercise widget drives is plain
Python, for scripts and notebooks too::

    from scanlab.napari_plugin import ExerciseSession, open_exercise
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from scanlab.napari_plugin._exercise import (
        ExamExercise,
        ExerciseResult,
        ExerciseSession,
        FileExercise,
        feedback_lines,
        open_exercise,
    )
    from scanlab.napari_plugin._launch import create_viewer, launch
    from scanlab.napari_plugin._marking import OUTCOME_COLOURS, result_shapes

_EXPORTS = {
    "launch": "_launch",
    "create_viewer": "_launch",
    "ExerciseSession": "_exercise",
    "ExerciseResult": "_exercise",
    "ExamExercise": "_exercise",
    "FileExercise": "_exercise",
    "open_exercise": "_exercise",
    "feedback_lines": "_exercise",
    "OUTCOME_COLOURS": "_marking",
    "result_shapes": "_marking",
}

__all__ = [
    "OUTCOME_COLOURS",
    "ExamExercise",
    "ExerciseResult",
    "ExerciseSession",
    "FileExercise",
    "create_viewer",
    "feedback_lines",
    "launch",
    "open_exercise",
    "result_shapes",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
