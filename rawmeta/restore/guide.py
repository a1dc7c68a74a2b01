"""The JPEG's pixels on the RAW's grid: what a restore of a payload whose samples lie on the RAW's own
grid (a JPEG smaller than the RAW) learns from and predicts with."""
from __future__ import annotations

import numpy as np

from rawmeta.format.alignment import Alignment
from rawmeta.resample import interpolate_axes

#: Raw-RGB pixels per JPEG pixel (their product, an area) above which embed samples the RAW's own grid
#: and restore gives the RAW's resolution: a JPEG this much smaller than the RAW leaves pixels out.
RAW_GRID_MIN_AREA = 1.1


def smaller_than_raw(alignment: Alignment | None) -> bool:
    """Whether a JPEG on ``alignment`` has fewer pixels than the RAW covers by at least
    :data:`RAW_GRID_MIN_AREA` raw pixels each."""
    return alignment is not None and float(np.prod(alignment.scale)) >= RAW_GRID_MIN_AREA


def enlarged_on_raw_grid(srgb: np.ndarray, alignment: Alignment) -> np.ndarray:
    """The JPEG's pixels ``srgb`` (uint8) enlarged onto the raw-RGB's grid by Lanczos interpolation along
    the map ``alignment`` (points beyond the JPEG take its nearest edge), rounded to uint8 as the
    restore's inputs are."""
    source, along_rows, along_cols = alignment.source_axes(srgb)
    enlarged = interpolate_axes(source, along_rows, along_cols)
    return np.clip(np.rint(enlarged), 0, 255).astype(np.uint8)
