"""Quantization and lossless coding of sample values.

Samples are quantized to ``bits``-bit unsigned integers ``q`` and coded by
a filter, then zstandard (docs/FORMAT.md, section 4):

filter 2 (written since format version 2)
    the difference to a prediction ``p`` from the decoded JPEG
    (``prediction``): ``e = q - p`` per channel, zigzag, byte planes. The
    samples form one sequence; the reader recomputes ``p``.
filter 1 (format version 1, read only)
    per channel the difference to the sample on the left in its sample row,
    red and blue minus green's difference, zigzag, byte planes.

Zigzag maps signed to unsigned (``2e`` for ``e >= 0``, ``-2e - 1``
otherwise); byte planes store channels R, G, B in turn, each as
``ceil((bits + 2) / 8)`` planes, most significant first.
"""
from __future__ import annotations

import numpy as np
import zstandard

from rawmeta.errors import SampleCodingError

FILTER_ROW_DELTA_GREEN = 1
FILTER_PREDICTED = 2
COMPRESSION_ZSTD = 1
ZSTD_LEVEL = 17
MIN_BITS, MAX_BITS = 1, 16
_INFLATE_CHUNK = 16 * 1024**2


Bits = int | np.ndarray
"""A bit depth, or one per sample (an integer array that broadcasts against the samples)."""


def tops(bits: Bits) -> int | np.ndarray:
    """Largest quantized value ``2**bits - 1`` (elementwise for an array of depths)."""
    _check_bits(bits)
    return (1 << bits) - 1 if isinstance(bits, int) else (np.int64(1) << np.asarray(bits, np.int64)) - 1


def quantize(values: np.ndarray, bits: Bits) -> np.ndarray:
    """Map values in [0, 1] to integers 0 .. 2**bits - 1 (round to nearest, clip outside)."""
    q = np.floor(np.clip(values.astype(np.float64), 0.0, 1.0) * tops(bits) + 0.5)
    return q.astype(np.uint16)


def dequantize(q: np.ndarray, bits: Bits) -> np.ndarray:
    """Inverse of :func:`quantize`: float32 values in [0, 1]."""
    return (q.astype(np.float32) / np.asarray(tops(bits), np.float32)).astype(np.float32)


def quantization_psnr(bits: int) -> float:
    """PSNR (dB, peak 1) of uniform quantization noise at ``bits`` bits: step^2 / 12."""
    step = 1.0 / ((1 << bits) - 1)
    return float(10 * np.log10(12.0 / step**2))


