"""Marks as napari shapes and back, and the shapes that show a scored item.

Plain Python: shapes are (row, col) vertex arrays in scan pixels with a napari shape type;
a mark's id and threat class travel in the layer's features.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from scanlab.evaluate import Mark
from scanlab.i18n import _, display_order, term
from scanlab.napari_plugin._exercise import ItemResult
from scanlab.napari_plugin._layers import CLASS_COLOURS

__all__ = [
    "OUTCOME_COLOURS",
    "ResultShapes",
    "marks_from_shapes",
    "result_shapes",
    "shapes_from_marks",
]

#: Colours of the three outcomes: found objects, missed objects, marks on nothing.
OUTCOME_COLOURS: Mapping[str, str] = {
    "hit": "#27ae60",
    "miss": "#e67e22",
    "false_alarm": "#e74c3c",
}
#: Where each outcome's caption goes: a missed object's below it, so that it does not cover
#: the caption of a found neighbour.
_ANCHORS = {"hit": "upper_left", "miss": "lower_left", "false_alarm": "upper_left"}
_ELLIPSE_VERTICES = 32


def marks_from_shapes(
    data: Sequence[np.ndarray],
    shape_types: Sequence[str],
    mark_ids: Sequence[str],
    classes: Sequence[str],
    *,
    previous: Mapping[str, Mark] | None = None,
) -> tuple[list[Mark], list[int]]:
    """Marks from napari shapes; returns them and the indices of shapes that cannot be marks.

    Rectangles stay rectangles (4 corners); polygons and closed paths become polygons; an
    ellipse becomes a 32-sided polygon; a line encloses nothing and is skipped. A mark that
    existed before (same id in ``previous``) keeps its creation time, and its modification
    time changes only if its outline or class did.

    Examples
    --------
    >>> marks, skipped = marks_from_shapes(
    ...     [np.array([[0, 0], [0, 9], [9, 9], [9, 0]]), np.array([[0, 0], [5, 5]])],
    ...     ["rectangle", "line"], ["m1", "m2"], ["cash", "cash"])
    >>> [(m.mark_id, m.shape, m.bbox) for m in marks], skipped
    ([('m1', 'rectangle', (0, 0, 10, 10))], [1])
    """
    previous = previous or {}
    now = datetime.now(UTC)
    marks: list[Mark] = []
    skipped: list[int] = []
    for index, (verts, kind, mark_id, threat_class) in enumerate(
        zip(data, shape_types, mark_ids, classes, strict=True)
    ):
        outline = np.asarray(verts, dtype=float)[:, -2:]
        if kind == "rectangle":
            shape = "rectangle"
        elif kind == "ellipse":
            shape, outline = "polygon", _ellipse_outline(outline)
        elif kind in ("polygon", "path") and len(outline) >= 3:
            shape = "polygon"
        else:
            skipped.append(index)
            continue
        vertices = [(float(r), float(c)) for r, c in outline]
        before = previous.get(mark_id)
        created = before.created if before else now
        unchanged = (
            before is not None
            and before.shape == shape
            and before.threat_class == threat_class
            and np.allclose(np.asarray(before.vertices), outline)
        )
        modified = before.modified if unchanged and before else now
        marks.append(Mark(mark_id, shape, vertices, threat_class, 1.0, created, modified))
    return marks, skipped


def shapes_from_marks(marks: Sequence[Mark]) -> tuple[list[np.ndarray], list[str], dict[str, list]]:
    """napari shape data, shape types and features (``mark_id``, ``threat_class`` and the
    class's ``colour``, which colours the label) of marks."""
    data = [np.asarray(m.outline, dtype=float) for m in marks]
    kinds = [m.shape for m in marks]
    features: dict[str, list] = {
        "mark_id": [m.mark_id for m in marks],
        "threat_class": [m.threat_class for m in marks],
        "colour": [CLASS_COLOURS[m.threat_class] for m in marks],
    }
    return data, kinds, features


@dataclass(frozen=True)
class ResultShapes:
    """Outlines of a scored item with a colour and a caption each (see OUTCOME_COLOURS)."""

    data: list[np.ndarray]
    shape_types: list[str]
    outcomes: list[str]
    captions: list[str]

    @property
    def colours(self) -> list[str]:
        return [OUTCOME_COLOURS[o] for o in self.outcomes]

    def only(self, outcome: str) -> ResultShapes:
        """The shapes of one outcome (``"hit"``, ``"miss"`` or ``"false_alarm"``)."""
        keep = [i for i, o in enumerate(self.outcomes) if o == outcome]
        return ResultShapes(
            [self.data[i] for i in keep],
            [self.shape_types[i] for i in keep],
            [self.outcomes[i] for i in keep],
            [self.captions[i] for i in keep],
        )

    def layer_kwargs(self) -> dict[str, Any]:
        """Shapes-layer keyword arguments: outlines in the outcome colours, captioned."""
        outcome = self.outcomes[0] if self.outcomes else "hit"
        return {
            "shape_type": self.shape_types,
            "edge_color": self.colours,
            "face_color": "transparent",
            "edge_width": 3.0,
            "features": {"outcome": self.outcomes, "caption": self.captions},
            "text": {
                "string": "{caption}",
                "color": OUTCOME_COLOURS[outcome],
                "size": 10,
                "anchor": _ANCHORS[outcome],
            },
        }


def result_shapes(result: ItemResult, marks: Sequence[Mark]) -> ResultShapes:
    """Key objects (found: green, missed: amber, with their best IoU) and the marks that
    found nothing (red): what a trainee sees after submitting.

    Examples
    --------
    >>> from scanlab.synth import AnswerKey, Difficulty, KeyObject
    >>> from scanlab.evaluate import match_marks
    >>> obj = KeyObject("o1", "cash", "in_cargo", "paper", 2.0, (10, 10, 20, 20),
    ...                 np.ones((10, 10), bool), [], Difficulty(0, 0, 100, 1.0, "easy"))
    >>> key = AnswerKey("s", (64, 64), [obj])
    >>> marks = [Mark("a", "rectangle", [(40, 40), (50, 50)], "weapon")]
    >>> shapes = result_shapes(ItemResult("s", key, match_marks(key, marks), None), marks)
    >>> shapes.outcomes, shapes.captions
    (['miss', 'false_alarm'], ['missed cash (IoU 0.00)', 'false alarm: weapon'])
    """
    match = result.match
    hit_by = {h.object_id: h for h in match.hits}
    data: list[np.ndarray] = []
    kinds: list[str] = []
    outcomes: list[str] = []
    captions: list[str] = []
    for obj in result.key.objects:
        if len(obj.polygon) >= 3:
            data.append(np.asarray(obj.polygon, dtype=float))
            kinds.append("polygon")
        else:
            r0, c0, r1, c1 = obj.bbox
            data.append(np.array([[r0, c0], [r0, c1 - 1], [r1 - 1, c1 - 1], [r1 - 1, c0]], float))
            kinds.append("rectangle")
        hit = hit_by.get(obj.object_id)
        iou = match.overlap.get(obj.object_id, 0.0)
        if hit is not None:
            outcomes.append("hit")
            cls = "" if hit.class_correct else _(", class wrong")
            caption = _("found {threat_class} (IoU {iou:.2f}{wrong})")
            captions.append(
                display_order(
                    caption.format(threat_class=term(obj.threat_class), iou=iou, wrong=cls)
                )
            )
        else:
            outcomes.append("miss")
            caption = _("missed {threat_class} (IoU {iou:.2f})")
            captions.append(
                display_order(caption.format(threat_class=term(obj.threat_class), iou=iou))
            )
    by_id = {m.mark_id: m for m in marks}
    for mark_id in match.false_alarms:
        mark = by_id[mark_id]
        data.append(np.asarray(mark.outline, dtype=float))
        kinds.append("polygon" if mark.shape == "polygon" else "rectangle")
        outcomes.append("false_alarm")
        caption = _("false alarm: {threat_class}").format(threat_class=term(mark.threat_class))
        captions.append(display_order(caption))
    return ResultShapes(data, kinds, outcomes, captions)


def _ellipse_outline(corners: np.ndarray) -> np.ndarray:
    """Polygon through an ellipse given by napari as the 4 corners of its bounding box."""
    centre = corners.mean(axis=0)
    half_a = (corners[1] - corners[0]) / 2.0
    half_b = (corners[3] - corners[0]) / 2.0
    t = np.linspace(0.0, 2.0 * np.pi, _ELLIPSE_VERTICES, endpoint=False)[:, None]
    return centre + np.cos(t) * half_a + np.sin(t) * half_b
