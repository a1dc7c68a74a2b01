"""Aligning a JPEG's stored pixel grid to a RAW's raw-RGB grid by matching image content.

A JPEG made from a RAW rarely shares LibRaw's pixel grid: raw developers
crop a few pixels differently, cameras store smaller JPEGs, exports are
rotated, cropped or resized. :func:`align` finds the map from the JPEG's
stored pixels into the raw-RGB and :func:`warp` resamples the raw-RGB onto
the JPEG's grid, so that everything after it works as for a same-grid pair.

The map is an :class:`Alignment`: a 2 x 3 matrix ``M`` taking JPEG pixel
(column u, row v) to raw-RGB (x, y), pixel centres at integers,
``[x, y] = M @ [u, v, 1]``. Its linear part is one of the 8 orientations
(rotations by quarter turns, with or without a mirror) times a scale per
raw-RGB axis; a resize whose width and height were rounded separately
scales the axes slightly differently.

How it is found (docs/ALIGNMENT.md has the measurements):

1. Both images become grey: the JPEG's mean of R, G, B; the raw-RGB white
   balanced, summed and given a 1/2.2 gamma.
2. Coarse search: each orientation and each scale in the allowed range
   (1.5 % steps) is tried at about 160 pixels across, by normalised
   cross-correlation of band-passed images (FFT) over all translations.
3. Refinement from coarse to fine (factors of 2) by Gauss-Newton
   (Lucas-Kanade) on the axis scales and the translation, with a cubic
   tone curve from raw grey to JPEG grey fitted at every step and robust
   (Huber) weights, so different tone curves, local contrast and clipped
   pixels do not pull the map.
4. A map within :data:`SNAP_PX` of a plain crop of the RAW's grid (scale
   1, integer shift, any orientation) is taken to be that crop, so its
   samples are the RAW's own pixels.

The match figure is the correlation of the band-passed JPEG with the
band-passed, tone-mapped raw at the final map, at about 640 pixels across
(1 = identical content). :data:`MIN_MATCH` separates the same shot from a
different one.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from rawmeta import resample
from rawmeta.errors import MismatchError
from rawmeta.format import orientation
from rawmeta.format.alignment import Alignment
from rawmeta.progress import Progress, part, report
from rawmeta.resample import area_filter, band_pass, bilinear, block_mean

#: Pixels across the raw at the coarse search.
COARSE_SIDE = 160
#: Relative step between scales tried by the coarse search.
SCALE_STEP = 0.015
#: The JPEG must span at least this fraction of the raw's width and of its height.
MIN_SPAN = 0.5
#: How far (fraction of its size) the JPEG may reach beyond the raw's edges.
EDGE_SLACK = 0.04
#: Below this match figure the JPEG is taken to show other content than the RAW.
MIN_MATCH = 0.5
#: Maps within this many raw pixels of a plain crop (at the JPEG's corners) become that crop.
SNAP_PX = 0.15
#: Pixels across the raw where the match figure is measured.
MATCH_SIDE = 640
#: A same-size pair whose match peaks within this many pixels of the identical grid is taken as it is.
SAME_GRID_PX = 0.1
#: Side of the central square where :func:`same_grid_match` looks (pixels).
SAME_GRID_SIDE = 512
#: The coarse search's share of a search's progress (the refinement takes the rest), near its share of the time.
COARSE_END = 0.6
#: Most points used per Gauss-Newton step.
_MAX_POINTS = 100_000
#: Gauss-Newton steps at the coarsest level, and at each finer one (which starts close).
_COARSE_STEPS, _FINE_STEPS = 30, 10
_GAMMA = 1 / 2.2
#: JPEG grey values outside this range are clipped: they say little about the raw and are left out of fits.
_UNCLIPPED = (0.02, 0.98)

# ---------------------------------------------------------------------------
# Grey images


def raw_grey(rgb: np.ndarray, white_balance: tuple[float, float, float]) -> np.ndarray:
    """raw-RGB (H x W x 3) as a grey float32 image roughly like a rendered one: balanced, summed,
    scaled so its 99.5th percentile is 1, clipped and raised to 1/2.2."""
    grey = rgb @ np.asarray(white_balance, np.float32)
    top = float(np.percentile(grey[:: max(1, grey.shape[0] // 256), :: max(1, grey.shape[1] // 256)], 99.5))
    grey *= np.float32(1.0 / max(top, 1e-6))
    np.clip(grey, 0.0, 1.0, out=grey)
    return grey ** np.float32(_GAMMA)


def jpeg_grey(srgb: np.ndarray) -> np.ndarray:
    """A JPEG's decoded uint8 pixels (H x W x 3) as grey float32 in [0, 1]."""
    return srgb.mean(axis=2, dtype=np.float32) * np.float32(1 / 255)


