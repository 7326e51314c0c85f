"""scanlab: learn to read X-ray images of cargo.

Scans and their files (:mod:`scanlab.io`), the physics and scene simulator
(:mod:`scanlab.physics`, :mod:`scanlab.synth`), image tools (:mod:`scanlab.enhance`),
the anomaly detector (:mod:`scanlab.detect`), scoring (:mod:`scanlab.evaluate`) and graded
exercises (:mod:`scanlab.exercises`). Heavy dependencies load only in the modules that use them.
"""

from scanlab.errors import ScanlabError
from scanlab.io import Scan, ScanMetadata, read_scan, write_scan

__version__ = "0.1.0"
__all__ = ["Scan", "ScanMetadata", "ScanlabError", "__version__", "read_scan", "write_scan"]
