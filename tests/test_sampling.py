import numpy as np
import pytest

from rawmeta.sampling import Grid


def test_default_grid_is_centred_stride_8():
    g = Grid.centred(1448, 2176)
    assert (g.stride, g.offset_y, g.offset_x) == (8, 4, 4)
    assert g.shape == (181, 272)
    assert g.count == 181 * 272
    assert g.rate == pytest.approx(1 / 64, rel=0.01)


@pytest.mark.parametrize("h,w,stride", [(10, 13, 3), (8, 8, 8), (5, 5, 8), (1, 1, 1), (17, 9, 4)])
def test_positions_match_sample(h, w, stride):
    g = Grid.centred(h, w, stride) if h > stride // 2 and w > stride // 2 else None
    if g is None:
        with pytest.raises(ValueError):
            Grid.centred(h, w, stride)
        return
    img = np.arange(h * w * 3).reshape(h, w, 3)
    s = g.sample(img)
    assert s.shape == (*g.shape, 3)
    assert np.array_equal(s, img[np.ix_(g.rows(), g.cols())])
    assert g.rows()[-1] < h and g.rows()[-1] + stride >= h - g.offset_y


def test_grid_rejects_bad_values():
    with pytest.raises(ValueError):
        Grid(10, 10, 0)
    with pytest.raises(ValueError):
        Grid(10, 10, 4, 4, 0)
    with pytest.raises(ValueError):
        Grid(10, 10).sample(np.zeros((9, 10, 3)))


def test_positions_are_row_major():
    g = Grid(5, 7, 3, 1, 2)
    rows, cols = g.positions()
    assert rows.tolist() == [1, 1, 4, 4] and cols.tolist() == [2, 5, 2, 5]
    assert np.array_equal(np.arange(35).reshape(5, 7)[rows, cols], g.sample(np.arange(35).reshape(5, 7, 1)).ravel())
