"""The alignment record: where a JPEG's stored pixels lie in a RAW's raw-RGB.

A payload stores it (docs/FORMAT.md); :func:`rawmeta.alignment.matching.align`
finds it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rawmeta.format import orientation


@dataclass(frozen=True)
class Alignment:
    """Where a JPEG's stored pixels lie in a RAW's raw-RGB.

    Attributes
    ----------
    matrix : ndarray, float64, shape (2, 3)
        ``[x, y] = matrix @ [u, v, 1]`` maps JPEG column u, row v to raw-RGB
        column x, row y (pixel centres at integers).
    raw_size : (int, int)
        The raw-RGB's height and width.
    match : float
        Content match figure in [-1, 1]; NaN when not measured (same-grid pairs
        written with ``--force-same-grid``).
    """

    matrix: np.ndarray
    raw_size: tuple[int, int]
    match: float = float("nan")

    @classmethod
    def identity(cls, height: int, width: int, match: float = float("nan")) -> Alignment:
        return cls(np.array([[1.0, 0, 0], [0, 1.0, 0]]), (height, width), match)

    @property
    def is_identity(self) -> bool:
        """JPEG pixel (u, v) is raw-RGB pixel (u, v); the raw may still be larger (a crop at its corner)."""
        return bool(np.array_equal(self.matrix, [[1.0, 0, 0], [0, 1.0, 0]]))

    def is_same_grid(self, height: int, width: int) -> bool:
        """Whether a ``height`` x ``width`` JPEG on this map is the raw-RGB's own grid: identity, same size."""
        return self.is_identity and self.raw_size == (height, width)

    @property
    def scale(self) -> tuple[float, float]:
        """Raw-RGB pixels per JPEG pixel along the raw's x and y axes."""
        return float(np.hypot(*self.matrix[0, :2])), float(np.hypot(*self.matrix[1, :2]))

    @property
    def orientation(self) -> int:
        """The EXIF Orientation value that turns the JPEG's stored pixels the raw's way up."""
        return orientation.code_of(np.sign(np.round(self.matrix[:, :2] / np.array(self.scale)[:, None], 6)))

    def describe(self, height: int, width: int) -> str:
        """One line for ``inspect`` about a ``height`` x ``width`` JPEG: the map and the match figure."""
        match = "not checked" if np.isnan(self.match) else f"{self.match:.3f}"
        if self.is_same_grid(height, width):
            return f"the RAW's own grid ({self.raw_size[1]} x {self.raw_size[0]}), match {match}"
        sx, sy = self.scale
        m = self.matrix
        return (f"{orientation.NAMES[self.orientation]}, {sx:.4f} x {sy:.4f} RAW pixels per JPEG pixel, "
                f"JPEG pixel (0, 0) at RAW ({m[0, 2]:.2f}, {m[1, 2]:.2f}) of {self.raw_size[1]} x "
                f"{self.raw_size[0]}, match {match}")

    def source_axes(self, jpeg: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Where each raw-RGB row and column lies in the JPEG's pixels ``jpeg`` (docs/FORMAT.md, "Samples
        on the RAW's grid").

        The map's linear part has one non-zero entry per row, so a raw-RGB row
        lies along one JPEG axis and a raw column along the other. Returns
        ``(source, along_rows, along_cols)``: raw pixel (x, y) lies at
        ``source[along_rows[y], along_cols[x]]`` (pixel centres at integers),
        where ``source`` is ``jpeg``, transposed (a view) when the map turns a
        quarter. Each coordinate is one float64 subtraction and one division,
        so that two readers compute the same values.
        """
        m = self.matrix
        height, width = self.raw_size
        x, y = np.arange(width, dtype=np.float64), np.arange(height, dtype=np.float64)
        if m[0, 0] != 0:  # raw x follows JPEG u, raw y follows JPEG v
            return jpeg, (y - m[1, 2]) / m[1, 1], (x - m[0, 2]) / m[0, 0]
        return jpeg.swapaxes(0, 1), (y - m[1, 2]) / m[1, 0], (x - m[0, 2]) / m[0, 1]

    def apply(self, cols: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Raw-RGB (x, y) of JPEG pixels (column, row)."""
        m = self.matrix
        return m[0, 0] * cols + m[0, 1] * rows + m[0, 2], m[1, 0] * cols + m[1, 1] * rows + m[1, 2]