def _level_factor(raw_side: int, scale: float, side: int) -> int:
    """JPEG block size at which the raw is about ``side`` pixels across."""
    return max(1, round(raw_side / (side * scale)))


# ---------------------------------------------------------------------------
# Coarse search


@dataclass(frozen=True)
class _Candidate:
    """A map from oriented JPEG pixels (u, v) to raw: x = sx * u + tx, y = sy * v + ty."""

    score: float
    code: int
    sx: float
    sy: float
    tx: float
    ty: float


def _scales(raw_hw: tuple[int, int], oriented_hw: tuple[int, int]) -> np.ndarray:
    """Raw pixels per JPEG pixel the coarse search tries: from the largest that keeps the JPEG
    inside the raw (with :data:`EDGE_SLACK`) down to the smallest that spans :data:`MIN_SPAN`."""
    ratios = np.array(raw_hw, float) / np.array(oriented_hw, float)
    top, bottom = ratios.min() * (1 + EDGE_SLACK), ratios.max() * MIN_SPAN
    if bottom > top:
        return np.zeros(0)
    n = int(np.floor(np.log(top / bottom) / -np.log1p(-SCALE_STEP))) + 1
    steps = top * (1 - SCALE_STEP) ** np.arange(n)
    exact = ratios[(ratios >= bottom) & (ratios <= top)]
    return np.unique(np.concatenate([steps, exact]))


def _window_sums(image: np.ndarray, m: int, n: int) -> np.ndarray:
    """Sums of every m x n window lying inside ``image`` (valid positions, top-left indexed)."""
    c = np.zeros((image.shape[0] + 1, image.shape[1] + 1))
    c[1:, 1:] = image.cumsum(0).cumsum(1)
    return c[m:, n:] - c[:-m, n:] - c[m:, :-n] + c[:-m, :-n]


def _ncc_map(image_fft: np.ndarray, image: np.ndarray, template: np.ndarray) -> np.ndarray:
    """Normalised cross-correlation of ``template`` at every position inside ``image``."""
    m, n = template.shape
    t = template - template.mean()
    corr = np.fft.irfft2(image_fft * np.conj(np.fft.rfft2(t, image.shape)), image.shape)
    corr = corr[: image.shape[0] - m + 1, : image.shape[1] - n + 1]
    s1, s2 = _window_sums(image, m, n), _window_sums(image * image, m, n)
    energy = np.sqrt(np.maximum(s2 - s1 * s1 / (m * n), 1e-12)) * np.sqrt(max(float((t * t).sum()), 1e-12))
    return corr / energy


def _subpixel(surface: np.ndarray, r: int, c: int) -> tuple[float, float]:
    """Peak of a parabola through the maximum of ``surface`` and its neighbours, per axis."""
    def offset(a: float, b: float, d: float) -> float:
        den = a - 2 * b + d
        return 0.0 if den >= 0 else float(np.clip(0.5 * (a - d) / den, -0.5, 0.5))
    dr = offset(surface[r - 1, c], surface[r, c], surface[r + 1, c]) if 0 < r < surface.shape[0] - 1 else 0.0
    dc = offset(surface[r, c - 1], surface[r, c], surface[r, c + 1]) if 0 < c < surface.shape[1] - 1 else 0.0
    return r + dr, c + dc


