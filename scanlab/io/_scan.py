"""The Scan: one transmission X-ray image (one or two energy channels) and its metadata."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np

from scanlab.errors import CalibrationError, MissingChannelError, ScanValidationError
from scanlab.i18n import _
from scanlab.io._validate import check_image

__all__ = ["CHANNEL_NAMES", "Representation", "Scan", "ScanMetadata"]

#: Channel order of a dual-energy scan. A single-energy scan has one channel, index 0.
CHANNEL_NAMES = ("high", "low")

SCAN_DIRECTIONS = ("left_to_right", "right_to_left", "unknown")


class Representation(StrEnum):
    """What the pixel values of a scan mean."""

    COUNTS = "counts"
    """Raw detector counts (uint16); air and dark levels turn them into transmission."""
    TRANSMISSION = "transmission"
    """Fraction of the open beam that reached the detector, I / I0 (float)."""
    ATTENUATION = "attenuation"
    """-ln(I / I0) (float32): 0 in air, about 9.6 behind 30 cm of steel at 6 MeV."""
    DISPLAY = "display"
    """A rendered 8- or 16-bit picture (JPEG, PNG export): no physical calibration."""


@dataclass
class ScanMetadata:
    """What is known about a scan besides its pixels.

    Every field has a neutral default so that a file which carries little (a PNG export)
    still gives a valid scan. Units are in the names.
    """

    scan_id: str = ""
    scanner_model: str = ""
    energies_mev: tuple[float, ...] = ()
    pitch_mm: tuple[float, float] = (5.0, 5.0)
    scan_direction: str = "unknown"
    vehicle_type: str = ""
    acquired: datetime | None = None
    air_level: tuple[float, ...] | None = None
    dark_level: tuple[float, ...] | None = None
    attributes: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict that :meth:`from_dict` turns back into an equal object."""
        out = dataclasses.asdict(self)
        out["acquired"] = self.acquired.isoformat() if self.acquired else None
        for key in ("energies_mev", "pitch_mm", "air_level", "dark_level"):
            if out[key] is not None:
                out[key] = list(out[key])
        return out

    @classmethod
    def from_dict(
        cls, raw: Mapping[str, Any], *, source: str | Path = "<metadata>"
    ) -> ScanMetadata:
        """Build metadata from a dict (for example parsed JSON), checking every field."""
        if not isinstance(raw, Mapping):
            raise ScanValidationError(
                _("{source}: metadata must be a mapping, got {type}").format(
                    source=source, type=type(raw)
                )
            )
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(raw) - known
        if unknown:
            raise ScanValidationError(
                _("{source}: unknown metadata field(s) {unknown}").format(
                    source=source, unknown=sorted(unknown)
                )
            )
        kwargs: dict[str, Any] = {}
        for key in ("scan_id", "scanner_model", "scan_direction", "vehicle_type"):
            if key in raw:
                if not isinstance(raw[key], str):
                    raise ScanValidationError(
                        _("{source}: metadata field {key!r} must be a string").format(
                            source=source, key=key
                        )
                    )
                kwargs[key] = raw[key]
        if "energies_mev" in raw:
            kwargs["energies_mev"] = _floats(raw["energies_mev"], "energies_mev", source)
        if "pitch_mm" in raw:
            kwargs["pitch_mm"] = _floats(raw["pitch_mm"], "pitch_mm", source)
        for key in ("air_level", "dark_level"):
            if raw.get(key) is not None:
                kwargs[key] = _floats(raw[key], key, source)
        if raw.get("acquired") is not None:
            try:
                kwargs["acquired"] = datetime.fromisoformat(str(raw["acquired"]))
            except ValueError as exc:
                raise ScanValidationError(
                    _("{source}: metadata field 'acquired' is not an ISO 8601 time: {exc}").format(
                        source=source, exc=exc
                    )
                ) from None
        if "attributes" in raw:
            if not isinstance(raw["attributes"], Mapping):
                raise ScanValidationError(
                    _("{source}: metadata field 'attributes' must be a map").format(source=source)
                )
            kwargs["attributes"] = dict(raw["attributes"])
        meta = cls(**kwargs)
        meta.check(source=source)
        return meta

    def check(self, *, source: str | Path = "<metadata>", channels: int | None = None) -> None:
        """Raise :class:`ScanValidationError` naming the first field that is out of range."""
        if len(self.pitch_mm) != 2 or not all(0 < p < 1000 for p in self.pitch_mm):
            raise ScanValidationError(
                _(
                    "{source}: pitch_mm must be two positive (row, col) sizes below 1 m, got "
                    "{pitch_mm}"
                ).format(source=source, pitch_mm=self.pitch_mm)
            )
        if not all(0 < e <= 100 for e in self.energies_mev):
            raise ScanValidationError(
                _("{source}: energies_mev must lie in (0, 100] MeV, got {energies_mev}").format(
                    source=source, energies_mev=self.energies_mev
                )
            )
        if self.scan_direction not in SCAN_DIRECTIONS:
            raise ScanValidationError(
                _(
                    "{source}: scan_direction must be one of {directions}, got {scan_direction!r}"
                ).format(
                    source=source,
                    directions=SCAN_DIRECTIONS,
                    scan_direction=self.scan_direction,
                )
            )
        if channels is not None:
            for key in ("energies_mev", "air_level", "dark_level"):
                value = getattr(self, key)
                if value and len(value) != channels:
                    raise ScanValidationError(
                        _(
                            "{source}: metadata field {key!r} has {count} value(s) for "
                            "{channels} channel(s)"
                        ).format(source=source, key=key, count=len(value), channels=channels)
                    )


