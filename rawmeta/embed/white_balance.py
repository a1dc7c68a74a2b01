"""The as-shot white balance read off the JPEG, for a RAW that names none LibRaw can read.

The JPEG was rendered with the balance the camera (or a raw developer) chose:
where it shows a surface neutral, the raw-RGB there times that balance is
neutral too. So the balance is the ratio of the JPEG's linear light, taken
into camera space by the camera's colour matrix, to the raw-RGB, over the
JPEG's least coloured, well exposed pixels; the median of the ratios keeps
misaligned edges and the odd coloured pixel out.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from rawmeta.alignment.matching import warp
from rawmeta.colour import camera_from_srgb, srgb_to_linear
from rawmeta.format.alignment import Alignment
from rawmeta.format.camera import CameraFacts

#: JPEG codes kept: away from black (noise, quantisation) and from 255 (clipped channels).
JPEG_CODES = (24, 240)
#: raw-RGB kept: above the noise floor and below the sensor's clipping.
RAW_RANGE = (0.002, 0.9)
#: The least coloured share of the usable pixels the balance is read from.
NEUTRAL_SHARE = 0.2
#: Fewest usable pixels an estimate is made from.
MIN_PIXELS = 64
#: The estimate reads every SAMPLE_STEP-th row and column: a median over a quarter of the pixels is as good,
#: and the full image took most of an embed's time where the RAW names no balance.
SAMPLE_STEP = 2
#: Linear light of each 8-bit sRGB code.
_LINEAR_OF_CODE = srgb_to_linear(np.arange(256) / 255.0)


def estimate_white_balance(rgb: np.ndarray, srgb: np.ndarray,
                           xyz_to_camera: tuple[float, ...] | None) -> tuple[float, float, float] | None:
    """The multipliers R, G, B (G = 1) that balance ``rgb`` as the JPEG ``srgb`` shows it.

    Parameters
    ----------
    rgb : ndarray, shape (H, W, 3)
        raw-RGB in [0, 1] on the JPEG's pixel grid.
    srgb : ndarray of uint8, shape (H, W, 3)
        The JPEG's decoded pixels.
    xyz_to_camera : tuple of 9 float or None
        The camera's colour matrix (:attr:`CameraFacts.xyz_to_camera`).

    Returns
    -------
    tuple of 3 float or None
        ``None`` when too few pixels are exposed well enough in both to tell.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> balanced = rng.uniform(0.05, 0.8, (64, 64, 3)) ** 3
    >>> balanced[::2] = balanced[::2, :, 1:2]  # half the rows grey
    >>> srgb = np.rint(255 * np.where(balanced <= 0.0031308, 12.92 * balanced,
    ...                               1.055 * balanced ** (1 / 2.4) - 0.055)).astype(np.uint8)
    >>> wb = estimate_white_balance(balanced / np.array([2.0, 1.0, 1.5]), srgb, None)
    >>> [round(v, 2) for v in wb]
    [2.0, 1.0, 1.5]
    """
    if rgb.shape != srgb.shape:
        raise ValueError(f"raw-RGB {rgb.shape} and JPEG {srgb.shape} must be on one grid")
    codes = srgb[::SAMPLE_STEP, ::SAMPLE_STEP].reshape(-1, 3)
    raw = rgb[::SAMPLE_STEP, ::SAMPLE_STEP].reshape(-1, 3)
    usable = ((codes.min(axis=1) >= JPEG_CODES[0]) & (codes.max(axis=1) <= JPEG_CODES[1])
              & (raw.min(axis=1) > RAW_RANGE[0]) & (raw.max(axis=1) < RAW_RANGE[1]))
    if np.count_nonzero(usable) < MIN_PIXELS:
        return None
    linear, raw = _LINEAR_OF_CODE[codes[usable]], raw[usable].astype(np.float64)
    chroma = (linear.max(axis=1) - linear.min(axis=1)) / linear.mean(axis=1)
    neutral = chroma <= np.quantile(chroma, NEUTRAL_SHARE)
    balanced, raw = linear[neutral] @ camera_from_srgb(xyz_to_camera).T, raw[neutral]
    inside = np.all(balanced > 0, axis=1)  # a grey the matrix takes out of the camera's gamut says nothing
    if np.count_nonzero(inside) < MIN_PIXELS:
        return None
    ratios = np.log(balanced[inside]) - np.log(raw[inside])
    r, g, b = np.median(ratios - ratios[:, 1:2], axis=0)
    return float(np.exp(r)), 1.0, float(np.exp(b))


def camera_with_jpeg_balance(camera: CameraFacts, rgb: np.ndarray, srgb: np.ndarray,
                             alignment: Alignment) -> CameraFacts:
    """``camera`` with the balance estimated from the JPEG (source ``"jpeg"``) where the RAW named none
    (source daylight or unity) and an estimate can be made; else ``camera`` itself.

    ``rgb`` is the raw-RGB, ``srgb`` the JPEG's decoded pixels and ``alignment`` where the JPEG lies in
    the raw-RGB (:func:`rawmeta.alignment.matching.align`).
    """
    if camera.white_balance_source == "camera":
        return camera
    found = estimate_white_balance(warp(rgb, alignment, *srgb.shape[:2]), srgb, camera.xyz_to_camera)
    if found is None:
        return camera
    return dataclasses.replace(camera, white_balance=found, white_balance_source="jpeg")
