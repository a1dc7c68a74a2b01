"""SSIM (Wang et al. 2004), computed band by band to match scikit-image's Gaussian-weighted SSIM."""
from __future__ import annotations

import numpy as np

from rawmeta.metrics.inputs import check_pair
from rawmeta.resample import gaussian_taps

#: Wang et al. (2004) / scikit-image constants.
SSIM_SIGMA = 1.5
SSIM_K1 = 0.01
SSIM_K2 = 0.03
#: Gaussian window radius: scikit-image's ``int(3.5 * sigma + 0.5)`` = 5, an 11 x 11 window.
_SSIM_RADIUS = int(3.5 * SSIM_SIGMA + 0.5)
#: Pixels per band of SSIM output (rows = this / width, 8..64): small enough
#: for the scratch arrays to stay near the CPU caches (about 20 MB in all).
_SSIM_BAND_PIXELS = 100_000


def _blur_valid(stack: np.ndarray, taps: np.ndarray) -> np.ndarray:
    """Separable 'valid' correlation of the last two axes of ``stack`` with ``taps`` (symmetric).

    The result is smaller by ``len(taps) - 1`` in each of the last two axes:
    only positions where the whole window lies inside the input are kept.
    """
    r = len(taps) // 2
    n = len(taps) - 1
    h = stack.shape[-2] - n
    out = np.multiply(stack[..., r : r + h, :], taps[r])
    tmp = np.empty_like(out)
    for i in range(r):  # taps[i] == taps[n - i]: add the mirrored rows first
        np.add(stack[..., i : i + h, :], stack[..., n - i : n - i + h, :], out=tmp)
        tmp *= taps[i]
        out += tmp
    w = stack.shape[-1] - n
    res = np.multiply(out[..., r : r + w], taps[r])
    tmp = tmp[..., :w]
    for i in range(r):
        np.add(out[..., i : i + w], out[..., n - i : n - i + w], out=tmp)
        tmp *= taps[i]
        res += tmp
    return res


def _ssim_channel_sum(x: np.ndarray, y: np.ndarray, taps: np.ndarray, c1: float, c2: float) -> float:
    """Sum of the SSIM map of one channel over its valid region, in row bands."""
    h, w = x.shape
    n = len(taps) - 1
    rows = max(8, min(64, _SSIM_BAND_PIXELS // w))
    total = 0.0
    for r0 in range(0, h - n, rows):
        r1 = min(r0 + rows, h - n)
        stack = np.empty((5, r1 - r0 + n, w), dtype=np.float64)
        stack[0] = x[r0 : r1 + n]
        stack[1] = y[r0 : r1 + n]
        np.multiply(stack[0], stack[0], out=stack[2])
        np.multiply(stack[1], stack[1], out=stack[3])
        np.multiply(stack[0], stack[1], out=stack[4])
        mx, my, mxx, myy, mxy = _blur_valid(stack, taps)
        # S = (2 mx my + C1)(2 cov + C2) / ((mx^2 + my^2 + C1)(var_x + var_y + C2)), in place.
        a1 = mx * my
        mxy -= a1  # covariance
        mxy *= 2.0
        mxy += c2  # A2
        a1 *= 2.0
        a1 += c1  # A1
        mx *= mx
        my *= my
        mxx += myy
        mxx -= mx
        mxx -= my
        mxx += c2  # B2 = var_x + var_y + C2
        mx += my
        mx += c1  # B1
        a1 *= mxy
        mx *= mxx
        a1 /= mx
        total += float(a1.sum())
    return total


def ssim(pred: np.ndarray, ref: np.ndarray, data_range: float = 1.0) -> float:
    """Structural similarity (Wang et al. 2004), mean over channels.

    Gaussian window with sigma 1.5 truncated to 11 x 11, K1 = 0.01, K2 = 0.03,
    population (not sample) covariances; the SSIM map of each channel is
    averaged over the 'valid' region (window wholly inside the image, i.e.
    5 pixels trimmed on each side) and the three channel means are averaged.
    This is what scikit-image's ``structural_similarity(pred, ref,
    gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
    data_range=data_range, channel_axis=2)`` computes (for float64 input; for
    float32 input scikit-image computes in float32, while this function always
    works in float64).

    The image is processed channel by channel in bands of rows, so the extra
    memory is a few tens of megabytes whatever the size (about 20 MB for a
    24-megapixel, 6000-pixel-wide image, which takes a few seconds of CPU).

    Parameters
    ----------
    pred, ref : numpy.ndarray
        ``H x W x 3`` images of the same shape, at least 11 x 11.
    data_range : float
        The range of the values (1.0 for images in ``[0, 1]``).

    Returns
    -------
    float
        SSIM; 1.0 for identical images.

    Raises
    ------
    ValueError
        Bad or different shapes, an image smaller than the window, or a
        non-positive ``data_range``.
    """
    p, r = check_pair(pred, ref)
    taps = gaussian_taps(SSIM_SIGMA, _SSIM_RADIUS)
    win = len(taps)
    if p.shape[0] < win or p.shape[1] < win:
        raise ValueError(f"SSIM needs images of at least {win} x {win} pixels, got {p.shape[0]} x {p.shape[1]}")
    if not data_range > 0:
        raise ValueError(f"data_range must be positive, got {data_range}")
    c1 = (SSIM_K1 * data_range) ** 2
    c2 = (SSIM_K2 * data_range) ** 2
    valid = (p.shape[0] - win + 1) * (p.shape[1] - win + 1)
    means = [_ssim_channel_sum(p[..., c], r[..., c], taps, c1, c2) / valid for c in range(3)]
    return float(np.mean(means))
