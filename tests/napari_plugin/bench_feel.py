"""How the viewer feels on a 1,500 x 6,000 dual-energy scan: open, pan, re-enhance.

Run from the repository root under a display::

    xvfb-run -a -s "-screen 0 1920x1080x24" .venv/bin/python tests/napari_plugin/bench_feel.py

Not a test (pytest does not collect it). Prints medians in milliseconds, including the
drawing (each step ends with a forced redraw of the canvas), and the longest stall of the
Qt event loop while the Enhance widget renders: the widget computes in a worker thread,
so the viewer must keep answering.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROWS, COLS = 1500, 6000


def main() -> int:
    import napari
    from qtpy.QtCore import QTimer
    from qtpy.QtWidgets import QApplication

    from scanlab.io import example_scan, write_scan
    from scanlab.napari_plugin._qt.enhance_widget import EnhanceWidget

    tmp = Path(tempfile.mkdtemp(prefix="scanlab-bench-"))
    path = write_scan(example_scan(rows=ROWS, cols=COLS, seed=4), tmp / "big.npz")[0]
    viewer = napari.Viewer(show=True)
    viewer.window._qt_window.resize(1600, 900)
    app = QApplication.instance()
    assert app is not None
    canvas = viewer.window._qt_viewer.canvas

    def draw() -> None:
        app.processEvents()
        canvas.native.repaint() if hasattr(canvas, "native") else None
        app.processEvents()

    def wait(condition: Callable[[], bool]) -> None:
        while not condition():
            app.processEvents()
            time.sleep(0.001)

    # Open: read, convert to attenuation, build both layers, first draw.
    start = time.perf_counter()
    viewer.open(path, plugin="scanlab")
    draw()
    open_ms = (time.perf_counter() - start) * 1000

    # Pan and zoom: move the camera, redraw.
    pans = []
    for i in range(20):
        start = time.perf_counter()
        camera = viewer.scene.camera if hasattr(viewer, "scene") else viewer.camera
        camera.center = (0.0, ROWS * 2.5, (i + 1) * COLS * 5 / 25)
        camera.zoom = 0.2 + 0.02 * i
        draw()
        pans.append((time.perf_counter() - start) * 1000)

    # Re-enhance: every change shows a preview, then the full image once it rests.
    widget = EnhanceWidget(viewer)
    viewer.window.add_dock_widget(widget)
    stalls: list[float] = []
    last = [time.perf_counter()]

    def tick() -> None:
        now = time.perf_counter()
        stalls.append((now - last[0]) * 1000)
        last[0] = now

    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(tick)
    timer.start()
    results: dict[str, tuple[list[float], list[float]]] = {}
    changes = {
        "standard": [("percentiles", (p, 99.5)) for p in (1.0, 2.0, 3.0, 4.0, 5.0)],
        "low_density": [("gamma", g) for g in (0.5, 0.7, 0.9, 1.1, 1.3)],
        "edges": [("amount", a) for a in (1.0, 1.5, 2.0, 2.5, 3.0)],
        "material": [("radius", r) for r in (0.5, 1.0, 1.5, 2.0, 2.5)],
    }
    for preset, edits in changes.items():
        widget.set_preset(preset)
        wait(
            lambda p=preset: (
                (r := widget.last_render) is not None and r.preset == p and r.stride == 1
            )
        )
        previews, fulls = [], []
        for name, value in edits:
            before = widget.last_render
            start = time.perf_counter()
            widget.set_param(name, value)
            wait(lambda b=before: widget.last_render is not b)
            draw()
            previews.append((time.perf_counter() - start) * 1000)
            wait(lambda: widget.last_render is not None and widget.last_render.stride == 1)
            draw()
            fulls.append((time.perf_counter() - start) * 1000)
        results[preset] = (previews, fulls)
    timer.stop()

    print(
        f"scan {ROWS} x {COLS} dual energy (uint16 counts, {path.stat().st_size / 1e6:.0f} MB npz)"
    )
    print(f"open (read, attenuation, 2 layers, first draw): {open_ms:.0f} ms")
    print(f"pan/zoom redraw: median {statistics.median(pans):.0f} ms, max {max(pans):.0f} ms")
    print("re-enhance after a parameter change (median of 5; full includes the 250 ms rest):")
    for preset, (previews, fulls) in results.items():
        print(
            f"  {preset:12s} preview on screen {statistics.median(previews):6.0f} ms, "
            f"full resolution {statistics.median(fulls):6.0f} ms"
        )
    stalls.sort()
    print(
        f"event loop while rendering: median tick {statistics.median(stalls):.0f} ms, "
        f"99th percentile {stalls[int(len(stalls) * 0.99)]:.0f} ms, longest {stalls[-1]:.0f} ms"
    )
    viewer.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
