"""How close a restored raw-RGB image is to the true one: PSNR, SSIM, error maps.

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

Large images are handled in bands of rows so that the extra memory stays in
the tens of megabytes even for 24-megapixel images; sums are accumulated in
``float64``.
"""
from __future__ import annotations

import io
import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from rawmeta.io.userfiles import write_output
from rawmeta.resample import gaussian_taps

# --------------------------------------------------------------------------- shapes

#: Rows per band when a whole-image measure is summed band by band.
_BAND_ROWS = 256


def _check_image(image: np.ndarray, name: str) -> np.ndarray:
    """``image`` as an array, if it is a non-empty ``H x W x 3`` array of real numbers."""
    arr = np.asarray(image)
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise ValueError(f"{name} must be an H x W x 3 image, got shape {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape})")
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise ValueError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    return arr


def _check_pair(pred: np.ndarray, ref: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``pred`` and ``ref`` as arrays, if both are ``H x W x 3`` and of the same shape."""
    p = _check_image(pred, "pred")
    r = _check_image(ref, "ref")
    if p.shape != r.shape:
        raise ValueError(f"pred and ref must have the same shape, got {p.shape} and {r.shape}")
    return p, r


def _check_mask(mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """``mask`` as a boolean array, if it is ``H x W`` for an image of ``shape``."""
    m = np.asarray(mask)
    if m.dtype != np.bool_:
        raise ValueError(f"mask must be boolean, got dtype {m.dtype}")
    if m.shape != tuple(shape):
        raise ValueError(f"mask must be H x W = {shape[0]} x {shape[1]}, got shape {m.shape}")
    return m


def _row_bands(height: int, rows: int = _BAND_ROWS) -> Iterator[tuple[int, int]]:
    """``(r0, r1)`` row ranges of at most ``rows`` rows covering ``0 .. height``."""
    for r0 in range(0, height, rows):
        yield r0, min(r0 + rows, height)


# --------------------------------------------------------------------------- PSNR


def _squared_error_sum(pred: np.ndarray, ref: np.ndarray, mask: np.ndarray | None) -> tuple[float, int]:
    """Sum of squared differences (in float64) and the number of values summed."""
    total = 0.0
    count = 0
    for r0, r1 in _row_bands(pred.shape[0]):
        diff = pred[r0:r1].astype(np.float64) - ref[r0:r1]
        if mask is not None:
            diff = diff[mask[r0:r1]]
        diff = diff.ravel()
        total += float(diff @ diff)
        count += diff.size
    return total, count


def _psnr_from_mse(mse: float, peak: float) -> float:
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
    p, r = _check_pair(pred, ref)
    if not peak > 0:
        raise ValueError(f"peak must be positive, got {peak}")
    m = None if mask is None else _check_mask(mask, p.shape[:2])
    total, count = _squared_error_sum(p, r, m)
    if count == 0:
        raise ValueError("the mask selects no pixel, so there is nothing to measure")
    return _psnr_from_mse(total / count, peak)


def _check_boxes(boxes: Sequence[Sequence[int]], shape: tuple[int, int]) -> list[tuple[int, int, int, int]]:
    """``boxes`` as int tuples, if each is a non-empty ``(y0, y1, x0, x1)`` inside ``shape``."""
    h, w = shape
    checked = []
    for i, box in enumerate(boxes):
        if len(box) != 4:
            raise ValueError(f"box {i} must be (y0, y1, x0, x1), got {tuple(box)}")
        y0, y1, x0, x1 = (int(v) for v in box)
        if not (0 <= y0 < y1 <= h and 0 <= x0 < x1 <= w):
            raise ValueError(f"box {i} (y0, y1, x0, x1) = {(y0, y1, x0, x1)} is empty or outside the {h} x {w} image")
        checked.append((y0, y1, x0, x1))
    return checked


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
    p, r = _check_pair(pred, ref)
    checked = _check_boxes(boxes, p.shape[:2])
    out = np.empty(len(checked), dtype=np.float64)
    for i, (y0, y1, x0, x1) in enumerate(checked):
        total, count = _squared_error_sum(p[y0:y1, x0:x1], r[y0:y1, x0:x1], None)
        out[i] = _psnr_from_mse(total / count, 1.0)
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


# --------------------------------------------------------------------------- SSIM

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
    p, r = _check_pair(pred, ref)
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


# --------------------------------------------------------------------------- clipping


#: Default threshold of :func:`clipped_mask`.
CLIP_THRESHOLD = 250


def clipped_mask(srgb_uint8: np.ndarray, threshold: int = CLIP_THRESHOLD) -> np.ndarray:
    """Pixels that are saturated in the sRGB JPEG: ANY channel ``>= threshold``.

    Where the JPEG is clipped the raw value is not recoverable from it, so
    those pixels are better judged apart (see :func:`evaluate`).

    Why 250 and not 255: JPEG compression rings around highlight edges and
    its colour subsampling blurs them, so a pixel that was 255 in the render
    often decodes to 250..254. On LibRaw renders of the shared RAWs saved as
    Pillow q95 JPEGs, ``>= 255`` in the decoded JPEG finds only 51-74 % of the
    pixels that were 255 in the render, ``>= 254`` 63-80 % and ``>= 250``
    91-95 %. The price is flagging highlights that are bright but were not
    clipped (on one of the three test RAWs, most of the flagged pixels).

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
    _check_image(s, "srgb_uint8")
    if not 1 <= threshold <= 255:
        raise ValueError(f"threshold must be 1..255, got {threshold}")
    return np.any(s >= threshold, axis=2)


# --------------------------------------------------------------------------- error maps

#: Default full-scale error of the map: 5 % of the range. Restorations worth
#: looking at are around 35-45 dB, i.e. typical errors of 0.5-2 % of the range,
#: which then show as blue-to-green; anything at 5 % or more (a visible error
#: in the rendered image) is red.
ERROR_MAP_SCALE = 0.05

#: The colour scale, ``(position, (r, g, b))``: dark blue at zero error, through
#: blue, cyan, green and yellow to red at full scale. Hue falls steadily from
#: blue to red along it and lightness peaks in the middle, like 'turbo'.
_COLOUR_TABLE: tuple[tuple[float, tuple[int, int, int]], ...] = (
    (0.000, (30, 20, 110)),
    (0.125, (40, 80, 220)),
    (0.250, (30, 150, 250)),
    (0.375, (20, 210, 210)),
    (0.500, (60, 230, 110)),
    (0.625, (180, 235, 40)),
    (0.750, (250, 200, 30)),
    (0.875, (250, 120, 20)),
    (1.000, (210, 20, 20)),
)
#: The colour of zero error and of errors at or above full scale.
ZERO_COLOUR: tuple[int, int, int] = _COLOUR_TABLE[0][1]
FULL_COLOUR: tuple[int, int, int] = _COLOUR_TABLE[-1][1]
_LEGEND_BACKGROUND = (255, 255, 255)
_LEGEND_INK = (0, 0, 0)


def _colour_lut(levels: int = 256) -> np.ndarray:
    """``levels x 3`` uint8 table: the colour scale sampled evenly from 0 to full scale."""
    pos = np.array([p for p, _ in _COLOUR_TABLE])
    rgb = np.array([c for _, c in _COLOUR_TABLE], dtype=np.float64)
    t = np.linspace(0.0, 1.0, levels)
    return np.stack([np.rint(np.interp(t, pos, rgb[:, k])) for k in range(3)], axis=1).astype(np.uint8)


_LUT = _colour_lut()


def _check_scale(scale: float | None) -> float:
    """``scale`` or the default, if positive and finite."""
    s = ERROR_MAP_SCALE if scale is None else float(scale)
    if not (s > 0 and math.isfinite(s)):
        raise ValueError(f"scale must be a positive number, got {scale}")
    return s


def _band_error(pred: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Per-pixel error of a band: mean over the channels of ``|pred - ref|``, float64."""
    return np.abs(pred.astype(np.float64) - ref).mean(axis=2)


def mean_abs_error_map(pred: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Per-pixel error: mean over the three channels of ``|pred - ref|``, ``H x W`` float32."""
    p, r = _check_pair(pred, ref)
    out = np.empty(p.shape[:2], dtype=np.float32)
    for r0, r1 in _row_bands(p.shape[0]):
        out[r0:r1] = _band_error(p[r0:r1], r[r0:r1])
    return out


def _colourise(err: np.ndarray, scale: float) -> np.ndarray:
    """Errors to colours (one more axis of 3): 0 -> ZERO_COLOUR, >= scale (or NaN) -> FULL_COLOUR."""
    last = len(_LUT) - 1
    t = np.nan_to_num(err * (last / scale), nan=last, posinf=last)
    return _LUT[np.rint(np.clip(t, 0, last)).astype(np.uint8)]


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    """Pillow's default font at ``size`` pixels (the fixed bitmap font on old Pillow)."""
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, AttributeError, OSError, ImportError):
        return ImageFont.load_default()


def _percent(value: float) -> str:
    """``0.0125`` -> ``'1.25 %'``."""
    return f"{value * 100:.3g} %"


def _legend(width: int, scale: float) -> np.ndarray:
    """The colour bar strip: bar from 0 to ``scale``, tick labels and a caption, ``h x width x 3``."""
    fs = max(10, min(48, width // 80))  # text height in pixels
    margin = max(4, fs // 2)
    bar_h = fs
    height = margin + bar_h + fs // 3 + 2 * (fs + fs // 4) + margin
    img = Image.new("RGB", (width, height), _LEGEND_BACKGROUND)
    draw = ImageDraw.Draw(img)
    font = _font(fs)
    x0, x1 = margin, width - margin  # bar columns [x0, x1)
    bar_w = x1 - x0
    cols = np.rint(np.linspace(0, len(_LUT) - 1, bar_w)).astype(np.intp)
    bar = np.broadcast_to(_LUT[cols][None], (bar_h, bar_w, 3))
    img.paste(Image.fromarray(np.ascontiguousarray(bar)), (x0, margin))
    tick_top = margin + bar_h
    text_top = tick_top + fs // 3
    for k, frac in enumerate((0.0, 0.25, 0.5, 0.75, 1.0)):
        x = x0 + round(frac * (bar_w - 1))
        draw.line([(x, tick_top), (x, tick_top + max(2, fs // 4))], fill=_LEGEND_INK, width=1)
        label = _percent(frac * scale) if k < 4 else ">= " + _percent(scale)
        tw = draw.textlength(label, font=font)
        tx = min(max(x - tw / 2, 0), width - tw)
        draw.text((tx, text_top), label, fill=_LEGEND_INK, font=font)
    caption_top = text_top + fs + fs // 4
    for caption in (
        "error per pixel: mean |restored - true| over R, G, B, as % of the full range",
        "mean |error| over R, G, B, % of range",
        "mean |error|, % of range",
    ):
        if draw.textlength(caption, font=font) <= width - 2 * margin:
            break
    draw.text((margin, caption_top), caption, fill=_LEGEND_INK, font=font)
    return np.asarray(img)


#: Narrower maps are widened (on the right) so the colour bar's labels fit.
_LEGEND_MIN_WIDTH = 240


def error_map_image(pred: np.ndarray, ref: np.ndarray, scale: float | None = None, legend: bool = True) -> np.ndarray:
    """The per-pixel error as a colour image, with a labelled colour bar underneath.

    Each pixel's error is the mean over R, G, B of ``|pred - ref|``. It is
    coloured on a scale from dark blue (no error) through blue, cyan, green and
    yellow to red (error at or above ``scale``), like the error maps of the
    paper's Fig. 6. NaN errors show as red.

    Parameters
    ----------
    pred, ref : numpy.ndarray
        ``H x W x 3`` images of the same shape, range ``[0, 1]``.
    scale : float, optional
        The error shown as full red; default :data:`ERROR_MAP_SCALE` (0.05,
        i.e. 5 % of the range).
    legend : bool
        Append the colour bar strip (default). Without it the result is exactly
        ``H x W x 3``.

    Returns
    -------
    numpy.ndarray
        uint8 RGB image. Its top-left ``H x W`` pixels are the map; below them
        is a white strip with the colour bar, tick labels (in % of the range)
        and a caption, so the result is ``(H + strip) x max(W, 240) x 3``
        (images narrower than 240 pixels get a white margin on the right so the
        labels fit). The strip is appended rather than drawn over the map so
        that no error pixel is hidden.

    Raises
    ------
    ValueError
        Bad or different shapes, or a non-positive ``scale``.
    """
    p, r = _check_pair(pred, ref)
    s = _check_scale(scale)
    h, w = p.shape[:2]
    strip = _legend(max(w, _LEGEND_MIN_WIDTH), s) if legend else np.empty((0, w, 3), np.uint8)
    out = np.empty((h + strip.shape[0], strip.shape[1], 3), dtype=np.uint8)
    for r0, r1 in _row_bands(h):
        out[r0:r1, :w] = _colourise(_band_error(p[r0:r1], r[r0:r1]), s)
    out[:h, w:] = _LEGEND_BACKGROUND
    out[h:] = strip
    return out


def save_error_map(path: str | os.PathLike, pred: np.ndarray, ref: np.ndarray, scale: float | None = None) -> None:
    """Write :func:`error_map_image` (with its colour bar) as a PNG, atomically.

    Raises
    ------
    ValueError
        As :func:`error_map_image`.
    rawmeta.errors.OutputError
        The file cannot be written.
    """
    image = error_map_image(pred, ref, scale)
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, "PNG")
    write_output(Path(path), buf.getvalue())


# --------------------------------------------------------------------------- all together


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
            rows.append(
                (f"PSNR (mean of {self.patch_count} per-patch values, as the paper reports)", db(self.patch_psnr_mean, "inf dB (some patch is exact)"))
            )
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
        width = max(len(label) for label, _ in rows)
        return "\n".join(f"{label.ljust(width)}  {value}" for label, value in rows)


def _max_abs_error(pred: np.ndarray, ref: np.ndarray) -> float:
    """Largest ``|pred - ref|`` over all values (NaN if any value is NaN)."""
    best = 0.0
    for r0, r1 in _row_bands(pred.shape[0]):
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
    """
    p, r = _check_pair(pred, ref)
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
        s = _check_image(srgb, "srgb")
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
    for y0, y1, x0, x1 in _check_boxes(boxes, shape):
        if y0 > 0:
            mask[y0 : y0 + band, x0:x1] = True
        if y1 < h:
            mask[max(y1 - band, y0) : y1, x0:x1] = True
        if x0 > 0:
            mask[y0:y1, x0 : x0 + band] = True
        if x1 < w:
            mask[y0:y1, max(x1 - band, x0) : x1] = True
    return mask
