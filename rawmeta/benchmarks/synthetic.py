"""A deterministic synthetic scene, mosaiced into a RAW, as rawmeta's sample.

rawmeta ships no third-party images. Its sample is made here: a test scene
(:func:`make_scene`) in linear camera RGB, a Bayer mosaic of it with mild
sensor noise (:func:`mosaic`), the facts of the made-up camera
(:func:`sample_camera`), and :func:`write_sample`, which writes the mosaic as
a CFA DNG plus LibRaw's rendering of that DNG as a JPEG.

The scene is drawn in linear sRGB (D65) and converted to the synthetic
camera's RGB with its colour matrix, so it is lit by D65: the as-shot white
balance equals LibRaw's daylight one, any renderer shows the grey ramp grey,
and every colour is one a real camera could record.

Everything is a pure function of the arguments: the same arguments give the
same bytes.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from rawmeta.benchmarks.render import write_render
from rawmeta.format.camera import ILLUMINANT_D65, CameraFacts
from rawmeta.io.dng import write_cfa_dng

#: XYZ (D65) -> camera RGB matrix of the synthetic camera: the Adobe
#: ColorMatrix of the Canon EOS D30 as dcraw and LibRaw tabulate it (x 1/10000).
SAMPLE_XYZ_TO_CAMERA = tuple(
    v / 10000 for v in (9805, -2689, -1312, -5803, 13064, 3068, -2438, 3075, 8775)
)

#: As-shot white-balance multipliers (R, G, B) of the sample: the inverse of
#: ``SAMPLE_XYZ_TO_CAMERA @ XYZ(D65)``, normalised to green, to 4 decimals.
SAMPLE_WHITE_BALANCE = (2.0933, 1.0, 1.0559)

# Sensor noise model of mosaic(): electrons at white, and read noise in electrons.
_FULL_WELL = 16000.0
_READ_NOISE = 6.0

_CHANNEL = {"R": 0, "G": 1, "B": 2}

# Linear sRGB reflectances of the patch grid, one row per list.
_SATURATED = [
    (0.70, 0.04, 0.04),  # red
    (0.05, 0.60, 0.06),  # green
    (0.05, 0.06, 0.65),  # blue
    (0.04, 0.55, 0.65),  # cyan
    (0.65, 0.05, 0.55),  # magenta
    (0.75, 0.70, 0.04),  # yellow
]
_PASTEL = [
    (0.80, 0.55, 0.55),
    (0.55, 0.80, 0.58),
    (0.55, 0.60, 0.85),
    (0.55, 0.80, 0.82),
    (0.82, 0.58, 0.80),
    (0.85, 0.82, 0.55),
]
_NATURAL = [
    (0.17, 0.09, 0.06),  # dark skin
    (0.55, 0.32, 0.24),  # light skin
    (0.12, 0.19, 0.34),  # blue sky
    (0.10, 0.15, 0.06),  # foliage
    (0.72, 0.28, 0.04),  # orange
    (0.15, 0.07, 0.25),  # purple
]
#: Linear (sRGB, so also relative to white) grey levels of the grey-ramp
#: patches, darkest first.
GREY_RAMP = (0.01, 0.03, 0.07, 0.15, 0.32, 0.62)

_PATCH_ROWS = (_SATURATED, _PASTEL, _NATURAL, [(g, g, g) for g in GREY_RAMP])
_PATCH_MARGIN = 0.12  # gap around each patch, as a fraction of its cell

MIN_SIZE = 32

# Linear sRGB -> CIE XYZ (D65), IEC 61966-2-1.
_SRGB_TO_XYZ = np.array(
    [[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]
)

#: The files :func:`write_sample` writes: the RAW, then its JPEG.
SAMPLE_NAMES = ("sample.dng", "sample.jpg")


def _srgb_to_camera() -> np.ndarray:
    """Linear sRGB -> sample camera RGB, taking white to ``1 / SAMPLE_WHITE_BALANCE``."""
    m = np.asarray(SAMPLE_XYZ_TO_CAMERA).reshape(3, 3) @ _SRGB_TO_XYZ
    # Scale rows so that sRGB white lands exactly on the as-shot neutral (the
    # rows' sums already agree with it to 1e-4; this removes rounding).
    return m * (1.0 / np.asarray(SAMPLE_WHITE_BALANCE) / m.sum(axis=1))[:, None]


def _frac(n: int, f: float) -> int:
    return int(round(n * f))


def _patch_box(height: int, width: int, row: int, col: int) -> tuple[int, int, int, int]:
    """(y0, y1, x0, x1) of patch ``row, col`` of the grid."""
    grid_h, grid_w = _frac(height, 0.5), _frac(width, 0.75)
    nrows, ncols = len(_PATCH_ROWS), len(_SATURATED)
    cy0, cy1 = _frac(grid_h, row / nrows), _frac(grid_h, (row + 1) / nrows)
    cx0, cx1 = _frac(grid_w, col / ncols), _frac(grid_w, (col + 1) / ncols)
    my = max(1, _frac(cy1 - cy0, _PATCH_MARGIN))
    mx = max(1, _frac(cx1 - cx0, _PATCH_MARGIN))
    return cy0 + my, cy1 - my, cx0 + mx, cx1 - mx


def grey_patch_boxes(height: int = 768, width: int = 1024) -> list[tuple[int, int, int, int]]:
    """Where the grey-ramp patches of :func:`make_scene` are.

    Parameters
    ----------
    height, width : int
        Size of the scene.

    Returns
    -------
    list of (y0, y1, x0, x1)
        Pixel box (end exclusive) of each grey patch, darkest first; the
        patch levels are :data:`GREY_RAMP`.
    """
    row = len(_PATCH_ROWS) - 1
    return [_patch_box(height, width, row, col) for col in range(len(GREY_RAMP))]


def make_scene(height: int = 768, width: int = 1024, seed: int = 0) -> np.ndarray:
    """Make the synthetic test scene.

    Layout, as fractions of the frame: the top half holds a 4 x 6 grid of
    patches (saturated colours, pastels, natural colours, a grey ramp) on the
    left three quarters, a clipped highlight (a "sun" at 6x white) above a
    slanted dark square with sharp edges on the right; the third quarter holds
    a zone plate, fine stripes (1- and 2-pixel, diagonal, coloured) and a
    seeded per-pixel noise texture; the bottom quarter holds a smooth grey
    gradient and a hue/saturation sweep.

    Parameters
    ----------
    height, width : int
        Size in pixels, at least :data:`MIN_SIZE` each.
    seed : int
        Seed of the noise texture.

    Returns
    -------
    numpy.ndarray
        ``float32`` H x W x 3 linear camera RGB in [0, 1] under D65: the
        scene's linear sRGB through :data:`SAMPLE_XYZ_TO_CAMERA`, so white
        is ``1 / SAMPLE_WHITE_BALANCE`` (and 6x white still clips).

    Raises
    ------
    ValueError
        If the size is too small.
    """
    if height < MIN_SIZE or width < MIN_SIZE:
        raise ValueError(f"scene must be at least {MIN_SIZE} x {MIN_SIZE}, not {height} x {width}")
    rng = np.random.default_rng(seed)
    img = np.zeros((height, width, 3))
    top, bottom = _frac(height, 0.5), _frac(height, 0.75)
    grid_w = _frac(width, 0.75)

    # Patch grid on a dark grey background.
    img[:top, :grid_w] = 0.05
    for r, colours in enumerate(_PATCH_ROWS):
        for c, colour in enumerate(colours):
            y0, y1, x0, x1 = _patch_box(height, width, r, c)
            img[y0:y1, x0:x1] = colour

    # Clipped highlight: a flat 6x-white disc with a glow, on a sky gradient.
    sun_h = _frac(height, 0.25)
    _highlight(img[:sun_h, grid_w:])
    # Sharp edges: a dark square tilted by 5 degrees on light grey.
    _slanted_square(img[sun_h:top, grid_w:])

    # Fine texture: zone plate | stripes | noise texture.
    third, two_thirds = _frac(width, 1 / 3), _frac(width, 2 / 3)
    _zone_plate(img[top:bottom, :third])
    _stripes(img[top:bottom, third:two_thirds])
    region = img[top:bottom, two_thirds:]
    region[...] = 0.05 + 0.55 * rng.random(region.shape)

    # Smooth gradients: grey ramp, then hue sweep fading to grey.
    band = _frac(height, 0.875)
    img[bottom:band] = ((np.arange(width) + 0.5) / width)[None, :, None]
    _hue_sweep(img[band:])

    camera = img @ _srgb_to_camera().T
    return np.clip(camera, 0.0, 1.0).astype(np.float32)


def _grid(region: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates (y, x) of a region, relative to its centre."""
    h, w = region.shape[:2]
    y = np.arange(h)[:, None] + 0.5 - h / 2
    x = np.arange(w)[None, :] + 0.5 - w / 2
    return y, x


