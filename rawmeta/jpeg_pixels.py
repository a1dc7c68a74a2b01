"""The JPEG's decoded pixels: one decoder (Pillow's libjpeg-turbo) for every part of rawmeta.

The writer predicts samples from these pixels and the reader must see the
same ones (docs/FORMAT.md, "Filter 2"), so embed, restore and inspect all
decode through :func:`decode_jpeg`.
"""
from __future__ import annotations

import io

import numpy as np
from PIL import Image

from .errors import JpegError


def decode_jpeg(jpeg: bytes) -> np.ndarray:
    """The JPEG's stored pixels as uint8 H x W x 3 (EXIF orientation not applied)."""
    try:
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
