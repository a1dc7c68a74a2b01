"""Refinement blocks: extra, denser samples where the restore is worst.

The uniform grid gives every part of the image the same number of samples,
but the restore's error is concentrated: clipped highlights (where the JPEG
says nothing) and fine texture hold most of it. A payload may therefore
carry, for chosen ``block x block`` pixel blocks, extra samples on a denser
lattice: at refinement level ``L`` (1, 2, ...) the block's pixels at rows
and columns ``stride_L // 2 + k * stride_L`` within the block, quantized to
``depth_L`` bits; stride and depth are given per level. The writer, which
knows the true RAW, chooses the blocks and levels (``budget``); the block
map travels in the payload.

At restore, after the base prediction, each refined block is corrected by
the residuals (sample minus prediction) of its level's samples,
interpolated bilinearly on that level's lattice; samples of neighbouring
blocks of the same level take part, so adjacent refined blocks join without
seams. At stride 1 the block takes its samples' values.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Block size (pixels) that rawmeta writes.
BLOCK = 16


def default_levels(bits: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The (strides, depths) rawmeta writes for base samples of ``bits`` bits.

    Stride 4 at the base depth; strides 2 and 1 at one bit less and at the
    base depth (more samples for the bytes where noise dominates); stride 1
    at 2 and 4 more bits, where quantization would otherwise limit a fully
    sampled block. The levels with one bit less help files where noise
    dominates and barely change the others (docs/CONSTANTS.md).
    """
    strides = (4, 2, 2, 1, 1, 1, 1)
    return strides, tuple(min(max(bits + extra, 1), 16) for extra in (0, -1, 0, -1, 0, 2, 4))


