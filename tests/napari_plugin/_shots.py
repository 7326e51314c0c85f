"""What the screenshot scripts (``make_*screenshots*.py``) share: the window at a size, and
waiting for Qt while widgets work. Not a test."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def show_window(viewer: Any, size: tuple[int, int]) -> None:
    """Show ``viewer``'s window at ``size`` (width, height)."""
    window = viewer.window._qt_window
    window.resize(*size)
    window.show()


def settle(seconds: float = 0.6) -> None:
    """Let Qt process events for ``seconds`` (repaints, queued signals)."""
    from qtpy.QtWidgets import QApplication

    app = QApplication.instance()
    assert app is not None
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        app.processEvents()
        time.sleep(0.02)


def wait(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    """Process Qt events until ``condition()`` holds; TimeoutError after ``timeout`` s."""
    from qtpy.QtWidgets import QApplication

    app = QApplication.instance()
    assert app is not None
    end = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > end:
            raise TimeoutError("the widget did not finish in time")
        app.processEvents()
        time.sleep(0.02)


def close_toasts() -> None:
    """Close napari's notification toasts, which would cover the docks."""
    from qtpy.QtWidgets import QApplication

    for widget in QApplication.allWidgets():
        if type(widget).__name__ == "NapariQtNotification":
            widget.close()
