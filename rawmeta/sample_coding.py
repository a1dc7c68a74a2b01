"""Quantization and lossless coding of the sample array.

Samples are quantized to ``bits``-bit unsigned integers, then coded by
filter 1 ("row-delta, green-referenced, zigzag, byte planes") and zstandard.
The filter was chosen by measurement on real RAWs (docs/BENCHMARKS.md):

1. per channel, the difference to the sample on its left (the first column
   keeps its value): ``d[c, i, j] = q[c, i, j] - q[c, i, j-1]``;
2. red and blue minus green: ``e_R = d_R - d_G``, ``e_G = d_G``, ``e_B = d_B - d_G``;
3. zigzag to unsigned: ``z = 2e`` for ``e >= 0``, ``-2e - 1`` otherwise;
4. byte planes: channels R, G, B in turn, each as ``ceil((bits + 2) / 8)``
   planes of rows x cols bytes, most significant plane first.

Decoding undoes each step; step 1 is a cumulative sum along rows.
"""
from __future__ import annotations

import numpy as np
import zstandard

FILTER_ROW_DELTA_GREEN = 1
COMPRESSION_ZSTD = 1
ZSTD_LEVEL = 17
MIN_BITS, MAX_BITS = 1, 16


class SampleCodingError(ValueError):
    """Coded samples that cannot be decoded."""


def quantize(values: np.ndarray, bits: int) -> np.ndarray:
    """Map values in [0, 1] to integers 0 .. 2**bits - 1 (round to nearest, clip outside)."""
    _check_bits(bits)
    top = (1 << bits) - 1
    q = np.floor(np.clip(values.astype(np.float64), 0.0, 1.0) * top + 0.5)
    return q.astype(np.uint16)


def dequantize(q: np.ndarray, bits: int) -> np.ndarray:
    """Inverse of :func:`quantize`: float32 values in [0, 1]."""
    _check_bits(bits)
    return (q.astype(np.float32) / np.float32((1 << bits) - 1)).astype(np.float32)


def quantization_psnr(bits: int) -> float:
    """PSNR (dB, peak 1) of uniform quantization noise at ``bits`` bits: step^2 / 12."""
    step = 1.0 / ((1 << bits) - 1)
    return float(10 * np.log10(12.0 / step**2))


def plane_bytes(bits: int) -> int:
    """Bytes per filtered value at a sample depth of ``bits``."""
    return -(-(bits + 2) // 8)


def encode(q: np.ndarray, bits: int) -> bytes:
    """Filter and compress quantized samples of shape (rows, cols, 3)."""
    _check_bits(bits)
    if q.ndim != 3 or q.shape[2] != 3:
        raise ValueError(f"samples must be rows x cols x 3, not {q.shape}")
    return compress(filtered(q, bits))


def filtered(q: np.ndarray, bits: int) -> bytes:
    """Steps 1-4 of filter 1: the byte stream that zstandard compresses."""
    planes = np.moveaxis(q.astype(np.int32), 2, 0)
    d = np.diff(planes, axis=2, prepend=0)
    e = np.stack([d[0] - d[1], d[1], d[2] - d[1]])
    return byte_planes(zigzag(e), plane_bytes(bits))


def zigzag(e: np.ndarray) -> np.ndarray:
    """Signed int32 values to unsigned: 0, -1, 1, -2, ... -> 0, 1, 2, 3, ..."""
    return ((e << 1) ^ (e >> 31)).astype(np.uint32)


def byte_planes(z: np.ndarray, nb: int) -> bytes:
    """Channel-first unsigned values (C, rows, cols) as ``nb`` byte planes per channel, MSB first."""
    shifts = np.arange(nb - 1, -1, -1, dtype=np.uint32) * 8
    return ((z[:, None] >> shifts[None, :, None, None]) & 0xFF).astype(np.uint8).tobytes()


def compress(stream: bytes, level: int = ZSTD_LEVEL) -> bytes:
    """zstandard (level 17 by default: within 0.1 % of level 19's size in 60 % of its time,
    docs/BENCHMARKS.md), with the content size in the frame header."""
    return zstandard.ZstdCompressor(level=level).compress(stream)


def decode(data: bytes, shape: tuple[int, int], bits: int) -> np.ndarray:
    """Inverse of :func:`encode`; refuses frames that would not decode to exactly ``shape``."""
    _check_bits(bits)
    rows, cols = shape
    nb = plane_bytes(bits)
    expected = 3 * nb * rows * cols
    try:
        declared = zstandard.frame_content_size(data)
    except zstandard.ZstdError as exc:
        raise SampleCodingError(f"sample data is not a zstandard frame ({exc})") from None
    if declared not in (expected, zstandard.CONTENTSIZE_UNKNOWN):
        raise SampleCodingError(f"sample data declares {declared} bytes, the header implies {expected}")
    try:
        raw = zstandard.ZstdDecompressor().decompress(data, max_output_size=expected)
    except zstandard.ZstdError as exc:
        raise SampleCodingError(f"sample data does not decompress ({exc})") from None
    if len(raw) != expected:
        raise SampleCodingError(f"sample data holds {len(raw)} bytes, the header implies {expected}")
    stream = np.frombuffer(raw, dtype=np.uint8).reshape(3, nb, rows, cols).astype(np.uint32)
    z = np.zeros((3, rows, cols), dtype=np.uint32)
    for k in range(nb):
        z = (z << 8) | stream[:, k]
    e = (z >> 1).astype(np.int64) ^ -(z & 1).astype(np.int64)
    d = np.stack([e[0] + e[1], e[1], e[2] + e[1]])
    planes = np.cumsum(d, axis=2)
    if planes.min(initial=0) < 0 or planes.max(initial=0) > (1 << bits) - 1:
        raise SampleCodingError(f"decoded samples fall outside the {bits}-bit range")
    return np.ascontiguousarray(np.moveaxis(planes, 0, 2).astype(np.uint16))


def _check_bits(bits: int) -> None:
    if not MIN_BITS <= bits <= MAX_BITS:
        raise ValueError(f"sample bit depth must be {MIN_BITS}-{MAX_BITS}, not {bits}")