def plane_bytes(bits: Bits) -> int:
    """Bytes per filtered value at a sample depth of ``bits`` (the largest, for per-sample depths)."""
    return -(-(int(np.max(bits)) + 2) // 8)


def encode_residuals(q: np.ndarray, p: np.ndarray, bits: Bits) -> bytes:
    """Filter 2 and zstandard: quantized samples ``q`` (N, 3) coded against predictions ``p`` (N, 3).

    ``bits`` is one depth or one per sample, shape (N, 1).
    """
    return compress(residual_stream(q, p, bits))


def residual_stream(q: np.ndarray, p: np.ndarray, bits: Bits) -> bytes:
    """Filter 2's byte stream (before zstandard)."""
    _check_bits(bits)
    if q.shape != p.shape or q.ndim != 2 or q.shape[1] != 3:
        raise ValueError(f"samples and predictions must both be N x 3, not {q.shape} and {p.shape}")
    e = (q.astype(np.int32) - p.astype(np.int32)).T
    return byte_planes(zigzag(e), plane_bytes(bits))


def decode_residuals(data: bytes, p: np.ndarray, bits: Bits) -> np.ndarray:
    """Inverse of :func:`encode_residuals` given the same predictions ``p`` (N, 3): uint16 (N, 3).

    Samples are clipped to their depth's range: with the writer's
    predictions they always lie in it, so values outside come from pixels
    that differ from the writer's (a re-encoded JPEG, another decoder).
    """
    _check_bits(bits)
    z = _planes(data, (len(p),), plane_bytes(bits))
    q = (p.T + unzigzag(z)).T
    return np.ascontiguousarray(np.clip(q, 0, tops(bits)).astype(np.uint16))


def row_delta_stream(q: np.ndarray, bits: int) -> bytes:
    """Filter 1's byte stream for samples (rows, cols, 3): version 1's coding, which rawmeta no longer
    writes into payloads; benchmarks compare against it."""
    _check_bits(bits)
    if q.ndim != 3 or q.shape[2] != 3:
        raise ValueError(f"samples must be rows x cols x 3, not {q.shape}")
    planes = np.moveaxis(q.astype(np.int32), 2, 0)
    d = np.diff(planes, axis=2, prepend=0)
    e = np.stack([d[0] - d[1], d[1], d[2] - d[1]])
    return byte_planes(zigzag(e), plane_bytes(bits))


def decode_row_delta(data: bytes, shape: tuple[int, int], bits: int) -> np.ndarray:
    """Filter 1 (version 1 payloads): samples of shape (rows, cols, 3), uint16."""
    _check_bits(bits)
    e = unzigzag(_planes(data, shape, plane_bytes(bits)))
    d = np.stack([e[0] + e[1], e[1], e[2] + e[1]])
    planes = np.cumsum(d, axis=2)
    _check_range(planes, bits)
    return np.ascontiguousarray(np.moveaxis(planes, 0, 2).astype(np.uint16))


def zigzag(e: np.ndarray) -> np.ndarray:
    """Signed int32 values to unsigned: 0, -1, 1, -2, ... -> 0, 1, 2, 3, ..."""
    return ((e << 1) ^ (e >> 31)).astype(np.uint32)


def byte_planes(z: np.ndarray, nb: int) -> bytes:
    """Channel-first unsigned values (C, ...) as ``nb`` byte planes per channel, MSB first."""
    shifts = (np.arange(nb - 1, -1, -1, dtype=np.uint32) * 8).reshape(1, nb, *([1] * (z.ndim - 1)))
    return ((z[:, None] >> shifts) & 0xFF).astype(np.uint8).tobytes()


def compress(stream: bytes, level: int = ZSTD_LEVEL) -> bytes:
    """zstandard (level 17 by default: about level 19's size in less of its time, docs/CONSTANTS.md),
    with the content size in the frame header."""
    return zstandard.ZstdCompressor(level=level).compress(stream)


def unzigzag(z: np.ndarray) -> np.ndarray:
    """Inverse of :func:`zigzag`, as int64."""
    return (z >> 1).astype(np.int64) ^ -(z & 1).astype(np.int64)


def inflate(data: bytes, expected: int, what: str) -> bytes:
    """Decompress one zstandard frame that must declare and hold exactly ``expected`` bytes.

    Decompresses in chunks, so memory grows with what the frame really holds,
    never with what it declares. Raises SampleCodingError naming ``what``.
    """
    try:
        declared = zstandard.frame_content_size(data)
    except zstandard.ZstdError as exc:
        raise SampleCodingError(f"{what} is not a zstandard frame ({exc})") from None
    if declared != expected:
        told = "does not declare its size" if declared < 0 else f"declares {declared} bytes"
        raise SampleCodingError(f"{what} {told}, the header implies {expected}")
    out = bytearray()
    try:
        with zstandard.ZstdDecompressor().stream_reader(data) as reader:
            while len(out) <= expected:
                chunk = reader.read(min(_INFLATE_CHUNK, expected + 1 - len(out)))
                if not chunk:
                    break
                out += chunk
    except zstandard.ZstdError as exc:
        raise SampleCodingError(f"{what} does not decompress ({exc})") from None
    if len(out) != expected:
        raise SampleCodingError(f"{what} holds {len(out)} bytes, the header implies {expected}")
    return bytes(out)


def _planes(data: bytes, shape: tuple[int, ...], nb: int) -> np.ndarray:
    """Decompress and reassemble ``nb`` byte planes into unsigned values (3, *shape), refusing frames of the
    wrong size."""
    count = int(np.prod(shape))
    raw = inflate(data, 3 * nb * count, "sample data")
    stream = np.frombuffer(raw, dtype=np.uint8).reshape(3, nb, count).astype(np.uint32)
    z = np.zeros((3, count), dtype=np.uint32)
    for k in range(nb):
        z = (z << 8) | stream[:, k]
    return z.reshape(3, *shape)


def _check_range(q: np.ndarray, bits: Bits) -> None:
    """Refuse decoded samples outside their depth's range (``bits`` broadcasts against ``q``)."""
    if q.min(initial=0) < 0 or np.any(q > tops(bits)):
        raise SampleCodingError(f"decoded samples fall outside the {np.max(bits)}-bit range")


def _check_bits(bits: Bits) -> None:
    if isinstance(bits, int):
        bad = not MIN_BITS <= bits <= MAX_BITS
    else:
        bad = np.size(bits) and (np.min(bits) < MIN_BITS or np.max(bits) > MAX_BITS)
    if bad:
        raise ValueError(f"sample bit depth must be {MIN_BITS}-{MAX_BITS}, not {bits}")
