"""The magnifier: a loupe beside the cursor showing the region under it 2 to 4 times larger,
drawn by the canvas itself (every layer as shown, at the scan's own resolution, not the
screen's pixels enlarged)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from psygnal import Signal
from qtpy.QtCore import QEvent, QObject, Qt, QTimer
from qtpy.QtGui import QImage, QPixmap
from qtpy.QtWidgets import QLabel

from scanlab.napari_plugin._inspect import MAGNIFICATIONS, loupe_position, magnified_rect

if TYPE_CHECKING:
    import napari

__all__ = ["Magnifier"]

#: Side of the loupe in screen pixels.
LOUPE_PX = 260
#: Layer events that change what a layer shows.
_LAYER_EVENTS = ("data", "contrast_limits", "colormap", "visible", "opacity", "blending")


class Magnifier(QObject):
    """A loupe over ``viewer``'s canvas that follows the cursor while it is on.

    Each time the cursor moves (or the view or a layer changes) the canvas renders, off
    screen, the square of ``LOUPE_PX / magnification`` pixels around the cursor with the
    camera zoomed ``magnification`` times about that spot, and the loupe shows it beside
    the cursor. The camera is put back before anything else runs: the view does not move.
    """

    toggled = Signal(bool)

    def __init__(self, viewer: napari.viewer.Viewer, *, magnification: int = 3) -> None:
        self._canvas = viewer.window._qt_viewer.canvas
        native = self._canvas.native
        super().__init__(native)
        self._viewer = viewer
        self._magnification = int(magnification)
        self._cursor: tuple[float, float] | None = None
        #: The last image shown (rows, cols, RGB), for whoever wants to read it.
        self.image: np.ndarray | None = None
        self._label = QLabel(native)
        self._label.setObjectName("scanlab-magnifier")
        self._label.setFixedSize(LOUPE_PX + 4, LOUPE_PX + 4)
        self._label.setStyleSheet("border: 2px solid #00e5ff; background: black")
        self._label.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self._label.hide()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)  # once the events waiting now are handled: moves coalesce
        self._timer.timeout.connect(self.update)
        self._on = False

    # --- public -------------------------------------------------------------------------------

    @property
    def active(self) -> bool:
        return self._on

    @property
    def magnification(self) -> int:
        return self._magnification

    @magnification.setter
    def magnification(self, value: int) -> None:
        if int(value) not in MAGNIFICATIONS:
            raise ValueError(f"magnification must be one of {MAGNIFICATIONS}, got {value}")
        self._magnification = int(value)
        self._schedule()

    @property
    def visible(self) -> bool:
        return self._label.isVisible()

    @property
    def geometry(self) -> tuple[int, int, int, int]:
        """The loupe's (x, y, width, height) on the canvas, in screen pixels."""
        g = self._label.geometry()
        return (g.x(), g.y(), g.width(), g.height())

    def toggle(self, *_: Any) -> None:
        self.stop() if self._on else self.start()

    def start(self) -> None:
        if self._on:
            return
        self._on = True
        viewer = self._viewer
        viewer.mouse_move_callbacks.append(self._on_move)
        viewer.mouse_drag_callbacks.append(self._on_drag)
        self._camera_events(connect=True)
        self._canvas.native.installEventFilter(self)
        if self._cursor is None:
            self._cursor = _cursor_on(self._canvas.native)
        self._schedule()
        self.toggled.emit(True)

    def stop(self) -> None:
        if not self._on:
            return
        self._on = False
        viewer = self._viewer
        for callbacks, callback in (
            (viewer.mouse_move_callbacks, self._on_move),
            (viewer.mouse_drag_callbacks, self._on_drag),
        ):
            if callback in callbacks:
                callbacks.remove(callback)
        self._camera_events(connect=False)
        try:
            self._canvas.native.removeEventFilter(self)
            self._timer.stop()
            self._label.hide()
        except RuntimeError:  # the window is closing: its canvas went first
            pass
        self.toggled.emit(False)

    def move_to(self, canvas_xy: tuple[float, float]) -> None:
        """Put the loupe on a canvas position (x, y in screen pixels), as the mouse does."""
        self._cursor = (float(canvas_xy[0]), float(canvas_xy[1]))
        self._schedule()

    def update(self) -> None:
        """Render the region under the cursor and show it beside the cursor (now)."""
        if not self._on or self._cursor is None:
            return
        native = self._canvas.native
        size = (native.width(), native.height())
        x, y = self._cursor
        if not (0 <= x < size[0] and 0 <= y < size[1]) or not len(self._viewer.layers):
            self._label.hide()
            return
        image = self._render(x, y)
        if image is None:
            self._label.hide()
            return
        self.image = image
        rows, cols = image.shape[:2]
        qimage = QImage(image.tobytes(), cols, rows, 3 * cols, QImage.Format.Format_RGB888)
        pixmap = QPixmap.fromImage(qimage)
        pixmap.setDevicePixelRatio(cols / LOUPE_PX)  # sharp on a high-density screen
        _crosshair(pixmap)
        self._label.setPixmap(pixmap)
        left, top = loupe_position((x, y), size, LOUPE_PX + 4)
        self._label.move(left, top)
        self._label.show()
        self._label.raise_()

    # --- internals ----------------------------------------------------------------------------

    def _schedule(self, *_: Any) -> None:
        if self._on and not self._timer.isActive():
            self._timer.start()

    def _on_move(self, _viewer: Any, event: Any) -> None:
        self.move_to((float(event.pos[0]), float(event.pos[1])))

    def _on_drag(self, _viewer: Any, event: Any) -> Any:
        # mouse_move_callbacks are not called while a button is held: a drawn mark or a
        # pan is followed here.
        yield
        while event.type == "mouse_move":
            self.move_to((float(event.pos[0]), float(event.pos[1])))
            yield

    def _camera_events(self, *, connect: bool) -> None:
        """Follow what changes the picture under the loupe: the camera, layers coming and
        going, and what each layer shows (not the canvas's draws: restoring the camera
        after a render draws the canvas once more)."""
        from scanlab.napari_plugin._qt._util import camera_of

        camera = camera_of(self._viewer)
        layers = self._viewer.layers.events
        emitters = [camera.events.center, camera.events.zoom]
        emitters += [layers.inserted, layers.removed, layers.moved, layers.reordered]
        for emitter in emitters:
            (emitter.connect if connect else emitter.disconnect)(self._schedule)
        for layer in self._viewer.layers:
            self._layer_events(layer, connect=connect)
        (layers.inserted.connect if connect else layers.inserted.disconnect)(self._on_inserted)

    def _on_inserted(self, event: Any) -> None:
        self._layer_events(event.value, connect=True)

    def _layer_events(self, layer: Any, *, connect: bool) -> None:
        for name in _LAYER_EVENTS:
            emitter = getattr(layer.events, name, None)
            if emitter is not None:
                (emitter.connect if connect else emitter.disconnect)(self._schedule)

    def eventFilter(self, watched: QObject | None, event: QEvent | None) -> bool:
        if event is not None and event.type() == QEvent.Type.Leave:
            self._cursor = None
            self._label.hide()
        return False

    def _render(self, x: float, y: float) -> np.ndarray | None:
        """The loupe's image: the canvas rendered off screen with the camera of the view
        under (x, y) zoomed about that point, cropped to the loupe around it."""
        scene_canvas = self._canvas._scene_canvas
        view = self._view_at(x, y)
        camera = getattr(view, "camera", None)
        if camera is None or not hasattr(camera, "rect"):
            return None  # a 3D view: no loupe
        point = scene_canvas.scene.node_transform(view.scene).map([x, y])[:2]
        before = camera.rect
        rect = (before.left, before.bottom, before.width, before.height)
        try:
            camera.rect = magnified_rect(rect, point, self._magnification)
            # The whole canvas: vispy's region and crop options misplace the picture once
            # napari has drawn (on Qt 6); cropping the array is exact.
            frame = scene_canvas.render(alpha=False)
        finally:
            camera.rect = before
        scale = frame.shape[1] / max(self._canvas.native.width(), 1)  # device pixel ratio
        return _square_around(frame, (x * scale, y * scale), round(LOUPE_PX * scale))

    def _view_at(self, x: float, y: float) -> Any:
        """The view box under a canvas position (one of the grid's when it is on)."""
        canvas = self._canvas
        views = [v for v in getattr(canvas, "grid_views", []) if v.parent is not None]
        grid = getattr(getattr(self._viewer, "canvas", None), "grid", None)
        if views and getattr(grid, "enabled", False):
            for view in views:
                local = canvas._scene_canvas.scene.node_transform(view).map([x, y])
                width, height = view.size
                if 0 <= local[0] < width and 0 <= local[1] < height:
                    return view
        return canvas.view


