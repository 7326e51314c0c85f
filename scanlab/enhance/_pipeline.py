"""Pipelines: enhancement presets as data (named steps with parameters), saved as JSON or YAML."""

from __future__ import annotations

import functools
import json
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import numpy as np
import yaml

from scanlab.enhance import _colour, _correct, _filters, _intensity, _material
from scanlab.enhance._tiled import apply_tiled, footprint_halo
from scanlab.enhance._util import check_image
from scanlab.errors import MissingChannelError, SpecError
from scanlab.i18n import _
from scanlab.io._scan import Representation, Scan

__all__ = ["STEPS", "Pipeline", "Step", "list_presets", "load_preset"]

#: What a step takes and gives: "scan" steps run on the Scan before it is converted
#: (flat-field needs counts), "dual" steps take the (high, low) attenuation images and give
#: RGB, "image" steps take and give a 2-D image, "colour" steps give RGB. Steps that give
#: RGB must come last.
StepKind = Literal["scan", "dual", "image", "colour"]


@dataclass(frozen=True)
class _StepType:
    func: Callable[..., Any]
    kind: StepKind


_STEP_TYPES: dict[str, _StepType] = {
    "flat_field": _StepType(_correct.flat_field, "scan"),
    "material_colour": _StepType(_material.material_colour, "dual"),
    "organic_only": _StepType(_material.organic_only, "dual"),
    "metal_only": _StepType(_material.metal_only, "dual"),
    **{
        f.__name__: _StepType(f, "image")
        for f in (
            _intensity.log_view,
            _intensity.window_level,
            _intensity.adjust_gamma,
            _intensity.negative,
            _intensity.equalize_hist,
            _intensity.clahe,
            _intensity.high_penetration,
            _intensity.low_density,
            _filters.unsharp_mask,
            _filters.edge_enhance,
            _filters.edge_outline,
            _filters.denoise_median,
            _filters.denoise_bilateral,
            _filters.denoise_nl_means,
            _correct.destripe,
        )
    },
    "pseudo_colour": _StepType(_colour.pseudo_colour, "colour"),
    "density_highlight": _StepType(_colour.density_highlight, "colour"),
}

#: Names of the functions a pipeline step may call.
STEPS: tuple[str, ...] = tuple(_STEP_TYPES)

_PRESET_PACKAGE = "scanlab.enhance.presets"
_TOP_KEYS = ("name", "description", "steps")


@dataclass(frozen=True)
class Step:
    """One step of a pipeline: the name of an enhancement function and its keyword arguments.

    Parameters are checked against the function's signature when the step is made.
    """

    name: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", _check_params(self.name, self.params, "step"))

    @property
    def kind(self) -> StepKind:
        return _STEP_TYPES[self.name].kind

    def __call__(self, *images: Any, **defaults: Any) -> Any:
        """Run the step; ``defaults`` fill parameters the step does not set."""
        return _STEP_TYPES[self.name].func(*images, **{**defaults, **self.params})