def _highlight(region: np.ndarray) -> None:
    h, w = region.shape[:2]
    y, x = _grid(region)
    sky = 0.25 + 0.25 * (np.arange(h)[:, None, None] + 0.5) / h
    region[...] = sky * np.array([0.6, 0.8, 1.0])
    r = np.hypot(y, x)
    core = 0.3 * min(h, w)
    glow = 6.0 * np.exp(-(np.maximum(r - core, 0.0) / (0.15 * min(h, w))) ** 2)
    region += glow[..., None]


def _slanted_square(region: np.ndarray) -> None:
    y, x = _grid(region)
    h, w = region.shape[:2]
    a = np.deg2rad(5.0)
    u = x * np.cos(a) + y * np.sin(a)
    v = -x * np.sin(a) + y * np.cos(a)
    half = 0.3 * min(h, w)
    region[...] = 0.6
    region[(np.abs(u) <= half) & (np.abs(v) <= half)] = 0.04


def _zone_plate(region: np.ndarray) -> None:
    """Circular zone plate reaching 0.5 cycles/pixel at the shorter edge."""
    y, x = _grid(region)
    rmax = min(region.shape[:2]) / 2
    phase = np.pi / (2 * rmax) * (x * x + y * y)
    region[...] = (0.3 + 0.25 * np.cos(phase))[..., None]


