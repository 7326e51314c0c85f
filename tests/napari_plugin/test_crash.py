"""A trainee's work survives the process being killed in the middle of a session."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from scanlab.napari_plugin._exercise import ExerciseSession, FileExercise

# Marks two scans, answers a declaration, then keeps saving (so that the kill may land in
# the middle of a write) until it is killed.
_SESSION = """
import sys
from scanlab.evaluate import Mark
from scanlab.napari_plugin._exercise import ExerciseSession, FileExercise

session = ExerciseSession(FileExercise.from_path(sys.argv[1]))
session.set_marks("sample-00000", [Mark("m1", "rectangle", [(288, 480), (322, 660)], "stowaway")])
session.set_declaration_answer("sample-00000", True)
session.go_to(1)
marks = [Mark("m1", "polygon", [(1, 1), (1, 20), (20, 1)], "narcotics")]
session.set_marks("sample-00003", marks)
print("ready", flush=True)
n = 2
while True:
    marks.append(Mark(f"m{n}", "rectangle", [(n, n), (n + 5, n + 5)], "cash"))
    session.set_marks("sample-00003", marks)
    n += 1
"""


def test_marks_survive_sigkill(exercise_dir: Path, progress_dir: Path) -> None:
    with subprocess.Popen(
        [sys.executable, "-c", _SESSION, str(exercise_dir)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "SCANLAB_PROGRESS_DIR": str(progress_dir)},
    ) as proc:
        try:
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == "ready"
            time.sleep(0.5)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    session = ExerciseSession(FileExercise.from_path(exercise_dir))
    assert session.current == 1
    (first,) = session.marks("sample-00000")
    assert (first.mark_id, first.threat_class, first.bbox) == (
        "m1",
        "stowaway",
        (288, 480, 323, 661),
    )
    assert session.declaration_answer("sample-00000") is True
    second = session.marks("sample-00003")
    assert second[0].threat_class == "narcotics"
    # Whatever write the kill interrupted, the file holds a complete earlier list.
    assert [m.mark_id for m in second] == [f"m{i}" for i in range(1, len(second) + 1)]
