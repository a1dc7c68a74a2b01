"""The developed-image error: CIEDE2000 between the restore and the true RAW, both rendered as a photographer sees them.

A photographer never looks at linear raw-RGB but at a developed image, where the tone curve lifts the
shadows and compresses or clips the highlights. :func:`developed_error` renders the restored and the true
raw-RGB the same way and measures the colour difference a viewer would see, in three renders:

* **as shot**: camera white balance (``white_balance``, R, G, B with G = 1), then the camera's colour
  matrix to linear sRGB (:func:`rawmeta.colour.srgb_from_camera`: ``xyz_to_camera`` inverted and normalised
  so that the balanced camera white maps to D65 white, as DNG readers render; the identity without a
  matrix), then one exposure gain ``g`` for the whole image (below), clipping to [0, 1] and the sRGB curve.
* **shadows +1.5 EV**: before clipping, each pixel of luminance ``Y`` (linear sRGB, negative ``Y`` taken
  as 0) is multiplied by ``1 + (2^1.5 - 1) (1 - Y / 0.18)^2`` for ``Y < 0.18`` and by 1 above: the full
  +1.5 EV in the deepest shadows, falling smoothly (zero slope) to no change at mid-grey. With
  ``t = Y / 0.18`` the output luminance's slope is ``1 + k (1 - t)(1 - 3 t) >= 1 - k / 3 > 0`` for
  ``k = 2^1.5 - 1``, so the edit is monotone.
* **highlights -1 EV**: before clipping, each pixel is multiplied by ``2^(-w)``, where ``w = 3 s^2 - 2 s^3``
  (smoothstep) of ``s = (Y - 0.18) / (1 - 0.18)`` clipped to [0, 1]: no change up to mid-grey, the full
  -1 EV from ``Y = 1`` up, so highlights the as-shot render clips come back into range. The output
  luminance's slope ``2^(-w) (1 - Y ln 2 w'(Y))`` stays above 0 (``Y ln 2 w'`` peaks near 0.8).

The exposure gain ``g`` is the same for both images and is computed from the true RAW only. With the
JPEG, the true render's median luminance is matched to the JPEG's (the median of the JPEG's linear sRGB
luminance over the median of the true render's luminance before gain), so the renders are seen at the
JPEG's brightness. Without a JPEG, ``g`` maps the true render's 99th-percentile luminance to 1 (the
brightest 1 % clip), as LibRaw's default automatic brightness does. Both statistics are taken on every
:data:`GAIN_STEP`-th pixel of every :data:`GAIN_STEP`-th row.

For each render the CIEDE2000 (:func:`skimage.color.deltaE_ciede2000` of :func:`skimage.color.rgb2lab`, D65)
is summarised by its mean, 95th percentile and the share of pixels over 2 (a difference most viewers see
side by side), at 100 % and at screen size: both renders' clipped linear light averaged by a box filter
(:func:`rawmeta.resample.area_weights`) down to a long side of ``screen_long_side`` pixels and then
encoded; an image no larger stays at 100 %. The render PSNR is the PSNR of the two sRGB-encoded float
renders at 100 % (peak 1).

The renders are worked in bands of :data:`BAND_ROWS` rows in float32; the extra memory is the per-pixel
CIEDE2000 kept as float16 for the percentile (2 bytes a pixel), the two screen-size renders (float32, 67 MB
at 2048 x 1365) and a band's intermediates (docs/RESTORE.md has a measured peak).
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from rawmeta.colour import SRGB_LUMINANCE, linear_to_srgb, srgb_from_camera, srgb_to_linear
from rawmeta.metrics.inputs import check_image, check_pair, row_bands
from rawmeta.metrics.pixel_error import psnr_from_mse
from rawmeta.resample import area_weights

#: Linear luminance of mid-grey, where the shadow lift ends and the highlight recovery begins.
MID_GREY = 0.18
#: The exposure statistics are taken on every GAIN_STEP-th pixel of every GAIN_STEP-th row.
GAIN_STEP = 4
#: Without a JPEG, the true render's luminance at this percentile maps to 1.
DEFAULT_WHITE_PERCENTILE = 99.0
#: A CIEDE2000 above this is counted as a visible difference.
VISIBLE_DELTA_E = 2.0
#: The largest shadow lift, in EV, that keeps the edit monotone (its slope ``1 - (2^ev - 1) / 3`` at least 0).
MAX_SHADOW_EV = 2.0
#: The largest highlight recovery, in EV, that keeps the edit monotone (``Y ln 2 ev w'(Y)`` under 1).
MAX_HIGHLIGHT_EV = 1.2
#: Rows per band: CIEDE2000's intermediates take some 11 times a band's size, so bands are narrower
#: than the other measures' (:data:`~rawmeta.metrics.inputs.BAND_ROWS`).
BAND_ROWS = 64


def render_names(shadow_ev: float, highlight_ev: float) -> tuple[str, str, str]:
    """The three renders' names, in the order they are reported.

    Examples
    --------
    >>> render_names(1.5, 1.0)
    ('as shot', 'shadows +1.5 EV', 'highlights -1 EV')
    """
    return "as shot", f"shadows +{shadow_ev:g} EV", f"highlights -{highlight_ev:g} EV"


@dataclass(frozen=True)
class DevelopOptions:
    """How the developed-image error renders and reduces.

    Attributes
    ----------
    shadow_ev : float
        The shadow lift in the deepest shadows, in EV, 0 to :data:`MAX_SHADOW_EV`.
    highlight_ev : float
        The highlight recovery from ``Y = 1`` up, in EV (a darkening), 0 to :data:`MAX_HIGHLIGHT_EV`.
    screen_long_side : int
        The long side, in pixels, of the screen-size renders.
    """

    shadow_ev: float = 1.5
    highlight_ev: float = 1.0
    screen_long_side: int = 2048

    def __post_init__(self) -> None:
        if not (0 <= self.shadow_ev <= MAX_SHADOW_EV and 0 <= self.highlight_ev <= MAX_HIGHLIGHT_EV):
            raise ValueError(f"the shadow lift must be 0 to {MAX_SHADOW_EV} EV and the highlight recovery 0 to "
                             f"{MAX_HIGHLIGHT_EV} EV (beyond, the edit is no longer monotone), got "
                             f"{self.shadow_ev} and {self.highlight_ev}")
        if self.screen_long_side < 1:
            raise ValueError(f"the screen size's long side must be at least 1 pixel, got {self.screen_long_side}")


#: The three renders' names with the default edits.
RENDERS = render_names(DevelopOptions.shadow_ev, DevelopOptions.highlight_ev)


@dataclass(frozen=True)
class ColourDifference:
    """The CIEDE2000 of one render at one size: ``mean``, ``p95`` (95th percentile) and ``share_over_2``
    (share, 0..1, of pixels over :data:`VISIBLE_DELTA_E`)."""

    mean: float
    p95: float
    share_over_2: float


@dataclass(frozen=True)
class RenderError:
    """One render's error: CIEDE2000 at 100 % (``full``) and at screen size (``screen``, the same as
    ``full`` for an image no larger than the screen), and the sRGB render PSNR in dB at 100 %."""

    name: str
    full: ColourDifference
    screen: ColourDifference
    psnr: float


@dataclass(frozen=True)
class DevelopedError:
    """The developed-image error of a restore (:func:`developed_error`).

    Attributes
    ----------
    renders : tuple of RenderError
        As shot, shadows lifted, highlights recovered (:func:`render_names`).
    gain : float
        The exposure gain both renders got.
    brightness : str
        ``"jpeg"`` (the JPEG's median luminance) or ``"default"`` (99th percentile to 1).
    screen_size : tuple of int
        ``(height, width)`` of the screen-size renders.
    """

    renders: tuple[RenderError, ...]
    gain: float
    brightness: str
    screen_size: tuple[int, int]

    def as_dict(self) -> dict:
        """A JSON-ready dict; an infinite PSNR is the string ``"inf"``."""

        def diff(d: ColourDifference) -> dict:
            return {"mean": round(d.mean, 4), "p95": round(d.p95, 4), "share_over_2": round(d.share_over_2, 6)}

        return {
            "gain": round(self.gain, 6),
            "brightness": self.brightness,
            "screen_size": list(self.screen_size),
            "renders": {r.name: {"delta_e_2000": diff(r.full), "delta_e_2000_screen": diff(r.screen),
                                 "psnr_db": "inf" if math.isinf(r.psnr) else round(r.psnr, 4)}
                        for r in self.renders},
        }

    def rows(self) -> list[tuple[str, str]]:
        """Labelled lines for :meth:`Evaluation.format_text`-style output."""

        def text(d: ColourDifference) -> str:
            return f"{d.mean:.2f} / {d.p95:.2f} / {100 * d.share_over_2:.2f} %"

        h, w = self.screen_size
        where = "the JPEG's median" if self.brightness == "jpeg" else "99th percentile at white"
        rows = [("developed render (camera WB and matrix, sRGB)", f"gain {self.gain:.3f} ({where})")]
        for r in self.renders:
            rows.append((f"dE2000 {r.name}: mean / p95 / > 2, at 100 %", text(r.full)))
            rows.append((f"dE2000 {r.name}: mean / p95 / > 2, at {w} x {h}", text(r.screen)))
            psnr = "inf dB (identical)" if math.isinf(r.psnr) else f"{r.psnr:.2f} dB"
            rows.append((f"render PSNR {r.name} (sRGB)", psnr))
        return rows


def shadow_lift(y: np.ndarray, ev: float) -> np.ndarray:
    """The shadow lift's factor for linear luminance ``y``: ``1 + (2^ev - 1) (1 - y / 0.18)^2`` below mid-grey.

    Examples
    --------
    >>> import numpy as np
    >>> shadow_lift(np.array([0.0, 0.09, 0.18, 0.5]), 1.5).round(3).tolist()
    [2.828, 1.457, 1.0, 1.0]
    """
    t = np.clip(y / MID_GREY, 0, 1)
    return 1 + (2.0 ** ev - 1) * (1 - t) ** 2


def highlight_recovery(y: np.ndarray, ev: float) -> np.ndarray:
    """The highlight recovery's factor for linear luminance ``y``: ``2^(-ev w)``, ``w`` the smoothstep
    from mid-grey (0) to ``y = 1`` (1).

    Examples
    --------
    >>> import numpy as np
    >>> highlight_recovery(np.array([0.1, 0.59, 1.0, 4.0]), 1.0).round(3).tolist()
    [1.0, 0.707, 0.5, 0.5]
    """
    s = np.clip((y - MID_GREY) / (1 - MID_GREY), 0, 1)
    return 2.0 ** (-ev * (3 * s ** 2 - 2 * s ** 3))


def _edits(options: DevelopOptions) -> tuple[Callable[[np.ndarray], np.ndarray] | None, ...]:
    """The factor each render of :func:`render_names` multiplies a pixel of luminance ``y`` by (None: none)."""
    return (None, lambda y: shadow_lift(y, options.shadow_ev), lambda y: highlight_recovery(y, options.highlight_ev))


def camera_to_srgb(white_balance: tuple[float, float, float], xyz_to_camera: tuple[float, ...] | None) -> np.ndarray:
    """The 3 x 3 matrix (float32) taking raw-RGB to linear sRGB: the balance, then the camera's matrix.

    Examples
    --------
    >>> camera_to_srgb((2.0, 1.0, 1.5), None).diagonal().tolist()
    [2.0, 1.0, 1.5]
    """
    return (srgb_from_camera(xyz_to_camera) @ np.diag(np.asarray(white_balance, np.float64))).astype(np.float32)


def _luminance(band: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Linear sRGB luminance (0 for negative) of raw-RGB ``band`` through ``matrix``."""
    return np.maximum(np.asarray(band, np.float32) @ (SRGB_LUMINANCE.astype(np.float32) @ matrix), 0)


def exposure_gain(ref: np.ndarray, matrix: np.ndarray, jpeg: np.ndarray | None = None) -> tuple[float, str]:
    """The exposure gain both renders get, and where it came from (``"jpeg"`` or ``"default"``).

    With ``jpeg`` (uint8 sRGB, any size), the gain that gives the true render the JPEG's median luminance;
    else the one that takes its 99th-percentile luminance to 1; the default also where a median is 0.

    Examples
    --------
    >>> import numpy as np
    >>> ref = np.full((10, 30, 3), 0.25, np.float32)
    >>> gain, source = exposure_gain(ref, np.eye(3, dtype=np.float32))
    >>> round(gain, 3), source
    (4.0, 'default')
    >>> gain, source = exposure_gain(ref, np.eye(3, dtype=np.float32), np.full((5, 5, 3), 128, np.uint8))
    >>> round(gain, 3), source
    (0.863, 'jpeg')
    """
    y = _luminance(ref[::GAIN_STEP, ::GAIN_STEP], matrix)
    if jpeg is not None:
        codes = np.asarray(jpeg)[::GAIN_STEP, ::GAIN_STEP]
        target = float(np.median(srgb_to_linear(codes / 255.0) @ SRGB_LUMINANCE))
        median = float(np.median(y))
        if target > 0 and median > 0:
            return target / median, "jpeg"
    white = float(np.percentile(y, DEFAULT_WHITE_PERCENTILE))
    return (1.0 / white if white > 0 else 1.0), "default"


def render_linear(band: np.ndarray, matrix: np.ndarray, gain: float,
                  edit: Callable[[np.ndarray], np.ndarray] | None) -> np.ndarray:
    """Raw-RGB ``band`` rendered to linear sRGB with ``gain`` and ``edit``, clipped to [0, 1], float32.

    Examples
    --------
    >>> import numpy as np
    >>> render_linear(np.full((1, 1, 3), 0.3, np.float32), np.eye(3, dtype=np.float32), 4.0, None).tolist()
    [[[1.0, 1.0, 1.0]]]
    """
    linear = (np.asarray(band, np.float32) @ matrix.T) * np.float32(gain)
    if edit is not None:
        linear *= edit(np.maximum(linear @ SRGB_LUMINANCE.astype(np.float32), 0))[..., None].astype(np.float32)
    return np.clip(linear, 0, 1, out=linear)


def _delta_e(pred_srgb: np.ndarray, ref_srgb: np.ndarray) -> np.ndarray:
    """Per-pixel CIEDE2000 of two sRGB-encoded images (float32)."""
    from skimage.color import deltaE_ciede2000, rgb2lab  # here, so that importing metrics stays light

    return deltaE_ciede2000(rgb2lab(ref_srgb), rgb2lab(pred_srgb))


class _Tally:
    """Per-pixel CIEDE2000 of an image, band by band: the mean and the share over 2 summed exactly from the
    bands' float32 values, the values kept as float16 (2 bytes a pixel, 3 digits) for the 95th percentile."""

    def __init__(self, height: int, width: int) -> None:
        self.values = np.empty((height, width), np.float16)
        self.total = 0.0
        self.over = 0

    def add(self, r0: int, r1: int, delta_e: np.ndarray) -> None:
        self.values[r0:r1] = delta_e
        self.total += float(delta_e.sum(dtype=np.float64))
        self.over += int(np.count_nonzero(delta_e > VISIBLE_DELTA_E))

    def summary(self) -> ColourDifference:
        n = self.values.size
        return ColourDifference(mean=self.total / n, p95=float(np.percentile(self.values, 95)),
                                share_over_2=self.over / n)


def _screen_error(pred_linear: np.ndarray, ref_linear: np.ndarray) -> ColourDifference:
    """The CIEDE2000 of two screen-size linear renders, encoded and compared band by band: the colour
    difference's intermediates on a whole image would take many times its size."""
    tally = _Tally(*pred_linear.shape[:2])
    for r0, r1 in row_bands(pred_linear.shape[0], BAND_ROWS):
        tally.add(r0, r1, _delta_e(linear_to_srgb(pred_linear[r0:r1]), linear_to_srgb(ref_linear[r0:r1])))
    return tally.summary()


def _reduce_band(screens: list[np.ndarray], bands: tuple[np.ndarray, ...], reduce_rows, reduce_cols,
                 r0: int, r1: int) -> None:
    """Add rows ``r0 .. r1`` of each image's render (``bands``) into its screen-size render."""
    j0, j1 = r0 * screens[0].shape[0] // reduce_rows.shape[1], -(-r1 * screens[0].shape[0] // reduce_rows.shape[1])
    rows = reduce_rows[j0:j1, r0:r1]  # only the screen rows these image rows fall in
    for screen, band in zip(screens, bands):
        for c in range(3):
            screen[j0:j1, :, c] += rows @ (reduce_cols @ band[..., c].T).T


def screen_size(height: int, width: int, long_side: int) -> tuple[int, int]:
    """``(height, width)`` reduced so the long side is ``long_side``; an image no larger keeps its size.

    Examples
    --------
    >>> screen_size(4000, 6000, 2048), screen_size(1000, 1500, 2048)
    ((1365, 2048), (1000, 1500))
    """
    scale = long_side / max(height, width)
    if scale >= 1:
        return height, width
    return max(1, round(height * scale)), max(1, round(width * scale))


def developed_error(pred: np.ndarray, ref: np.ndarray, white_balance: tuple[float, float, float],
                    xyz_to_camera: tuple[float, ...] | None, jpeg: np.ndarray | None = None,
                    options: DevelopOptions = DevelopOptions()) -> DevelopedError:
    """The CIEDE2000 and render PSNR of the restored raw-RGB ``pred`` against the true ``ref``, developed.

    Parameters
    ----------
    pred, ref : numpy.ndarray
        Restored and true raw-RGB, ``H x W x 3``, range ``[0, 1]``, not white balanced.
    white_balance : tuple of 3 float
        The camera's multipliers R, G, B (G = 1), as :class:`rawmeta.CameraFacts` holds them.
    xyz_to_camera : tuple of 9 float or None
        The camera's colour matrix (XYZ to camera RGB); None renders the balanced raw-RGB as sRGB.
    jpeg : numpy.ndarray, optional
        The JPEG's pixels (uint8 sRGB, any size), whose median luminance sets the brightness.
    options : DevelopOptions
        The edits' amounts and the screen size.

    Returns
    -------
    DevelopedError

    Raises
    ------
    ValueError
        Bad or different shapes.

    Examples
    --------
    >>> import numpy as np
    >>> ref = np.random.default_rng(0).uniform(0, 0.5, (32, 48, 3)).astype(np.float32)
    >>> result = developed_error(1.01 * ref, ref, (2.0, 1.0, 1.5), None)
    >>> [r.name for r in result.renders]
    ['as shot', 'shadows +1.5 EV', 'highlights -1 EV']
    >>> 0 < result.renders[0].full.mean < 1, result.screen_size
    (True, (32, 48))
    >>> developed_error(ref, ref, (2.0, 1.0, 1.5), None).renders[1].full.p95
    0.0
    """
    p, r = check_pair(pred, ref)
    if jpeg is not None:
        check_image(jpeg, "jpeg")
    h, w = p.shape[:2]
    matrix = camera_to_srgb(white_balance, xyz_to_camera)
    gain, brightness = exposure_gain(r, matrix, jpeg)
    small = screen_size(h, w, options.screen_long_side)
    reduce_rows, reduce_cols = (area_weights(h, small[0]), area_weights(w, small[1])) if small != (h, w) else (None, None)
    screens = [np.empty((*small, 3), np.float32) for _ in range(2)] if reduce_rows is not None else None
    renders = []
    for name, edit in zip(render_names(options.shadow_ev, options.highlight_ev), _edits(options)):
        tally = _Tally(h, w)
        squared = 0.0
        for screen in screens or ():
            screen.fill(0)
        for r0, r1 in row_bands(h, BAND_ROWS):
            lin_p, lin_r = (render_linear(image[r0:r1], matrix, gain, edit) for image in (p, r))
            enc_p, enc_r = linear_to_srgb(lin_p), linear_to_srgb(lin_r)
            tally.add(r0, r1, _delta_e(enc_p, enc_r))
            diff = (enc_p - enc_r).ravel().astype(np.float64)
            squared += float(diff @ diff)
            if screens is not None:
                _reduce_band(screens, (lin_p, lin_r), reduce_rows, reduce_cols, r0, r1)
        full = tally.summary()
        del tally
        screen = full if screens is None else _screen_error(*screens)
        renders.append(RenderError(name=name, full=full, screen=screen,
                                   psnr=psnr_from_mse(squared / (h * w * 3), 1.0)))
    return DevelopedError(renders=tuple(renders), gain=gain, brightness=brightness, screen_size=small)


class CameraColour(Protocol):
    """What :func:`restore_developed_error` reads of a camera's facts (:class:`rawmeta.CameraFacts` has both)."""

    white_balance: tuple[float, float, float]
    xyz_to_camera: tuple[float, ...] | None


def restore_developed_error(pred: np.ndarray, ref: np.ndarray, raw_camera: CameraColour,
                            carried: CameraColour | None = None, jpeg: np.ndarray | None = None,
                            options: DevelopOptions = DevelopOptions()) -> DevelopedError:
    """:func:`developed_error` of a restore, developed with the camera facts its restored DNG is developed with.

    The white balance is the one the rawmeta data carries (``carried``, the payload's camera facts: the
    restored DNG's as-shot neutral, which may have been estimated from the JPEG), else the true RAW's; the
    colour matrix is always the true RAW's (``raw_camera``). ``rawmeta eval`` and the perceptual bench both
    measure through this function, so that they develop a restore alike.

    Examples
    --------
    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> ref = np.random.default_rng(0).uniform(0, 0.5, (32, 48, 3)).astype(np.float32)
    >>> raw = SimpleNamespace(white_balance=(2.0, 1.0, 1.5), xyz_to_camera=None)
    >>> carried = SimpleNamespace(white_balance=(1.0, 1.0, 1.0), xyz_to_camera=None)
    >>> by_raw = restore_developed_error(1.01 * ref, ref, raw)
    >>> by_raw == developed_error(1.01 * ref, ref, (2.0, 1.0, 1.5), None)
    True
    >>> restore_developed_error(1.01 * ref, ref, raw, carried) == by_raw
    False
    """
    balance = (carried or raw_camera).white_balance
    return developed_error(pred, ref, balance, raw_camera.xyz_to_camera, jpeg=jpeg, options=options)