@dataclass(frozen=True)
class Pipeline:
    """A named list of enhancement steps, applied in order to an image or a :class:`Scan`.

    A pipeline is data: :meth:`to_dict`, JSON and YAML describe it completely and loading
    checks every step and parameter (:class:`SpecError` naming the field).

    Applied to a Scan, the leading ``flat_field`` step (if any) runs on the scan itself; the
    scan is then converted to attenuation when it is calibrated (display images are used as
    they are) and the image steps run on its high-energy channel, or a material step on both
    channels (with the scan's scanner model when physics knows it). Applied to a 2-D array,
    the steps run on the array; a material step then raises :class:`MissingChannelError`.

    Parameters
    ----------
    steps : sequence of Step
    name, description : str

    Examples
    --------
    >>> import numpy as np
    >>> pipe = Pipeline.from_yaml('''
    ... name: inverted
    ... steps:
    ...   - {step: window_level, params: {percentiles: [0, 100]}}
    ...   - {step: negative}
    ... ''')
    >>> pipe.apply(np.array([[0.0, 1.0, 4.0]], dtype=np.float32))
    array([[1.  , 0.75, 0.  ]], dtype=float32)
    >>> Pipeline.from_json(pipe.to_json()) == pipe
    True
    """

    steps: tuple[Step, ...]
    name: str = ""
    description: str = ""

    def __post_init__(self) -> None:
        steps = tuple(self.steps)
        for i, step in enumerate(steps):
            if not isinstance(step, Step):
                raise SpecError(
                    _("pipeline {pipeline!r}: step {i} is not a Step: {step!r}").format(
                        pipeline=self.name, i=i, step=step
                    )
                )
        _check_order(steps, f"pipeline {self.name!r}")
        object.__setattr__(self, "steps", steps)

    # --- running ----------------------------------------------------------------------------

    def apply(
        self,
        image: np.ndarray | Scan,
        *,
        tile_rows: int | None = None,
        out: np.ndarray | None = None,
    ) -> np.ndarray:
        """Run the pipeline and return the final image (2-D, or (row, col, 3) RGB).

        Parameters
        ----------
        image : (row, col) ndarray or Scan
        tile_rows : int, optional
            Run band by band with :func:`apply_tiled` (for a memory-mapped array): every
            step must then be local with known footprint, e.g. a window given by level and
            width rather than percentiles.
        out : ndarray, optional
            Output array for tiled runs (for example a writable memory map).
        """
        if tile_rows is not None:
            return self._apply_tiled(image, tile_rows=tile_rows, out=out)
        steps = list(self.steps)
        if isinstance(image, Scan):
            scan = image
            while steps and steps[0].kind == "scan":
                scan = steps.pop(0)(scan)
            if steps and steps[0].kind == "dual":
                if not scan.is_dual_energy:
                    raise MissingChannelError(
                        _(
                            "{source}: step {name!r} needs a dual-energy scan (high and low "
                            "channels); this scan has one channel"
                        ).format(source=scan.source, name=steps[0].name)
                    )
                att = scan.to_attenuation()
                current = steps.pop(0)(att.high, att.low, **_scanner_of(scan))
            elif scan.representation is Representation.DISPLAY:
                # Display images are bright where thin; invert the display curve so that, as
                # for calibrated scans, larger means denser (an approximation for vendor
                # exports, whose curves are not published).
                from scanlab.synth import display_to_attenuation

                current = display_to_attenuation(scan)
            else:
                current = scan.to_attenuation().high
        else:
            current = check_image(image, func=f"pipeline {self.name!r}")
            while steps and steps[0].kind == "scan":
                current = steps.pop(0)(current)
            if steps and steps[0].kind == "dual":
                raise MissingChannelError(
                    _(
                        "pipeline {pipeline!r}: step {name!r} needs a dual-energy Scan with high "
                        "and "
                        "low channels, not a single 2-D image"
                    ).format(pipeline=self.name, name=steps[0].name)
                )
        for step in steps:
            current = step(current)
        return np.asarray(current)

    def _apply_tiled(
        self, image: np.ndarray | Scan, *, tile_rows: int, out: np.ndarray | None
    ) -> np.ndarray:
        if isinstance(image, Scan):
            raise SpecError(
                _(
                    "pipeline {pipeline!r}: tiled runs take a 2-D array (for example a memory "
                    "map of "
                    "one channel), not a Scan"
                ).format(pipeline=self.name)
            )
        halo = 0
        for step in self.steps:
            step_halo = None
            if step.kind in ("image", "colour"):
                step_halo = footprint_halo(_STEP_TYPES[step.name].func, **step.params)
            if step_halo is None:
                raise SpecError(
                    _(
                        "pipeline {pipeline!r}: step {step!r} depends on the whole image with "
                        "these "
                        "parameters, so it cannot run tile by tile; give it fixed limits (for "
                        "example level and width instead of percentiles)"
                    ).format(pipeline=self.name, step=step.name)
                )
            halo += step_halo

        def run(band: np.ndarray) -> np.ndarray:
            for step in self.steps:
                band = step(band)
            return band

        return apply_tiled(run, image, tile_rows=tile_rows, halo=halo, out=out)

    # --- serialisation ----------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """A plain dict (lists, numbers, strings) that :meth:`from_dict` turns back."""
        steps: list[dict[str, Any]] = []
        for step in self.steps:
            entry: dict[str, Any] = {"step": step.name}
            if step.params:
                entry["params"] = {k: _plain(v) for k, v in step.params.items()}
            steps.append(entry)
        return {"name": self.name, "description": self.description, "steps": steps}

    @classmethod
    def from_dict(cls, raw: Any, *, source: str | Path = "<pipeline>") -> Pipeline:
        """Build a pipeline from a dict, checking every field; :class:`SpecError` if invalid."""
        if not isinstance(raw, Mapping):
            raise SpecError(
                _("{source}: a pipeline must be a mapping, got {type}").format(
                    source=source, type=type(raw).__name__
                )
            )
        unknown = sorted(set(raw) - set(_TOP_KEYS))
        if unknown:
            raise SpecError(
                _("{source}: unknown pipeline field(s) {unknown}; expected {TOP_KEYS}").format(
                    source=source, unknown=unknown, TOP_KEYS=list(_TOP_KEYS)
                )
            )
        for key in ("name", "description"):
            if not isinstance(raw.get(key, ""), str):
                raise SpecError(
                    _("{source}: pipeline field {key!r} must be a string").format(
                        source=source, key=key
                    )
                )
        raw_steps = raw.get("steps")
        if not isinstance(raw_steps, list) or not raw_steps:
            raise SpecError(
                _("{source}: pipeline field 'steps' must be a non-empty list").format(source=source)
            )
        steps = []
        for i, entry in enumerate(raw_steps):
            where = f"{source}: steps[{i}]"
            if isinstance(entry, str):
                entry = {"step": entry}
            if not isinstance(entry, Mapping) or "step" not in entry:
                raise SpecError(
                    _("{where} must be a mapping with a 'step' field, got {entry!r}").format(
                        where=where, entry=entry
                    )
                )
            extra = sorted(set(entry) - {"step", "params"})
            if extra:
                raise SpecError(
                    _("{where}: unknown field(s) {extra}; expected 'step', 'params'").format(
                        where=where, extra=extra
                    )
                )
            name = entry["step"]
            params = entry.get("params") or {}
            if not isinstance(params, Mapping):
                raise SpecError(
                    _("{where}: 'params' must be a mapping, got {params!r}").format(
                        where=where, params=params
                    )
                )
            steps.append(Step(str(name), _check_params(str(name), params, where)))
        _check_order(steps, str(source))
        return cls(tuple(steps), name=raw.get("name", ""), description=raw.get("description", ""))

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_json(cls, text: str, *, source: str | Path = "<json>") -> Pipeline:
        try:
            raw = json.loads(text)
        except ValueError as exc:
            raise SpecError(
                _("{source}: not valid JSON: {exc}").format(source=source, exc=exc)
            ) from None
        return cls.from_dict(raw, source=source)

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)

    @classmethod
    def from_yaml(cls, text: str, *, source: str | Path = "<yaml>") -> Pipeline:
        try:
            raw = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise SpecError(
                _("{source}: not valid YAML: {exc}").format(source=source, exc=exc)
            ) from None
        return cls.from_dict(raw, source=source)

    def save(self, path: str | Path) -> Path:
        """Write the pipeline as JSON (``.json``) or YAML (``.yaml``, ``.yml``)."""
        path = Path(path)
        text = self.to_json() if _format(path) == "json" else self.to_yaml()
        path.write_text(text, encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | Path) -> Pipeline:
        """Read a pipeline written by :meth:`save` (or by hand)."""
        path = Path(path)
        text = path.read_text(encoding="utf-8")
        if _format(path) == "json":
            return cls.from_json(text, source=path)
        return cls.from_yaml(text, source=path)


