"""The lossless JPEG encoder of DNG tiles, checked by the decoder photographers' tools use (LibRaw)."""
from __future__ import annotations

import numpy as np
import pytest
import rawpy

from rawmeta.io import ljpeg
from rawmeta.io.dng import TILE, linear_dng_bytes, linear_samples

from ..helpers import CAMERA


def _libraw_reads(tmp_path, rgb: np.ndarray) -> np.ndarray:
    path = tmp_path / "x.dng"
    path.write_bytes(linear_dng_bytes(rgb, CAMERA))
    with rawpy.imread(str(path)) as raw:
        return np.array(raw.raw_image)[..., :3]


@pytest.mark.parametrize("shape", [(23, 37), (300, TILE), (2 * TILE + 7, 2 * TILE + 13), (700, TILE - 1)],
                         ids=["narrow", "one-tile-wide", "partial-edge-tiles", "one-strip"])
def test_libraw_decodes_every_sample_exactly(tmp_path, shape):
    rng = np.random.default_rng(sum(shape))
    rgb = np.clip(np.linspace(0, 1, shape[1])[None, :, None] + rng.normal(0, 0.02, (*shape, 3)), 0, 1)
    rgb[:4, :4] = 1.0  # full scale next to zero: the largest differences (category 16, 32768)
    rgb[4:8, :4] = 0.0
    rgb[8, 1::2] = 1.0
    assert np.array_equal(_libraw_reads(tmp_path, rgb.astype(np.float32)), linear_samples(rgb.astype(np.float32)))


def test_white_noise_still_decodes_and_costs_about_its_entropy(tmp_path):
    rgb = np.random.default_rng(3).random((TILE, TILE, 3)).astype(np.float32)
    assert np.array_equal(_libraw_reads(tmp_path, rgb), linear_samples(rgb))
    stream = ljpeg.encode(linear_samples(rgb))
    assert len(stream) < TILE * TILE * 3 * 2 * 1.15  # 16 random bits a sample, plus codes


def test_smooth_data_compresses():
    ramp = np.tile(np.arange(TILE, dtype=np.uint16) * 16, (TILE, 1))
    assert len(ljpeg.encode(ramp)) < ramp.nbytes / 2  # 1 code bit + 5 difference bits a sample


def test_code_lengths_stay_within_16_bits_and_leave_the_all_ones_code_free():
    frequency = np.array([2**k for k in range(17)][::-1])  # skewed: a plain Huffman code would need 17 bits
    lengths = ljpeg._code_lengths(frequency)
    assert lengths.max() <= 16 and (lengths > 0).all()
    assert sum(2.0 ** -int(n) for n in lengths) < 1  # Kraft: room left for the reserved code


def test_refuses_what_it_cannot_encode():
    with pytest.raises(ValueError, match="uint16"):
        ljpeg.encode(np.zeros((4, 4), np.float32))
    with pytest.raises(ValueError, match="precision"):
        ljpeg.encode(np.full((4, 4), 4096, np.uint16), precision=12)
