"""Error maps: per-pixel error as a colour image with a labelled colour bar (the paper's Fig. 6)."""
from __future__ import annotations

import io
import math
import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from rawmeta.io.userfiles import write_output
from rawmeta.metrics.inputs import check_pair, row_bands

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
    p, r = check_pair(pred, ref)
    s = _check_scale(scale)
    h, w = p.shape[:2]
    strip = _legend(max(w, _LEGEND_MIN_WIDTH), s) if legend else np.empty((0, w, 3), np.uint8)
    out = np.empty((h + strip.shape[0], strip.shape[1], 3), dtype=np.uint8)
    for r0, r1 in row_bands(h):
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