def list_presets() -> tuple[str, ...]:
    """Names of the built-in presets.

    Examples
    --------
    >>> "standard" in list_presets()
    True
    """
    files = resources.files(_PRESET_PACKAGE).iterdir()
    return tuple(sorted(f.name[:-5] for f in files if f.name.endswith(".yaml")))


def load_preset(name: str) -> Pipeline:
    """A built-in preset by name (see :func:`list_presets`).

    Examples
    --------
    >>> [step.name for step in load_preset("standard").steps]
    ['window_level', 'negative']
    """
    if name not in list_presets():
        raise SpecError(
            _("unknown preset {name!r}; choose one of {list_presets}").format(
                name=name, list_presets=list(list_presets())
            )
        )
    text = resources.files(_PRESET_PACKAGE).joinpath(f"{name}.yaml").read_text("utf-8")
    return Pipeline.from_yaml(text, source=f"preset {name}")


# --- validation -----------------------------------------------------------------------------


def _check_order(steps: Sequence[Step], where: str) -> None:
    if not steps:
        raise SpecError(_("{where}: a pipeline needs at least one step").format(where=where))
    seen_image = False
    for i, step in enumerate(steps):
        kind = step.kind
        if kind == "scan" and seen_image:
            raise SpecError(
                _("{where}: steps[{i}] {step!r} must come before image steps").format(
                    where=where, i=i, step=step.name
                )
            )
        if kind == "dual" and seen_image:
            raise SpecError(
                _(
                    "{where}: steps[{i}] {step!r} works on the high and low channels, so it must "
                    "be the first step after flat_field"
                ).format(where=where, i=i, step=step.name)
            )
        if kind != "scan":
            seen_image = True
        if step is not steps[-1] and _gives_colour(step):
            raise SpecError(
                _("{where}: steps[{i}] {step!r} gives RGB and must be last").format(
                    where=where, i=i, step=step.name
                )
            )


