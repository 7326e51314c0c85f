"""Write what a pipeline shows to an image file: PNG (8-bit, grey or RGB) or float TIFF."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from scanlab.enhance._pipeline import Pipeline, load_preset
from scanlab.errors import UnsupportedFormatError
from scanlab.i18n import _

__all__ = ["enhance_file", "to_uint8"]


def to_uint8(image: np.ndarray) -> np.ndarray:
    """Pipeline output as 8-bit: floats in [0, 1] and uint16 scale to 0-255, uint8 stays.

    Examples
    --------
    >>> to_uint8(np.array([[0.0, 0.5, 1.0]], np.float32)).tolist()
    [[0, 128, 255]]
    """
    if image.dtype == np.uint8:
        return image
    if image.dtype == np.uint16:
        return (image >> 8).astype(np.uint8)
    return np.clip(np.rint(np.asarray(image, np.float32) * 255.0), 0, 255).astype(np.uint8)


def enhance_file(source: str | Path, target: str | Path, pipeline: Pipeline | str) -> Path:
    """Read a scan, run a pipeline (or a preset by name) on it and write the result.

    ``.png``/``.jpg`` targets get the 8-bit picture (grey or RGB), ``.tif`` targets the
    pipeline's own values (float32 or uint16) for further analysis.
    """
    from PIL import Image

    from scanlab.io import read_scan
    from scanlab.io._common import atomic_open

    pipe = load_preset(pipeline) if isinstance(pipeline, str) else pipeline
    target = Path(target)
    result = pipe.apply(read_scan(source))
    suffix = target.suffix.lower()
    target.parent.mkdir(parents=True, exist_ok=True)
    if suffix in (".png", ".jpg", ".jpeg"):
        with atomic_open(target) as fh:
            Image.fromarray(to_uint8(result)).save(fh, format="PNG" if suffix == ".png" else "JPEG")
    elif suffix in (".tif", ".tiff"):
        import tifffile

        with atomic_open(target) as fh:
            tifffile.imwrite(fh, result, photometric="rgb" if result.ndim == 3 else "minisblack")
    else:
        raise UnsupportedFormatError(
            _("{target}: write enhanced images as .png, .jpg or .tif").format(target=target)
        )
    return target