def _crosshair(pixmap: QPixmap) -> None:
    """Short ticks around the loupe's centre: the spot under the cursor, left uncovered."""
    from qtpy.QtGui import QColor, QPainter, QPen

    painter = QPainter(pixmap)
    painter.setPen(QPen(QColor("#00e5ff"), 1.5))
    mid, gap, tick = LOUPE_PX / 2, 6, 10
    for dx, dy in ((1, 0), (-1, 0), (0, 1), (0, -1)):
        painter.drawLine(
            round(mid + dx * gap), round(mid + dy * gap),
            round(mid + dx * (gap + tick)), round(mid + dy * (gap + tick)),
        )  # fmt: skip
    painter.end()


def _cursor_on(widget: Any) -> tuple[float, float] | None:
    """Where the mouse is over ``widget`` (its pixels), or None when it is elsewhere."""
    from qtpy.QtGui import QCursor

    point = widget.mapFromGlobal(QCursor.pos())
    if 0 <= point.x() < widget.width() and 0 <= point.y() < widget.height():
        return (float(point.x()), float(point.y()))
    return None


def _square_around(frame: np.ndarray, xy: tuple[float, float], size: int) -> np.ndarray:
    """The ``size`` x ``size`` square of ``frame`` (rows from the top) centred on pixel
    (x, y), black where it runs off the frame.

    Examples
    --------
    >>> frame = np.arange(5 * 6 * 3, dtype=np.uint8).reshape(5, 6, 3)
    >>> square = _square_around(frame, (0, 4), 3)  # at the bottom-left corner
    >>> square[..., 0]
    array([[ 0, 54, 57],
           [ 0, 72, 75],
           [ 0,  0,  0]], dtype=uint8)
    """
    col0, row0 = round(xy[0]) - size // 2, round(xy[1]) - size // 2
    out = np.zeros((size, size, 3), np.uint8)
    rows, cols = frame.shape[:2]
    r0, r1 = max(row0, 0), min(row0 + size, rows)
    c0, c1 = max(col0, 0), min(col0 + size, cols)
    if r1 > r0 and c1 > c0:
        out[r0 - row0 : r1 - row0, c0 - col0 : c1 - col0] = frame[r0:r1, c0:c1, :3]
    return out
