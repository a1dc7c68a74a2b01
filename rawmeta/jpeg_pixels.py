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

from . import jpeg_segments as js
from .errors import JpegError

#: Most pixels a JPEG rawmeta decodes may have: a 150 MP medium-format frame fits.
MAX_JPEG_PIXELS = 160_000_000


def decode_jpeg(jpeg: bytes) -> np.ndarray:
    """The JPEG's stored pixels as uint8 H x W x 3 (EXIF orientation not applied).

    The frame's declared size is checked before any pixel memory is taken:
    a JPEG over :data:`MAX_JPEG_PIXELS`, or declaring no size, is refused.
    """
    height, width, _ = js.parse(jpeg).frame()
    if width * height == 0:
        raise JpegError(f"the JPEG declares {width} x {height} pixels (a size given later by a DNL marker "
                        "is not supported)")
    if width * height > MAX_JPEG_PIXELS:
        raise JpegError(f"the JPEG declares {width} x {height} pixels: too large "
                        f"(rawmeta reads at most {MAX_JPEG_PIXELS // 10**6} MP)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # bounded above
            with Image.open(io.BytesIO(jpeg)) as im:
                im.load()
                return np.asarray(im.convert("RGB"))
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise JpegError(f"cannot decode the JPEG's pixels: {exc}") from None


def exif_orientation(jpeg: bytes) -> int | None:
    """The JPEG's EXIF Orientation tag (1-8), or None if it has none (or an invalid one)."""
    try:
        with Image.open(io.BytesIO(jpeg)) as im:
            value = im.getexif().get(0x0112)
    except (OSError, ValueError, SyntaxError):
        return None
    return value if isinstance(value, int) and 1 <= value <= 8 else None
