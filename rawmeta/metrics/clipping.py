"""Clipped highlights: the sRGB pixels where the JPEG saturates and the raw value is not recoverable."""
from __future__ import annotations

import numpy as np

from rawmeta.metrics.inputs import check_image

#: Default threshold of :func:`clipped_mask`.
CLIP_THRESHOLD = 250


def clipped_mask(srgb_uint8: np.ndarray, threshold: int = CLIP_THRESHOLD) -> np.ndarray:
    """Pixels that are saturated in the sRGB JPEG: ANY channel ``>= threshold``.

    Where the JPEG is clipped the raw value is not recoverable from it, so
    those pixels are better judged apart (see :func:`evaluate`).

    Why 250 and not 255: JPEG compression rings around highlight edges and
    its colour subsampling blurs them, so a pixel that was 255 in the render
    often decodes to 250..254, and ``>= 255`` in the decoded JPEG misses many
    of the pixels that were clipped. The price is flagging some highlights
    that are bright but were not clipped. How much each threshold finds, and
    flags wrongly, is in docs/CONSTANTS.md.

    Parameters
    ----------
    srgb_uint8 : numpy.ndarray
        The sRGB JPEG's pixels, ``H x W x 3`` uint8.
    threshold : int
        A pixel counts as clipped when any channel is at least this (1..255).

    Returns
    -------
    numpy.ndarray
        ``H x W`` boolean mask, True where clipped.
    """
    s = np.asarray(srgb_uint8)
    if s.dtype != np.uint8:
        raise ValueError(f"srgb_uint8 must be uint8, got dtype {s.dtype}")
    check_image(s, "srgb_uint8")
    if not 1 <= threshold <= 255:
        raise ValueError(f"threshold must be 1..255, got {threshold}")
    return brightest(s) >= threshold


def brightest(image: np.ndarray) -> np.ndarray:
    """Each pixel's largest channel, H x W, of an H x W x 3 image (its dtype kept).

    Two element-wise maxima over the channel planes: numpy's reduction over a last axis of 3 takes
    several times as long.
    """
    return np.maximum(np.maximum(image[..., 0], image[..., 1]), image[..., 2])


def darkest(image: np.ndarray) -> np.ndarray:
    """Each pixel's smallest channel, H x W, of an H x W x 3 image (its dtype kept), as :func:`brightest` takes
    the largest."""
    return np.minimum(np.minimum(image[..., 0], image[..., 1]), image[..., 2])
