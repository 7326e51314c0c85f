"""What the Enhance widget edits and shows: a preset's tunable parameters and its rendering.

Plain Python: the parameters of a :class:`~scanlab.enhance.Pipeline` as a flat list of
:class:`Param` (one control each), a pipeline rebuilt from edited values, and the display-ready
image of a scan (optionally subsampled, for a live preview while a slider moves).
"""

from __future__ import annotations

import inspect
import math
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

import scanlab.enhance
from scanlab.enhance import PALETTES, Pipeline, Step, list_presets, load_preset
from scanlab.i18n import N_, _, term
from scanlab.io import Representation, Scan
from scanlab.synth import display_to_attenuation

__all__ = [
    "DEFAULT_PRESET",
    "PRESET_KEYS",
    "PREVIEW_PIXELS",
    "Param",
    "editable_params",
    "preset_caption",
    "preset_choices",
    "preset_description",
    "preset_label",
    "presets_for",
    "preview_stride",
    "render",
    "with_params",
]

#: Pixels of a live preview: a 1,500 x 6,000 scan is previewed at stride 3 (1 Mpx), which
#: renders in tens of milliseconds however the preset is set.
PREVIEW_PIXELS = 2**20

#: The preset every scan is shown through when it opens (``scanlab gui --preset``): the
#: console view, windowed on the scan's own percentiles, air white. None shows the scan's
#: channels as they are.
DEFAULT_PRESET: str | None = "standard"

#: One key per built-in preset, as on a console's function keys (napari uses none of them).
PRESET_KEYS: dict[str, str] = {
    "F1": "standard",
    "F2": "high_penetration",
    "F3": "low_density",
    "F4": "edges",
    "F5": "material",
    "F6": "density_highlight",
}

#: Short captions of the presets on the toolbar's buttons (their names are longer).
_CAPTIONS = {
    "standard": N_("Standard"),
    "high_penetration": N_("Dense"),
    "low_density": N_("Thin"),
    "edges": N_("Edges"),
    "material": N_("Material"),
    "density_highlight": N_("Band"),
}

#: The parameters' names as controls show them.
_PARAM_LABELS = {
    "percentiles": N_("percentiles"),
    "percentile": N_("percentile"),
    "gamma": N_("gamma"),
    "amount": N_("amount"),
    "radius": N_("radius"),
    "band": N_("band"),
    "opacity": N_("opacity"),
    "invert": N_("invert"),
    "direction": N_("direction"),
    "palette": N_("palette"),
    "clip_limit": N_("clip limit"),
    "size": N_("size"),
    "sigma_spatial": N_("sigma spatial"),
}


def preset_label(name: str) -> str:
    """A preset's name as people read it in the current language (``high_penetration``:
    "high penetration", "высокая проникающая способность"...). The built-in presets' names
    and descriptions reach the catalogue from their files (``scanlab._catalogues``)."""
    return term(name)


def preset_caption(name: str) -> str:
    """The short caption of a preset's toolbar button."""
    return _(_CAPTIONS[name]) if name in _CAPTIONS else preset_label(name)


def preset_description(pipeline: Pipeline) -> str:
    """The pipeline's description in the current language (a built-in preset's is in the
    catalogue; a user's own pipeline keeps its words)."""
    return _(pipeline.description) if pipeline.description else ""


def preset_choices(scan: Scan) -> list[tuple[str, str]]:
    """(label, name) pairs of the presets that can render ``scan``, for a picker."""
    return [(preset_label(name), name) for name in presets_for(scan)]


ParamKind = Literal["float", "int", "bool", "choice", "range"]


@dataclass(frozen=True)
class _Limits:
    kind: ParamKind
    low: float = 0.0
    high: float = 1.0
    step: float = 0.1


