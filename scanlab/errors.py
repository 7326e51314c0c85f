"""The exceptions scanlab raises for bad input: one base class, one subclass per kind of problem."""

from __future__ import annotations

__all__ = [
    "CalibrationError",
    "CorruptFileError",
    "MissingChannelError",
    "MissingDependencyError",
    "PassphraseError",
    "ScanValidationError",
    "ScanlabError",
    "SpecError",
    "TamperError",
    "UnsupportedFormatError",
]


class ScanlabError(Exception):
    """Base class of every error scanlab raises on purpose for bad input."""


class UnsupportedFormatError(ScanlabError):
    """The file is not in any format scanlab can read (or write)."""


class CorruptFileError(ScanlabError):
    """The file claims a known format but its content is truncated or inconsistent."""


class ScanValidationError(ScanlabError):
    """Pixel data or metadata that no scan may have (3-D, empty, NaN, absurd size...)."""


class MissingChannelError(ScanlabError):
    """An operation needs a channel (for example low energy) that the scan does not have."""


class MissingDependencyError(ScanlabError):
    """A feature needs an optional package that is not installed (for example torch)."""


class CalibrationError(ScanlabError):
    """A physical conversion was asked of data with no calibration (a display image)."""


class SpecError(ScanlabError):
    """A specification (dataset, exam, pipeline, training recipe) has an invalid field."""


class TamperError(ScanlabError):
    """A package or submission was changed after it was signed (or its signature is missing)."""


class PassphraseError(ScanlabError):
    """The instructor passphrase does not open this exam package."""