def _coarse_search(raw: np.ndarray, jpeg: np.ndarray, progress: Progress | None = None) -> _Candidate:
    """The best orientation, scale and shift at about :data:`COARSE_SIDE` pixels across; ``progress`` counts
    the orientations."""
    k0 = _level_factor(max(raw.shape), 1.0, COARSE_SIDE)
    level = band_pass(block_mean(raw, k0)).astype(np.float64)
    level_fft = np.fft.rfft2(level)
    # Pre-shrink the JPEG to about twice the largest template so resizing stays cheap.
    p = max(1, int(max(jpeg.shape) / (2 * COARSE_SIDE)))
    best = _Candidate(-np.inf, 1, 1.0, 1.0, 0.0, 0.0)
    for k, code in enumerate(orientation.NAMES):
        report(progress, k, len(orientation.NAMES))
        full = orientation.orient(jpeg, code)
        small = Image.fromarray(block_mean(full, p))
        for s in _scales(raw.shape, full.shape):
            size = (round(full.shape[1] * s / k0), round(full.shape[0] * s / k0))
            if min(size) < 16:
                continue
            template = band_pass(np.asarray(small.resize(size, Image.Resampling.BILINEAR)))
            mr, mc = round(0.05 * size[1]), round(0.05 * size[0])
            template = template[mr : size[1] - mr, mc : size[0] - mc].astype(np.float64)
            if template.shape[0] > level.shape[0] or template.shape[1] > level.shape[1]:
                continue
            surface = _ncc_map(level_fft, level, template)
            r, c = np.unravel_index(int(np.argmax(surface)), surface.shape)
            if surface[r, c] <= best.score:
                continue
            r0, c0 = _subpixel(surface, r, c)
            # Template pixel j is resized pixel j + mc, whose centre is oriented JPEG (j + mc + 0.5) * rho - 0.5.
            rho_x, rho_y = p * small.width / size[0], p * small.height / size[1]
            sx, sy = k0 / rho_x, k0 / rho_y
            tx = k0 * (c0 - mc + 0.5 / rho_x - 0.5) + (k0 - 1) / 2
            ty = k0 * (r0 - mr + 0.5 / rho_y - 0.5) + (k0 - 1) / 2
            best = _Candidate(float(surface[r, c]), code, sx, sy, tx, ty)
    return best


# ---------------------------------------------------------------------------
# Refinement


def _raw_level(raw: np.ndarray, f: int, sx: float, sy: float) -> tuple[np.ndarray, int]:
    """The raw grey as seen by JPEG pixels ``f`` times coarser than the JPEG's own: block means of
    k x k (keeping at least 2 samples across a footprint, for sub-pixel accuracy), then the remaining
    area filter. Returns the level and k."""
    k = max(1, int(f * min(sx, sy) / 2 + 0.05))  # at least 2 samples across each JPEG pixel's footprint
    return area_filter(block_mean(raw, k), f * sx / k, f * sy / k), k


