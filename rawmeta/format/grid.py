"""The uniform sampling grid: which raw-RGB pixels a payload carries.

Samples sit on one global grid over the JPEG's stored pixel grid: rows
``offset_y, offset_y + stride, ...`` below ``height`` and columns
``offset_x, offset_x + stride, ...`` below ``width``. On an *alternating*
grid every odd-numbered sample row and column is moved one pixel further
(rows ``offset_y, offset_y + stride + 1, offset_y + 2 stride, ...``), so that
with an even stride the samples fall on all four pixels of each 2 x 2 colour
filter cell instead of on one: a camera's demosaicing leaves raw-RGB with
different statistics at each of the four, and a restore that only ever sees
one of them fits the other three worse (docs/RESTORE.md). Positions are
implied by these six numbers and never stored.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEFAULT_STRIDE = 8


@dataclass(frozen=True)
class Grid:
    """A uniform sampling grid over an image of ``height`` x ``width`` pixels."""

    height: int
    width: int
    stride: int = DEFAULT_STRIDE
    offset_y: int = DEFAULT_STRIDE // 2
    offset_x: int = DEFAULT_STRIDE // 2
    alternate: bool = False

    def __post_init__(self) -> None:
        if self.stride < 1:
            raise ValueError(f"stride must be at least 1, not {self.stride}")
        if not (0 <= self.offset_y < self.stride and 0 <= self.offset_x < self.stride):
            raise ValueError("grid offsets must lie in [0, stride)")
        if self.alternate and (self.stride % 2 or max(self.offset_y, self.offset_x) + 1 >= self.stride):
            raise ValueError("an alternating grid needs an even stride and offsets below stride - 1")
        if self.height <= self.offset_y or self.width <= self.offset_x:
            raise ValueError(
                f"a {self.height} x {self.width} image is too small for stride {self.stride}"
            )

    @classmethod
    def centred(cls, height: int, width: int, stride: int = DEFAULT_STRIDE) -> Grid:
        """The default grid: each sample at the centre (rounded down) of its stride x stride cell.

        Even strides of 4 and more alternate (odd-numbered rows and columns
        one pixel past the centre), so the samples cover all four pixels of
        a 2 x 2 colour filter cell; odd strides do so by themselves.
        """
        return cls(height, width, stride, stride // 2, stride // 2, alternate=stride % 2 == 0 and stride >= 4)

    @property
    def shape(self) -> tuple[int, int]:
        """Number of sample rows and columns."""
        return self._length(self.offset_y, self.height), self._length(self.offset_x, self.width)

    @property
    def count(self) -> int:
        """Number of sample positions."""
        rows, cols = self.shape
        return rows * cols

    @property
    def rate(self) -> float:
        """Fraction of the image's pixels that are sampled."""
        return self.count / (self.height * self.width)

    def rows(self) -> np.ndarray:
        """Pixel row of each sample row."""
        return self._axis(self.offset_y, self.height)

    def cols(self) -> np.ndarray:
        """Pixel column of each sample column."""
        return self._axis(self.offset_x, self.width)

    def _length(self, offset: int, size: int) -> int:
        """``len(self._axis(offset, size))`` without building it: only the last, if moved, can drop out."""
        n = len(range(offset, size, self.stride))
        last_moved = self.alternate and n > 0 and n % 2 == 0
        return n - int(last_moved and offset + (n - 1) * self.stride + 1 >= size)

    def _axis(self, offset: int, size: int) -> np.ndarray:
        at = np.arange(offset, size, self.stride)
        if self.alternate:
            at = at + np.arange(len(at)) % 2
            at = at[at < size]
        return at

    def positions(self) -> tuple[np.ndarray, np.ndarray]:
        """Pixel row and column of every sample, row-major (the payload's order)."""
        rows, cols = np.meshgrid(self.rows(), self.cols(), indexing="ij")
        return rows.ravel(), cols.ravel()

    def sample(self, image: np.ndarray) -> np.ndarray:
        """The grid's pixels of ``image`` (H x W x C) as a (rows, cols, C) array."""
        if image.shape[:2] != (self.height, self.width):
            raise ValueError(
                f"image is {image.shape[0]} x {image.shape[1]}, grid is for {self.height} x {self.width}"
            )
        if self.alternate:
            return image[np.ix_(self.rows(), self.cols())]
        return image[self.offset_y :: self.stride, self.offset_x :: self.stride]
