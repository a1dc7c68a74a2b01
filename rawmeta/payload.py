"""The rawmeta payload: a versioned header, the coded samples and a SHA-256 trailer.

The byte layout is specified in docs/FORMAT.md ("Payload"); this module is
its reference implementation. All integers are big-endian.
"""
from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

import numpy as np

from . import sample_coding
from .camera import WB_SOURCES, CameraFacts
from .errors import PayloadError
from .sampling import Grid

MAGIC = b"RMPL"
FORMAT_VERSION = 1
CHANNELS = 3
#: JPEG frames are at most 65535 x 65535 pixels.
MAX_DIMENSION = 65535

_FIXED = struct.Struct(">4sHHIIHHHBBIBB32sI")
_CAMERA_NUMBERS = struct.Struct(">B4II4s3fBB9fHB")
_LENGTH = struct.Struct(">I")
_HASH_BYTES = 32


@dataclass(frozen=True)
class Payload:
    """Everything a JPEG carries for restore.

    Attributes
    ----------
    grid : Grid
        Sample positions on the JPEG's stored pixel grid.
    bits : int
        Sample bit depth; ``samples / (2**bits - 1)`` is raw-RGB.
    samples : ndarray, uint16, shape (rows, cols, 3)
        Quantized raw-RGB at the grid positions (``grid.shape``).
    camera : CameraFacts
        Facts about the source RAW.
    image_hash : bytes
        SHA-256 of the JPEG's image data (see ``jpeg_segments.image_data_hash``).
    """

    grid: Grid
    bits: int
    samples: np.ndarray
    camera: CameraFacts
    image_hash: bytes

    def __post_init__(self) -> None:
        if self.samples.shape != (*self.grid.shape, CHANNELS) or self.samples.dtype != np.uint16:
            raise ValueError(
                f"samples must be uint16 {(*self.grid.shape, CHANNELS)}, "
                f"not {self.samples.dtype} {self.samples.shape}"
            )
        if len(self.image_hash) != _HASH_BYTES:
            raise ValueError("image_hash must be a 32-byte SHA-256 digest")

    def values(self) -> np.ndarray:
        """Samples as float32 raw-RGB in [0, 1]."""
        return sample_coding.dequantize(self.samples, self.bits)


def pack(payload: Payload) -> bytes:
    """Serialise a payload (docs/FORMAT.md, version 1)."""
    grid = payload.grid
    coded = sample_coding.encode(payload.samples, payload.bits)
    camera = _pack_camera(payload.camera)
    body = b"".join(
        (
            _FIXED.pack(
                MAGIC,
                FORMAT_VERSION,
                0,
                grid.width,
                grid.height,
                grid.stride,
                grid.offset_x,
                grid.offset_y,
                payload.bits,
                CHANNELS,
                grid.count,
                sample_coding.FILTER_ROW_DELTA_GREEN,
                sample_coding.COMPRESSION_ZSTD,
                payload.image_hash,
                len(camera),
            ),
            camera,
            _LENGTH.pack(len(coded)),
            coded,
        )
    )
    return body + hashlib.sha256(body).digest()