def _tone_fit(g: np.ndarray, j: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Cubic tone curve coefficients (highest first) taking raw grey ``g`` to JPEG grey ``j``."""
    design = np.stack([g**3, g**2, g, np.ones_like(g)], 1) * np.sqrt(w)[:, None]
    return np.linalg.lstsq(design, j * np.sqrt(w), rcond=None)[0]


def _robust_tone(g: np.ndarray, j: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Tone curve from raw grey ``g`` to JPEG grey ``j`` fitted with Huber weights (two passes):
    (coefficients, residuals, weights)."""
    weights = np.ones_like(g)
    for _ in range(2):
        tone = _tone_fit(g, j, weights)
        e = j - np.polyval(tone, g)
        scale = 1.4826 * np.median(np.abs(e)) * 1.345 + 1e-9
        weights = np.minimum(1.0, scale / np.maximum(np.abs(e), 1e-12))
    return tone, e, weights


def _points(level_j: np.ndarray, f: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """At most :data:`_MAX_POINTS` unclipped pixels of a JPEG level: their oriented full-size JPEG
    coordinates (u, v) and grey values."""
    if level_j.size > _MAX_POINTS:
        flat = rng.choice(level_j.size, _MAX_POINTS, replace=False)
    else:
        flat = np.arange(level_j.size)
    rows, cols = np.divmod(flat, level_j.shape[1])
    j = level_j[rows, cols].astype(np.float64)
    keep = _unclipped(j)
    return f * cols[keep] + (f - 1) / 2, f * rows[keep] + (f - 1) / 2, j[keep]


def _gauss_newton_level(raw: np.ndarray, level_j: np.ndarray, f: int, cand: _Candidate,
                        rng: np.random.Generator, steps: int) -> _Candidate:
    """Refine ``cand`` (a map from the oriented JPEG) on ``level_j``, its block means of f x f."""
    level_r, k = _raw_level(raw, f, cand.sx, cand.sy)
    gy_img, gx_img = np.gradient(level_r)
    u, v, j = _points(level_j, f, rng)
    cu, cv = u.mean(), v.mean()
    du, dv = u - cu, v - cv
    # Parameters: scales and the raw position of the JPEG point (cu, cv).
    p = np.array([cand.sx, cand.sy, cand.sx * cu + cand.tx, cand.sy * cv + cand.ty])
    reach = np.array([np.abs(du).max(), np.abs(dv).max(), 1, 1])
    hh, ww = level_r.shape
    for _ in range(steps):
        x = (p[0] * du + p[2] - (k - 1) / 2) / k
        y = (p[1] * dv + p[3] - (k - 1) / 2) / k
        inside = (x >= 0) & (x <= ww - 1) & (y >= 0) & (y <= hh - 1)
        if inside.sum() < 100:
            break
        xi, yi = x[inside], y[inside]
        g = bilinear(level_r, xi, yi).astype(np.float64)
        tone, e, weights = _robust_tone(g, j[inside])
        slope = np.polyval(np.polyder(tone), g) / k
        gx, gy = slope * bilinear(gx_img, xi, yi), slope * bilinear(gy_img, xi, yi)
        jac = np.stack([gx * du[inside], gy * dv[inside], gx, gy], 1)
        jw = jac * weights[:, None]
        step = np.linalg.solve(jw.T @ jac + 1e-9 * np.eye(4), jw.T @ e)
        p += step
        if (np.abs(step) * reach).sum() / k < 0.005:  # largest movement at the JPEG's edges, level pixels
            break
    return _Candidate(cand.score, cand.code, p[0], p[1], p[2] - p[0] * cu, p[3] - p[1] * cv)


def _refine(raw: np.ndarray, jpeg: np.ndarray, cand: _Candidate) -> _Candidate:
    """Refine the coarse map level by level (factors of 2) down to the JPEG's own pixels."""
    k0 = _level_factor(max(raw.shape), 1.0, COARSE_SIDE)
    pyramid = [jpeg]  # pyramid[i]: block means of 2**i x 2**i
    while 2 ** len(pyramid) * min(cand.sx, cand.sy) <= k0:
        pyramid.append(block_mean(pyramid[-1], 2))
    rng = np.random.default_rng(0)
    steps = _COARSE_STEPS
    for i in range(len(pyramid) - 1, -1, -1):
        cand = _gauss_newton_level(raw, pyramid[i], 2**i, cand, rng, steps)
        steps = _FINE_STEPS
    return cand


# ---------------------------------------------------------------------------
# The map as a whole


def _to_matrix(cand: _Candidate, height: int, width: int) -> np.ndarray:
    """The 2 x 3 map from stored JPEG pixels of a candidate found on the oriented JPEG."""
    scale_shift = np.array([[cand.sx, 0, cand.tx], [0, cand.sy, cand.ty], [0, 0, 1]])
    return (scale_shift @ orientation.oriented_matrix(cand.code, height, width))[:2]


def _snapped(matrix: np.ndarray, height: int, width: int) -> np.ndarray:
    """``matrix``, or the plain crop of the raw's grid within :data:`SNAP_PX` of it at every corner."""
    crop = np.round(matrix)
    corners = np.array([[0, width - 1, 0, width - 1], [0, 0, height - 1, height - 1], [1, 1, 1, 1]])
    if np.all(np.abs((matrix - crop) @ corners) <= SNAP_PX) and np.all(np.abs(crop[:, :2]).sum(1) == 1):
        return crop
    return matrix


def _unclipped(jpeg: np.ndarray) -> np.ndarray:
    return (jpeg > _UNCLIPPED[0]) & (jpeg < _UNCLIPPED[1])


def _tone_mapped_bands(jpeg: np.ndarray, seen: np.ndarray, usable: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Band-passed ``jpeg`` and band-passed raw grey ``seen`` (same grid) after a tone curve fitted on
    ``usable`` pixels."""
    tone = _tone_fit(seen[usable].astype(np.float64), jpeg[usable].astype(np.float64), np.ones(usable.sum()))
    return band_pass(jpeg), band_pass(np.polyval(tone, seen).astype(np.float32))


def _correlation(jpeg: np.ndarray, seen: np.ndarray, inside: np.ndarray) -> float:
    """Correlation of band-passed ``jpeg`` and band-passed, tone-mapped raw grey ``seen`` (same grid)
    over ``inside`` less 4 pixels, where the band pass mixes in the edge extension."""
    usable = inside & _unclipped(jpeg)
    keep = _eroded(inside, 4)
    if usable.sum() < 64 or keep.sum() < 64:
        return 0.0
    a, b = _tone_mapped_bands(jpeg, seen, usable)
    return _pearson(a[keep], b[keep])


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    """Correlation coefficient of two equally shaped arrays."""
    a, b = a.astype(np.float64) - a.mean(), b.astype(np.float64) - b.mean()
    return float((a * b).sum() / max(np.sqrt((a * a).sum() * (b * b).sum()), 1e-12))


def _eroded(mask: np.ndarray, r: int) -> np.ndarray:
    sums = _window_sums(np.pad(mask, r).astype(np.float64), 2 * r + 1, 2 * r + 1)
    return sums > (2 * r + 1) ** 2 - 0.5


def match_figure(raw: np.ndarray, jpeg: np.ndarray, matrix: np.ndarray) -> float:
    """Correlation of the band-passed JPEG grey with the band-passed, tone-mapped raw grey seen
    through ``matrix``, at about :data:`MATCH_SIDE` raw pixels across (1 = same content).

    ``raw`` and ``jpeg`` are from :func:`raw_grey` and :func:`jpeg_grey`.
    """
    seen_through = Alignment(matrix, raw.shape)
    sx, sy = seen_through.scale
    f = _level_factor(max(raw.shape), max(sx, sy), MATCH_SIDE)
    level_j = block_mean(jpeg, f)
    level_r, k = _raw_level(raw, f, sx, sy)
    rows, cols = np.mgrid[0 : level_j.shape[0], 0 : level_j.shape[1]]
    x, y = seen_through.apply(f * cols + (f - 1) / 2, f * rows + (f - 1) / 2)
    x, y = (x - (k - 1) / 2) / k, (y - (k - 1) / 2) / k
    inside = (x >= 0) & (x <= level_r.shape[1] - 1) & (y >= 0) & (y <= level_r.shape[0] - 1)
    return _correlation(level_j, bilinear(level_r, x, y), inside)


def same_grid_offset(rgb: np.ndarray, white_balance: tuple[float, float, float],
                     srgb: np.ndarray) -> tuple[float, float, float]:
    """How far a same-size pair is from its identical grid: the match figure there, and the
    (x, y) shift in pixels at which the match peaks (parabolas through the match with the raw
    shifted by -1, 0 and 1 pixel). Measured at full resolution over the central
    :data:`SAME_GRID_SIDE` pixels square, so it costs little."""
    h, w = srgb.shape[:2]
    y0, x0 = max(0, (h - SAME_GRID_SIDE) // 2), max(0, (w - SAME_GRID_SIDE) // 2)
    window = np.s_[y0 : y0 + SAME_GRID_SIDE, x0 : x0 + SAME_GRID_SIDE]
    jpeg, raw = jpeg_grey(srgb[window]), raw_grey(rgb[window], white_balance)
    usable = _unclipped(jpeg)
    if usable.sum() < 64 or min(jpeg.shape) < 16:
        return 0.0, np.inf, np.inf
    a, b = _tone_mapped_bands(jpeg, raw, usable)
    a = a[4:-4, 4:-4]
    surface = np.array([[_pearson(a, b[4 + dy : b.shape[0] - 4 + dy, 4 + dx : b.shape[1] - 4 + dx])
                         for dx in (-1, 0, 1)] for dy in (-1, 0, 1)])
    if surface.argmax() != 4:  # the identical grid is not the best whole-pixel position
        return float(surface[1, 1]), np.inf, np.inf
    ry, rx = _subpixel(surface, 1, 1)
    return float(surface[1, 1]), rx - 1, ry - 1


def align(rgb: np.ndarray, white_balance: tuple[float, float, float], srgb: np.ndarray, *,
          same_grid: bool = False, progress: Progress | None = None) -> Alignment:
    """Find where the JPEG's stored pixels ``srgb`` (h x w x 3 uint8) lie in raw-RGB ``rgb``.

    A pair of the same size whose match peaks within :data:`SAME_GRID_PX`
    of the identical grid (:func:`same_grid_offset`) is taken as it is,
    without a search. ``same_grid=True`` skips every check (for
    pairs known to be exact). ``progress(done, total)`` is told of the
    search, when there is one.

    Raises
    ------
    MismatchError
        If the JPEG's content does not match the RAW's (match figure below
        :data:`MIN_MATCH`; the search only tries maps that keep the JPEG
        within :data:`EDGE_SLACK` of the RAW's edges and spanning
        :data:`MIN_SPAN` of its width and height), or ``same_grid`` was
        asked for and the sizes differ.
    """
    h, w = srgb.shape[:2]
    if same_grid:
        if rgb.shape[:2] != (h, w):
            raise MismatchError(
                f"size mismatch: the RAW gives {rgb.shape[1]} x {rgb.shape[0]} pixels, the JPEG has {w} x {h} "
                "(width x height); --force-same-grid needs the JPEG rendered on the RAW's pixel grid"
            )
        return Alignment.identity(h, w)
    if rgb.shape[:2] == (h, w):
        match, dx, dy = same_grid_offset(rgb, white_balance, srgb)
        if match >= MIN_MATCH and max(abs(dx), abs(dy)) <= SAME_GRID_PX:
            return Alignment.identity(h, w, match)
    raw, jpeg = raw_grey(rgb, white_balance), jpeg_grey(srgb)
    cand = _coarse_search(raw, jpeg, part(progress, 0.0, COARSE_END))
    if not np.isfinite(cand.score):
        raise MismatchError(
            f"the JPEG ({w} x {h}) cannot show the RAW ({rgb.shape[1]} x {rgb.shape[0]}) in any orientation: it "
            f"would cover less than {MIN_SPAN * 100:g} % of the RAW's width or height"
        )
    cand = _refine(raw, np.ascontiguousarray(orientation.orient(jpeg, cand.code)), cand)
    report(progress, 1, 1)
    matrix = _snapped(_to_matrix(cand, h, w), h, w) + 0.0  # + 0.0: no negative zeros
    found = Alignment(matrix, raw.shape, match_figure(raw, jpeg, matrix))
    if not found.match >= MIN_MATCH:
        raise MismatchError(
            f"the JPEG does not show the RAW's picture (match {found.match:.2f}; the same shot gives at least "
            f"{MIN_MATCH}): is it of another shot, edited, or a crop showing less than {MIN_SPAN * 100:g} % of the RAW's "
            "width or height?"
        )
    return found


def warp(rgb: np.ndarray, alignment: Alignment, height: int, width: int) -> np.ndarray:
    """raw-RGB resampled onto the JPEG's ``height`` x ``width`` grid: each JPEG pixel gets the raw-RGB
    averaged over its footprint (area filter when the JPEG is coarser), interpolated bilinearly at
    its centre; points beyond the raw take its nearest edge. The same grid returns ``rgb`` itself."""
    if alignment.is_same_grid(height, width) and rgb.shape[:2] == (height, width):
        return rgb
    return resample.warp(rgb, alignment.matrix, height, width)


def display_orientation(raw_orientation: int, alignment: Alignment) -> int:
    """EXIF Orientation for an image on the JPEG's grid that shows it as the RAW with
    ``raw_orientation`` is shown."""
    return orientation.compose(raw_orientation, alignment.orientation)


def raw_grid_orientation(jpeg_orientation: int | None, raw_orientation: int, alignment: Alignment) -> int:
    """EXIF Orientation for an image on the RAW's grid that shows it as the JPEG with (stored)
    ``jpeg_orientation`` is shown, turned back through the map; the RAW's own without a JPEG tag."""
    if not jpeg_orientation:
        return raw_orientation
    return orientation.compose(jpeg_orientation, orientation.inverse(alignment.orientation))


def raw_on_jpeg_grid(rgb: np.ndarray, alignment: Alignment | None, height: int, width: int) -> np.ndarray:
    """A RAW's raw-RGB seen on the ``height`` x ``width`` grid of the JPEG its payload was made for:
    what a restore of that JPEG is compared with.

    A restore on the RAW's own grid (of the RAW's size) is compared with the
    raw-RGB itself. Raises MismatchError when the RAW's size is not the one
    the payload was made from, or (with no map) not the JPEG's.
    """
    if alignment is not None and alignment.raw_size == (height, width) == rgb.shape[:2]:
        return rgb
    if alignment is not None and not alignment.is_same_grid(height, width):
        if rgb.shape[:2] != alignment.raw_size:
            raise MismatchError(f"the reference RAW gives {rgb.shape[1]} x {rgb.shape[0]} pixels; the rawmeta data "
                                f"was made from a {alignment.raw_size[1]} x {alignment.raw_size[0]} RAW")
        rgb = warp(rgb, alignment, height, width)
    if rgb.shape[:2] != (height, width):
        raise MismatchError(f"size mismatch: the restore is {width} x {height}, "
                            f"the reference RAW gives {rgb.shape[1]} x {rgb.shape[0]}")
    return rgb
