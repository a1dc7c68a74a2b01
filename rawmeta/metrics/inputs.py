"""Checks of the arrays every measure takes, and the row bands large images are summed in."""
from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

#: Rows per band when a whole-image measure is summed band by band.
BAND_ROWS = 256


def check_image(image: np.ndarray, name: str) -> np.ndarray:
    """``image`` as an array, if it is a non-empty ``H x W x 3`` array of real numbers."""
    arr = np.asarray(image)
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise ValueError(f"{name} must be an H x W x 3 image, got shape {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape})")
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise ValueError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    return arr


def check_pair(pred: np.ndarray, ref: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``pred`` and ``ref`` as arrays, if both are ``H x W x 3`` and of the same shape."""
    p = check_image(pred, "pred")
    r = check_image(ref, "ref")
    if p.shape != r.shape:
        raise ValueError(f"pred and ref must have the same shape, got {p.shape} and {r.shape}")
    return p, r


def check_mask(mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """``mask`` as a boolean array, if it is ``H x W`` for an image of ``shape``."""
    m = np.asarray(mask)
    if m.dtype != np.bool_:
        raise ValueError(f"mask must be boolean, got dtype {m.dtype}")
    if m.shape != tuple(shape):
        raise ValueError(f"mask must be H x W = {shape[0]} x {shape[1]}, got shape {m.shape}")
    return m


def row_bands(height: int, rows: int = BAND_ROWS) -> Iterator[tuple[int, int]]:
    """``(r0, r1)`` row ranges of at most ``rows`` rows covering ``0 .. height``."""
    for r0 in range(0, height, rows):
        yield r0, min(r0 + rows, height)

def check_boxes(boxes: Sequence[Sequence[int]], shape: tuple[int, int]) -> list[tuple[int, int, int, int]]:
    """``boxes`` as int tuples, if each is a non-empty ``(y0, y1, x0, x1)`` inside ``shape``."""
    h, w = shape
    checked = []
    for i, box in enumerate(boxes):
        if len(box) != 4:
            raise ValueError(f"box {i} must be (y0, y1, x0, x1), got {tuple(box)}")
        y0, y1, x0, x1 = (int(v) for v in box)
        if not (0 <= y0 < y1 <= h and 0 <= x0 < x1 <= w):
            raise ValueError(f"box {i} (y0, y1, x0, x1) = {(y0, y1, x0, x1)} is empty or outside the {h} x {w} image")
        checked.append((y0, y1, x0, x1))
    return checked
