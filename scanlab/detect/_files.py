"""Detection over files, as ``scanlab detect SCAN... --out DIR`` runs it: an anomaly map
(float32 TIFF) and the regions (JSON) per scan."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from scanlab.errors import ScanlabError

if TYPE_CHECKING:
    from scanlab.detect._detector import Detector
    from scanlab.detect._result import Detection

__all__ = ["DetectedFile", "detect_files"]


@dataclass
class DetectedFile:
    """One scan file's detection and the two files written for it."""

    source: Path
    detection: Detection
    map_path: Path
    regions_path: Path


def detect_files(
    paths: Sequence[str | Path],
    out_dir: str | Path,
    *,
    detector: Detector,
    progress: Callable[[int, int], None] | None = None,
    on_error: Callable[[Path, ScanlabError], None] | None = None,
) -> list[DetectedFile]:
    """Run ``detector`` on scan files; write ``<stem>.anomaly.tif`` and ``<stem>.regions.json``
    into ``out_dir`` (a second file of the same stem gets ``-<its position>`` appended).

    Any format :func:`scanlab.io.read_scan` reads works, display exports (PNG, JPEG)
    included. The TIFF holds the float32 anomaly map at the scan's size; the JSON holds the
    score, threshold, decision, input mode, regions and the model name.

    ``on_error(path, error)`` is called for a file that cannot be read and the others go
    on; without it the first such error is raised.

    Raises
    ------
    ScanlabError
        Without ``on_error``: for the first file that cannot be read (the message names
        it); files before it are written.
    """
    import tifffile

    from scanlab.io import read_scan

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    done = []
    used: set[str] = set()
    for i, path in enumerate(paths):
        path = Path(path)
        try:
            result = detector.detect(read_scan(path))
        except ScanlabError as exc:
            if on_error is None:
                raise
            on_error(path, exc)
            if progress:
                progress(i + 1, len(paths))
            continue
        stem = path.stem
        if stem in used:  # same name from two folders: keep both
            stem = f"{stem}-{i + 1}"
        used.add(stem)
        map_path = out / f"{stem}.anomaly.tif"
        regions_path = out / f"{stem}.regions.json"
        tifffile.imwrite(map_path, result.anomaly_map, compression="zlib")
        record = {"source": str(path), "model": detector.name, **result.to_dict()}
        regions_path.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
        done.append(DetectedFile(path, result, map_path, regions_path))
        if progress:
            progress(i + 1, len(paths))
    return done