#: The parameters offered as controls, by name, with their slider limits. ``None`` as the
#: upper limit means "the scan's largest value" (attenuation bands). Others stay as the
#: preset sets them.
_CONTROLS: dict[str, _Limits] = {
    "percentiles": _Limits("range", 0.0, 100.0, 0.5),
    "percentile": _Limits("float", 1.0, 99.0, 1.0),
    "gamma": _Limits("float", 0.1, 4.0, 0.05),
    "amount": _Limits("float", 0.0, 5.0, 0.1),
    "radius": _Limits("float", 0.0, 8.0, 0.5),
    "band": _Limits("range", 0.0, math.nan, 0.05),
    "opacity": _Limits("float", 0.0, 1.0, 0.05),
    "invert": _Limits("bool"),
    "direction": _Limits("choice"),
    "palette": _Limits("choice"),
    "clip_limit": _Limits("float", 0.5, 10.0, 0.5),
    "size": _Limits("int", 1, 15, 2),
    "sigma_spatial": _Limits("float", 0.5, 8.0, 0.5),
}


@dataclass(frozen=True)
class Param:
    """One tunable parameter of one step of a pipeline.

    ``value`` is what the pipeline uses now (its own setting or the function's default);
    ``low``/``high``/``step`` are slider limits; ``choices`` lists the options of a choice.
    """

    step_index: int
    step_name: str
    name: str
    kind: ParamKind
    value: Any
    low: float = 0.0
    high: float = 1.0
    step: float = 0.1
    choices: tuple[str, ...] = ()

    @property
    def key(self) -> tuple[int, str]:
        return (self.step_index, self.name)

    @property
    def label(self) -> str:
        """The control's label in the current language."""
        return _(_PARAM_LABELS[self.name]) if self.name in _PARAM_LABELS else term(self.name)


def presets_for(scan: Scan) -> tuple[str, ...]:
    """Built-in presets that can render ``scan`` (material ones need calibrated dual energy).

    Examples
    --------
    >>> from scanlab.io import example_scan
    >>> single = Scan(np.zeros((1, 8, 16), np.float32), "attenuation")
    >>> "material" in presets_for(example_scan(rows=8, cols=16)), "material" in presets_for(single)
    (True, False)
    """
    dual = scan.is_dual_energy and scan.representation is not Representation.DISPLAY
    return tuple(
        name
        for name in list_presets()
        if dual or not any(step.kind == "dual" for step in load_preset(name).steps)
    )


def editable_params(pipeline: Pipeline, *, value_max: float = 10.0) -> list[Param]:
    """The parameters of ``pipeline`` that get a control, in step order.

    Parameters
    ----------
    pipeline : Pipeline
    value_max : float
        Upper limit of sliders in image units (an attenuation band), usually the scan's
        99.9th percentile.

    Examples
    --------
    >>> [(p.name, p.value) for p in editable_params(load_preset("low_density"))]
    [('percentile', 30.0), ('gamma', 0.6)]
    """
    out: list[Param] = []
    for index, step in enumerate(pipeline.steps):
        func = getattr(scanlab.enhance, step.name)
        hints = typing.get_type_hints(func)
        defaults = {
            name: p.default
            for name, p in inspect.signature(func).parameters.items()
            if p.default is not inspect.Parameter.empty
        }
        for name in inspect.signature(func).parameters:
            limits = _CONTROLS.get(name)
            if limits is None or (name not in step.params and name not in defaults):
                continue
            value = step.params.get(name, defaults.get(name))
            if value is None:
                continue
            high = value_max if math.isnan(limits.high) else limits.high
            choices: tuple[str, ...] = ()
            if limits.kind == "choice":
                choices = _choices(name, hints[name])
                if not choices:
                    continue
            if limits.kind == "range":
                value = tuple(float(v) for v in value)
                high = max(high, *value)
            out.append(
                Param(
                    index,
                    step.name,
                    name,
                    limits.kind,
                    value,
                    limits.low,
                    high,
                    limits.step,
                    choices,
                )
            )
    return out


