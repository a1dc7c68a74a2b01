import numpy as np
import pytest

from rawmeta.format import prediction
from rawmeta.format.sample_coding import quantize

from ..helpers import scene


def test_local_means_average_the_3x3_neighbourhood_with_clamped_edges():
    srgb = np.arange(5 * 4 * 3, dtype=np.uint8).reshape(5, 4, 3)
    m = prediction.local_means(srgb, np.array([2, 0]), np.array([1, 3]))
    assert m[0] == pytest.approx(srgb[1:4, 0:3].reshape(-1, 3).mean(0) / 255)
    corner = srgb[np.ix_([0, 0, 1], [2, 3, 3])].reshape(-1, 3).mean(0) / 255
    assert m[1] == pytest.approx(corner)


def test_features_are_the_documented_13_terms():
    m = np.array([[0.02, 0.5, 1.0]])
    t = prediction.features(m)
    lin = np.array([0.02 / 12.92, ((0.5 + 0.055) / 1.055) ** 2.4, 1.0])
    assert t.shape == (1, prediction.TERMS)
    assert t[0, :7] == pytest.approx([1, 0.02, 0.5, 1.0, *lin])
    assert t[0, 7:] == pytest.approx([lin[0] ** 2, lin[0] * lin[1], lin[0] * lin[2], lin[1] ** 2, lin[1] * lin[2],
                                      lin[2] ** 2])


def test_a_fitted_prediction_is_close_for_a_smooth_colour_map():
    srgb, raw = scene(64, 96)
    rows, cols = np.mgrid[4:64:8, 4:96:8]
    rows, cols = rows.ravel(), cols.ravel()
    q = quantize(raw[rows, cols], 10)
    terms = prediction.features(prediction.local_means(srgb, rows, cols))
    coef = prediction.fit(terms, q, 10)
    assert coef.dtype == np.float32 and coef.shape == (13, 3)
    p = prediction.predict(terms, coef, 10)
    assert p.dtype == np.int64 and p.min() >= 0 and p.max() <= 1023
    assert np.abs(p - q).mean() < 6  # of 1023 levels


def test_predictions_follow_each_samples_depth():
    terms = prediction.features(np.full((2, 3), 0.8))
    coef = np.zeros((13, 3), np.float32)
    coef[0] = 0.5
    p = prediction.predict(terms, coef, np.array([[4], [12]]))
    assert p[:, 0].tolist() == [8, 2048]  # floor(0.5 * top + 0.5)


def test_prediction_refuses_float_pixels():
    with pytest.raises(ValueError, match="uint8"):
        prediction.local_means(np.zeros((4, 4, 3), np.float32), np.array([0]), np.array([0]))
