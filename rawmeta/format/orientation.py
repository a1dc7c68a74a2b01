"""The 8 EXIF orientations: how a stored image is shown, as array operations and as coordinate maps.

EXIF Orientation ``code`` (1-8) says how to transform a stored image to show
it: 1 as stored, 3 turned 180 degrees, 6 turned a quarter clockwise, 8 a
quarter counter-clockwise, and 2, 4, 5, 7 the mirrored ones (Pillow's
``ImageOps.exif_transpose`` does the same). Coordinates are (column u, row v).
"""
from __future__ import annotations

import numpy as np

# Each EXIF Orientation value as the numpy operation that displays a stored image.
_OPS = {
    1: lambda a: a,
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.swapaxes(0, 1),
    6: lambda a: np.rot90(a, -1),
    7: lambda a: np.rot90(a[:, ::-1], -1),
    8: lambda a: np.rot90(a, 1),
}
NAMES = {
    1: "as stored", 2: "mirrored left-right", 3: "rotated 180", 4: "mirrored top-bottom",
    5: "transposed", 6: "rotated 90 clockwise", 7: "transverse", 8: "rotated 90 counter-clockwise",
}


def orient(image: np.ndarray, code: int) -> np.ndarray:
    """``image`` (rows first) as shown under EXIF Orientation ``code`` (a view, not a copy)."""
    return _OPS[code](image)


def _linear_of(code: int) -> np.ndarray:
    """The 2 x 2 sign matrix taking stored (u, v) to displayed (u, v) minus a shift, for one EXIF code."""
    h, w = 2, 3
    v, u = np.mgrid[0:h, 0:w]
    shown_u, shown_v = _OPS[code](u), _OPS[code](v)  # stored coordinates of each displayed pixel
    dv, du = np.mgrid[0 : shown_u.shape[0], 0 : shown_u.shape[1]]
    # Displayed = A @ stored + b; solve from the index arrays (exact, integer).
    design = np.stack([shown_u.ravel(), shown_v.ravel(), np.ones(h * w)], 1)
    sol = np.linalg.lstsq(design, np.stack([du.ravel(), dv.ravel()], 1), rcond=None)[0]
    return np.round(sol[:2].T).astype(int)


LINEAR = {code: _linear_of(code) for code in _OPS}


def oriented_matrix(code: int, height: int, width: int) -> np.ndarray:
    """3 x 3 map from stored (u, v, 1) to the displayed grid of EXIF Orientation ``code``, for a
    ``height`` x ``width`` stored image."""
    linear = LINEAR[code]
    corners = linear @ np.array([[0, width - 1, 0, width - 1], [0, 0, height - 1, height - 1]])
    out = np.eye(3)
    out[:2, :2] = linear
    out[:2, 2] = -corners.min(axis=1)
    return out


def code_of(linear: np.ndarray) -> int:
    """The code whose sign matrix (stored (u, v) -> shown (u, v)) is ``linear``."""
    for code, candidate in LINEAR.items():
        if np.array_equal(candidate, linear):
            return code
    raise ValueError(f"not an orientation: {np.asarray(linear).tolist()}")


def inverse(code: int) -> int:
    """The code that undoes ``code``."""
    return code_of(LINEAR[code].T)


def compose(outer: int, inner: int) -> int:
    """The one code that shows an image as showing it under ``inner``, then the result under ``outer``, does."""
    return code_of(LINEAR[outer] @ LINEAR[inner])
