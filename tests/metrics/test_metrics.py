"""rawmeta.metrics.error_map: PSNR (whole image, masked, per patch), SSIM, clipped pixels, error maps, evaluate()."""
from __future__ import annotations

import colorsys
import itertools
import json
import math
import tracemalloc

import numpy as np
import pytest
from PIL import Image

from rawmeta import metrics as M
from rawmeta.errors import OutputError
from rawmeta.metrics import error_map


def pattern(h: int, w: int, phase: float = 0.0) -> np.ndarray:
    """A deterministic smooth-and-striped H x W x 3 float64 image in [0, 1]."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    return np.stack(
        [0.5 + 0.4 * np.sin(x / 7 + phase), 0.5 + 0.3 * np.cos(y / 5 - phase), ((3 * x + 5 * y) % 17) / 17], axis=-1
    )


def hash_noise(h: int, w: int) -> np.ndarray:
    """Deterministic pseudo-noise in [-0.5, 0.5), exact integer arithmetic (same on every platform)."""
    idx = np.arange(h * w * 3, dtype=np.int64).reshape(h, w, 3)
    return ((idx * 2654435761) % 4294967296) / 4294967296 - 0.5


# ------------------------------------------------------------------ PSNR


def test_psnr_hand_computed():
    ref = np.zeros((1, 2, 3), np.float32)
    pred = ref.copy()
    pred[0, 1, 2] = 0.3  # one of six values off by 0.3: MSE = 0.09 / 6
    assert M.psnr(pred, ref) == pytest.approx(10 * math.log10(6 / 0.09), abs=1e-5)
    assert M.psnr(np.full((3, 4, 3), 0.1), np.zeros((3, 4, 3))) == pytest.approx(20.0, abs=1e-9)
    assert M.psnr(ref, ref) == math.inf


def test_psnr_peak_and_integer_images():
    a = np.zeros((2, 2, 3), np.uint8)
    b = np.full((2, 2, 3), 255, np.uint8)
    assert M.psnr(a, b, peak=255) == pytest.approx(0.0, abs=1e-12)  # no uint8 wrap-around
    with pytest.raises(ValueError, match="peak"):
        M.psnr(a, b, peak=0)


def test_psnr_over_several_row_bands_matches_numpy():
    ref = pattern(600, 5)  # taller than one band of rows
    pred = np.clip(ref + 0.02 * hash_noise(600, 5), 0, 1).astype(np.float32)
    mse = np.mean((pred.astype(np.float64) - ref) ** 2)
    assert M.psnr(pred, ref) == pytest.approx(10 * math.log10(1 / mse), abs=1e-9)


def test_psnr_mask():
    ref = np.zeros((4, 4, 3))
    pred = ref.copy()
    pred[0, 0] = 0.5  # error only at (0, 0)
    pred[1, 1, 0] = 0.1
    mask = np.ones((4, 4), bool)
    mask[0, 0] = False
    # Without (0, 0): 15 pixels x 3 channels, one value off by 0.1.
    assert M.psnr(pred, ref, mask=mask) == pytest.approx(10 * math.log10(45 / 0.01), abs=1e-9)
    only = np.zeros((4, 4), bool)
    only[0, 0] = True
    assert M.psnr(pred, ref, mask=only) == pytest.approx(10 * math.log10(1 / 0.25), abs=1e-9)
    only[0, 0], only[3, 3] = False, True
    assert M.psnr(pred, ref, mask=only) == math.inf
    with pytest.raises(ValueError, match="selects no pixel"):
        M.psnr(pred, ref, mask=np.zeros((4, 4), bool))
    with pytest.raises(ValueError, match="H x W"):
        M.psnr(pred, ref, mask=np.ones((4, 3), bool))
    with pytest.raises(ValueError, match="boolean"):
        M.psnr(pred, ref, mask=np.ones((4, 4), np.uint8))


@pytest.mark.parametrize(
    "pred, ref, message",
    [
        (np.zeros((4, 4, 3)), np.zeros((4, 5, 3)), "same shape"),
        (np.zeros((4, 4)), np.zeros((4, 4)), "H x W x 3"),
        (np.zeros((4, 4, 4)), np.zeros((4, 4, 4)), "H x W x 3"),
        (np.zeros((0, 4, 3)), np.zeros((0, 4, 3)), "empty"),
    ],
)
def test_shapes_are_checked(pred, ref, message):
    for fn in (M.psnr, M.ssim, M.error_map_image, M.evaluate):
        with pytest.raises(ValueError, match=message):
            fn(pred, ref)


# ------------------------------------------------------------------ per patch


def test_patch_psnrs_and_mean():
    ref = np.zeros((10, 20, 3))
    pred = ref.copy()
    pred[:, :10] = 0.1  # left patch: 20 dB
    pred[:, 10:] = 0.01  # right patch: 40 dB
    boxes = [(0, 10, 0, 10), (0, 10, 10, 20)]
    np.testing.assert_allclose(M.patch_psnrs(pred, ref, boxes), [20.0, 40.0], atol=1e-9)
    assert M.mean_patch_psnr(pred, ref, boxes) == pytest.approx(30.0, abs=1e-9)
    # The whole-image PSNR is lower than the mean of per-patch PSNRs.
    assert M.psnr(pred, ref) == pytest.approx(10 * math.log10(2 / (0.01 + 0.0001)), abs=1e-9)
    assert M.patch_psnrs(pred, ref, []).shape == (0,)
    with pytest.raises(ValueError, match="no patch"):
        M.mean_patch_psnr(pred, ref, [])
    for bad in [(0, 11, 0, 5), (3, 3, 0, 5), (-1, 2, 0, 5), (0, 2, 0)]:
        with pytest.raises(ValueError, match="box 0"):
            M.patch_psnrs(pred, ref, [bad])


# ------------------------------------------------------------------ SSIM

# Computed once with scikit-image 0.26.0 in a throwaway venv (not a rawmeta
# dependency): structural_similarity(pred, ref, gaussian_weights=True,
# sigma=1.5, use_sample_covariance=False, data_range=1, channel_axis=2) on the
# float64 images below. rawmeta's float64 SSIM agreed to about 1e-15.
SKIMAGE_SSIM = {"noise": 0.8977138121258448, "gain": 0.9938057523874718, "minimal": 0.49901631608960373}


def ssim_cases():
    ref = pattern(150, 40)  # 140 valid rows: several bands
    yield pytest.param("noise", ref, np.clip(ref + 0.1 * hash_noise(150, 40), 0, 1), id="noise")
    yield pytest.param("gain", ref, 0.9 * ref + 0.03, id="gain")
    yield pytest.param("minimal", pattern(11, 17, 0.3), pattern(11, 17, 1.0), id="minimal")


@pytest.mark.parametrize("name, ref, pred", list(ssim_cases()))
def test_ssim_matches_scikit_image_values(name, ref, pred):
    assert M.ssim(pred, ref) == pytest.approx(SKIMAGE_SSIM[name], abs=1e-9)
    # float32 input is computed in float64 too: the same up to the input rounding.
    assert M.ssim(pred.astype(np.float32), ref.astype(np.float32)) == pytest.approx(SKIMAGE_SSIM[name], abs=1e-5)


def test_ssim_properties():
    ref = pattern(40, 50)
    assert M.ssim(ref, ref) == pytest.approx(1.0, abs=1e-12)
    noisy = [np.clip(ref + s * hash_noise(40, 50), 0, 1) for s in (0.01, 0.03, 0.1, 0.3)]
    values = [M.ssim(n, ref) for n in noisy]
    assert all(a > b for a, b in itertools.pairwise(values)), values
    assert M.ssim(noisy[1], ref) == pytest.approx(M.ssim(ref, noisy[1]), abs=1e-12)
    assert M.ssim(noisy[1] * 255, ref * 255, data_range=255) == pytest.approx(values[1], abs=1e-12)


def test_ssim_rejects_small_images_and_bad_range():
    with pytest.raises(ValueError, match="at least 11 x 11"):
        M.ssim(np.zeros((10, 40, 3)), np.zeros((10, 40, 3)))
    with pytest.raises(ValueError, match="data_range"):
        M.ssim(np.zeros((20, 20, 3)), np.zeros((20, 20, 3)), data_range=0)


def test_ssim_large_image_uses_little_memory():
    rng = np.random.default_rng(0)
    ref = rng.random((2000, 3000, 3), dtype=np.float32)
    pred = ref * np.float32(0.98)
    tracemalloc.start()
    try:
        value = M.ssim(pred, ref)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert 0.9 < value < 1.0
    # One full float64 channel alone would be 48 MB; the banded version needs about 20 MB.
    assert peak < 64 * 2**20, f"SSIM used {peak / 2**20:.0f} MB of scratch memory"


# ------------------------------------------------------------------ clipped pixels


def test_clipped_mask():
    s = np.full((2, 3, 3), 100, np.uint8)
    s[0, 0, 1] = 250
    s[0, 1] = 255
    s[1, 2, 2] = 249
    expected = np.array([[True, True, False], [False, False, False]])
    np.testing.assert_array_equal(M.clipped_mask(s), expected)
    assert M.clipped_mask(s).dtype == np.bool_
    np.testing.assert_array_equal(M.clipped_mask(s, threshold=255), [[False, True, False], [False, False, False]])
    assert M.clipped_mask(s, threshold=249).sum() == 3
    with pytest.raises(ValueError, match="uint8"):
        M.clipped_mask(s.astype(np.float32))
    with pytest.raises(ValueError, match="threshold"):
        M.clipped_mask(s, threshold=256)


# ------------------------------------------------------------------ error maps


def hue(rgb) -> float:
    return colorsys.rgb_to_hsv(*(np.asarray(rgb, np.float64) / 255))[0] * 360


def test_error_map_shape_dtype_and_zero_colour():
    ref = pattern(30, 300).astype(np.float32)
    img = M.error_map_image(ref, ref)
    assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3
    assert img.shape[1] == 300 and img.shape[0] > 30  # the colour bar strip is appended below
    assert (img[:30] == error_map.ZERO_COLOUR).all()
    bare = M.error_map_image(ref, ref, legend=False)
    assert bare.shape == (30, 300, 3) and (bare == error_map.ZERO_COLOUR).all()


def test_error_map_colour_bar_present():
    ref = np.zeros((20, 30, 3))
    img = M.error_map_image(ref + 0.01, ref)
    assert img.shape[1] >= 240  # narrow maps are widened so the labels fit
    strip = img[20:]
    rows = [y for y in range(strip.shape[0]) if (strip[y] == error_map.ZERO_COLOUR).all(axis=1).any()]
    assert rows, "no colour bar in the strip"
    bar = strip[rows[0]]
    coloured = np.flatnonzero(~(bar == 255).all(axis=1))
    assert (bar[coloured[0]] == error_map.ZERO_COLOUR).all() and (bar[coloured[-1]] == error_map.FULL_COLOUR).all()
    assert len({tuple(c) for c in bar[coloured]}) > 100  # a smooth ramp
    ink = (strip.max(axis=2) < 80).sum()  # dark tick labels and caption
    assert ink > 100


def test_error_map_scale_is_monotone():
    scale = 0.02
    err = np.linspace(0, 2 * scale, 401)
    ref = np.zeros((2, err.size, 3))
    pred = ref + err[None, :, None]
    row = M.error_map_image(pred, ref, scale=scale, legend=False)[0]
    hues = [hue(c) for c in row]
    assert hues[0] > 230 and hues[200] < 1  # dark blue at zero, red at full scale
    assert all(b <= a for a, b in itertools.pairwise(hues))  # hue falls steadily from blue to red
    assert (row[err >= scale] == error_map.FULL_COLOUR).all()
    assert len({tuple(c) for c in row[err < scale]}) > 150
    # The default scale is 5 % of the range.
    default = M.error_map_image(ref + 0.05, ref, legend=False)
    assert (default == error_map.FULL_COLOUR).all()
    assert not (M.error_map_image(ref + 0.049, ref, legend=False) == error_map.FULL_COLOUR).all()
    with pytest.raises(ValueError, match="scale"):
        M.error_map_image(pred, ref, scale=0)


def test_save_error_map_writes_png(tmp_path):
    ref = pattern(16, 24)
    out = tmp_path / "err.png"
    M.save_error_map(out, ref + 0.01, ref)
    with Image.open(out) as im:
        assert im.format == "PNG" and im.mode == "RGB"
        np.testing.assert_array_equal(np.asarray(im), M.error_map_image(ref + 0.01, ref))
    with pytest.raises(OutputError):
        M.save_error_map(tmp_path / "no such folder" / "err.png", ref, ref)


# ------------------------------------------------------------------ evaluate


def test_evaluate_everything():
    ref = pattern(40, 60).astype(np.float32)
    pred = np.clip(ref + 0.02 * hash_noise(40, 60), 0, 1).astype(np.float32)
    srgb = np.full((40, 60, 3), 128, np.uint8)
    srgb[:10, :6, 0] = 255  # 60 of 2400 pixels clipped
    pred[:10, :6] = 0  # large errors there
    boxes = [(y, y + 20, x, x + 20) for y in (0, 20) for x in (0, 20, 40)]
    e = M.evaluate(pred, ref, srgb=srgb, boxes=boxes)
    assert e.psnr == pytest.approx(M.psnr(pred, ref))
    assert e.ssim == pytest.approx(M.ssim(pred, ref))
    assert e.patch_psnr_mean == pytest.approx(M.mean_patch_psnr(pred, ref, boxes)) and e.patch_count == 6
    assert e.clipped_share == pytest.approx(60 / 2400) and e.clip_threshold == 250
    assert e.psnr_unclipped == pytest.approx(M.psnr(pred, ref, mask=~M.clipped_mask(srgb)))
    assert e.psnr_unclipped > e.psnr
    assert e.max_abs_error == pytest.approx(float(np.abs(pred.astype(np.float64) - ref).max()))
    d = json.loads(json.dumps(e.as_dict(), allow_nan=False))
    assert d["psnr_db"] == pytest.approx(e.psnr, abs=1e-4) and d["patch_count"] == 6
    text = e.format_text()
    for label in (
        "PSNR (whole image)",
        "SSIM",
        "PSNR (mean of 6 per-patch values, as the paper reports)",
        "clipped sRGB pixels",
        "2.50 % (any channel >= 250)",
        "PSNR (whole image without clipped pixels)",
        "largest absolute error",
        f"{e.psnr:.2f} dB",
    ):
        assert label in text, label
    lines = text.splitlines()
    starts = {len(line) - len(line.split("  ")[-1].lstrip()) for line in lines}
    assert len(starts) == 1, text  # values aligned in one column


def test_evaluate_minimal_and_identical():
    ref = pattern(20, 20)
    e = M.evaluate(ref, ref)
    assert e.psnr == math.inf and e.ssim == pytest.approx(1.0) and e.max_abs_error == 0
    assert e.patch_psnr_mean is None and e.clipped_share is None and e.psnr_unclipped is None
    d = e.as_dict()
    assert d["psnr_db"] == "inf" and d["patch_psnr_mean_db"] is None
    json.dumps(d, allow_nan=False)
    text = e.format_text()
    assert "inf dB" in text and "per-patch" not in text and "clipped" not in text
    all_clipped = M.evaluate(ref, ref, srgb=np.full((20, 20, 3), 255, np.uint8))
    assert all_clipped.clipped_share == 1.0 and all_clipped.psnr_unclipped is None
    assert "every pixel is clipped" in all_clipped.format_text()
    with pytest.raises(ValueError, match="srgb"):
        M.evaluate(ref, ref, srgb=np.zeros((20, 21, 3), np.uint8))


def test_seam_mask_and_seam_psnr():
    from rawmeta.metrics import SEAM_BAND, evaluate, seam_mask

    boxes = [(0, 10, 0, 12), (0, 10, 12, 24), (10, 20, 0, 12), (10, 20, 12, 24)]
    mask = seam_mask(boxes, (20, 24))
    assert mask[:, 12 - SEAM_BAND : 12 + SEAM_BAND].all() and mask[10 - SEAM_BAND : 10 + SEAM_BAND].all()
    assert not mask[0, 0] and not mask[19, 23] and mask.sum() < mask.size
    ref = np.full((20, 24, 3), 0.5, np.float32)
    pred = ref.copy()
    pred[mask] += 0.1  # errors only along the seams
    pred[~mask] += 0.001
    ev = evaluate(pred, ref, boxes=boxes)
    assert ev.seam_psnr == pytest.approx(20.0, abs=1e-3) and ev.interior_psnr == pytest.approx(60.0, abs=1e-3)
    assert "patch edges" in ev.format_text()
    assert evaluate(pred, ref, boxes=[(0, 20, 0, 24)]).seam_psnr is None
