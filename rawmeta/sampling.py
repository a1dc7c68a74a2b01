"""The uniform sampling grid: which raw-RGB pixels a payload carries.

Samples sit on one global grid over the JPEG's stored pixel grid: rows
``offset_y, offset_y + stride, ...`` below ``height`` and columns
``offset_x, offset_x + stride, ...`` below ``width``. Positions are implied
by these five numbers and never stored.
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

    def __post_init__(self) -> None:
        if self.stride < 1:
            raise ValueError(f"stride must be at least 1, not {self.stride}")
        if not (0 <= self.offset_y < self.stride and 0 <= self.offset_x < self.stride):
            raise ValueError("grid offsets must lie in [0, stride)")
        if self.height <= self.offset_y or self.width <= self.offset_x:
            raise ValueError(
                f"a {self.height} x {self.width} image is too small for stride {self.stride}"
            )

    @classmethod
    def centred(cls, height: int, width: int, stride: int = DEFAULT_STRIDE) -> Grid:
        """The default grid: each sample at the centre (rounded down) of its stride x stride cell."""
        return cls(height, width, stride, stride // 2, stride // 2)

    @property
    def shape(self) -> tuple[int, int]:
        """Number of sample rows and columns."""
        return (
            -(-(self.height - self.offset_y) // self.stride),
            -(-(self.width - self.offset_x) // self.stride),
        )

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
        return np.arange(self.offset_y, self.height, self.stride)

    def cols(self) -> np.ndarray:
        """Pixel column of each sample column."""
        return np.arange(self.offset_x, self.width, self.stride)

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
        return image[self.offset_y :: self.stride, self.offset_x :: self.stride]
