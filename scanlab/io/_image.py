"""PNG and JPEG exports: display images, 8 or 16 bits, with no physical calibration."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from PIL import Image, PngImagePlugin

from scanlab.errors import CorruptFileError, UnsupportedFormatError
from scanlab.i18n import _
from scanlab.io._common import atomic_open, header_from_json, header_to_json
from scanlab.io._registry import Format, register
from scanlab.io._scan import Representation, Scan, ScanMetadata
from scanlab.io._validate import check_dimensions, check_image

__all__: list[str] = []

# scanlab applies its own pixel limit (check_dimensions) before decoding anything.
Image.MAX_IMAGE_PIXELS = None
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_TEXT_KEY = "scanlab"


def _sniff_png(path: Path, head: bytes) -> bool:
    return head.startswith(_PNG_MAGIC)


def _sniff_jpeg(path: Path, head: bytes) -> bool:
    return head.startswith(b"\xff\xd8\xff")


def _to_grey(pixels: np.ndarray, path: Path) -> np.ndarray:
    """Grey content in RGB files (as vendors export) keeps its values exactly."""
    if pixels.ndim == 2:
        return pixels
    if pixels.ndim != 3 or pixels.shape[2] not in (3, 4):
        raise CorruptFileError(
            _("{path}: unexpected image layout {shape}").format(path=path, shape=pixels.shape)
        )
    rgb = pixels[..., :3]
    if np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 0], rgb[..., 2]):
        return np.ascontiguousarray(rgb[..., 0])
    # A pseudo-coloured export: ITU-R BT.601 luma, the usual grey of a colour image.
    luma = rgb.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    return np.clip(np.rint(luma), 0, np.iinfo(pixels.dtype).max).astype(pixels.dtype)


def _read(path: Path, *, max_pixels: int | None = None) -> Scan:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Pillow warns on some damaged chunks it tolerates
        try:
            with Image.open(path) as img:
                cols, rows = img.size
                check_dimensions(rows, cols, source=path, max_pixels=max_pixels)
                info_text = img.info.get(_TEXT_KEY) if hasattr(img, "info") else None
                mode = img.mode
                if mode in ("I;16", "I;16B", "I;16L", "I"):
                    pixels = np.asarray(img)
                    if pixels.dtype != np.uint16:
                        if pixels.min() < 0 or pixels.max() > 65535:
                            raise CorruptFileError(
                                _("{path}: pixel values outside 16 bits").format(path=path)
                            )
                        pixels = pixels.astype(np.uint16)
                elif mode in ("L", "RGB", "RGBA"):
                    pixels = np.asarray(img)
                elif mode in ("P", "LA", "1", "CMYK", "YCbCr", "PA"):
                    pixels = np.asarray(img.convert("RGB"))
                else:
                    raise UnsupportedFormatError(
                        _("{path}: unsupported image mode {mode}").format(path=path, mode=mode)
                    )
        except (OSError, SyntaxError, ValueError) as exc:
            raise CorruptFileError(
                _("{path}: damaged or unreadable image: {exc}").format(path=path, exc=exc)
            ) from None
    grey = _to_grey(np.asarray(pixels), path)
    data = check_image(grey, source=path, max_pixels=max_pixels)
    header = header_from_json(info_text, source=path) if isinstance(info_text, str) else None
    if header:
        meta = header["metadata"]
    else:
        meta = ScanMetadata(attributes={"display_bit_depth": int(grey.dtype.itemsize * 8)})
    return Scan(data, Representation.DISPLAY, meta, None, str(path))


def _write_png(scan: Scan, path: Path) -> list[Path]:
    if scan.representation is not Representation.DISPLAY or scan.n_channels != 1:
        raise UnsupportedFormatError(
            _(
                "{path}: PNG holds a rendered single-channel display image; render the scan "
                "first (it is {n_channels}-channel {representation})"
            ).format(
                path=path, n_channels=scan.n_channels, representation=scan.representation.value
            )
        )
    pixels = np.ascontiguousarray(scan.high)
    if pixels.dtype not in (np.uint8, np.uint16):
        raise UnsupportedFormatError(
            _("{path}: PNG needs uint8 or uint16, got {dtype}").format(
                path=path, dtype=pixels.dtype
            )
        )
    info = PngImagePlugin.PngInfo()
    info.add_text(_TEXT_KEY, header_to_json(scan))
    img = Image.fromarray(pixels.astype(pixels.dtype.newbyteorder("=")))
    with atomic_open(path) as fh:
        img.save(fh, format="PNG", pnginfo=info)
    return [path]


register(
    Format(
        name="png",
        description="PNG display image (8 or 16 bit), no physical calibration",
        extensions=(".png",),
        sniff=_sniff_png,
        read=_read,
        write=_write_png,
    )
)
register(
    Format(
        name="jpeg",
        description="JPEG display image (8 bit, read only), no physical calibration",
        extensions=(".jpg", ".jpeg"),
        sniff=_sniff_jpeg,
        read=_read,
    )
)