@dataclass(frozen=True)
class Refinement:
    """Which blocks carry extra samples, and how densely.

    Attributes
    ----------
    block : int
        Block size in pixels; blocks tile the image from (0, 0).
    strides : tuple of int
        Sample stride of levels 1, 2, ...; each divides ``block``.
    depths : tuple of int
        Sample bit depth of levels 1, 2, ... (1 ... 16).
    levels : ndarray, uint8, shape (ceil(H / block), ceil(W / block))
        Level of each block; 0 = no extra samples.
    """

    block: int
    strides: tuple[int, ...]
    depths: tuple[int, ...]
    levels: np.ndarray

    def __post_init__(self) -> None:
        if self.block < 1 or not self.strides or any(s < 1 or self.block % s for s in self.strides):
            raise ValueError(f"refinement strides {self.strides} must each divide the block size {self.block}")
        if len(self.depths) != len(self.strides) or any(not 1 <= d <= 16 for d in self.depths):
            raise ValueError(f"refinement depths {self.depths} must be 1-16 bits, one per level")
        if self.levels.dtype != np.uint8 or self.levels.ndim != 2:
            raise ValueError("refinement levels must be a 2-D uint8 block map")
        if self.levels.max(initial=0) > len(self.strides):
            raise ValueError(f"refinement levels go up to {len(self.strides)}")

    @classmethod
    def empty(cls, height: int, width: int, bits: int, block: int = BLOCK) -> Refinement:
        """No refined blocks, for an image of ``height`` x ``width``, with the default levels for ``bits``."""
        return cls(block, *default_levels(bits), np.zeros((-(-height // block), -(-width // block)), np.uint8))

    def with_levels(self, levels: np.ndarray) -> Refinement:
        """The same block size and levels with another block map."""
        return Refinement(self.block, self.strides, self.depths, levels)

    def check_image(self, height: int, width: int) -> None:
        """Raise ValueError unless the block map tiles a ``height`` x ``width`` image."""
        expected = (-(-height // self.block), -(-width // self.block))
        if self.levels.shape != expected:
            raise ValueError(f"the refinement block map is {self.levels.shape}, a {width} x {height} image "
                             f"needs {expected}")

    def positions(self, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
        """Pixel rows and columns of the refined samples, in payload order.

        Blocks in row-major order; within a block, its lattice row by row.
        """
        self.check_image(height, width)
        keys, rows, cols = [], [], []
        for level, stride in enumerate(self.strides, start=1):
            by, bx = np.nonzero(self.levels == level)
            ty, tx = np.mgrid[stride // 2 : self.block : stride, stride // 2 : self.block : stride]
            r = (by[:, None] * self.block + ty.ravel()).ravel()
            c = (bx[:, None] * self.block + tx.ravel()).ravel()
            order = np.repeat(by * self.levels.shape[1] + bx, ty.size) * self.block**2 + np.tile(
                ty.ravel() * self.block + tx.ravel(), len(by))
            inside = (r < height) & (c < width)
            keys.append(order[inside])
            rows.append(r[inside])
            cols.append(c[inside])
        key = np.concatenate(keys)
        sort = np.argsort(key, kind="stable")
        return np.concatenate(rows)[sort], np.concatenate(cols)[sort]

    def count(self, height: int, width: int) -> int:
        """Number of refined samples."""
        return len(self.positions(height, width)[0])

    def depth_at(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Bit depth of the refined samples at (rows, cols) (positions in refined blocks)."""
        return np.array((0, *self.depths))[self.levels[rows // self.block, cols // self.block]]


def block_pixels(blocks_y: np.ndarray, blocks_x: np.ndarray, block: int, height: int,
                 width: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns of every pixel of the given blocks (cut at the image edge)."""
    ty, tx = np.mgrid[0:block, 0:block]
    r = (blocks_y[:, None] * block + ty.ravel()).ravel()
    c = (blocks_x[:, None] * block + tx.ravel()).ravel()
    inside = (r < height) & (c < width)
    return r[inside], c[inside]


def interpolate(shape: tuple[int, int], stride: int, rows: np.ndarray, cols: np.ndarray, residuals: np.ndarray,
                at_rows: np.ndarray, at_cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bilinear interpolation of residuals known on part of a lattice, at the pixels (at_rows, at_cols).

    The lattice has rows and columns ``stride // 2 + k * stride``; residuals
    (N, 3) sit at lattice pixels (rows, cols), and NaN residuals count as
    missing. Each pixel takes the weighted mean of the known ones among its
    4 surrounding lattice points. Returns the interpolated values (M, 3) and
    a mask of the pixels with any known neighbour.
    """
    height, width = shape
    off = stride // 2
    lat_h, lat_w = -(-(height - off) // stride), -(-(width - off) // stride)
    lattice = np.zeros((lat_h, lat_w, 3), np.float32)
    known = np.zeros((lat_h, lat_w), np.float32)
    ok = np.isfinite(residuals).all(axis=1)
    ky, kx = (rows[ok] - off) // stride, (cols[ok] - off) // stride
    lattice[ky, kx] = residuals[ok]
    known[ky, kx] = 1.0
    fy, fx = (at_rows - off) / stride, (at_cols - off) / stride
    y0, x0 = np.floor(fy).astype(np.int64), np.floor(fx).astype(np.int64)
    wy, wx = (fy - y0).astype(np.float32), (fx - x0).astype(np.float32)
    num = np.zeros((len(at_rows), 3), np.float32)
    den = np.zeros(len(at_rows), np.float32)
    for dy, weight_y in ((0, 1 - wy), (1, wy)):
        for dx, weight_x in ((0, 1 - wx), (1, wx)):
            yy, xx = y0 + dy, x0 + dx
            valid = (yy >= 0) & (yy < lat_h) & (xx >= 0) & (xx < lat_w)
            yy, xx = np.clip(yy, 0, lat_h - 1), np.clip(xx, 0, lat_w - 1)
            weight = weight_y * weight_x * valid * known[yy, xx]
            num += weight[:, None] * lattice[yy, xx]
            den += weight
    has = den > 0
    return num / np.where(has, den, 1.0)[:, None], has


def apply(out: np.ndarray, refinement: Refinement, rows: np.ndarray, cols: np.ndarray, values: np.ndarray) -> None:
    """Correct ``out`` (H x W x 3, in place) in the refined blocks by the refined samples ``values`` (N, 3).

    ``rows`` and ``cols`` are :meth:`Refinement.positions`. Pixels of ``out``
    that are NaN (not restored) stay NaN and give no residual.
    """
    height, width = out.shape[:2]
    for level, stride in enumerate(refinement.strides, start=1):
        by, bx = np.nonzero(refinement.levels == level)
        if not len(by):
            continue
        on_level = refinement.levels[rows // refinement.block, cols // refinement.block] == level
        r, c = rows[on_level], cols[on_level]
        if stride == 1:  # every pixel is a sample: take it
            known = ~np.isnan(out[r, c, 0])
            out[r[known], c[known]] = np.clip(values[on_level][known], 0.0, 1.0)
            continue
        residuals = values[on_level] - out[r, c]
        pr, pc = block_pixels(by, bx, refinement.block, height, width)
        correction, has = interpolate((height, width), stride, r, c, residuals, pr, pc)
        pr, pc = pr[has], pc[has]
        out[pr, pc] = np.clip(out[pr, pc] + correction[has], 0.0, 1.0)
