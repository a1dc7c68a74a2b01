"""The JPEG's decoded pixels: one decoder (Pillow's libjpeg-turbo) for every part of rawmeta.

The writer predicts samples from these pixels and the reader must see the
same ones (docs/FORMAT.md, "Filter 2"), so embed, restore and inspect all
decode through :func:`decode_jpeg`.
"""
from __future__ import annotations

import io
import warnings

import numpy as np
from PIL import Image

from rawmeta.errors import JpegError
from rawmeta.format import segments as js
from rawmeta.format.payload import MAX_JPEG_PIXELS


def check_frame(layout: js.JpegLayout) -> tuple[int, int, int]:
    """The frame's ``(height, width, components)``, refusing a size rawmeta does not decode.

    Refused, before any pixel memory is taken: no size (one given later by a
    DNL marker), more than :data:`MAX_JPEG_PIXELS`, and, for Huffman-coded
    JPEGs, more 8 x 8 blocks than the image data could hold. Each block costs
    at least one bit, so a small file declaring a huge frame is damaged, and
    decoding it would only fill memory with grey.
    """
    height, width, components = layout.frame()
    if width * height == 0:
        raise JpegError(f"{{file}} declares {width} x {height} pixels: rawmeta cannot read a JPEG of this kind",
                        "a size given later by a DNL marker is not supported")
    if width * height > MAX_JPEG_PIXELS:
        raise JpegError(f"{{file}} declares {width} x {height} pixels: too large "
                        f"(rawmeta reads at most {MAX_JPEG_PIXELS // 10**6} MP)")
    arithmetic = any(s.marker in js.ARITHMETIC_SOF_MARKERS for s in layout.segments)
    blocks = -(-width // 8) * -(-height // 8)
    data_bytes = sum(end - start for start, end in layout.scans)
    if not arithmetic and 8 * data_bytes < blocks:
        raise JpegError(f"{{file}} is cut short or damaged: it declares {width} x {height} pixels but holds far too "
                        "little image data for them", f"{data_bytes} bytes of image data")
    return height, width, components


def decode_jpeg(jpeg: bytes) -> np.ndarray:
    """The JPEG's stored pixels as uint8 H x W x 3 (EXIF orientation not applied).

    The declared size is checked first (:func:`check_frame`).
    """
    check_frame(js.parse(jpeg))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # bounded by check_frame
            with Image.open(io.BytesIO(jpeg)) as im:
                im.load()
                return np.asarray(im if im.mode == "RGB" else im.convert("RGB"))
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise JpegError("{file} is damaged: its pixels cannot be decoded", f"cannot decode the JPEG's pixels: {exc}") \
            from None


def exif_orientation(jpeg: bytes) -> int | None:
    """The JPEG's EXIF Orientation tag (1-8), or None if it has none (or an invalid one)."""
    try:
        with Image.open(io.BytesIO(jpeg)) as im:
            value = im.getexif().get(0x0112)
    except (OSError, ValueError, SyntaxError):
        return None
    return value if isinstance(value, int) and 1 <= value <= 8 else None