def with_params(pipeline: Pipeline, values: Mapping[tuple[int, str], Any]) -> Pipeline:
    """``pipeline`` with the parameters keyed ``(step_index, name)`` set to new values.

    Examples
    --------
    >>> pipe = with_params(load_preset("low_density"), {(1, "gamma"): 0.8})
    >>> pipe.steps[1].params["gamma"]
    0.8
    """
    steps = []
    for index, step in enumerate(pipeline.steps):
        params = dict(step.params)
        for (i, name), value in values.items():
            if i == index:
                params[name] = tuple(value) if isinstance(value, list) else value
        steps.append(Step(step.name, params))
    return Pipeline(tuple(steps), name=pipeline.name, description=pipeline.description)


def preview_stride(
    shape: tuple[int, int],
    max_pixels: int = PREVIEW_PIXELS,
    *,
    screen_px_per_pixel: float | None = None,
) -> int:
    """Subsampling step of a preview: the smallest that brings ``shape`` under
    ``max_pixels``, or coarser as long as the screen shows no more.

    ``screen_px_per_pixel`` is how many screen pixels one scan pixel covers in the view (the
    camera's zoom times the pitch): a scan zoomed out to fit the canvas, several scan pixels
    to a screen pixel, is previewed at that stride (a 40 ft container in a 640 px wide canvas
    at every 4th pixel rather than every 2nd), a quarter of the pixels to render and upload
    with nothing lost on screen.

    Examples
    --------
    >>> preview_stride((1500, 6000)), preview_stride((460, 940))
    (3, 1)
    >>> preview_stride((920, 3060)), preview_stride((920, 3060), screen_px_per_pixel=0.21)
    (2, 4)
    >>> preview_stride((920, 3060), screen_px_per_pixel=1.5)  # zoomed in
    2
    """
    rows, cols = shape
    stride = max(1, math.ceil(math.sqrt(rows * cols / max_pixels)))
    if screen_px_per_pixel is not None and 0 < screen_px_per_pixel < 1:
        stride = max(stride, int(1 / screen_px_per_pixel))
    return stride


def render(scan: Scan, pipeline: Pipeline, *, stride: int = 1) -> np.ndarray:
    """The display-ready image of ``scan`` through ``pipeline``, every ``stride``-th pixel.

    The result is what the screen shows: uint8, (row, col) grey or (row, col, 3) RGB, a quarter
    of the texture that float32 would upload on every change (the physical values stay in the
    scan's own layers, which the status bar reads). A display image is first turned into
    approximate attenuation.

    Examples
    --------
    >>> from scanlab.io import example_scan
    >>> scan = example_scan(rows=64, cols=128).to_attenuation()
    >>> render(scan, load_preset("material"), stride=2).shape
    (32, 64, 3)
    """
    if stride > 1:
        scan = scan.replace(data=np.ascontiguousarray(scan.data[:, ::stride, ::stride]))
    if scan.representation is Representation.DISPLAY:
        # Presets are written for attenuation; a display export goes back through the
        # inverse display curve (approximate for vendor exports) so they mean the same.
        scan = scan.replace(
            data=display_to_attenuation(scan)[np.newaxis],
            representation=Representation.ATTENUATION,
        )
    out = pipeline.apply(scan)
    if out.dtype == np.uint8:
        return out
    if out.dtype.kind == "f":
        scaled = np.clip(out, 0.0, 1.0) * np.float32(255.0) + np.float32(0.5)
    else:  # uint16 from an integer pipeline
        scaled = out / np.float32(257.0) + np.float32(0.5)
    return scaled.astype(np.uint8)


def _choices(name: str, hint: Any) -> tuple[str, ...]:
    if name == "palette":
        return tuple(sorted(PALETTES))
    if typing.get_origin(hint) is Literal:
        return tuple(str(a) for a in typing.get_args(hint))
    return ()
