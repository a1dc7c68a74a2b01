"""How close a restored raw-RGB image is to the true one: PSNR, SSIM, clipping, error maps.

Every function compares two images of the same shape, ``H x W x 3``, holding
linear camera RGB ("raw-RGB") scaled to the range ``[0, 1]`` (``float32`` in
rawmeta; any real dtype is accepted). The measures follow "Metadata-Based RAW
Reconstruction via Implicit Neural Functions" (CVPR 2023), with one
difference in what comes first:

* :func:`psnr` is the **whole-image** PSNR, over every pixel and channel at
  once. This is the number rawmeta reports first.
* :func:`patch_psnrs` / :func:`mean_patch_psnr` give the **mean of per-patch
  PSNRs**, which is what the paper's reference code reports. The mean of
  per-patch PSNRs is higher than the whole-image PSNR whenever the error is
  uneven across patches (PSNR is a log of the error, so averaging it rewards
  easy patches), so the two must never be compared with each other.
* :func:`ssim` is the standard SSIM of Wang et al. (2004), computed to match
  scikit-image's ``structural_similarity(..., gaussian_weights=True,
  sigma=1.5, use_sample_covariance=False, data_range=1, channel_axis=2)``.
* :func:`clipped_mask` finds the pixels that are saturated in the sRGB JPEG,
  where no method can know the raw value well, so that PSNR can also be told
  without them.
* :func:`error_map_image` / :func:`save_error_map` draw the per-pixel error
  as a colour map with a labelled colour bar, like the paper's Fig. 6.
* :func:`evaluate` gathers all of these in an :class:`Evaluation`.
* :func:`developed_error` measures what a photographer sees instead: the
  CIEDE2000 between the two images developed the same way (camera white
  balance and colour matrix, sRGB, the JPEG's brightness), as shot, with the
  shadows lifted 1.5 EV and with the highlights recovered 1 EV, at 100 % and
  at screen size (:class:`DevelopedError`); :func:`restore_developed_error`
  develops a restore with the camera facts its restored DNG carries.

Large images are handled in bands of rows so that the extra memory stays in
the tens of megabytes even for 24-megapixel images; sums are accumulated in
``float64``.

May import: ``rawmeta.io`` (to write an error map), ``rawmeta.resample``,
``rawmeta.colour`` and ``rawmeta.errors``.
"""
from rawmeta.metrics.clipping import CLIP_THRESHOLD, clipped_mask
from rawmeta.metrics.developed import (
    ColourDifference,
    DevelopedError,
    DevelopOptions,
    RenderError,
    developed_error,
    restore_developed_error,
)
from rawmeta.metrics.error_map import ERROR_MAP_SCALE, error_map_image, save_error_map
from rawmeta.metrics.evaluation import SEAM_BAND, Evaluation, evaluate, seam_mask
from rawmeta.metrics.pixel_error import mean_patch_psnr, patch_psnrs, psnr, psnr_from_mse
from rawmeta.metrics.structure import ssim

__all__ = [
    "CLIP_THRESHOLD", "ERROR_MAP_SCALE", "SEAM_BAND", "ColourDifference", "DevelopOptions", "DevelopedError",
    "Evaluation", "RenderError", "clipped_mask", "developed_error", "error_map_image", "evaluate",
    "mean_patch_psnr", "patch_psnrs", "psnr", "psnr_from_mse", "restore_developed_error", "save_error_map",
    "seam_mask", "ssim",
]
