"""The planner's restore of chosen blocks: exact where predicted, and the rest estimated from a sample."""
import numpy as np
import pytest

from rawmeta.embed import block_restore
from rawmeta.embed.block_restore import BlockRestore, candidate_errors
from rawmeta.format.grid import Grid
from rawmeta.metrics import psnr
from rawmeta.restore.patchwise import reconstruct

from ..helpers import scene

H, W = 320, 448


@pytest.fixture(scope="module")
def image():
    """A smooth scene with a clipped highlight whose raw-RGB goes on rising, where restore errs most."""
    srgb, raw = scene(H, W, seed=6)
    y, x = np.mgrid[0:H, 0:W]
    spot = np.exp(-(((y - 100) / 40.0) ** 2 + ((x - 300) / 50.0) ** 2))
    raw = np.clip(raw + 0.6 * spot[..., None], 0, 1).astype(np.float32)
    srgb[spot > 0.5] = 255
    grid = Grid.centred(H, W, 12)
    return srgb, raw, grid, grid.sample(raw)


@pytest.fixture
def sparse_sample(monkeypatch):
    """Every 4th block row and column as the sample, as a large image would have it."""
    monkeypatch.setattr(block_restore, "MIN_SAMPLE_BLOCKS", 1)
    monkeypatch.setattr(block_restore, "SAMPLE_STEP", 4)


def test_predicted_blocks_are_what_the_whole_restore_gives(image, sparse_sample):
    srgb, raw, grid, values = image
    restored = BlockRestore(raw, srgb, values, grid, 16, "cpu")
    restored.seek(30)
    assert restored.sample.sum() == 20 * 28 // 16 and restored.done.sum() < restored.done.size / 2
    rows, cols = np.nonzero(np.kron(restored.done, np.ones((16, 16), bool))[:H, :W])
    for variant, interpolate in ((restored.pred, False), (restored.bright, True)):
        whole = reconstruct(srgb, values, grid, device="cpu", highlights_hint=interpolate, objective="raw")
        np.testing.assert_allclose(variant[rows, cols], whole[rows, cols], atol=2e-6)
    assert not np.allclose(restored.pred[rows, cols], restored.bright[rows, cols])  # the highlight was reached


def test_the_worst_blocks_are_found_and_the_rest_estimated(image, sparse_sample):
    srgb, raw, grid, values = image
    restored = BlockRestore(raw, srgb, values, grid, 16, "cpu")
    restored.seek(40, spread=False)
    interpolate = restored.choose_highlights()
    worst = restored.seek(40)
    whole = reconstruct(srgb, values, grid, device="cpu", highlights_hint=interpolate, objective="raw")
    every = np.nonzero(np.ones(restored.blocks, bool))
    errors = candidate_errors(whole, raw, every, 16).reshape(restored.blocks)
    truly_worst = errors >= np.sort(errors, axis=None)[-40]
    assert worst.sum() == 40 and (worst & truly_worst).sum() >= 36
    assert restored.done.sum() < 0.6 * restored.done.size  # the rest was not predicted ...
    assert restored.psnr() == pytest.approx(psnr(whole, raw), abs=0.5)  # ... but estimated
