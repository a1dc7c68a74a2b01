"""Patch layout, the batched INF engine, the RBF baseline and reconstruct() on arrays."""
from __future__ import annotations

import dataclasses
import functools

import numpy as np
import pytest
import torch

from rawmeta.format.grid import Grid
from rawmeta.restore import methods, rbf
from rawmeta.restore import paper as inf
from rawmeta.restore.engine import Engine, TorchEngine, resolve_device
from rawmeta.restore.patches import PatchGrid, grid_slices
from rawmeta.restore.patchwise import reconstruct

from ..helpers import scene

TINY = dataclasses.replace(inf.PAPER, hidden=32, branch_out=16, steps=150, lr=1e-3, lr_halve_every=60)


@pytest.fixture(autouse=True)
def tiny_preset(monkeypatch):
    tiny = methods.Method("tiny", "inf", functools.partial(inf.restore, config=TINY), "a small paper network")
    monkeypatch.setitem(methods.REGISTRY, "tiny", tiny)


def test_patch_grid_tiles_the_image():
    g = PatchGrid.for_image(1000, 1500, (228, 272))
    assert g.shape == (4, 6)
    cover = np.zeros((1000, 1500), int)
    for y0, y1, x0, x1 in g.boxes():
        cover[y0:y1, x0:x1] += 1
    assert (cover == 1).all()
    assert g.neighbourhood(0, 0) == (0, g.row_edges[2], 0, g.col_edges[2])  # border: only existing neighbours
    assert g.neighbourhood(3, 5) == (g.row_edges[2], 1000, g.col_edges[4], 1500)
    assert PatchGrid.for_image(50, 60, (228, 272)).shape == (1, 1)


def test_grid_slices_select_samples_inside_box():
    grid = Grid.centred(100, 120)
    rs, cs = grid_slices(grid, (10, 50, 20, 64))
    assert grid.rows()[rs].min() >= 10 and grid.rows()[rs].max() < 50
    assert grid.cols()[cs].min() >= 20 and grid.cols()[cs].max() < 64
    assert len(grid.rows()[rs]) == len([r for r in grid.rows() if 10 <= r < 50])


def test_paper_preset_matches_the_paper():
    c = inf.PAPER
    assert (c.w0, c.lr, c.lr_halve_every, c.steps) == (30.0, 1e-4, 200, 500)
    assert (c.decay_colour, c.decay_coords, c.decay_output) == (1e-4, 0.1, 1e-3)
    assert c.parameter_count() == 397_315


def test_initialisation_follows_siren():
    model = inf.BatchedINF(inf.PAPER, [1, 2], torch.device("cpu"))
    first = model.colour[0].weight
    assert first.shape == (2, 3, 256) and first.abs().max() <= 1 / 3
    hidden = model.trunk[0].weight
    assert hidden.abs().max() <= np.sqrt(6 / 256) / 30 + 1e-9
    assert not torch.equal(model.colour[0].weight[0], model.colour[0].weight[1])


def test_batched_training_equals_training_alone():
    """Two networks trained together give what each gives trained alone (padding included)."""
    torch.manual_seed(0)
    n = [40, 25]
    s = [torch.rand(k, 3) for k in n]
    xy = [torch.rand(k, 2) for k in n]
    t = [torch.rand(k, 3) for k in n]

    def pad(items):
        out = torch.zeros(len(items), max(n), items[0].shape[1])
        for i, a in enumerate(items):
            out[i, : len(a)] = a
        return out

    weight = pad([torch.ones(k, 1) for k in n])[..., 0]
    together = inf.BatchedINF(TINY, [7, 8], torch.device("cpu"))
    inf.train(together, pad(s), pad(xy), pad(t), weight)
    probe_s, probe_xy = torch.rand(2, 10, 3), torch.rand(2, 10, 2)
    both = inf.predict(together, probe_s, probe_xy)
    for i, seed in enumerate([7, 8]):
        alone = inf.BatchedINF(TINY, [seed], torch.device("cpu"))
        inf.train(alone, s[i][None], xy[i][None], t[i][None], torch.ones(1, n[i]))
        assert torch.allclose(inf.predict(alone, probe_s[i : i + 1], probe_xy[i : i + 1])[0], both[i], atol=1e-5)


