import numpy as np
import pytest

import rawmeta
from rawmeta import metrics
from rawmeta.benchmarks.synthetic import write_sample
from rawmeta.embed import budget
from rawmeta.embed.block_restore import candidate_errors
from rawmeta.format.refinement import Refinement
from rawmeta.format.sample_coding import quantization_psnr
from rawmeta.io.jpeg_pixels import decode_jpeg


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    dng, jpg = write_sample(tmp_path_factory.mktemp("budget"), height=240, width=320)
    return rawmeta.read_raw(dng), jpg.read_bytes()


def embed_and_restore(sample, objective="raw", **options):
    """The payload, the embed's report and the restore's raw-RGB PSNR, planned and restored for ``objective``."""
    raw, jpeg = sample
    payload = rawmeta.make_payload(raw.rgb, raw.camera, jpeg, objective=objective, **options)
    embedded, report = rawmeta.embed_bytes(jpeg, payload)
    return payload, report, metrics.psnr(rawmeta.restore_bytes(embedded, objective=objective).rgb, raw.rgb)


def test_bits_keep_quantization_noise_under_the_restore_error():
    assert budget.bits_for(40.0) == 6 and budget.bits_for(52.0) == 8
    for psnr in (30.0, 41.3, 47.0, 55.5):
        b = budget.bits_for(psnr)
        assert quantization_psnr(b) >= psnr + budget.QUANT_MARGIN_DB
        assert b == budget.MIN_BITS or quantization_psnr(b - 1) < psnr + budget.QUANT_MARGIN_DB
    assert budget.bits_for(200.0) == budget.MAX_BITS


def test_hull_increments_skip_levels_below_the_hull():
    gains = np.array([[0.0, 10.0, 12.0, 30.0], [0.0, -1.0, -2.0, -3.0]])
    costs = np.broadcast_to(np.array([0.0, 16.0, 64.0, 256.0]), gains.shape)
    blocks, levels, ratios, step_costs = budget.hull_increments(gains, costs)
    assert blocks.tolist() == [0, 0] and levels.tolist() == [1, 3]  # level 2 is under the hull; block 1 never gains
    assert ratios == pytest.approx([10 / 16, 20 / 240]) and step_costs.tolist() == [16, 240]


@pytest.mark.parametrize("percent", [8.0, 25.0])
def test_a_budget_is_kept_and_the_expected_psnr_is_what_restore_gives(sample, percent):
    payload, report, restored = embed_and_restore(sample, budget=percent)
    assert report.added_bytes <= percent / 100 * report.jpeg_bytes
    assert payload.budget == percent
    assert payload.expected_psnr == pytest.approx(restored, abs=1e-3)


def test_more_budget_restores_better(sample):
    psnrs = [embed_and_restore(sample, budget=p)[2] for p in (4.0, 15.0, 40.0)]
    assert psnrs[0] < psnrs[1] < psnrs[2]


def test_refinement_goes_where_the_error_is(sample):
    raw, jpeg = sample
    payload = rawmeta.make_payload(raw.rgb, raw.camera, jpeg, budget=20.0, stride=8, bits=10, objective="raw")
    assert (payload.grid.stride, payload.bits) == (8, 10)  # the overrides hold
    base = rawmeta.reconstruct(rawmeta.restore_bytes(rawmeta.embed_bytes(jpeg, payload)[0]).srgb,
                               payload.values(), payload.grid, objective="raw")
    refined = payload.refinement.levels > 0
    errors = candidate_errors(base, raw.rgb, np.nonzero(np.ones_like(refined)), 16).reshape(refined.shape)
    assert refined.any() and errors[refined].mean() > 2 * errors[~refined].mean()


def test_no_budget_means_the_base_grid_only(sample):
    raw, jpeg = sample
    payload = rawmeta.make_payload(raw.rgb, raw.camera, jpeg, budget=None, stride=6, bits=9)
    assert (payload.grid.stride, payload.bits, payload.refinement) == (6, 9, None)
    assert np.isnan(payload.expected_psnr)


@pytest.mark.parametrize("objective", ["developed", "raw"])
def test_an_impossible_budget_is_refused(sample, objective):
    raw, jpeg = sample
    with pytest.raises(budget.BudgetError, match="no payload fits"):
        rawmeta.make_payload(raw.rgb, raw.camera, jpeg, budget=0.2, objective=objective)


