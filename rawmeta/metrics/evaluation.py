"""All measures of a restore at once (:func:`evaluate`), and the seam mask along patch edges."""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rawmeta.metrics.clipping import CLIP_THRESHOLD, clipped_mask
from rawmeta.metrics.developed import DevelopedError
from rawmeta.metrics.inputs import check_boxes, check_image, check_pair, row_bands
from rawmeta.metrics.pixel_error import patch_psnrs, psnr
from rawmeta.metrics.structure import ssim


@dataclass(frozen=True)
class Evaluation:
    """The measures of one restored raw-RGB image against the true one.

    Attributes
    ----------
    height, width : int
        Image size in pixels.
    psnr : float
        Whole-image PSNR in dB (peak 1); ``inf`` when identical.
    ssim : float
        SSIM, mean of the three channels (see :func:`ssim`).
    max_abs_error : float
        Largest ``|pred - ref|`` over all pixels and channels.
    patch_psnr_mean : float or None
        Mean of the per-patch PSNRs in dB (the paper's number), when boxes were given.
    patch_count : int
        Number of patches averaged (0 when none were given).
    clipped_share : float or None
        Share (0..1) of pixels clipped in the sRGB JPEG, when it was given.
    clip_threshold : int or None
        The threshold used for ``clipped_share``.
    psnr_unclipped : float or None
        Whole-image PSNR over the pixels that are not clipped; None when no
        JPEG was given or every pixel is clipped.
    seam_psnr, interior_psnr : float or None
        PSNR over the pixels within :data:`SEAM_BAND` pixels of an edge between
        two patches, and over all other pixels, when boxes were given (and
        there is more than one patch): how much patch seams cost.
    developed : DevelopedError or None
        The error of the two images developed as a photographer sees them
        (:func:`rawmeta.metrics.developed_error`), when measured.
    """

    height: int
    width: int
    psnr: float
    ssim: float
    max_abs_error: float
    patch_psnr_mean: float | None = None
    patch_count: int = 0
    clipped_share: float | None = None
    clip_threshold: int | None = None
    psnr_unclipped: float | None = None
    seam_psnr: float | None = None
    interior_psnr: float | None = None
    developed: DevelopedError | None = None

    def as_dict(self) -> dict:
        """A JSON-ready dict; absent measures are None and an infinite PSNR is the string ``"inf"``."""

        def num(value: float | None, digits: int) -> float | str | None:
            if value is None:
                return None
            if math.isinf(value):
                return "inf" if value > 0 else "-inf"
            if math.isnan(value):
                return "nan"
            return round(float(value), digits)

        return {
            "width": self.width,
            "height": self.height,
            "psnr_db": num(self.psnr, 4),
            "ssim": num(self.ssim, 6),
            "max_abs_error": num(self.max_abs_error, 6),
            "patch_psnr_mean_db": num(self.patch_psnr_mean, 4),
            "patch_count": self.patch_count,
            "clipped_share": num(self.clipped_share, 6),
            "clip_threshold": self.clip_threshold,
            "psnr_unclipped_db": num(self.psnr_unclipped, 4),
            "seam_band_px": SEAM_BAND,
            "seam_psnr_db": num(self.seam_psnr, 4),
            "interior_psnr_db": num(self.interior_psnr, 4),
            "developed": None if self.developed is None else self.developed.as_dict(),
        }

    def format_text(self) -> str:
        """Aligned human-readable lines, one labelled measure per line."""

        def db(value: float, exact: str = "inf dB (identical)") -> str:
            return exact if math.isinf(value) and value > 0 else f"{value:.2f} dB"

        rows = [
            ("image compared", f"{self.width} x {self.height} pixels of raw-RGB, range 0-1"),
            ("PSNR (whole image)", db(self.psnr)),
            ("SSIM (whole image, mean of R, G, B)", f"{self.ssim:.4f}"),
        ]
        if self.patch_psnr_mean is not None:
            rows.append((f"PSNR (mean of {self.patch_count} per-patch values, as the paper reports)",
                         db(self.patch_psnr_mean, "inf dB (some patch is exact)")))
        if self.clipped_share is not None:
            rows.append(
                ("clipped sRGB pixels", f"{100 * self.clipped_share:.2f} % (any channel >= {self.clip_threshold})")
            )
            rows.append(
                (
                    "PSNR (whole image without clipped pixels)",
                    "n/a (every pixel is clipped)" if self.psnr_unclipped is None else db(self.psnr_unclipped),
                )
            )
        if self.seam_psnr is not None and self.interior_psnr is not None:
            rows.append((f"PSNR within {SEAM_BAND} px of patch edges / elsewhere",
                         f"{db(self.seam_psnr)} / {db(self.interior_psnr)}"))
        rows.append(("largest absolute error", f"{self.max_abs_error:.4f} (of the range 0-1)"))
        if self.developed is not None:
            rows.extend(self.developed.rows())
        width = max(len(label) for label, _ in rows)
        return "\n".join(f"{label.ljust(width)}  {value}" for label, value in rows)