def test_inf_learns_and_is_deterministic():
    srgb, raw = scene(96, 128)
    grid = Grid.centred(96, 128, 4)
    vals = grid.sample(raw)
    a = reconstruct(srgb, vals, grid, preset="tiny", patch_size=(48, 64), seed=3, device="cpu")
    b = reconstruct(srgb, vals, grid, preset="tiny", patch_size=(48, 64), seed=3, device="cpu")
    c = reconstruct(srgb, vals, grid, preset="tiny", patch_size=(48, 64), seed=4, device="cpu")
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert a.dtype == np.float32 and a.min() >= 0 and a.max() <= 1
    mse = np.mean((a - raw) ** 2)
    assert 10 * np.log10(1 / mse) > 35


def test_batches_do_not_change_results():
    srgb, raw = scene(96, 128)
    grid = Grid.centred(96, 128, 4)
    vals = grid.sample(raw)
    one_batch = reconstruct(srgb, vals, grid, preset="tiny", patch_size=(48, 64), device="cpu")
    per_patch = reconstruct(srgb, vals, grid, preset="tiny", patch_size=(48, 64), device="cpu", memory_mb=1)
    np.testing.assert_allclose(one_batch, per_patch, atol=2e-5)


@pytest.fixture(params=["numpy", "torch"])
def engine(request):
    return Engine("cpu", 1) if request.param == "numpy" else TorchEngine("cpu")


def test_rbf_interpolates_samples_and_reproduces_linear_maps(engine):
    rng = np.random.default_rng(0)
    slope = np.array([[0.3, -0.2, 0.1, 0.5, 0.2]]).T
    centres = rng.random((200, 5))
    values = np.concatenate([centres @ slope + 0.05, rng.random((200, 1))], 1)
    w, a = rbf.fit(engine, engine.asarray(centres), engine.asarray(values))
    at_centres = engine.numpy(rbf.interpolant_at(engine, engine.asarray(centres), w, a, engine.asarray(centres)))
    np.testing.assert_allclose(at_centres, values, atol=1e-8)
    probe = rng.random((50, 5))
    at_probe = engine.numpy(rbf.interpolant_at(engine, engine.asarray(centres), w, a, engine.asarray(probe)))
    np.testing.assert_allclose(at_probe[:, :1], probe @ slope + 0.05, atol=1e-8)


def test_rbf_fits_centres_that_lie_in_a_plane(engine):
    """Bright samples all on one sample row (or all with one channel clipped) leave a polynomial column
    constant; the fit must still interpolate them, not fail as a singular system."""
    rng = np.random.default_rng(3)
    centres = rng.random((12, 5))
    centres[:, 4] = 0.25  # one row: y is the same for every centre
    centres[:, 0] = 1.0  # red clipped everywhere
    values = rng.random((12, 3))
    c = engine.asarray(centres)
    w, a = rbf.fit(engine, c, engine.asarray(values))
    np.testing.assert_allclose(engine.numpy(rbf.interpolant_at(engine, c, w, a, c)), values, atol=1e-8)
    assert np.isfinite(engine.numpy(rbf.interpolant_at(engine, c, w, a, engine.asarray(rng.random((4, 5)))))).all()


def test_rbf_restore_of_a_global_map():
    srgb, raw = scene(96, 128)
    out = reconstruct(srgb, Grid.centred(96, 128).sample(raw), method="rbf", patch_size=(48, 64), device="cpu")
    assert 10 * np.log10(1 / np.mean((out - raw) ** 2)) > 40


def test_chosen_patches_only():
    srgb, raw = scene(96, 128)
    grid = Grid.centred(96, 128, 4)
    out = reconstruct(srgb, grid.sample(raw), grid, method="rbf", patch_size=(48, 64), patches=[(1, 0)], device="cpu")
    assert np.isfinite(out[48:, :64]).all() and np.isnan(out[:48]).all() and np.isnan(out[:, 64:]).all()


def test_bad_arguments():
    srgb, raw = scene(32, 48)
    with pytest.raises(ValueError, match="method"):
        reconstruct(srgb, Grid.centred(32, 48).sample(raw), method="magic")
    with pytest.raises(ValueError, match="preset"):
        reconstruct(srgb, Grid.centred(32, 48).sample(raw), preset="nope")
    with pytest.raises(ValueError, match="image"):
        reconstruct(srgb, Grid.centred(40, 48).sample(np.zeros((40, 48, 3))), Grid.centred(40, 48))
    with pytest.raises(ValueError, match="patch grid"):
        reconstruct(srgb, Grid.centred(32, 48).sample(raw), patches=[(5, 5)])
    with pytest.raises(ValueError, match="fewer than"):
        reconstruct(srgb, Grid.centred(32, 48, 16).sample(raw), Grid.centred(32, 48, 16), patch_size=(8, 8))
    assert resolve_device("cpu") == "cpu"
    with pytest.raises(ValueError, match="device"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA"):
            resolve_device("cuda")
