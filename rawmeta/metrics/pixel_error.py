"""PSNR: of the whole image, of each patch, and the mean of per-patch PSNRs (the paper's figure)."""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from rawmeta.metrics.inputs import check_boxes, check_mask, check_pair, row_bands


def _squared_error_sum(pred: np.ndarray, ref: np.ndarray, mask: np.ndarray | None) -> tuple[float, int]:
    """Sum of squared differences (in float64) and the number of values summed."""
    total = 0.0
    count = 0
    for r0, r1 in row_bands(pred.shape[0]):
        diff = pred[r0:r1].astype(np.float64) - ref[r0:r1]
        if mask is not None:
            diff = diff[mask[r0:r1]]
        diff = diff.ravel()
        total += float(diff @ diff)
        count += diff.size
    return total, count


def psnr_from_mse(mse: float, peak: float) -> float:
    """``10 log10(peak^2 / mse)`` in dB; ``inf`` for ``mse == 0``."""
    if mse == 0:
        return math.inf
    return 10.0 * math.log10(peak * peak / mse)


def psnr(pred: np.ndarray, ref: np.ndarray, mask: np.ndarray | None = None, peak: float = 1.0) -> float:
    """Whole-image peak signal-to-noise ratio in dB.

    Parameters
    ----------
    pred, ref : numpy.ndarray
        ``H x W x 3`` images of the same shape (the restored and the true raw-RGB).
    mask : numpy.ndarray, optional
        ``H x W`` boolean array; when given, only pixels where it is True count
        (all three channels of each).
    peak : float
        The largest possible value (1.0 for images in ``[0, 1]``).

    Returns
    -------
    float
        ``10 log10(peak^2 / MSE)``, the MSE taken over every counted pixel and
        channel at once (accumulated in float64); ``inf`` when the counted
        values are identical.

    Raises
    ------
    ValueError
        Shapes differ or are not ``H x W x 3``; the mask has the wrong shape or
        dtype or selects no pixel; ``peak`` is not positive.
    """
    p, r = check_pair(pred, ref)
    if not peak > 0:
        raise ValueError(f"peak must be positive, got {peak}")
    m = None if mask is None else check_mask(mask, p.shape[:2])
    total, count = _squared_error_sum(p, r, m)
    if count == 0:
        raise ValueError("the mask selects no pixel, so there is nothing to measure")
    return psnr_from_mse(total / count, peak)



def patch_psnrs(pred: np.ndarray, ref: np.ndarray, boxes: Sequence[Sequence[int]]) -> np.ndarray:
    """The PSNR (peak 1) of each patch, as the paper's reference code measures it.

    Parameters
    ----------
    pred, ref : numpy.ndarray
        ``H x W x 3`` images of the same shape.
    boxes : sequence of (y0, y1, x0, x1)
        Patches as half-open row and column ranges, e.g. the restore's patch grid.

    Returns
    -------
    numpy.ndarray
        float64 array with one PSNR in dB per box (``inf`` for an exact patch).

    Raises
    ------
    ValueError
        Bad shapes, or a box that is empty or reaches outside the image.
    """
    p, r = check_pair(pred, ref)
    checked = check_boxes(boxes, p.shape[:2])
    out = np.empty(len(checked), dtype=np.float64)
    for i, (y0, y1, x0, x1) in enumerate(checked):
        total, count = _squared_error_sum(p[y0:y1, x0:x1], r[y0:y1, x0:x1], None)
        out[i] = psnr_from_mse(total / count, 1.0)
    return out


def mean_patch_psnr(pred: np.ndarray, ref: np.ndarray, boxes: Sequence[Sequence[int]]) -> float:
    """The mean of the per-patch PSNRs of :func:`patch_psnrs`, in dB (the paper's number).

    Not comparable with the whole-image :func:`psnr`, which is usually lower.
    ``inf`` if any patch is exact. Raises ValueError when ``boxes`` is empty.
    """
    values = patch_psnrs(pred, ref, boxes)
    if values.size == 0:
        raise ValueError("no patch boxes given, so there is no per-patch PSNR to average")
    return float(values.mean())
