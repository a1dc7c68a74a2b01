import numpy as np
import pytest

from rawmeta.format import refinement
from rawmeta.format.refinement import Refinement


def make(levels, strides=(4, 2, 1), depths=(8, 8, 8), block=16) -> Refinement:
    return Refinement(block, strides, depths, np.array(levels, np.uint8))


def test_positions_follow_the_spec_order_and_lattices():
    ref = make([[0, 2], [1, 0]])
    rows, cols = ref.positions(32, 32)
    # block (0, 1) at stride 2 first (row-major over blocks), then block (1, 0) at stride 4.
    assert len(rows) == 64 + 16
    assert (rows[:8].tolist(), cols[:8].tolist()) == ([1] * 8, [17, 19, 21, 23, 25, 27, 29, 31])
    assert rows[64:].tolist() == [18] * 4 + [22] * 4 + [26] * 4 + [30] * 4
    assert cols[64:68].tolist() == [2, 6, 10, 14]
    assert ref.depth_at(rows, cols).tolist() == [8] * 80


def test_edge_blocks_are_cut_by_the_image():
    ref = make([[3, 3]])
    rows, cols = ref.positions(10, 20)
    assert rows.max() == 9 and cols.max() == 19 and len(rows) == 10 * 20


def test_invalid_refinements_are_refused():
    with pytest.raises(ValueError, match="divide"):
        make([[0]], strides=(3,), depths=(8,))
    with pytest.raises(ValueError, match="depths"):
        make([[0]], strides=(4,), depths=(17,))
    with pytest.raises(ValueError, match="levels go up to"):
        make([[4]])
    with pytest.raises(ValueError, match="block map"):
        make([[0, 0]]).positions(16, 48)


def test_stride_one_blocks_take_the_samples_exactly():
    rng = np.random.default_rng(0)
    out = rng.random((32, 32, 3)).astype(np.float32)
    truth = rng.random((32, 32, 3)).astype(np.float32)
    ref = make([[3, 0], [0, 0]])
    rows, cols = ref.positions(32, 32)
    refinement.apply(out, ref, rows, cols, truth[rows, cols])
    assert np.array_equal(out[:16, :16], truth[:16, :16])
    assert not np.array_equal(out[16:, 16:], truth[16:, 16:])


def test_a_smooth_residual_is_interpolated_and_only_refined_blocks_change():
    y, x = np.mgrid[0:48, 0:48].astype(np.float32)
    truth = np.stack([0.3 + 0.004 * x, 0.5 + 0.003 * y, 0.2 + 0.002 * (x + y)], -1)
    out = np.full_like(truth, 0.4)
    before = out.copy()
    ref = make([[2, 2, 0], [2, 2, 0], [0, 0, 0]])
    rows, cols = ref.positions(48, 48)
    refinement.apply(out, ref, rows, cols, truth[rows, cols])
    inner = np.s_[1:31, 1:31]  # between lattice points the interpolation of a linear residual is exact
    assert np.abs(out[inner] - truth[inner]).max() < 1e-5
    assert np.array_equal(out[32:], before[32:]) and np.array_equal(out[:, 32:], before[:, 32:])


def test_nan_pixels_stay_nan_and_give_no_residual():
    out = np.full((16, 16, 3), 0.5, np.float32)
    out[:4] = np.nan
    ref = make([[1]])
    rows, cols = ref.positions(16, 16)
    refinement.apply(out, ref, rows, cols, np.full((len(rows), 3), 0.7, np.float32))
    assert np.isnan(out[:4]).all() and np.allclose(out[4:], 0.7)


def test_default_levels():
    assert refinement.default_levels(7) == ((4, 2, 2, 1, 1, 1, 1), (7, 6, 7, 6, 7, 9, 11))
    assert refinement.default_levels(14)[1][-1] == 16 and refinement.default_levels(1)[1][1] == 1