def unpack(data: bytes) -> Payload:
    """Parse and check a payload.

    Raises
    ------
    PayloadError
        On a wrong magic, an unknown version, a failed SHA-256 check, an
        inconsistent or absurd header, or sample data that does not decode.
    """
    if len(data) < 4 or data[:4] != MAGIC:
        raise PayloadError("rawmeta payload does not start with its magic bytes")
    if len(data) < _FIXED.size + _HASH_BYTES:
        raise PayloadError(f"rawmeta payload is truncated ({len(data)} bytes)")
    version = struct.unpack_from(">H", data, 4)[0]
    if version != FORMAT_VERSION:
        raise PayloadError(
            f"rawmeta payload has format version {version}; this rawmeta reads version {FORMAT_VERSION}"
        )
    body, digest = data[:-_HASH_BYTES], data[-_HASH_BYTES:]
    if hashlib.sha256(body).digest() != digest:
        raise PayloadError("rawmeta payload fails its SHA-256 check (the data is corrupt)")
    (_, _, _, width, height, stride, off_x, off_y, bits, channels, count, filt, comp, image_hash,
     camera_len) = _FIXED.unpack_from(body, 0)
    if not (0 < width <= MAX_DIMENSION and 0 < height <= MAX_DIMENSION):
        raise PayloadError(f"rawmeta payload declares an impossible image size {width} x {height}")
    try:
        grid = Grid(height, width, stride, off_y, off_x)
    except ValueError as exc:
        raise PayloadError(f"rawmeta payload has an invalid grid: {exc}") from None
    if channels != CHANNELS or count != grid.count:
        raise PayloadError("rawmeta payload header is inconsistent (channels or sample count)")
    if not sample_coding.MIN_BITS <= bits <= sample_coding.MAX_BITS:
        raise PayloadError(f"rawmeta payload declares an unsupported sample depth of {bits} bits")
    if filt != sample_coding.FILTER_ROW_DELTA_GREEN or comp != sample_coding.COMPRESSION_ZSTD:
        raise PayloadError(f"rawmeta payload uses unknown coding (filter {filt}, compression {comp})")
    pos = _FIXED.size
    camera = _unpack_camera(_take(body, pos, camera_len))
    pos += camera_len
    (coded_len,) = _LENGTH.unpack(_take(body, pos, _LENGTH.size))
    pos += _LENGTH.size
    coded = _take(body, pos, coded_len)
    if pos + coded_len != len(body):
        raise PayloadError("rawmeta payload has bytes after its sample data")
    try:
        samples = sample_coding.decode(coded, grid.shape, bits)
    except sample_coding.SampleCodingError as exc:
        raise PayloadError(f"rawmeta payload samples are corrupt: {exc}") from None
    return Payload(grid=grid, bits=bits, samples=samples, camera=camera, image_hash=image_hash)


def _take(body: bytes, pos: int, n: int) -> bytes:
    if pos + n > len(body):
        raise PayloadError("rawmeta payload is truncated inside its header")
    return body[pos : pos + n]


def _pack_text(text: str) -> bytes:
    raw = text.encode("utf-8")[:255]
    return bytes([len(raw)]) + raw


def _pack_camera(c: CameraFacts) -> bytes:
    matrix = c.xyz_to_camera if c.xyz_to_camera is not None else (0.0,) * 9
    numbers = _CAMERA_NUMBERS.pack(
        c.bits,
        *c.black_levels,
        c.white_level,
        c.cfa.encode("ascii") if c.cfa else b"\0\0\0\0",
        *c.white_balance,
        WB_SOURCES.index(c.white_balance_source),
        c.xyz_to_camera is not None,
        *matrix,
        c.calibration_illuminant,
        c.orientation,
    )
    return _pack_text(c.make) + _pack_text(c.model) + numbers


def _unpack_camera(block: bytes) -> CameraFacts:
    try:
        make, pos = _unpack_text(block, 0)
        model, pos = _unpack_text(block, pos)
        if len(block) - pos != _CAMERA_NUMBERS.size:
            raise PayloadError("rawmeta payload camera block has the wrong length")
        v = _CAMERA_NUMBERS.unpack_from(block, pos)
        bits, black, white, cfa = v[0], tuple(v[1:5]), v[5], v[6]
        wb, wb_source, has_matrix, matrix = tuple(v[7:10]), v[10], v[11], tuple(v[12:21])
        illuminant, orientation = v[21], v[22]
        return CameraFacts(
            make=make,
            model=model,
            bits=bits,
            black_levels=black,  # type: ignore[arg-type]
            white_level=white,
            cfa="" if cfa == b"\0\0\0\0" else cfa.decode("ascii"),
            white_balance=wb,  # type: ignore[arg-type]
            white_balance_source=WB_SOURCES[wb_source],
            xyz_to_camera=matrix if has_matrix else None,
            calibration_illuminant=illuminant,
            orientation=orientation,
        )
    except (ValueError, IndexError, UnicodeDecodeError) as exc:
        raise PayloadError(f"rawmeta payload camera block is invalid: {exc}") from None


def _unpack_text(block: bytes, pos: int) -> tuple[str, int]:
    if pos >= len(block):
        raise PayloadError("rawmeta payload camera block is truncated")
    n = block[pos]
    raw = block[pos + 1 : pos + 1 + n]
    if len(raw) != n:
        raise PayloadError("rawmeta payload camera block is truncated")
    return raw.decode("utf-8"), pos + 1 + n