def _stripes(region: np.ndarray) -> None:
    """Four bands: 1-px vertical, 2-px horizontal, diagonal, 2-px red/cyan."""
    h, w = region.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w]
    dark, light = 0.05, 0.6
    edges = [_frac(h, f) for f in (0, 0.25, 0.5, 0.75, 1)]
    patterns = [xx % 2 == 0, (yy // 2) % 2 == 0, (xx + yy) % 4 < 2]
    for (y0, y1), on in zip(zip(edges, edges[1:]), patterns):
        region[y0:y1] = np.where(on[y0:y1, :, None], light, dark)
    y0, y1 = edges[3], edges[4]
    red = (xx[y0:y1] // 2) % 2 == 0
    region[y0:y1] = np.where(red[..., None], (0.6, 0.05, 0.05), (0.05, 0.5, 0.6))


def _hue_sweep(region: np.ndarray) -> None:
    """Hue across, saturation fading from 0.9 (top) to none (bottom)."""
    h, w = region.shape[:2]
    hue = (np.arange(w) + 0.5) / w
    sat = 0.9 * (1.0 - (np.arange(h) + 0.5) / h)
    # Piecewise-linear HSV -> RGB at value 0.5.
    k = (np.array([5.0, 3.0, 1.0])[None, :] + 6.0 * hue[:, None]) % 6.0
    pure = 1.0 - np.clip(np.minimum(k, 4.0 - k), 0.0, 1.0)  # w x 3, in [0, 1]
    region[...] = 0.5 * (1.0 - sat[:, None, None] * (1.0 - pure[None, :, :]))


def mosaic(
    rgb: np.ndarray, cfa: str = "RGGB", bits: int = 12, black: int = 256, seed: int = 0
) -> np.ndarray:
    """Sample an RGB image through a Bayer filter into RAW data units.

    Each pixel keeps the channel the 2 x 2 pattern gives it, scaled to
    ``black + v * (white - black)`` with ``white = 2**bits - 1``; photon
    (16000 e- at white) and read (6 e-) noise from a seeded generator are
    added, the result rounded and clipped to ``[0, white]``. Pixels at or
    above 1.0 are saturated: exactly ``white``, as a sensor clips.

    Parameters
    ----------
    rgb : numpy.ndarray
        H x W x 3 linear camera RGB, nominally in [0, 1].
    cfa : str
        Top-left 2 x 2 pattern read row by row, 4 letters of R, G, B.
    bits : int
        Bit depth, 2-16.
    black : int
        Black level, ``0 <= black < 2**bits - 1``.
    seed : int
        Seed of the noise.

    Returns
    -------
    numpy.ndarray
        ``uint16`` H x W mosaic.

    Raises
    ------
    ValueError
        On a bad shape, non-finite values, pattern, bit depth or black level.
    """
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.shape[0] < 2 or rgb.shape[1] < 2:
        raise ValueError(f"rgb must be H x W x 3 (at least 2 x 2), not shape {rgb.shape}")
    if len(cfa) != 4 or set(cfa) - set(_CHANNEL):
        raise ValueError(f"cfa must be 4 letters of R, G, B, not {cfa!r}")
    if not 2 <= bits <= 16:
        raise ValueError(f"bits must be 2-16, not {bits}")
    white = 2**bits - 1
    if not 0 <= black < white:
        raise ValueError(f"black must be in [0, {white}), not {black}")
    v = rgb.astype(np.float64)
    if not np.isfinite(v).all():
        raise ValueError("rgb has non-finite values")

    h, w = v.shape[:2]
    pattern = np.array([_CHANNEL[c] for c in cfa]).reshape(2, 2)
    channel = np.tile(pattern, ((h + 1) // 2, (w + 1) // 2))[:h, :w]
    v = np.take_along_axis(v, channel[..., None], axis=2)[..., 0]
    saturated = v >= 1.0
    v = np.clip(v, 0.0, 1.0)

    electrons = v * _FULL_WELL
    sigma = np.sqrt(electrons + _READ_NOISE**2)
    noisy = electrons + sigma * np.random.default_rng(seed).standard_normal((h, w))
    dn = black + noisy * ((white - black) / _FULL_WELL)
    out = np.clip(np.rint(dn), 0, white)
    out[saturated] = white
    return out.astype(np.uint16)


def sample_camera(cfa: str = "RGGB", bits: int = 12, black: int = 256) -> CameraFacts:
    """Camera facts of the synthetic camera behind :func:`mosaic`.

    Parameters
    ----------
    cfa, bits, black : str, int, int
        As given to :func:`mosaic`.

    Returns
    -------
    CameraFacts
        Make ``"rawmeta"``, model ``"Synthetic <bits>-bit"``, white level
        ``2**bits - 1``, white balance :data:`SAMPLE_WHITE_BALANCE` (as shot),
        colour matrix :data:`SAMPLE_XYZ_TO_CAMERA` for D65, orientation 1.
    """
    return CameraFacts(
        make="rawmeta",
        model=f"Synthetic {bits}-bit",
        bits=bits,
        black_levels=(black, black, black, black),
        white_level=2**bits - 1,
        cfa=cfa,
        white_balance=SAMPLE_WHITE_BALANCE,
        white_balance_source="camera",
        xyz_to_camera=SAMPLE_XYZ_TO_CAMERA,
        calibration_illuminant=ILLUMINANT_D65,
        orientation=1,
    )


def write_sample(
    folder: str | os.PathLike, *, height: int = 768, width: int = 1024, seed: int = 0
) -> tuple[Path, Path]:
    """Write the sample RAW and its JPEG rendering.

    ``sample.dng`` is the :func:`mosaic` of :func:`make_scene` as a CFA DNG
    (:func:`rawmeta.io.dng.write_cfa_dng`, camera :func:`sample_camera`);
    ``sample.jpg`` is LibRaw's rendering of that DNG
    (:func:`rawmeta.benchmarks.render.write_render`: ``rawpy`` ``postprocess`` with the
    camera white balance, sRGB, 8 bits, unflipped) saved by Pillow at
    quality 95. The scene is lit by D65, so the camera and daylight white
    balances agree and any default rendering looks the same. Both files are
    written atomically and are byte-for-byte the same for the same arguments.

    Parameters
    ----------
    folder : str or os.PathLike
        Output folder, created if missing; existing samples are replaced.
    height, width, seed : int
        Passed to :func:`make_scene` and :func:`mosaic`.

    Returns
    -------
    tuple of pathlib.Path
        Paths of ``sample.dng`` and ``sample.jpg``.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    dng_path, jpg_path = (folder / name for name in SAMPLE_NAMES)

    camera = sample_camera()
    cfa = mosaic(make_scene(height, width, seed), camera.cfa, camera.bits, camera.black_levels[0], seed)
    write_cfa_dng(dng_path, cfa, camera)
    write_render(dng_path, jpg_path, quality=95)
    return dng_path, jpg_path
