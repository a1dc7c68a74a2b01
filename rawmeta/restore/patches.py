"""The patch grid of restore: which pixels each local model predicts and which samples train it.

The image is cut into ``rows x cols`` patches of about the requested size
(edges spread evenly, so patches differ by at most one pixel). The model of
patch ``(i, j)`` is trained on the samples inside the 3 x 3 block of patches
around it, clipped at the image border (border patches simply have fewer
neighbours), and predicts only the pixels of its own patch.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from rawmeta.format.grid import Grid

#: The paper's patch size at full resolution (height, width).
DEFAULT_PATCH = (228, 272)
#: Fewest samples (a patch's and its neighbours') that a local model may be fitted to.
MIN_TRAINING_SAMPLES = 16

Box = tuple[int, int, int, int]  # y0, y1, x0, x1 (end exclusive)


@dataclass(frozen=True)
class PatchGrid:
    """Patches over an image of ``height`` x ``width`` pixels."""

    height: int
    width: int
    row_edges: tuple[int, ...]
    col_edges: tuple[int, ...]

    @classmethod
    def for_image(cls, height: int, width: int, patch: tuple[int, int] = DEFAULT_PATCH) -> PatchGrid:
        """Patches of about ``patch = (height, width)`` pixels covering the image."""
        ph, pw = patch
        if ph < 1 or pw < 1:
            raise ValueError(f"patch size must be positive, not {patch}")
        nr = max(1, round(height / ph))
        nc = max(1, round(width / pw))
        rows = tuple(int(v) for v in np.round(np.linspace(0, height, nr + 1)))
        cols = tuple(int(v) for v in np.round(np.linspace(0, width, nc + 1)))
        return cls(height, width, rows, cols)

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.row_edges) - 1, len(self.col_edges) - 1

    def __len__(self) -> int:
        r, c = self.shape
        return r * c

    def __iter__(self) -> Iterator[tuple[int, int]]:
        r, c = self.shape
        return ((i, j) for i in range(r) for j in range(c))

    def box(self, i: int, j: int) -> Box:
        """Pixels of patch ``(i, j)``."""
        return self.row_edges[i], self.row_edges[i + 1], self.col_edges[j], self.col_edges[j + 1]

    def neighbourhood(self, i: int, j: int) -> Box:
        """Pixels of the 3 x 3 block of patches centred on ``(i, j)``, clipped to the image."""
        r, c = self.shape
        return (
            self.row_edges[max(i - 1, 0)],
            self.row_edges[min(i + 2, r)],
            self.col_edges[max(j - 1, 0)],
            self.col_edges[min(j + 2, c)],
        )

    def boxes(self) -> list[Box]:
        return [self.box(i, j) for i, j in self]


def grid_slices(grid: Grid, box: Box) -> tuple[slice, slice]:
    """Sample-array slices (rows, cols) of the grid samples lying inside ``box``."""
    y0, y1, x0, x1 = box
    rows, cols = grid.rows(), grid.cols()
    return (
        slice(int(np.searchsorted(rows, y0)), int(np.searchsorted(rows, y1))),
        slice(int(np.searchsorted(cols, x0)), int(np.searchsorted(cols, x1))),
    )


def normalised_xy(rows: np.ndarray, cols: np.ndarray, h: int, w: int) -> np.ndarray:
    """(N, 2) coordinates (x, y) normalised over the whole image to [0, 1]."""
    return np.stack([cols / max(w - 1, 1), rows / max(h - 1, 1)], axis=-1).astype(np.float32)


@dataclass(frozen=True)
class PatchData:
    """What the model of one patch is trained on (its 3 x 3 neighbourhood's samples) and where it predicts."""

    index: tuple[int, int]
    box: Box
    train_srgb: np.ndarray  # (N, 3)
    train_xy: np.ndarray  # (N, 2)
    train_raw: np.ndarray  # (N, 3)


def patch_data(layout: PatchGrid, grid: Grid, srgb: np.ndarray, values: np.ndarray, ij: tuple[int, int]) -> PatchData:
    """Patch ``ij``'s training samples: sRGB, normalised xy and raw-RGB of the samples around it."""
    rs, cs = grid_slices(grid, layout.neighbourhood(*ij))
    rows, cols = np.meshgrid(grid.rows()[rs], grid.cols()[cs], indexing="ij")
    return PatchData(
        index=ij,
        box=layout.box(*ij),
        train_srgb=srgb[rows, cols].reshape(-1, 3),
        train_xy=normalised_xy(rows.ravel(), cols.ravel(), layout.height, layout.width),
        train_raw=values[rs, cs].reshape(-1, 3),
    )


def box_inputs(srgb: np.ndarray, box: Box) -> tuple[np.ndarray, np.ndarray]:
    """The sRGB (N, 3) and normalised xy (N, 2) of the pixels of ``box``, row-major."""
    y0, y1, x0, x1 = box
    rows, cols = np.mgrid[y0:y1, x0:x1]
    return srgb[y0:y1, x0:x1].reshape(-1, 3), normalised_xy(rows.ravel(), cols.ravel(), *srgb.shape[:2])


def place(out: np.ndarray, box: Box, flat: np.ndarray) -> None:
    """Write a box's row-major (N, 3) prediction into ``out``."""
    y0, y1, x0, x1 = box
    out[y0:y1, x0:x1] = flat.reshape(y1 - y0, x1 - x0, 3)


def training_count(layout: PatchGrid, grid: Grid, ij: tuple[int, int]) -> int:
    """Samples at ``grid`` in patch ``ij``'s 3 x 3 neighbourhood, which its model is fitted to."""
    rs, cs = grid_slices(grid, layout.neighbourhood(*ij))
    return (rs.stop - rs.start) * (cs.stop - cs.start)


def restorable(grid: Grid, patch_size: tuple[int, int] = DEFAULT_PATCH) -> bool:
    """Whether every patch of the image has enough samples (with its neighbours') at ``grid`` to restore."""
    layout = PatchGrid.for_image(grid.height, grid.width, patch_size)
    return min(training_count(layout, grid, ij) for ij in layout) >= MIN_TRAINING_SAMPLES