@pytest.mark.parametrize("percent", [3.0, 8.0, 25.0])
def test_the_developed_objective_takes_the_densest_grid_that_fits(sample, percent, monkeypatch):
    raw, jpeg = sample
    sizes = []
    packed = budget.added_bytes
    monkeypatch.setattr(budget, "added_bytes", lambda *a: sizes.append(packed(*a)) or sizes[-1])
    payload, report, _ = embed_and_restore(sample, objective="developed", budget=percent)
    limit = percent / 100 * report.jpeg_bytes
    assert report.added_bytes <= limit and payload.bits == budget.GRID_BITS and payload.refinement is None
    assert len(sizes) <= 4  # the byte model's guess and its neighbours, not every stride in turn
    strides = budget.GRID_STRIDES
    denser = strides[strides.index(payload.grid.stride) - 1] if payload.grid.stride != strides[0] else None
    if denser is not None:  # the next denser grid would not have fitted
        grid = rawmeta.make_payload(raw.rgb, raw.camera, jpeg, budget=None, stride=denser, bits=budget.GRID_BITS)
        assert rawmeta.embed_bytes(jpeg, grid)[1].added_bytes > limit


def test_the_developed_objective_restores_darker_pixels_closer(sample):
    """Weighting the fit by how errors show once developed moves error from light pixels to dark ones."""
    raw, jpeg = sample
    payload = rawmeta.make_payload(raw.rgb, raw.camera, jpeg, budget=None, stride=8, bits=12)
    shown = decode_jpeg(jpeg).mean(axis=2)
    dark = shown < np.quantile(shown, 0.25)
    errors = {objective: np.abs(rawmeta.reconstruct(decode_jpeg(jpeg), payload, objective=objective) - raw.rgb)
              for objective in ("developed", "raw")}
    assert errors["developed"][dark].mean() < 0.95 * errors["raw"][dark].mean()


def test_candidate_errors_are_those_blocks_errors():
    gen = np.random.default_rng(4)
    rgb, pred = gen.random((70, 90, 3)), gen.random((70, 90, 3)).astype(np.float32)
    candidates = (np.array([4, 0, 2]), np.array([5, 1, 0]))  # the last row and column of blocks are cut
    expected = [((pred[16 * i : 16 * i + 16, 16 * j : 16 * j + 16] - rgb[16 * i : 16 * i + 16, 16 * j : 16 * j + 16])
                 ** 2).sum() for i, j in zip(*candidates)]
    np.testing.assert_allclose(candidate_errors(pred, rgb, candidates, 16), expected, rtol=1e-12)


def test_level_effects_leave_the_prediction_as_it_was(sample):
    raw, jpeg = sample
    srgb = decode_jpeg(jpeg)
    pred = np.clip(raw.rgb + 0.01, 0, 1).astype(np.float32)
    before = pred.copy()
    template = Refinement.empty(*raw.rgb.shape[:2], 8)
    cost = budget.CostModel(srgb, np.zeros((13, 3), np.float32), 0.1)
    candidates = (np.array([0, 3]), np.array([2, 1]))
    errors, spent = budget.level_effects(pred, raw.rgb, candidates, 1, template, cost)
    assert np.array_equal(pred, before)
    assert (errors < candidate_errors(pred, raw.rgb, candidates, template.block)).all() and (spent > 0).all()


def test_the_growth_cap_binds_only_where_the_budget_counts_more_than_the_jpeg_s_pixels():
    assert budget.growth_percent(5.0, 12.8, 20.0) == 20.0  # a 640 x 480 JPEG of a 4 MP RAW: 64 % asked
    assert budget.growth_percent(5.0, 2.3, 20.0) == pytest.approx(11.5)  # under the cap
    assert budget.growth_percent(5.0, 12.8, None) == pytest.approx(64.0)
    assert budget.growth_percent(30.0, 1.0, 20.0) == 30.0  # on the JPEG's grid the budget is what it says
    assert budget.growth_percent(30.0, 4.0, 20.0) == 30.0  # a larger budget raises the cap to itself
