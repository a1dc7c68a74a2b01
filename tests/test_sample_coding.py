import numpy as np
import pytest
import zstandard

from rawmeta import sample_coding as sc


@pytest.mark.parametrize("bits", range(1, 17))
def test_round_trip_random(bits):
    rng = np.random.default_rng(bits)
    q = rng.integers(0, 1 << bits, (23, 41, 3)).astype(np.uint16)
    assert np.array_equal(sc.decode(sc.encode(q, bits), (23, 41), bits), q)


@pytest.mark.parametrize("bits", [1, 12, 16])
def test_round_trip_extremes(bits):
    top = (1 << bits) - 1
    q = np.zeros((5, 8, 3), np.uint16)
    q[:, ::2, 0] = top  # largest jumps in red against a flat green
    q[:, 1::2, 2] = top
    q[::2, :, 1] = top
    assert np.array_equal(sc.decode(sc.encode(q, bits), (5, 8), bits), q)


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
    with pytest.raises(sc.SampleCodingError, match="declares"):
        sc.decode(huge, (10, 10), 12)


def test_decode_refuses_garbage_and_short_data():
    with pytest.raises(sc.SampleCodingError):
        sc.decode(b"not zstd at all", (4, 4), 12)
    short = zstandard.ZstdCompressor().compress(b"\0" * 10)
    with pytest.raises(sc.SampleCodingError):
        sc.decode(short, (4, 4), 12)


def test_decode_refuses_values_out_of_range():
    # A zigzag value that decodes to a negative sample.
    stream = np.zeros((3, 2, 1, 2), np.uint8)
    stream[1, 1, 0, 0] = 1  # green: -1 in the first column
    data = zstandard.ZstdCompressor().compress(stream.tobytes())
    with pytest.raises(sc.SampleCodingError, match="outside"):
        sc.decode(data, (1, 2), 12)
