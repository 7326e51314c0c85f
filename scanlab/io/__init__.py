"""Scans and the files they live in: the Scan model, readers, writers and validation.

>>> from scanlab.io import read_scan, write_scan, Scan   # doctest: +SKIP
"""

from scanlab.io._example import example_scan
from scanlab.io._registry import FORMATS, Format, detect_format, formats, read_scan, write_scan
from scanlab.io._scan import CHANNEL_NAMES, Representation, Scan, ScanMetadata, flat_field
from scanlab.io._validate import DEFAULT_MAX_PIXELS

__all__ = [
    "CHANNEL_NAMES",
    "DEFAULT_MAX_PIXELS",
    "FORMATS",
    "Format",
    "Representation",
    "Scan",
    "ScanMetadata",
    "detect_format",
    "example_scan",
    "flat_field",
    "formats",
    "read_scan",
    "write_scan",
]
