import numpy as np
import pytest

from rawmeta.format.grid import Grid


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


def test_default_grid_alternates_to_cover_all_four_pixels_of_2x2_cells():
    g = Grid.centred(1448, 2176)
    assert g.alternate
    assert g.rows()[:4].tolist() == [4, 13, 20, 29] and g.cols()[:4].tolist() == [4, 13, 20, 29]
    rows, cols = g.positions()
    cells = np.bincount((rows % 2) * 2 + cols % 2, minlength=4)
    assert cells.min() > 0.24 * g.count  # each pixel of the cell holds about a quarter of the samples
    plain = Grid(1448, 2176, 8, 4, 4)  # payload versions 1-4
    assert set(plain.rows() % 2) == set(plain.cols() % 2) == {0}
    assert not Grid.centred(100, 100, 3).alternate  # odd strides alternate parity by themselves


def test_alternating_grid_drops_a_moved_sample_past_the_edge():
    g = Grid(13, 21, 8, 4, 4, alternate=True)  # row 1 would be 13, column 2 is 20
    assert g.rows().tolist() == [4] and g.cols().tolist() == [4, 13, 20] and g.shape == (1, 3)
    img = np.arange(13 * 21).reshape(13, 21, 1)
    assert g.sample(img)[..., 0].tolist() == [[img[4, 4, 0], img[4, 13, 0], img[4, 20, 0]]]


@pytest.mark.parametrize("alternate", [False, True])
def test_shape_counts_the_positions(alternate):
    for stride in (2, 4, 8, 20):
        for offset in range(stride - 1):
            for size in range(1, 3 * stride + 3):
                g = Grid(size, size + 1, stride, offset, offset, alternate=alternate) if offset < size else None
                if g is not None:
                    assert g.shape == (len(g.rows()), len(g.cols())), (stride, offset, size)


@pytest.mark.parametrize("stride,offset", [(7, 3), (8, 7), (2, 1)])
def test_alternating_grid_needs_an_even_stride_and_room_to_move(stride, offset):
    with pytest.raises(ValueError, match="alternating grid"):
        Grid(100, 100, stride, offset, 0, alternate=True)