def _gives_colour(step: Step) -> bool:
    return step.kind in ("colour", "dual")


def _scanner_of(scan: Scan) -> dict[str, str]:
    """The scan's scanner model as a ``scanner`` argument, if physics knows it."""
    from scanlab.physics import scanner_names

    name = scan.metadata.scanner_model
    return {"scanner": name} if name in scanner_names() else {}


def _check_params(name: str, params: Mapping[str, Any], where: str) -> dict[str, Any]:
    if name not in _STEP_TYPES:
        raise SpecError(
            _("{where}: unknown step {name!r}; expected one of {STEPS}").format(
                where=where, name=name, STEPS=sorted(STEPS)
            )
        )
    if not isinstance(params, Mapping):
        raise SpecError(
            _("{where} ({name}): params must be a mapping, got {params!r}").format(
                where=where, name=name, params=params
            )
        )
    func = _STEP_TYPES[name].func
    hints = _hints(func)
    allowed = [p for p in hints if p not in ("return", "image", "high", "low")]
    out = {}
    for key, value in params.items():
        if key not in allowed:
            raise SpecError(
                _("{where} ({name}): unknown parameter {key!r}; expected one of {allowed}").format(
                    where=where, name=name, key=key, allowed=allowed
                )
            )
        try:
            out[key] = _coerce(value, hints[key])
        except (TypeError, ValueError) as exc:
            raise SpecError(
                _("{where} ({name}): parameter {key!r}: {exc}").format(
                    where=where, name=name, key=key, exc=exc
                )
            ) from None
    return out


@functools.cache
def _hints(func: Callable[..., Any]) -> dict[str, Any]:
    return typing.get_type_hints(func)


def _coerce(value: Any, hint: Any) -> Any:
    """``value`` converted to the annotated type (JSON lists to tuples, [a, b] to slices)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        errors = []
        for option in args:
            try:
                return _coerce(value, option)
            except (TypeError, ValueError) as exc:
                errors.append(str(exc))
        raise ValueError(" or ".join(errors))
    if hint is type(None):
        if value is None:
            return None
        raise TypeError(_("expected null, got {value!r}").format(value=value))
    if origin is Literal:
        if value in args:
            return value
        raise ValueError(
            _("expected one of {args}, got {value!r}").format(args=list(args), value=value)
        )
    if origin is tuple:
        if not isinstance(value, list | tuple) or len(value) != len(args):
            raise TypeError(
                _("expected a list of {count} values, got {value!r}").format(
                    count=len(args), value=value
                )
            )
        return tuple(_coerce(v, a) for v, a in zip(value, args, strict=True))
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise TypeError(_("expected true or false, got {value!r}").format(value=value))
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise TypeError(_("expected an integer, got {value!r}").format(value=value))
    if hint is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        raise TypeError(_("expected a number, got {value!r}").format(value=value))
    if hint is str:
        if isinstance(value, str):
            return value
        raise TypeError(_("expected a string, got {value!r}").format(value=value))
    if hint is slice:
        if isinstance(value, slice):
            return value
        if isinstance(value, list | tuple) and len(value) == 2:
            return slice(*(_coerce(v, int | None) for v in value))
        raise TypeError(_("expected [start, stop], got {value!r}").format(value=value))
    raise TypeError(_("parameters of type {hint} cannot be given in a pipeline").format(hint=hint))


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, slice):
        return [value.start, value.stop]
    return value


def _format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".json":
        return "json"
    if suffix in (".yaml", ".yml"):
        return "yaml"
    raise SpecError(
        _("{path}: pipelines are saved as .json, .yaml or .yml, not {suffix!r}").format(
            path=path, suffix=suffix
        )
    )
