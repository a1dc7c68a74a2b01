"""Restoring the RAW from a JPEG that carries a rawmeta payload (file level)."""
from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from . import container
from . import jpeg_segments as js
from . import payload as pl
from .embed import read_jpeg
from .errors import PayloadError, UsageError
from .jpeg_pixels import decode_jpeg
from .outputs import check_suffix, write_raw_rgb
from .reconstruct import Progress, reconstruct
from .userfiles import target_path


@dataclass(frozen=True)
class Restored:
    """A restore's result and what it was made from."""

    rgb: np.ndarray
    srgb: np.ndarray
    payload: pl.Payload
    image_hash_matches: bool


def restore_bytes(jpeg: bytes, *, warn: Callable[[str], None] | None = None,
                  progress: Progress | None = None, **options) -> Restored:
    """Restore raw-RGB from JPEG bytes; ``options`` go to :func:`rawmeta.reconstruct.reconstruct`.

    A JPEG whose image data changed since embedding (re-encoded) is still
    restored, after a call to ``warn``.
    """
    carried = container.extract(jpeg)
    srgb = decode_jpeg(jpeg)
    payload = pl.unpack(carried.payload, srgb)
    matches = payload.image_hash == js.image_data_hash(carried.layout)
    if not matches and warn is not None:
        warn("the JPEG's image data changed since embedding (re-encoded?); "
             "restoring anyway, accuracy depends on how much it changed")
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
    out_path = target_path(out_path)
    check_suffix(out_path)  # refuse before the long part
    restored = restore_bytes(read_jpeg(jpeg_path), **kwargs)
    write_raw_rgb(out_path, restored.rgb, restored.payload.camera)
    return restored
