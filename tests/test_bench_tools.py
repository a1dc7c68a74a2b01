"""Benchmark tools: the RawTherapee crop search, the PSNR-against-time plot, the 12/24 MP restore run."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from rawmeta import plot, scale_bench
from rawmeta.restore_bench import common_area

from .helpers import smooth_image


def test_common_area_finds_the_crop_offset_despite_a_different_tone_curve():
    reference = smooth_image(200, 260, seed=3)
    noise = np.random.default_rng(0).integers(0, 40, reference.shape)
    reference = np.clip(reference.astype(int) + noise, 0, 255).astype(np.uint8)
    other = reference[7:191, 3:250].astype(np.float64) / 255
    developed = (np.clip(other ** 0.7 * 1.1, 0, 1) * 65535).astype(np.uint16)
    assert common_area(reference, developed) == (7, 3)


def test_scatter_png(tmp_path):
    target = tmp_path / "p.png"
    plot.scatter_png(target, {"a": [(0.5, 40.0), (100.0, 45.0)], "b": [(3.0, 41.5)]}, "t", "x", "y")
    img = Image.open(target)
    assert img.format == "PNG" and img.size == (720, 480)
    colours = {c for _, c in img.getcolors(1 << 16)}
    assert plot.COLOURS[0] in colours and plot.COLOURS[1] in colours
    with pytest.raises(ValueError, match="nothing"):
        plot.scatter_png(target, {"a": []}, "t", "x", "y")


def test_scale_bench_measures_a_restore_process(pair, tmp_path):
    row = scale_bench.bench_size(pair[0], "tiny", 200, 150, "cpu", tmp_path)
    assert (row.width, row.height) == (200, 150) and row.seconds > 0
    assert 50 < row.peak_rss_mb < 4096 and row.psnr > 20
    assert scale_bench.mirror_tile(np.arange(6.0).reshape(1, 2, 3), 2, 3)[:, :, 0].tolist() == [[0, 3, 3], [0, 3, 3]]
