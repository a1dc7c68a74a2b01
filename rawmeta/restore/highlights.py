"""Clipped highlights: where the sRGB saturates, restore raw-RGB by interpolating nearby bright samples.

Where a channel of the sRGB reaches 255 the image no longer says how bright
the scene was, and a colour-to-RAW mapping fitted mostly on unclipped
pixels extrapolates badly there, so these few pixels carry much of the
fast preset's squared error (docs/CONSTANTS.md). For the pixels of
a patch whose brightest sRGB channel is at least ``near`` (240 of 255), this
module fits SAM's linear RBF (``rbf``) over (sRGB, xy) to the bright samples
(brightest channel at least ``bright``, 200 of 255) of the patch and its 8
neighbours and blends it in: fully from ``clipped`` (250 of 255, the
threshold ``metrics`` counts as clipped) up, linearly between ``near`` and
``clipped``.

Where the payload records the raw-RGB's peak (version 9), :func:`reach_peak`
then lifts the pixels the JPEG shows white to it, as the RAW's clipped
pixels are.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from rawmeta.metrics.clipping import CLIP_THRESHOLD, brightest, darkest
from rawmeta.restore import rbf
from rawmeta.restore.job import PatchJob
from rawmeta.restore.patches import grid_slices, normalised_xy

NEAR = 240 / 255
#: Where the interpolation replaces the networks' result fully: the level metrics counts as clipped.
CLIPPED = CLIP_THRESHOLD / 255
BRIGHT = 200 / 255
#: Fewest bright samples worth an interpolation; of more than MAX_CENTRES, those nearest the patch are used.
MIN_CENTRES = 8
MAX_CENTRES = 1024


def _points(srgb: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """RBF coordinates (N, 5): sRGB and xy normalised over the whole image, as the RBF baseline uses."""
    return np.concatenate([srgb[rows, cols], normalised_xy(rows, cols, *srgb.shape[:2])], axis=1).astype(np.float64)


def reach_peak(out: np.ndarray, srgb: np.ndarray, peak: float) -> None:
    """Lift, in place, ``out``'s pixels where the sRGB is white so that they reach ``peak``.

    Where the highest value of ``out`` stays below the peak, the pixels whose
    sRGB is at least ``CLIPPED`` in all three channels are scaled, all
    channels by one factor, so that their highest value is the peak
    (docs/FORMAT.md, "Restore hints"). A sparse grid of samples often misses
    the few pixels where a RAW clips, and the restore then stays darker there
    than the RAW; a raw developer that takes the white point from the data
    (LibRaw's ``adjust_maximum_thr``) would render such a restore brighter
    than the RAW.

    Parameters
    ----------
    out : ndarray, float32, (H, W, 3)
        The restored raw-RGB.
    srgb : ndarray, (H, W, 3)
        The sRGB it was restored from: uint8, or floats in [0, 1].
    peak : float
        The raw-RGB's highest value (``Payload.peak``).

    Examples
    --------
    >>> out = np.full((2, 2, 3), 0.25, np.float32)
    >>> out[0, 0] = (0.5, 0.375, 0.25)
    >>> srgb = np.zeros((2, 2, 3), np.uint8)
    >>> srgb[0] = 255  # the top row is white
    >>> reach_peak(out, srgb, 1.0)
    >>> out.tolist()
    [[[1.0, 0.75, 0.5], [0.5, 0.5, 0.5]], [[0.25, 0.25, 0.25], [0.25, 0.25, 0.25]]]
    """
    white = darkest(srgb) >= (CLIP_THRESHOLD if srgb.dtype == np.uint8 else CLIPPED)
    if not white.any() or float(out.max()) >= peak:
        return
    highest = float(out[white].max())
    if highest > 0:
        out[white] *= np.float32(peak / highest)


def refine(out: np.ndarray, job: PatchJob, where: np.ndarray | None = None) -> None:
    """Replace ``out``'s near-clipped pixels of ``job.patches`` (in place) by interpolated bright samples;
    with ``where`` (H x W, bool), only those of its pixels: a patch with none is not interpolated at all."""
    Interpolation(job).apply(out, where)


class Interpolation:
    """The highlight interpolation of a job's patches, each patch's RBF fitted when first needed and kept,
    so pixels asked for a few at a time cost each fit once."""

    def __init__(self, job: PatchJob):
        self.job = job
        self.sample_brightest = brightest(job.grid.sample(job.srgb))
        self._fits: dict[tuple[int, int], tuple[Any, Any, Any] | None] = {}

    def apply(self, out: np.ndarray, where: np.ndarray | None = None) -> None:
        """Replace ``out``'s near-clipped pixels (of ``where`` only, if given) in place; the patches are shared
        among the engine's threads (each writes only its own pixels)."""
        for _ in self.job.engine.map(lambda ij: self.apply_patch(out, ij, where), self.job.patches):
            pass

    def apply_patch(self, out: np.ndarray, ij: tuple[int, int], where: np.ndarray | None = None) -> None:
        """Replace ``out``'s near-clipped pixels of patch ``ij`` (of ``where``, H x W, only, if given) in place:
        it reads and writes only that patch's pixels, so it may follow the patch's prediction on the same
        thread, and it finds them there, not over the whole image first."""
        y0, y1, x0, x1 = self.job.layout.box(*ij)
        level = brightest(self.job.srgb[y0:y1, x0:x1])
        wanted = level >= NEAR if where is None else (level >= NEAR) & where[y0:y1, x0:x1]
        py, px = np.nonzero(wanted)
        if not len(py):
            return
        if ij not in self._fits:
            self._fits[ij] = self._fit(ij)
        if self._fits[ij] is None:
            return
        e = self.job.engine
        centres, weights, coeffs = self._fits[ij]
        alpha = np.clip((level[py, px] - NEAR) / (CLIPPED - NEAR), 0.0, 1.0)[:, None]
        py, px = py + y0, px + x0
        points = e.asarray(_points(self.job.srgb, py, px))
        interpolated = e.numpy(rbf.interpolant_at(e, centres, weights, coeffs, points))
        out[py, px] = np.clip(alpha * interpolated + (1 - alpha) * out[py, px], 0.0, 1.0)

    def _fit(self, ij: tuple[int, int]) -> tuple[Any, Any, Any] | None:
        """Centres, kernel weights and polynomial coefficients of patch ``ij``'s RBF; None with too few
        bright samples."""
        srgb, values, grid, layout = self.job.srgb, self.job.values, self.job.grid, self.job.layout
        y0, y1, x0, x1 = layout.box(*ij)
        rs, cs = grid_slices(grid, layout.neighbourhood(*ij))
        sy, sx = np.nonzero(self.sample_brightest[rs, cs] >= BRIGHT)
        if len(sy) < MIN_CENTRES:
            return None
        rows, cols = grid.rows()[rs][sy], grid.cols()[cs][sx]
        if len(sy) > MAX_CENTRES:  # keep those nearest the patch's centre
            far = np.abs(rows - (y0 + y1) / 2) / (y1 - y0) + np.abs(cols - (x0 + x1) / 2) / (x1 - x0)
            keep = np.sort(np.argsort(far, kind="stable")[:MAX_CENTRES])
            sy, sx, rows, cols = sy[keep], sx[keep], rows[keep], cols[keep]
        e = self.job.engine
        centres = e.asarray(_points(srgb, rows, cols))
        target = e.asarray(values[rs, cs][sy, sx], "float64")
        return (centres, *rbf.fit(e, centres, target))
