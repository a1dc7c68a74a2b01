"""The fast preset: shared sine features, closed-form output layers, blending, and clipped highlights."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from rawmeta.format.grid import Grid
from rawmeta.metrics import psnr
from rawmeta.restore import fast, highlights
from rawmeta.restore.engine import Engine, TorchEngine
from rawmeta.restore.patches import DEFAULT_PATCH, PatchGrid
from rawmeta.restore.patchwise import patch_job, reconstruct

from ..helpers import scene, smooth_image


@pytest.fixture(params=["numpy", "torch"])
def engine(request):
    """Each engine on the CPU: the features must be the same numbers on both."""
    return Engine("cpu", 1) if request.param == "numpy" else TorchEngine("cpu")


def test_tent_weights_blend_between_patch_centres():
    edges = (0, 40, 80, 100)
    w = fast.tent_weights(100, edges)
    assert w.shape == (100, 3) and np.allclose(w.sum(axis=1), 1)
    assert (w[:20, 0] == 1).all() and (w[90:, 2] == 1).all()  # beyond the outer centres: the edge patch alone
    assert w[59, 1] == pytest.approx(0.9875) and w[59, 0] == pytest.approx(0.0125)  # centres 19.5, 59.5, 89.5
    assert np.all(np.diff(w[20:60, 0]) <= 0) and np.count_nonzero(w, axis=1).max() == 2
    assert np.array_equal(fast.tent_weights(7, (0, 7)), np.ones((7, 1), np.float32))


@pytest.mark.parametrize("phased", [False, True])
@pytest.mark.parametrize("dense", [False, True])
def test_features_of_sample_points_and_of_blocks_agree(phased, dense, engine):
    srgb = smooth_image(50, 70).astype(np.float32) / 255
    layout = PatchGrid.for_image(50, 70, (25, 35))
    config = fast.FAST_DENSE if dense else fast.FAST
    feats = fast.SharedFeatures(config, layout, seed=1, engine=engine, phased=phased)
    per_position = 55 if dense else 31  # 7 + 3 x 16 or 3 x 8 neighbours
    # whole edge padding, one row or column of padding (the dense neighbours reach 2 pixels) and none
    for box in [(0, 25, 0, 35), (25, 50, 35, 70), (1, 12, 1, 13), (40, 49, 60, 69), (10, 20, 30, 41)]:
        y0, y1, x0, x1 = box
        a = feats.at(srgb, np.arange(y0, y1), np.arange(x0, x1))
        b = feats.box(srgb, box)
        for u, v in zip(a, b):
            assert u.shape == v.shape and np.allclose(engine.numpy(u), engine.numpy(v), atol=1e-6)
    linear, hidden = map(engine.numpy, feats.at(srgb, np.array([0, 3]), np.array([0, 5])))
    assert linear.shape == (4, feats.linear_inputs) and hidden.shape == (4, config.features)
    assert feats.width == feats.linear_inputs + config.features
    if not phased:
        assert feats.linear_inputs == per_position
        # the corner pixel's missing neighbours repeat it, so those differences are zero:
        # (-1, -1) is the first neighbour, (-2, -2) the ninth
        assert np.all(linear[0, 7:10] == 0) and linear[0, 0] == 1
        assert not dense or np.all(linear[0, 31:34] == 0)
        return
    assert (feats.unpenalised, feats.linear_inputs) == (28, 4 * per_position)
    # pixels (0, 0), (0, 5), (3, 0), (3, 5) sit at cell positions 0, 1, 2, 3: each has only its own block
    constant = linear[:, 0:4]  # input k at cell position p is column 4 k + p
    assert np.array_equal(constant, np.eye(4))
    for k in range(4):
        assert np.count_nonzero(linear[k, :28].reshape(7, 4)[:, [c for c in range(4) if c != k]]) == 0


@pytest.mark.parametrize("step", [1, 2])
def test_features_of_a_lattice_are_those_of_its_pixels(step, engine):
    srgb = smooth_image(50, 70).astype(np.float32) / 255
    layout = PatchGrid.for_image(50, 70, (25, 35))
    feats = fast.SharedFeatures(fast.FAST_DENSE, layout, seed=1, engine=engine, phased=True)
    for box in [(0, 25, 0, 35), (1, 12, 3, 14), (41, 50, 60, 70)]:
        y0, y1, x0, x1 = box
        rows, cols = np.arange(y0, y1, step), np.arange(x0, x1, step)
        spread, hidden = map(engine.numpy, feats.at(srgb, rows, cols))
        linear, lattice_hidden = map(engine.numpy, feats.box(srgb, box, step, by_position=False))
        assert np.allclose(hidden, lattice_hidden, atol=1e-6)
        assert linear.shape == (len(rows) * len(cols), feats.per_position)
        position = ((rows[:, None] % 2) * 2 + cols[None, :] % 2).ravel()
        for p in range(4):  # input k at cell position p is spread column 4 k + p
            at_p = position == p
            assert np.allclose(spread[at_p][:, p::4], linear[at_p], atol=1e-6)


def test_predicting_by_cell_position_lattices_equals_predicting_the_spread_inputs(engine):
    h, w = 60, 84
    srgb = smooth_image(h, w).astype(np.float32) / 255
    layout = PatchGrid.for_image(h, w, (30, 42))
    feats = fast.SharedFeatures(fast.FAST, layout, seed=2, engine=engine, phased=True)
    rng = np.random.default_rng(3)
    weights = {ij: engine.asarray(rng.standard_normal((feats.width, 3), np.float32) * 0.01) for ij in layout}
    blend = (fast.tent_weights(h, layout.row_edges), fast.tent_weights(w, layout.col_edges))
    out = np.zeros((h, w, 3), np.float32)
    for ij in layout:
        fast.predict_into(out, feats, layout, srgb, weights, ij, blend)
    linear, hidden = map(engine.numpy, feats.box(srgb, (0, h, 0, w)))  # the spread inputs of every pixel
    expected = np.zeros((h * w, 3), np.float32)
    mix = {ij: np.outer(blend[0][:, ij[0]], blend[1][:, ij[1]]).ravel() for ij in layout}
    for ij, wt in weights.items():
        wt = engine.numpy(wt)
        model = linear @ wt[: feats.linear_inputs] + hidden @ wt[feats.linear_inputs :]
        expected += mix[ij][:, None] * model
    np.testing.assert_allclose(out.reshape(-1, 3), np.clip(expected, 0, 1), atol=1e-5)


def test_fast_preset_restores_a_global_map_seamlessly():
    srgb, raw = scene(192, 256)
    grid = Grid.centred(192, 256)
    out = reconstruct(srgb, grid.sample(raw), grid, patch_size=(48, 64), device="cpu")
    assert out.dtype == np.float32 and np.isfinite(out).all()
    assert psnr(out, raw) > 45
    again = reconstruct(srgb, grid.sample(raw), grid, patch_size=(48, 64), device="cpu")
    other_seed = reconstruct(srgb, grid.sample(raw), grid, patch_size=(48, 64), device="cpu", seed=5)
    assert np.array_equal(out, again) and not np.array_equal(out, other_seed)
    # no seams: the error jumps no more across patch edges than between other neighbouring rows
    err = (out - raw).mean(axis=-1)
    steps = np.abs(np.diff(err, axis=0)).mean(axis=1)
    edges = [e - 1 for e in PatchGrid.for_image(192, 256, (48, 64)).row_edges[1:-1]]
    assert steps[edges].max() < 2 * np.median(steps)


def test_samples_on_every_pixel_of_2x2_cells_let_the_map_differ_between_them():
    """Raw-RGB whose gain depends on the pixel's place in a 2 x 2 cell, as a colour filter's sites do."""
    srgb, raw = scene(288, 384, seed=3)
    rows, cols = np.mgrid[0:288, 0:384]
    gain = np.array([1.0, 0.8, 0.9, 1.15], np.float32)[(rows % 2) * 2 + cols % 2]
    raw = raw * gain[..., None]
    alternating = Grid.centred(288, 384)
    plain = Grid(288, 384, 8, 4, 4)  # payload versions 1-4: every sample on the same pixel of its cell
    scores = {g.alternate: psnr(reconstruct(srgb, g.sample(raw), g, patch_size=(96, 128), device="cpu",
                                            highlights_hint=False), raw)
              for g in (alternating, plain)}
    assert scores[True] > 45 and scores[True] > scores[False] + 15


def test_inputs_go_per_cell_position_only_where_every_patch_has_samples_at_all_four():
    layout = PatchGrid.for_image(288, 384, (96, 128))  # a corner patch's neighbourhood: 24 x 32 samples
    assert fast.by_cell_position(Grid.centred(288, 384), layout)
    assert not fast.by_cell_position(Grid(288, 384, 8, 4, 4), layout)  # every sample at (even, even)
    assert not fast.by_cell_position(Grid.centred(288, 384, 12), layout)  # 16 x 21: 80 at a position
    assert not fast.by_cell_position(Grid.centred(288, 384), PatchGrid.for_image(288, 384, (24, 32)))


def test_the_dense_configuration_needs_768_samples_at_each_cell_position_in_every_neighbourhood():
    layout = PatchGrid.for_image(1448, 2176, DEFAULT_PATCH)  # canon_eos_d30's size
    counts = {stride: fast.fewest_per_cell_position(Grid.centred(1448, 2176, stride), layout)
              for stride in (8, 10)}
    assert counts == {8: 1020, 10: 648}  # as measured in docs/RESTORE.md
    assert fast.preset_for(Grid.centred(1448, 2176), layout) is fast.FAST_DENSE
    assert fast.preset_for(Grid.centred(1448, 2176, 10), layout) is fast.FAST
    assert fast.preset_for(Grid(1448, 2176, 8, 4, 4), layout) is fast.FAST  # one cell position


def test_payloads_before_version_10_draw_256_sine_units():
    layout = PatchGrid.for_image(1448, 2176)
    grid = Grid.centred(1448, 2176)
    assert fast.preset_for(grid, layout).features == fast.preset_for(grid, layout, version=10).features == 128
    for version in (5, 9):
        assert fast.preset_for(grid, layout, version=version) == dataclasses.replace(fast.FAST_DENSE, features=256)
        assert fast.preset_for(grid, layout, True, version).features == 256


@pytest.mark.parametrize("h,w,patch", [(144, 192, (48, 64)), (576, 768, (192, 256))])  # FAST, FAST_DENSE
def test_a_crop_equals_the_same_pixels_of_a_whole_restore(h, w, patch):
    srgb, raw = scene(h, w, seed=2)
    grid = Grid.centred(h, w)
    layout = PatchGrid.for_image(h, w, patch)
    assert (fast.preset_for(grid, layout) is fast.FAST_DENSE) == (h == 576)
    ph, pw = patch
    whole = reconstruct(srgb, grid.sample(raw), grid, patch_size=patch, device="cpu")
    crop = reconstruct(srgb, grid.sample(raw), grid, patch_size=patch, patches=[(1, 1)], device="cpu")
    assert np.isnan(crop[:ph]).all() and np.isnan(crop[:, :pw]).all()
    np.testing.assert_allclose(crop[ph : 2 * ph, pw : 2 * pw], whole[ph : 2 * ph, pw : 2 * pw], atol=1e-6)


def clipped_scene(h: int = 160, w: int = 224) -> tuple[np.ndarray, np.ndarray]:
    """raw-RGB with a bright textured blob whose sRGB render clips at 255.

    Inside the blob only the samples know the texture (period 40 px): the
    sRGB there is flat white.
    """
    y, x = np.mgrid[0:h, 0:w] / np.array([h, w]).reshape(2, 1, 1)
    blob = np.exp(-((x - 0.5) ** 2 + (y - 0.5) ** 2) / 0.05)
    texture = 1 + 0.3 * np.sin(2 * np.pi * x * w / 40) * np.sin(2 * np.pi * y * h / 40)
    base = 0.05 + 0.3 * x + 0.9 * blob * texture
    raw = np.stack([base * 0.6, base, base * 0.8], axis=-1).astype(np.float32) / 1.2
    srgb = np.clip(1.4 * raw ** (1 / 2.2) * np.array([1.6, 1.0, 1.2]) / 1.2, 0, 1)
    return (srgb * 255).round().astype(np.uint8), raw


def test_clipped_highlights_are_interpolated_from_bright_samples(monkeypatch):
    srgb, raw = clipped_scene()
    clipped = (srgb >= 250).any(axis=-1)
    assert 0.05 < clipped.mean() < 0.5
    grid = Grid.centred(*raw.shape[:2])
    with_refine = reconstruct(srgb, grid.sample(raw), grid, patch_size=(40, 56), device="cpu")
    monkeypatch.setattr(highlights, "NEAR", 2.0)  # no pixel is that bright: refinement off
    without = reconstruct(srgb, grid.sample(raw), grid, patch_size=(40, 56), device="cpu")
    assert np.array_equal(with_refine[~clipped & (srgb.max(-1) < 240)], without[~clipped & (srgb.max(-1) < 240)])

    def clipped_psnr(out: np.ndarray) -> float:
        return 10 * np.log10(1 / np.mean((out[clipped] - raw[clipped]) ** 2))

    gain = clipped_psnr(with_refine) - clipped_psnr(without)
    assert gain > 4  # 8.6 dB measured


@pytest.mark.parametrize("stride", [3, 6])
def test_a_fitted_model_predicts_scattered_pixels_as_a_whole_restore_does(stride):
    """At stride 3 each cell position has enough samples for linear inputs of its own, at stride 6 not."""
    h, w = 120, 150
    srgb, raw = scene(h, w, seed=4)
    grid = Grid.centred(h, w, stride)
    job = patch_job(srgb, grid.sample(raw), grid, patch_size=(40, 50), device="cpu", highlights=False)
    model = fast.FastModel.fitted(job)
    assert model.features.phased == (stride == 3)
    whole = np.zeros((h, w, 3), np.float32)
    for ij in job.layout:
        model.predict_patch(whole, ij)
    rng = np.random.default_rng(0)
    rows, cols = rng.integers(0, h, 500), rng.integers(0, w, 500)
    rows[:4], cols[:4] = (0, h - 1, 0, h - 1), (0, w - 1, w - 1, 0)  # the corners' neighbours repeat them
    np.testing.assert_allclose(model.predict(rows, cols), whole[rows, cols], atol=2e-6)


def test_highlights_where_limits_the_interpolation_to_its_pixels():
    srgb, raw = scene(96, 128, seed=5)
    srgb[30:60, 40:90] = 255  # a clipped area with bright samples around it
    grid = Grid.centred(96, 128)
    job = patch_job(srgb, grid.sample(raw), grid, patch_size=(48, 64), device="cpu")
    plain = np.zeros((96, 128, 3), np.float32)
    everywhere, limited = plain.copy(), plain.copy()
    highlights.refine(everywhere, job)
    where = np.zeros((96, 128), bool)
    where[40:50, 50:70] = True
    highlights.refine(limited, job, where)
    changed = (everywhere != plain).any(axis=-1)
    assert changed[where].all() and changed[~where].any()
    np.testing.assert_array_equal(limited[where], everywhere[where])
    assert (limited[~where] == 0).all()
