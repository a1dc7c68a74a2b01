"""Interpolation and warps of ``rawmeta.resample``."""
from __future__ import annotations

import numpy as np
import pytest

from rawmeta.resample import KERNELS, interpolate_axes, warp


@pytest.mark.parametrize("kernel", sorted(KERNELS))
def test_interpolation_keeps_pixels_and_smooth_ramps(kernel):
    image = np.random.default_rng(0).random((20, 30, 3)).astype(np.float32)
    assert np.allclose(interpolate_axes(image, np.arange(20.0), np.arange(30.0), kernel), image, atol=1e-6)
    ramp = np.broadcast_to((np.arange(30, dtype=np.float32) * 2)[None, :, None], (20, 30, 3))
    at = np.linspace(5, 24, 50)  # inside, away from the edges the window reaches past
    out = interpolate_axes(ramp, np.arange(20.0), at, kernel)
    # cubic convolution reproduces a straight line; a normalised Lanczos window nearly does
    assert np.allclose(out[0, :, 0], 2 * at, atol=1e-3 if kernel == "bicubic" else 0.05)


def test_interpolation_extends_the_edges():
    image = np.ones((4, 4, 3), np.float32)
    out = interpolate_axes(image, np.array([-3.0, 1.5, 7.0]), np.array([-2.0, 9.0]), "lanczos")
    assert out.shape == (3, 2, 3) and np.allclose(out, 1)


def test_warp_averages_each_footprint_of_a_coarser_grid():
    image = np.arange(64, dtype=np.float32).reshape(8, 8, 1).repeat(3, axis=2)
    halved = warp(image, np.array([[2.0, 0, 0.5], [0, 2.0, 0.5]]), 4, 4)
    expected = image.reshape(4, 2, 4, 2, 3).mean(axis=(1, 3))
    assert np.allclose(halved[1:-1, 1:-1], expected[1:-1, 1:-1], atol=1e-4)
