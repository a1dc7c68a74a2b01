"""Restoring the RAW from a JPEG that carries a rawmeta payload (file level)."""
from __future__ import annotations

import io
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from . import container
from . import jpeg_segments as js
from . import payload as pl
from .embed import read_jpeg
from .errors import JpegError, OutputError, PayloadError, UsageError
from .outputs import check_suffix, write_raw_rgb
from .reconstruct import Progress, reconstruct


@dataclass(frozen=True)
class Restored:
    """A restore's result and what it was made from."""

    rgb: np.ndarray
    srgb: np.ndarray
    payload: pl.Payload
    image_hash_matches: bool


def decode_jpeg(jpeg: bytes) -> np.ndarray:
    """The JPEG's stored pixels as uint8 H x W x 3 (EXIF orientation not applied)."""
    try:
        with Image.open(io.BytesIO(jpeg)) as im:
            im.load()
            return np.asarray(im.convert("RGB"))
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise JpegError(f"cannot decode the JPEG's pixels: {exc}") from None


def restore_bytes(jpeg: bytes, *, warn: Callable[[str], None] | None = None,
                  progress: Progress | None = None, **options) -> Restored:
    """Restore raw-RGB from JPEG bytes; ``options`` go to :func:`rawmeta.reconstruct.reconstruct`.

    A JPEG whose image data changed since embedding (re-encoded) is still
    restored, after a call to ``warn``.
    """
    carried = container.extract(jpeg)
    payload = pl.unpack(carried.payload)
    matches = payload.image_hash == js.image_data_hash(carried.layout)
    if not matches and warn is not None:
        warn("the JPEG's image data changed since embedding (re-encoded?); "
             "restoring anyway, accuracy depends on how much it changed")
    srgb = decode_jpeg(jpeg)
    if srgb.shape[:2] != (payload.grid.height, payload.grid.width):
        raise PayloadError(
            f"the payload is for a {payload.grid.width} x {payload.grid.height} image, "
            f"the JPEG is {srgb.shape[1]} x {srgb.shape[0]}"
        )
    try:
        rgb = reconstruct(srgb, payload, progress=progress, **options)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    return Restored(rgb=rgb, srgb=srgb, payload=payload, image_hash_matches=matches)


def restore_file(jpeg_path: str | os.PathLike, out_path: str | os.PathLike, **kwargs) -> Restored:
    """Restore ``jpeg_path`` into ``out_path`` (.npy, .tif/.tiff or .dng by extension), atomically."""
    out_path = Path(out_path)
    check_suffix(out_path)  # refuse before the long part
    if not out_path.parent.is_dir():
        raise OutputError(f"cannot write {out_path}: folder {out_path.parent} does not exist")
    restored = restore_bytes(read_jpeg(jpeg_path), **kwargs)
    write_raw_rgb(out_path, restored.rgb, restored.payload.camera)
    return restored