def _floats(value: Any, key: str, source: str | Path) -> tuple[float, ...]:
    if isinstance(value, int | float):
        value = [value]
    try:
        out = tuple(float(v) for v in value)
    except (TypeError, ValueError):
        raise ScanValidationError(
            _("{source}: metadata field {key!r} must be a list of numbers, got {value!r}").format(
                source=source, key=key, value=value
            )
        ) from None
    if not all(math.isfinite(v) for v in out):
        raise ScanValidationError(
            _("{source}: metadata field {key!r} has a non-finite value").format(
                source=source, key=key
            )
        )
    return out


@dataclass(eq=False)
class Scan:
    """A transmission X-ray scan: pixel data in (channel, row, col) order plus metadata.

    Rows run along the detector column (height above the road), columns along the scan
    direction (length of the vehicle). A dual-energy scan has channels ``("high", "low")``.

    Parameters
    ----------
    data : ndarray
        (row, col) or (channel, row, col); uint8, uint16 or float. May be a memory map.
    representation : Representation
        What the values mean (counts, transmission, attenuation, display).
    metadata : ScanMetadata
        Scanner, energies, pitch, air/dark levels, free attributes.
    material : ndarray, optional
        A vendor's (row, col) uint8 material-class plane, kept as it was read.
    source : str
        Where the scan came from, used in error messages.

    Examples
    --------
    >>> import numpy as np
    >>> counts = np.full((2, 4, 6), 30000, dtype=np.uint16)
    >>> scan = Scan(counts, "counts",
    ...             ScanMetadata(energies_mev=(6.0, 4.0), air_level=(60000.0, 60000.0),
    ...                          dark_level=(0.0, 0.0)))
    >>> scan.is_dual_energy, scan.shape
    (True, (4, 6))
    >>> round(float(scan.to_attenuation().high[0, 0]), 4)  # -ln(0.5)
    0.6931
    """

    data: np.ndarray
    representation: Representation
    metadata: ScanMetadata = field(default_factory=ScanMetadata)
    material: np.ndarray | None = None
    source: str = "<memory>"

    def __post_init__(self) -> None:
        self.representation = Representation(self.representation)
        self.data = check_image(self.data, source=self.source, max_pixels=2**62)
        self.metadata.check(source=self.source, channels=self.n_channels)
        if self.material is not None and (
            self.material.shape != self.shape or self.material.dtype != np.uint8
        ):
            raise ScanValidationError(
                _(
                    "{source}: the material plane must be uint8 of shape {shape}, got {dtype} "
                    "{material_shape}"
                ).format(
                    source=self.source,
                    shape=self.shape,
                    dtype=self.material.dtype,
                    material_shape=self.material.shape,
                )
            )

    # --- shape and channels -------------------------------------------------------------

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, cols) of each channel."""
        return (int(self.data.shape[1]), int(self.data.shape[2]))

    @property
    def n_channels(self) -> int:
        return int(self.data.shape[0])

    @property
    def is_dual_energy(self) -> bool:
        return self.n_channels == 2

    @property
    def high(self) -> np.ndarray:
        """The high-energy channel (the only channel of a single-energy scan)."""
        return self.data[0]

    @property
    def low(self) -> np.ndarray:
        """The low-energy channel; :class:`MissingChannelError` for a single-energy scan."""
        if not self.is_dual_energy:
            raise MissingChannelError(
                _("{source}: this is a single-energy scan; it has no low-energy channel").format(
                    source=self.source
                )
            )
        return self.data[1]

    def channel_names(self) -> tuple[str, ...]:
        return CHANNEL_NAMES[: self.n_channels] if self.is_dual_energy else ("single",)

    def value_range(self, block_rows: int = 1024) -> tuple[float, float]:
        """Smallest and largest pixel value over all channels (read block by block)."""
        lo, hi = math.inf, -math.inf
        for start in range(0, self.shape[0], block_rows):
            block = self.data[:, start : start + block_rows]
            lo, hi = min(lo, float(block.min())), max(hi, float(block.max()))
        return lo, hi

    def summary(self) -> dict[str, Any]:
        """The facts ``scanlab info`` shows, as plain values."""
        meta = self.metadata
        return {
            "scan_id": meta.scan_id,
            "shape": self.shape,
            "dtype": self.data.dtype.newbyteorder("=").name,
            "channels": self.channel_names(),
            "representation": self.representation.value,
            "energies_mev": meta.energies_mev,
            "pitch_mm": meta.pitch_mm,
            "value_range": self.value_range(),
            "scanner_model": meta.scanner_model,
            "acquired": meta.acquired,
        }

    def replace(self, **changes: Any) -> Scan:
        """A new scan with some fields changed (the metadata object is copied)."""
        changes.setdefault("metadata", dataclasses.replace(self.metadata))
        return dataclasses.replace(self, **changes)

    # --- conversions --------------------------------------------------------------------

    def to_transmission(self) -> Scan:
        """I / I0 as float32 (counts use the air and dark levels, estimated if absent)."""
        rep = self.representation
        if rep is Representation.TRANSMISSION:
            return self.replace(data=np.asarray(self.data, dtype=np.float32))
        if rep is Representation.ATTENUATION:
            return self.replace(
                data=np.exp(-np.asarray(self.data, dtype=np.float32)),
                representation=Representation.TRANSMISSION,
            )
        if rep is Representation.COUNTS:
            air, dark = self.reference_levels()
            out = np.empty(self.data.shape, dtype=np.float32)
            for c in range(self.n_channels):
                out[c] = (np.asarray(self.data[c], dtype=np.float32) - dark[c]) / (air[c] - dark[c])
            return self.replace(data=out, representation=Representation.TRANSMISSION)
        raise CalibrationError(
            _(
                "{source}: a display image has no physical calibration; it cannot be converted "
                "to transmission or attenuation"
            ).format(source=self.source)
        )

    def to_attenuation(self) -> Scan:
        """-ln(I / I0) as float32, 0 in open air.

        Transmission is floored at half a count above dark (or 1e-6 for float input) so that
        pixels beyond penetration give a large finite attenuation instead of infinity.
        """
        if self.representation is Representation.ATTENUATION:
            return self.replace(data=np.asarray(self.data, dtype=np.float32))
        floor = 1e-6
        if self.representation is Representation.COUNTS:
            air, dark = self.reference_levels()
            floor = 0.5 / max(min(a - d for a, d in zip(air, dark, strict=True)), 1.0)
        trans = self.to_transmission().data
        if np.shares_memory(trans, self.data) or not trans.flags.writeable:
            trans = trans.copy()  # a float32 transmission scan's own pixels: never write them
        np.maximum(trans, np.float32(floor), out=trans)
        np.log(trans, out=trans)
        np.negative(trans, out=trans)
        return self.replace(data=trans, representation=Representation.ATTENUATION)

    def to_counts(self, *, air_level: float = 60000.0, dark_level: float = 0.0) -> Scan:
        """Quantise to uint16 detector counts with the given open-beam and dark levels."""
        if self.representation is Representation.COUNTS:
            return self.replace()
        trans = self.to_transmission().data
        counts = np.clip(np.rint(dark_level + trans * (air_level - dark_level)), 0, 65535)
        meta = dataclasses.replace(
            self.metadata,
            air_level=(air_level,) * self.n_channels,
            dark_level=(dark_level,) * self.n_channels,
        )
        return self.replace(
            data=counts.astype(np.uint16), representation=Representation.COUNTS, metadata=meta
        )

    def reference_levels(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """(air, dark) count levels per channel; estimated from the data when not recorded.

        The estimate takes the 99.9th percentile as air (scans include open beam above the
        vehicle) and 0 as dark. A scan with no open beam should carry its levels.
        """
        meta = self.metadata
        air = meta.air_level
        if air is None:
            air = tuple(
                float(np.percentile(self.data[c][::4, ::4], 99.9)) for c in range(self.n_channels)
            )
        dark = meta.dark_level if meta.dark_level is not None else (0.0,) * self.n_channels
        for c in range(self.n_channels):
            if air[c] <= dark[c]:
                raise CalibrationError(
                    _(
                        "{source}: air level {air} is not above dark level {dark} in channel {c}"
                    ).format(source=self.source, air=air[c], dark=dark[c], c=c)
                )
        return tuple(air), tuple(dark)


def flat_field(
    scan: Scan, *, air_cols: slice | None = None, dark_cols: slice | None = None
) -> Scan:
    """Normalise raw counts row by row against open-beam (air) columns: detector gain correction.

    Each detector element (row) has its own gain, so real scanners record the open beam before
    the vehicle enters and divide every row by its own air level.

    Parameters
    ----------
    scan : Scan
        Counts or transmission.
    air_cols : slice, optional
        Columns that saw only air; default the first 16 columns.
    dark_cols : slice, optional
        Columns recorded with the beam off; default: the scan's dark level.

    Returns
    -------
    Scan
        Transmission (float32), 1.0 in the air columns on average.

    Examples
    --------
    >>> import numpy as np
    >>> gains = np.array([[50000.0], [40000.0]])
    >>> counts = (gains * np.array([1.0, 1.0, 0.5])).astype(np.uint16)
    >>> flat_field(Scan(counts, "counts"), air_cols=slice(0, 2)).high[:, 2].tolist()
    [0.5, 0.5]
    """
    if scan.representation not in (Representation.COUNTS, Representation.TRANSMISSION):
        raise CalibrationError(
            _(
                "{source}: flat-field normalisation needs counts or transmission, not "
                "{representation}"
            ).format(source=scan.source, representation=scan.representation.value)
        )
    air_cols = slice(0, 16) if air_cols is None else air_cols
    out = np.empty(scan.data.shape, dtype=np.float32)
    for c in range(scan.n_channels):
        chan = np.asarray(scan.data[c], dtype=np.float32)
        if dark_cols is not None:
            dark = chan[:, dark_cols].mean(axis=1, keepdims=True)
        elif scan.representation is Representation.COUNTS and scan.metadata.dark_level:
            dark = np.float32(scan.metadata.dark_level[c])
        else:
            dark = np.float32(0.0)
        air = chan[:, air_cols].mean(axis=1, keepdims=True)
        if air.size == 0:
            raise CalibrationError(
                _("{source}: air_cols {air_cols} selects no columns").format(
                    source=scan.source, air_cols=air_cols
                )
            )
        gain = np.maximum(air - dark, np.float32(1e-6))
        out[c] = (chan - dark) / gain
    return scan.replace(data=out, representation=Representation.TRANSMISSION)
