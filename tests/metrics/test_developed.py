"""rawmeta.metrics.developed: CIEDE2000 of the developed renders, the edits, the brightness, the screen size."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from rawmeta import metrics as M
from rawmeta.colour import srgb_from_camera
from rawmeta.metrics import developed as D
from rawmeta.resample import area_weights

#: Sharma, Wu & Dalal (2005), "The CIEDE2000 color-difference formula: implementation notes, supplementary
#: test data, and mathematical observations", Color Res. Appl. 30(1), 21-30, Table 1: the 34 pairs
#: L1 a1 b1 L2 a2 b2 and their CIEDE2000. Taken from the authors' ciede2000testdata.txt
#: (www2.ece.rochester.edu/~gsharma/ciede2000/dataNprograms/) as listed in github.com/sumtype/CIEDE2000,
#: tests.py; the first six rows also match Argyll CMS's test of its delta E 2000.
SHARMA_PAIRS = """
50.0000 2.6772 -79.7751 50.0000 0.0000 -82.7485 2.0425
50.0000 3.1571 -77.2803 50.0000 0.0000 -82.7485 2.8615
50.0000 2.8361 -74.0200 50.0000 0.0000 -82.7485 3.4412
50.0000 -1.3802 -84.2814 50.0000 0.0000 -82.7485 1.0000
50.0000 -1.1848 -84.8006 50.0000 0.0000 -82.7485 1.0000
50.0000 -0.9009 -85.5211 50.0000 0.0000 -82.7485 1.0000
50.0000 0.0000 0.0000 50.0000 -1.0000 2.0000 2.3669
50.0000 -1.0000 2.0000 50.0000 0.0000 0.0000 2.3669
50.0000 2.4900 -0.0010 50.0000 -2.4900 0.0009 7.1792
50.0000 2.4900 -0.0010 50.0000 -2.4900 0.0010 7.1792
50.0000 2.4900 -0.0010 50.0000 -2.4900 0.0011 7.2195
50.0000 2.4900 -0.0010 50.0000 -2.4900 0.0012 7.2195
50.0000 -0.0010 2.4900 50.0000 0.0009 -2.4900 4.8045
50.0000 -0.0010 2.4900 50.0000 0.0010 -2.4900 4.8045
50.0000 -0.0010 2.4900 50.0000 0.0011 -2.4900 4.7461
50.0000 2.5000 0.0000 50.0000 0.0000 -2.5000 4.3065
50.0000 2.5000 0.0000 73.0000 25.0000 -18.0000 27.1492
50.0000 2.5000 0.0000 61.0000 -5.0000 29.0000 22.8977
50.0000 2.5000 0.0000 56.0000 -27.0000 -3.0000 31.9030
50.0000 2.5000 0.0000 58.0000 24.0000 15.0000 19.4535
50.0000 2.5000 0.0000 50.0000 3.1736 0.5854 1.0000
50.0000 2.5000 0.0000 50.0000 3.2972 0.0000 1.0000
50.0000 2.5000 0.0000 50.0000 1.8634 0.5757 1.0000
50.0000 2.5000 0.0000 50.0000 3.2592 0.3350 1.0000
60.2574 -34.0099 36.2677 60.4626 -34.1751 39.4387 1.2644
63.0109 -31.0961 -5.8663 62.8187 -29.7946 -4.0864 1.2630
61.2901 3.7196 -5.3901 61.4292 2.2480 -4.9620 1.8731
35.0831 -44.1164 3.7933 35.0232 -40.0716 1.5901 1.8645
22.7233 20.0904 -46.6940 23.0331 14.9730 -42.5619 2.0373
36.4612 47.8580 18.3852 36.2715 50.5065 21.2231 1.4146
90.8027 -2.0831 1.4410 91.1528 -1.6435 0.0447 1.4441
90.9257 -0.5406 -0.9208 88.6381 -0.8985 -0.7239 1.5381
6.7747 -0.2908 -2.4247 5.8714 -0.0985 -2.2286 0.6377
2.0776 0.0795 -1.1350 0.9033 -0.0636 -0.5514 0.9082
"""

WB = (2.0, 1.0, 1.5)
#: A real camera's matrix (the sample DNG's), so the renders go through a non-trivial colour matrix.
MATRIX = (0.9805, -0.2689, -0.1312, -0.5803, 1.3064, 0.3068, -0.2438, 0.3075, 0.8775)


def test_ciede2000_matches_sharma_wu_dalal_34_pairs():
    from skimage.color import deltaE_ciede2000

    table = np.array(SHARMA_PAIRS.split(), np.float64).reshape(-1, 7)
    assert table.shape == (34, 7)
    np.testing.assert_allclose(deltaE_ciede2000(table[:, :3], table[:, 3:6]), table[:, 6], atol=1e-4, rtol=0)
    # both orders: the formula is symmetric, and the table lists pair 7 both ways
    np.testing.assert_allclose(deltaE_ciede2000(table[:, 3:6], table[:, :3]), table[:, 6], atol=1e-4, rtol=0)


def scene(h: int, w: int, dark_share: float, seed: int = 0) -> np.ndarray:
    """Raw-RGB (not balanced) with ``dark_share`` of its pixels in deep shadow, the rest bright."""
    rng = np.random.default_rng(seed)
    grey = np.where(rng.random((h, w)) < dark_share, rng.uniform(0.002, 0.02, (h, w)), rng.uniform(0.3, 0.95, (h, w)))
    tint = rng.uniform(0.8, 1.2, (h, w, 3))
    return (grey[..., None] * tint / np.array(WB)).clip(0, 1).astype(np.float32)


def test_identical_images_give_zero():
    ref = scene(40, 60, 0.5)
    result = D.developed_error(ref, ref.copy(), WB, MATRIX)
    for render in result.renders:
        for d in (render.full, render.screen):
            assert (d.mean, d.p95, d.share_over_2) == (0.0, 0.0, 0.0)
        assert math.isinf(render.psnr)


def test_a_gain_error_shows_more_with_the_shadows_lifted_where_shadows_dominate():
    ref = scene(64, 96, 0.95)
    by_name = {r.name: r for r in D.developed_error(1.01 * ref, ref, WB, MATRIX).renders}
    as_shot, lifted = by_name["as shot"].full, by_name["shadows +1.5 EV"].full
    assert 0 < as_shot.mean and lifted.mean > 1.2 * as_shot.mean
    assert by_name["shadows +1.5 EV"].psnr < by_name["as shot"].psnr


def test_highlight_recovery_shows_an_error_the_as_shot_render_clips():
    ref = np.full((16, 16, 3), 0.9, np.float32) / np.array(WB, np.float32)  # white, far above the gain's white
    ref[:2] *= 0.2  # a few darker rows, so that the 99th percentile sits on the white
    gain_jpeg = np.full((8, 8, 3), 255, np.uint8)  # a JPEG whose median is white: a gain of about 3.4
    result = D.developed_error(1.02 * ref, ref, WB, MATRIX, jpeg=gain_jpeg)
    by_name = {r.name: r.full for r in result.renders}
    assert result.brightness == "jpeg" and result.gain > 1
    assert by_name["highlights -1 EV"].mean > 2 * by_name["as shot"].mean


def test_edits_are_monotone_and_end_smoothly():
    y = np.linspace(0, 4, 40001)
    for factor in (D.shadow_lift(y, 1.5), D.highlight_recovery(y, 1.0), D.shadow_lift(y, D.MAX_SHADOW_EV),
                   D.highlight_recovery(y, D.MAX_HIGHLIGHT_EV)):
        assert np.all(np.diff(y * factor) > 0)
    for factor in (D.shadow_lift(y, D.MAX_SHADOW_EV + 0.1), D.highlight_recovery(y, D.MAX_HIGHLIGHT_EV + 0.1)):
        assert not np.all(np.diff(y * factor) > 0)  # the limits are where monotony ends
    for bad in ({"shadow_ev": 2.1}, {"highlight_ev": 1.3}, {"shadow_ev": -1}, {"screen_long_side": 0}):
        with pytest.raises(ValueError):
            D.DevelopOptions(**bad)
    assert D.shadow_lift(np.array([0.0]), 1.5)[0] == pytest.approx(2 ** 1.5)
    assert D.shadow_lift(np.array([D.MID_GREY, 1.0]), 1.5).tolist() == [1.0, 1.0]
    assert D.highlight_recovery(np.array([0.0, D.MID_GREY]), 1.0).tolist() == [1.0, 1.0]
    assert D.highlight_recovery(np.array([1.0, 3.0]), 1.0).tolist() == [0.5, 0.5]


def test_balanced_camera_white_renders_white():
    white = (np.ones((1, 1, 3)) / np.array(WB)).astype(np.float32)
    matrix = D.camera_to_srgb(WB, MATRIX)
    np.testing.assert_allclose(D.render_linear(white, matrix, 0.5, None), 0.5, atol=1e-6)
    np.testing.assert_allclose(srgb_from_camera(MATRIX) @ np.ones(3), 1, atol=1e-12)


def test_brightness_follows_the_jpeg_median_else_the_99th_percentile():
    ref = scene(40, 40, 0.5)
    matrix = D.camera_to_srgb(WB, MATRIX)
    dark, bright = (np.full((10, 10, 3), code, np.uint8) for code in (60, 180))
    gain_dark, source = D.exposure_gain(ref, matrix, dark)
    assert source == "jpeg" and D.exposure_gain(ref, matrix, bright)[0] > 3 * gain_dark
    gain, source = D.exposure_gain(ref, matrix)
    y = np.maximum(ref[:: D.GAIN_STEP, :: D.GAIN_STEP] @ (D.SRGB_LUMINANCE @ matrix), 0)
    assert source == "default" and gain * np.percentile(y, 99) == pytest.approx(1, rel=1e-5)
    black = np.zeros((4, 4, 3), np.uint8)  # a median of 0 says nothing: the default
    assert D.exposure_gain(ref, matrix, black) == (gain, "default")


def test_area_weights_average():
    for size, reduced in ((2049, 2048), (4000, 2048), (7, 3)):
        weights = area_weights(size, reduced)
        np.testing.assert_allclose(np.asarray(weights.sum(axis=1)).ravel(), 1, rtol=1e-5)
        np.testing.assert_allclose(np.asarray(weights.sum(axis=0)).ravel(), reduced / size, rtol=1e-5)


def test_screen_size_reduction_only_above_2048():
    assert D.screen_size(1365, 2048, 2048) == (1365, 2048)
    assert D.screen_size(30, 2100, 2048) == (29, 2048)
    assert D.screen_size(4096, 100, 2048) == (2048, 50)
    def checkered(ref: np.ndarray) -> np.ndarray:  # a +-5 % checkerboard error: a 2 x 2 box average cancels it
        return (ref * np.where(np.indices(ref.shape[:2]).sum(axis=0) % 2 == 0, 1.05, 0.95)[..., None]).astype(np.float32)

    ref = scene(24, 2048, 0.3)
    same = D.developed_error(checkered(ref), ref, WB, MATRIX)
    assert same.screen_size == (24, 2048) and all(r.screen == r.full for r in same.renders)
    ref = np.repeat(np.repeat(scene(12, 2048, 0.3), 2, axis=0), 2, axis=1)  # flat over each 2 x 2 box
    big = D.developed_error(checkered(ref), ref, WB, MATRIX)
    assert big.screen_size == (12, 2048)
    for render in big.renders:
        # not 0: where the brighter half of a box clips, its average is no longer the flat value
        assert render.full.mean > 0.3 and render.screen.mean < 0.1 * render.full.mean, render


def test_screen_render_of_a_flat_image_stays_flat():
    ref = np.full((30, 4100, 3), 0.2, np.float32)
    pred = ref.copy()
    pred[:, ::2] *= 1.1
    pred[:, 1::2] *= 0.9
    result = D.developed_error(pred, ref, WB, None)
    # the box average of the +-10 % columns is the flat value up to the odd column out at each span's edge
    assert result.renders[0].screen.mean < 0.1 * result.renders[0].full.mean


def test_result_as_dict_and_rows():
    ref = scene(20, 30, 0.5)
    result = D.developed_error(1.01 * ref, ref, WB, MATRIX)
    data = json.loads(json.dumps(result.as_dict()))
    assert set(data["renders"]) == set(D.RENDERS) and data["brightness"] == "default"
    for render in data["renders"].values():
        assert set(render["delta_e_2000"]) == {"mean", "p95", "share_over_2"} and render["psnr_db"] > 20
    labels = [label for label, _ in result.rows()]
    assert sum("dE2000" in label for label in labels) == 6 and sum("render PSNR" in label for label in labels) == 3
    evaluation = M.evaluate(1.01 * ref, ref)
    from dataclasses import replace

    both = replace(evaluation, developed=result)
    assert both.as_dict()["developed"] == result.as_dict() and both.as_dict()["psnr_db"] == evaluation.as_dict()["psnr_db"]
    assert "dE2000 shadows +1.5 EV" in both.format_text() and "PSNR (whole image)" in both.format_text()
    assert evaluation.as_dict()["developed"] is None


def test_bad_shapes_are_refused():
    ref = scene(8, 8, 0.5)
    with pytest.raises(ValueError, match="same shape"):
        D.developed_error(ref[:4], ref, WB, MATRIX)
    with pytest.raises(ValueError, match="jpeg must be an H x W x 3"):
        D.developed_error(ref, ref, WB, MATRIX, jpeg=np.zeros((4, 4), np.uint8))


def test_the_docstring_examples_hold():
    import doctest

    from rawmeta import colour, resample

    for module in (D, colour, resample):
        assert doctest.testmod(module).failed == 0


def test_other_edit_amounts_name_their_renders_and_change_the_error():
    ref = scene(32, 48, 0.9)
    stronger = D.developed_error(1.01 * ref, ref, WB, MATRIX, options=D.DevelopOptions(shadow_ev=2, highlight_ev=1.2))
    default = D.developed_error(1.01 * ref, ref, WB, MATRIX)
    assert [r.name for r in stronger.renders] == ["as shot", "shadows +2 EV", "highlights -1.2 EV"]
    assert stronger.renders[0] == default.renders[0] and stronger.renders[1].full.mean > default.renders[1].full.mean
