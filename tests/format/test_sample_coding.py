import numpy as np
import pytest
import zstandard

from rawmeta.errors import SampleCodingError
from rawmeta.format import sample_coding as sc


@pytest.mark.parametrize("bits", range(1, 17))
def test_residual_round_trip_random(bits):
    rng = np.random.default_rng(bits)
    q = rng.integers(0, 1 << bits, (947, 3)).astype(np.uint16)
    p = rng.integers(0, 1 << bits, (947, 3))
    assert np.array_equal(sc.decode_residuals(sc.encode_residuals(q, p, bits), p, bits), q)


@pytest.mark.parametrize("bits", [1, 12, 16])
def test_residual_round_trip_extremes(bits):
    top = (1 << bits) - 1
    q = np.array([[0, top, 0], [top, 0, top]] * 5, np.uint16)
    p = top - q.astype(np.int64)  # every residual is +-top, the largest
    assert np.array_equal(sc.decode_residuals(sc.encode_residuals(q, p, bits), p, bits), q)


def test_residuals_are_small_when_the_prediction_is_good():
    rng = np.random.default_rng(0)
    q = rng.integers(0, 4096, (5000, 3)).astype(np.uint16)
    near = q + rng.integers(-2, 3, q.shape)
    assert len(sc.encode_residuals(q, near, 12)) < len(sc.encode_residuals(q, np.zeros_like(near), 12)) / 3


@pytest.mark.parametrize("bits", [1, 7, 12, 16])
def test_row_delta_round_trip(bits):
    """Filter 1 (version 1 payloads) still decodes what it coded."""
    rng = np.random.default_rng(bits)
    q = rng.integers(0, 1 << bits, (23, 41, 3)).astype(np.uint16)
    coded = sc.compress(sc.row_delta_stream(q, bits))
    assert np.array_equal(sc.decode_row_delta(coded, (23, 41), bits), q)


def test_quantization_error_is_half_a_step():
    v = np.linspace(0, 1, 100001, dtype=np.float32)
    for bits in (8, 12, 16):
        err = np.abs(sc.dequantize(sc.quantize(v, bits), bits) - v)
        assert err.max() <= 0.5 / ((1 << bits) - 1) + 1e-7
    assert np.array_equal(sc.quantize(np.array([-0.5, 1.5]), 12), [0, 4095])


def test_quantization_psnr_matches_measurement():
    rng = np.random.default_rng(0)
    v = rng.random(1_000_000)
    err = sc.dequantize(sc.quantize(v, 12), 12) - v
    measured = 10 * np.log10(1 / np.mean(err.astype(np.float64) ** 2))
    assert measured == pytest.approx(sc.quantization_psnr(12), abs=0.1)


def test_16_bit_keeps_libraw_values_exactly():
    q = np.arange(65536, dtype=np.uint16)
    assert np.array_equal(sc.quantize(q.astype(np.float32) / 65535, 16), q)


def test_decode_refuses_a_frame_that_declares_more_than_the_header():
    huge = zstandard.ZstdCompressor().compress(b"\0" * 10_000_000)
    with pytest.raises(SampleCodingError, match="declares"):
        sc.decode_residuals(huge, np.zeros((100, 3), np.int64), 12)


def test_decode_refuses_garbage_and_short_data():
    with pytest.raises(sc.SampleCodingError):
        sc.decode_row_delta(b"not zstd at all", (4, 4), 12)
    short = zstandard.ZstdCompressor().compress(b"\0" * 10)
    with pytest.raises(sc.SampleCodingError):
        sc.decode_residuals(short, np.zeros((16, 3), np.int64), 12)


def test_decode_refuses_values_out_of_range():
    # A zigzag value that decodes to a negative sample.
    stream = np.zeros((3, 2, 1, 2), np.uint8)
    stream[1, 1, 0, 0] = 1  # green: -1 in the first column
    data = zstandard.ZstdCompressor().compress(stream.tobytes())
    with pytest.raises(sc.SampleCodingError, match="outside"):
        sc.decode_row_delta(data, (1, 2), 12)


def test_residuals_on_other_predictions_are_clipped_to_the_range():
    """A re-encoded JPEG predicts differently; its samples stay valid values."""
    data = sc.encode_residuals(np.full((4, 3), 4095, np.uint16), np.zeros((4, 3), np.int64), 12)
    assert (sc.decode_residuals(data, np.full((4, 3), 10, np.int64), 12) == 4095).all()  # 10 + 4095 -> 4095