def _max_abs_error(pred: np.ndarray, ref: np.ndarray) -> float:
    """Largest ``|pred - ref|`` over all values (NaN if any value is NaN)."""
    best = 0.0
    for r0, r1 in row_bands(pred.shape[0]):
        band = float(np.max(np.abs(pred[r0:r1].astype(np.float64) - ref[r0:r1])))
        if math.isnan(band):
            return math.nan
        best = max(best, band)
    return best


def evaluate(
    pred: np.ndarray,
    ref: np.ndarray,
    srgb: np.ndarray | None = None,
    boxes: Sequence[Sequence[int]] | None = None,
    clip_threshold: int = CLIP_THRESHOLD,
) -> Evaluation:
    """Measure a restored raw-RGB image against the true one.

    Parameters
    ----------
    pred, ref : numpy.ndarray
        Restored and true raw-RGB, ``H x W x 3``, range ``[0, 1]``.
    srgb : numpy.ndarray, optional
        The sRGB JPEG's pixels (``H x W x 3`` uint8) the restore started from;
        when given, the share of clipped pixels and the PSNR without them are
        measured (see :func:`clipped_mask`).
    boxes : sequence of (y0, y1, x0, x1), optional
        Patches; when given (and non-empty), the mean of per-patch PSNRs is measured.
    clip_threshold : int
        Threshold for :func:`clipped_mask` (default 250).

    Returns
    -------
    Evaluation

    Raises
    ------
    ValueError
        Bad or different shapes (including ``srgb``), bad boxes.

    Examples
    --------
    >>> ref = np.full((64, 64, 3), 0.25)
    >>> e = evaluate(ref + 0.01, ref, boxes=[(0, 64, 0, 32), (0, 64, 32, 64)])
    >>> round(e.psnr, 1), e.patch_count
    (40.0, 2)
    """
    p, r = check_pair(pred, ref)
    h, w = p.shape[:2]
    patch_mean = seam = interior = None
    patch_count = 0
    if boxes is not None and len(boxes) > 0:
        values = patch_psnrs(p, r, boxes)
        patch_mean, patch_count = float(values.mean()), int(values.size)
        near = seam_mask(boxes, (h, w))
        if near.any() and not near.all():
            seam, interior = psnr(p, r, mask=near), psnr(p, r, mask=~near)
    share = psnr_unclipped = threshold = None
    if srgb is not None:
        s = check_image(srgb, "srgb")
        if s.shape != p.shape:
            raise ValueError(f"srgb must have the shape of pred and ref, {p.shape}, got {s.shape}")
        clipped = clipped_mask(s, clip_threshold)
        threshold = clip_threshold
        n_clipped = int(np.count_nonzero(clipped))
        share = n_clipped / clipped.size
        if n_clipped < clipped.size:
            psnr_unclipped = psnr(p, r, mask=~clipped)
    return Evaluation(
        height=h,
        width=w,
        psnr=psnr(p, r),
        ssim=ssim(p, r),
        max_abs_error=_max_abs_error(p, r),
        patch_psnr_mean=patch_mean,
        patch_count=patch_count,
        clipped_share=share,
        clip_threshold=threshold,
        psnr_unclipped=psnr_unclipped,
        seam_psnr=seam,
        interior_psnr=interior,
    )


#: Width in pixels, on each side, of the band along patch edges that seam_mask marks.
SEAM_BAND = 4


def seam_mask(boxes: Sequence[Sequence[int]], shape: tuple[int, int], band: int = SEAM_BAND) -> np.ndarray:
    """Bool H x W mask of pixels within ``band`` pixels of an edge shared by two patches.

    Patch edges on the image border are not seams and are not marked.
    """
    h, w = shape
    mask = np.zeros((h, w), dtype=bool)
    for y0, y1, x0, x1 in check_boxes(boxes, shape):
        if y0 > 0:
            mask[y0 : y0 + band, x0:x1] = True
        if y1 < h:
            mask[max(y1 - band, y0) : y1, x0:x1] = True
        if x0 > 0:
            mask[y0:y1, x0 : x0 + band] = True
        if x1 < w:
            mask[y0:y1, max(x1 - band, x0) : x1] = True
    return mask
