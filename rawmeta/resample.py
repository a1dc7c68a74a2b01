"""Filtering and resampling images (H x W or H x W x C float32): block means, box and band-pass filters,
bilinear and Lanczos interpolation, warps by an affine map."""
from __future__ import annotations

import numpy as np


def block_mean(image: np.ndarray, k: int) -> np.ndarray:
    """Means of k x k blocks (the ragged right and bottom edges dropped): level pixel i covers
    pixels k*i .. k*i + k - 1, so its centre is at k*i + (k - 1) / 2."""
    if k == 1:
        return np.ascontiguousarray(image, dtype=np.float32)
    h, w = image.shape[0] // k * k, image.shape[1] // k * k
    blocks = np.asarray(image[:h, :w], np.float32).reshape(h // k, k, w // k, k, *image.shape[2:])
    return blocks.mean(axis=(1, 3), dtype=np.float32)


def _separable(image: np.ndarray, taps_x: np.ndarray, taps_y: np.ndarray) -> np.ndarray:
    """``image`` (H x W or H x W x C) correlated with odd-length taps along x and y, edges replicated."""
    from scipy import ndimage  # here, so that the modules that only read payloads do not import scipy

    along_x = ndimage.correlate1d(np.asarray(image, np.float32), taps_x.astype(np.float32), axis=1, mode="nearest")
    return ndimage.correlate1d(along_x, taps_y.astype(np.float32), axis=0, mode="nearest")


def gaussian_taps(sigma: float, radius: int | None = None) -> np.ndarray:
    """The normalised 1-D Gaussian window, ``2 * radius + 1`` taps (radius 3 sigma by default), float64."""
    r = max(1, int(np.ceil(3 * sigma))) if radius is None else radius
    taps = np.exp(-0.5 * (np.arange(-r, r + 1, dtype=np.float64) / sigma) ** 2)
    return taps / taps.sum()


def box_taps(width: float) -> np.ndarray:
    """Taps averaging a continuous box ``width`` pixels wide centred on a pixel (1 = no filtering)."""
    half = width / 2
    r = int(np.ceil(half - 0.5))
    d = np.arange(-r, r + 1)
    taps = np.clip(np.minimum(d + 0.5, half) - np.maximum(d - 0.5, -half), 0, None)
    return taps / taps.sum()


#: Box widths up to this are taken as 1 (no filtering): their outer taps would weigh under 1 %.
NO_FILTER_WIDTH = 1.02


def area_filter(image: np.ndarray, width_x: float, width_y: float) -> np.ndarray:
    """``image`` averaged over boxes ``width_x`` x ``width_y`` pixels: what a pixel that many raw
    pixels wide sees. Widths up to :data:`NO_FILTER_WIDTH` leave the image as it is."""
    if max(width_x, width_y) <= NO_FILTER_WIDTH:
        return image
    return _separable(image, box_taps(max(width_x, 1.0)), box_taps(max(width_y, 1.0)))


def band_pass(image: np.ndarray) -> np.ndarray:
    """Difference of Gaussians (sigma 0.7 and 3 pixels): edges and texture, not tone."""
    return _separable(image, *(2 * [gaussian_taps(0.7)])) - _separable(image, *(2 * [gaussian_taps(3.0)]))


def bilinear(image: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``image`` (H x W or H x W x C) at real positions (x = column, y = row), edges extended."""
    h, w = image.shape[:2]
    x = np.clip(x, 0, w - 1)
    y = np.clip(y, 0, h - 1)
    x0 = np.minimum(x.astype(np.int64), max(w - 2, 0))
    y0 = np.minimum(y.astype(np.int64), max(h - 2, 0))
    fx, fy = (x - x0).astype(np.float32), (y - y0).astype(np.float32)
    x1, y1 = np.minimum(x0 + 1, w - 1), np.minimum(y0 + 1, h - 1)
    if image.ndim == 3:
        fx, fy = fx[..., None], fy[..., None]
    top = image[y0, x0] * (1 - fx) + image[y0, x1] * fx
    bottom = image[y1, x0] * (1 - fx) + image[y1, x1] * fx
    return top * (1 - fy) + bottom * fy


#: Lobes of the Lanczos window :func:`interpolate_axes` interpolates with (taps per axis: twice this).
LANCZOS_LOBES = 3


def _lanczos(d: np.ndarray) -> np.ndarray:
    return np.sinc(d) * np.sinc(d / LANCZOS_LOBES) * (np.abs(d) < LANCZOS_LOBES)


def _cubic(d: np.ndarray) -> np.ndarray:
    """Keys' cubic convolution kernel with a = -0.5 (the usual "bicubic")."""
    d = np.abs(d)
    return np.where(d <= 1, (1.5 * d - 2.5) * d * d + 1, np.where(d < 2, ((-0.5 * d + 2.5) * d - 4) * d + 2, 0.0))


#: Interpolation kernels of :func:`interpolate_axes`: name -> (kernel, taps either side of a point).
KERNELS = {"lanczos": (_lanczos, LANCZOS_LOBES), "bicubic": (_cubic, 2)}


def interpolate_axes(image: np.ndarray, along_rows: np.ndarray, along_cols: np.ndarray,
                     kernel: str = "lanczos") -> np.ndarray:
    """``image`` (H x W x C) interpolated at rows ``along_rows`` x columns ``along_cols`` (real positions,
    pixel centres at integers) by a separable kernel of :data:`KERNELS`, edges extended: float32
    ``len(along_rows)`` x ``len(along_cols)`` x C. For enlarging; it does not filter against aliasing."""
    image = np.asarray(image, np.float32)
    return _interpolate_axis(_interpolate_axis(image, along_rows, 0, kernel), along_cols, 1, kernel)


def _interpolate_axis(image: np.ndarray, at: np.ndarray, axis: int, kernel: str) -> np.ndarray:
    window, reach = KERNELS[kernel]
    base = np.floor(at).astype(np.int64)
    offsets = range(1 - reach, reach + 1)
    weights = np.stack([window(at - base - k) for k in offsets])
    weights = (weights / weights.sum(axis=0)).astype(np.float32)
    shape = [1] * image.ndim
    shape[axis] = len(at)
    out = np.zeros(image.shape[:axis] + (len(at),) + image.shape[axis + 1 :], np.float32)
    for k, w in zip(offsets, weights):
        out += np.take(image, np.clip(base + k, 0, image.shape[axis] - 1), axis=axis) * w.reshape(shape)
    return out


def warp(image: np.ndarray, matrix: np.ndarray, height: int, width: int) -> np.ndarray:
    """``image`` (H x W x 3) resampled onto a ``height`` x ``width`` grid whose pixel (u, v) lies at
    ``matrix @ [u, v, 1]`` in it: each pixel gets ``image`` averaged over its footprint (area filter when
    the grid is coarser), interpolated bilinearly at its centre; points beyond ``image`` take its
    nearest edge."""
    sx, sy = float(np.hypot(*matrix[0, :2])), float(np.hypot(*matrix[1, :2]))
    source = area_filter(image, sx, sy)
    out = np.empty((height, width, image.shape[2]), np.float32)
    band = max(1, 2**20 // width)
    cols = np.arange(width)
    for r0 in range(0, height, band):
        u, v = np.meshgrid(cols, np.arange(r0, min(height, r0 + band)))
        x = matrix[0, 0] * u + matrix[0, 1] * v + matrix[0, 2]
        y = matrix[1, 0] * u + matrix[1, 1] * v + matrix[1, 2]
        out[r0 : r0 + u.shape[0]] = bilinear(source, x, y)
    return out


def area_weights(size: int, reduced: int):
    """The ``reduced x size`` sparse matrix (``scipy.sparse``, float32) that averages ``size`` samples down
    to ``reduced``: output ``j`` is the mean over the span ``[j f, (j + 1) f)`` of the input, ``f = size /
    reduced``, each input sample weighted by how much of it lies in the span (a box filter).

    Examples
    --------
    >>> (3 * area_weights(3, 2).toarray()).round(3).tolist()
    [[2.0, 1.0, 0.0], [0.0, 1.0, 2.0]]
    """
    from scipy import sparse  # here, so that the modules that only filter do not import scipy

    f = size / reduced
    rows, cols, weights = [], [], []
    for j in range(reduced):
        start, stop = j * f, (j + 1) * f
        for i in range(int(np.floor(start)), min(int(np.ceil(stop)), size)):
            rows.append(j)
            cols.append(i)
            weights.append((min(stop, i + 1) - max(start, i)) / f)
    return sparse.csr_matrix((np.array(weights, np.float32), (rows, cols)), shape=(reduced, size))
