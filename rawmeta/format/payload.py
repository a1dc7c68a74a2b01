"""The rawmeta payload: a versioned header, the coded samples and a SHA-256 trailer.

The byte layout is specified in docs/FORMAT.md ("Payload"); this module is
its reference implementation. All integers are big-endian. rawmeta writes
version 10 and reads versions 1 to 10. Versions 2 and later code the samples
against predictions from the decoded JPEG (``prediction``), so reading one
needs the JPEG's pixels; version 3 adds where the JPEG's grid lies in the
RAW (``alignment``), version 4 a fingerprint of the JPEG's pixels
(``fingerprint``), version 5 a flag for an alternating sampling grid
(``grid.Grid.alternate``), version 6 the RAW's declared crop and its
linearization table to the camera block (``CameraFacts.crop``,
``CameraFacts.linearization``), version 7 samples on the RAW's own grid
for a JPEG smaller than the RAW (alignment kind 2, ``Payload.jpeg_size``),
version 8 white balance source ``"jpeg"`` (estimated from the JPEG at embed) and the shot's tags to the
camera block's end (``CameraFacts.shot``), version 9 the raw-RGB's peak (``Payload.peak``); version 10 is
laid out as version 9 and differs in a restore hint only (docs/FORMAT.md, "Restore hints": the fast
preset's sine units).
"""
from __future__ import annotations

import hashlib
import math
import struct
from dataclasses import dataclass

import numpy as np

from rawmeta.errors import MismatchError, PayloadError, SampleCodingError
from rawmeta.format import fingerprint as fp
from rawmeta.format import prediction, sample_coding, shot
from rawmeta.format.alignment import Alignment
from rawmeta.format.camera import MAX_TABLE, WB_SOURCE_SINCE, WB_SOURCES, CameraFacts
from rawmeta.format.grid import Grid
from rawmeta.format.refinement import Refinement

MAGIC = b"RMPL"
FORMAT_VERSION = 10
READABLE_VERSIONS = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10)
CHANNELS = 3
#: Header flag bit 0: the fast preset interpolates clipped highlights (``highlights``).
FLAG_HIGHLIGHTS = 1
#: Header flag bit 1 (version 5 and later): the sampling grid alternates (``grid.Grid.alternate``).
FLAG_ALTERNATE = 2
#: Refinement block sizes a reader accepts (bounds the block map before it is allocated).
MIN_BLOCK, MAX_BLOCK = 8, 256
#: JPEG frames are at most 65535 x 65535 pixels.
MAX_DIMENSION = 65535
#: Most pixels an image rawmeta decodes or restores may have: a 150 MP medium-format frame fits.
MAX_JPEG_PIXELS = 160_000_000

_FIXED = struct.Struct(">4sHHIIHHHBBIBB32sI")
_CAMERA_NUMBERS = struct.Struct(">B4II4s3fBB9fHB")
_CROP = struct.Struct(">4H")
_LENGTH = struct.Struct(">I")
_ESTIMATES = struct.Struct(">ff")
_PEAK = struct.Struct(">H")
#: The peak's unit: it is stored as ``v * PEAK_SCALE`` rounded half up.
PEAK_SCALE = 65535
_COEFFICIENTS = struct.Struct(f">{prediction.TERMS * CHANNELS}f")
_REFINEMENT = struct.Struct(">HB")
_ALIGNMENT = struct.Struct(">Bf")
_ALIGNMENT_MAP = struct.Struct(">HH6d")
_FINGERPRINT_HEAD = struct.Struct(">IBB")
#: Alignment kinds: the JPEG's grid is the raw-RGB's; mapped into it; the samples are on the raw-RGB's grid
#: and the JPEG is mapped into it (version 7 on).
SAME_GRID, MAPPED, RAW_GRID = 0, 1, 2
#: Raw-RGB pixels per JPEG pixel a reader accepts in a mapped alignment.
MIN_SCALE, MAX_SCALE = 1 / 16, 256
_HASH_BYTES = 32


@dataclass(frozen=True)
class Payload:
    """Everything a JPEG carries for restore.

    Attributes
    ----------
    grid : Grid
        Base sample positions on the JPEG's stored pixel grid, or on the raw-RGB's when ``jpeg_size`` is set.
    bits : int
        Sample bit depth; ``samples / (2**bits - 1)`` is raw-RGB.
    samples : ndarray, uint16, shape (rows, cols, 3)
        Quantized raw-RGB at the grid positions (``grid.shape``).
    camera : CameraFacts
        Facts about the source RAW.
    image_hash : bytes
        SHA-256 of the JPEG's image data (see ``segments.image_data_hash``).
    refinement : Refinement, optional
        Blocks with extra samples; None for none (and for version 1 payloads).
    refined : ndarray, uint16, shape (N, 3), optional
        Quantized raw-RGB at ``refinement.positions``.
    highlights : bool
        Whether the fast preset interpolates clipped highlights (the writer
        measured which is better; version 1 payloads always did).
    expected_psnr : float
        Whole-image PSNR (dB) of the fast preset's restore as measured by
        the writer, which had the RAW; NaN if not measured.
    budget : float
        The size budget (percent of the JPEG) the writer was given; 0 if none.
    alignment : Alignment, optional
        Where the JPEG's grid lies in the RAW's raw-RGB and how well their
        content matched; None for version 1 and 2 payloads (same grid).
    fingerprint : Fingerprint, optional
        The fingerprint of the JPEG's pixels read from a version 4 or later payload
        (``fingerprint.fingerprint``); None for older ones. ``pack`` takes
        it from the pixels it is given, not from here.
    version : int
        The format version it was read from (``pack`` always writes ``FORMAT_VERSION``).
    jpeg_size : (int, int), optional
        The JPEG's (height, width) when the samples lie on the raw-RGB's own grid (the grid is the
        raw-RGB's size and ``alignment`` maps the JPEG into it): a restore then has the RAW's
        resolution. None when the grid is the JPEG's.
    peak : float, optional
        The highest value of any channel of the raw-RGB the samples were taken
        from, which a restore reaches where the JPEG is white
        (:func:`rawmeta.restore.highlights.reach_peak`); rounded to
        ``1 / PEAK_SCALE`` as the payload keeps it. None for payloads before
        version 9.
    """

    grid: Grid
    bits: int
    samples: np.ndarray
    camera: CameraFacts
    image_hash: bytes
    refinement: Refinement | None = None
    refined: np.ndarray | None = None
    highlights: bool = True
    expected_psnr: float = float("nan")
    budget: float = 0.0
    alignment: Alignment | None = None
    fingerprint: fp.Fingerprint | None = None
    version: int = FORMAT_VERSION
    jpeg_size: tuple[int, int] | None = None
    peak: float | None = None

    def __post_init__(self) -> None:
        if self.samples.shape != (*self.grid.shape, CHANNELS) or self.samples.dtype != np.uint16:
            raise ValueError(
                f"samples must be uint16 {(*self.grid.shape, CHANNELS)}, "
                f"not {self.samples.dtype} {self.samples.shape}"
            )
        if len(self.image_hash) != _HASH_BYTES:
            raise ValueError("image_hash must be a 32-byte SHA-256 digest")
        if not (math.isfinite(self.budget) and self.budget >= 0):
            raise ValueError(f"budget must be finite and >= 0, not {self.budget}")
        if self.jpeg_size is not None and (self.alignment is None
                                           or self.alignment.raw_size != (self.grid.height, self.grid.width)):
            raise ValueError("samples on the RAW's grid need an alignment whose raw size is the grid's")
        if (self.refinement is None) != (self.refined is None):
            raise ValueError("refinement and refined samples go together")
        if self.peak is not None:
            if not 0.0 <= self.peak <= 1.0:
                raise ValueError(f"peak must lie in [0, 1], not {self.peak}")
            object.__setattr__(self, "peak", _peak_units(self.peak) / PEAK_SCALE)
        if self.refinement is not None:
            self.refinement.check_image(self.grid.height, self.grid.width)
            n = self.refinement.count(self.grid.height, self.grid.width)
            if self.refined.shape != (n, CHANNELS) or self.refined.dtype != np.uint16:
                raise ValueError(f"refined samples must be uint16 ({n}, 3), not {self.refined.dtype} "
                                 f"{self.refined.shape}")

    def values(self) -> np.ndarray:
        """Samples as float32 raw-RGB in [0, 1]."""
        return sample_coding.dequantize(self.samples, self.bits)

    def refined_values(self) -> np.ndarray:
        """Refined samples as float32 raw-RGB in [0, 1], (N, 3); empty without refinement."""
        if self.refinement is None:
            return np.zeros((0, CHANNELS), np.float32)
        rows, cols = self.refinement.positions(self.grid.height, self.grid.width)
        return sample_coding.dequantize(self.refined, self.refinement.depth_at(rows, cols)[:, None])

    @property
    def image_size(self) -> tuple[int, int]:
        """The (height, width) of the JPEG the payload is for."""
        return self.jpeg_size or (self.grid.height, self.grid.width)

    @property
    def pixels_per_jpeg_pixel(self) -> float:
        """The samples' grid's pixels per JPEG pixel (:func:`pixels_per_jpeg_pixel`)."""
        return pixels_per_jpeg_pixel(self.alignment, self.jpeg_size)

    def on_raw_grid(self, shape: tuple[int, ...]) -> bool:
        """Whether an image of ``shape`` (height, width, ...) restored from this payload has the RAW's own
        pixel grid where the JPEG does not: the samples lie on the RAW's grid and it has the RAW's size."""
        return self.jpeg_size is not None and tuple(shape[:2]) == self.alignment.raw_size

    def coding_pixels(self, srgb: np.ndarray) -> np.ndarray:
        """The pixels the samples are predicted from: the JPEG's ``srgb`` itself, or carried onto the
        RAW's grid (:func:`prediction.nearest_on_raw_grid`)."""
        return srgb if self.jpeg_size is None else prediction.nearest_on_raw_grid(srgb, self.alignment)

    @property
    def sample_count(self) -> int:
        """Base and refined samples together."""
        return self.grid.count + (0 if self.refined is None else len(self.refined))


def _peak_units(value: float) -> int:
    """A peak value as the payload stores it: ``value * PEAK_SCALE`` rounded half up."""
    return math.floor(value * PEAK_SCALE + 0.5)


def coding_order(grid: Grid, bits: int, refinement: Refinement) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows, columns and bit depths (N, 1) of every sample in coding order: the grid row-major, then the
    refined ones."""
    rows, cols = grid.positions()
    r, c = refinement.positions(grid.height, grid.width)
    depths = np.concatenate([np.full(grid.count, bits), refinement.depth_at(r, c)])
    return np.concatenate([rows, r]), np.concatenate([cols, c]), depths[:, None]


def pack(payload: Payload, srgb: np.ndarray, fingerprint: fp.Fingerprint | None = None,
         coding_pixels: np.ndarray | None = None) -> bytes:
    """Serialise a payload (docs/FORMAT.md, version 10); ``srgb`` is the JPEG's decoded uint8 pixels, and
    ``fingerprint`` and ``coding_pixels`` (:meth:`Payload.coding_pixels`) theirs if already computed
    (a planner packs many payloads of one image)."""
    grid = payload.grid
    if srgb.shape[:2] != payload.image_size:
        raise ValueError(f"the sRGB is {srgb.shape[1]} x {srgb.shape[0]}, the payload's JPEG "
                         f"{payload.image_size[1]} x {payload.image_size[0]}")
    if coding_pixels is None:
        coding_pixels = payload.coding_pixels(srgb)
    refinement = payload.refinement or Refinement.empty(grid.height, grid.width, payload.bits)
    q = payload.samples.reshape(-1, CHANNELS)
    if payload.refined is not None:
        q = np.concatenate([q, payload.refined])
    rows, cols, depths = coding_order(grid, payload.bits, refinement)
    terms = prediction.features(prediction.local_means(coding_pixels, rows, cols))
    coef = prediction.fit(terms, q, depths)
    coded = sample_coding.encode_residuals(q, prediction.predict(terms, coef, depths), depths)
    block_map = sample_coding.compress(refinement.levels.tobytes())
    camera = _pack_camera(payload.camera)
    body = b"".join(
        (
            _FIXED.pack(
                MAGIC,
                FORMAT_VERSION,
                (FLAG_HIGHLIGHTS if payload.highlights else 0) | (FLAG_ALTERNATE if grid.alternate else 0),
                grid.width,
                grid.height,
                grid.stride,
                grid.offset_x,
                grid.offset_y,
                payload.bits,
                CHANNELS,
                grid.count,
                sample_coding.FILTER_PREDICTED,
                sample_coding.COMPRESSION_ZSTD,
                payload.image_hash,
                len(camera),
            ),
            camera,
            _ESTIMATES.pack(payload.expected_psnr, payload.budget),
            _PEAK.pack(_peak_units(payload.peak or 0.0)),
            _pack_alignment(payload),
            _pack_fingerprint(fingerprint or fp.fingerprint(srgb)),
            _COEFFICIENTS.pack(*coef.ravel().tolist()),
            _REFINEMENT.pack(refinement.block, len(refinement.strides)),
            bytes(v for level in zip(refinement.strides, refinement.depths) for v in level),
            _LENGTH.pack(len(block_map)),
            block_map,
            _LENGTH.pack(len(q) - grid.count),
            _LENGTH.pack(len(coded)),
            coded,
        )
    )
    return body + hashlib.sha256(body).digest()


def unpack(data: bytes, srgb: np.ndarray | None = None) -> Payload:
    """Parse and check a payload.

    ``srgb`` is the JPEG's decoded uint8 pixels, which payloads of version 2
    and later need to decode their samples (a version 1 payload ignores it).

    Raises
    ------
    MismatchError
        If ``srgb`` is not of the size the payload was written for.
    PayloadError
        On a wrong magic, an unknown version, a failed SHA-256 check, an
        inconsistent or absurd header, or sample data that does not decode.
    """
    if len(data) < 4 or data[:4] != MAGIC:
        raise PayloadError.damaged("rawmeta payload does not start with its magic bytes")
    if len(data) < _FIXED.size + _HASH_BYTES:
        raise PayloadError.damaged(f"rawmeta payload is truncated ({len(data)} bytes)")
    version = struct.unpack_from(">H", data, 4)[0]
    if version not in READABLE_VERSIONS:
        raise PayloadError.unknown_version(
            "format", version, max(READABLE_VERSIONS),
            f"rawmeta payload has format version {version}; this rawmeta reads versions "
            f"{', '.join(map(str, READABLE_VERSIONS))}",
        )
    body, digest = data[:-_HASH_BYTES], data[-_HASH_BYTES:]
    if hashlib.sha256(body).digest() != digest:
        raise PayloadError.corrupt("rawmeta payload fails its SHA-256 check")
    (_, _, flags, width, height, stride, off_x, off_y, bits, channels, count, filt, comp, image_hash,
     camera_len) = _FIXED.unpack_from(body, 0)
    if not (0 < width <= MAX_DIMENSION and 0 < height <= MAX_DIMENSION and width * height <= MAX_JPEG_PIXELS):
        raise PayloadError.damaged(f"rawmeta payload declares an impossible image size {width} x {height}")
    if version < 7:  # the header's size is the JPEG's: check it before any sample memory is taken
        _check_size(srgb, height, width)
    known_flags = FLAG_HIGHLIGHTS | (FLAG_ALTERNATE if version >= 5 else 0)
    expected_filter = sample_coding.FILTER_ROW_DELTA_GREEN if version == 1 else sample_coding.FILTER_PREDICTED
    if flags & ~known_flags or filt != expected_filter or comp != sample_coding.COMPRESSION_ZSTD:
        raise PayloadError.damaged(f"rawmeta payload uses unknown coding (filter {filt}, compression {comp}, flags {flags})")
    try:
        grid = Grid(height, width, stride, off_y, off_x, alternate=bool(flags & FLAG_ALTERNATE))
    except ValueError as exc:
        raise PayloadError.damaged(f"rawmeta payload has an invalid grid: {exc}") from None
    if channels != CHANNELS or count != grid.count:
        raise PayloadError.damaged("rawmeta payload header is inconsistent (channels or sample count)")
    if not sample_coding.MIN_BITS <= bits <= sample_coding.MAX_BITS:
        raise PayloadError.damaged(f"rawmeta payload declares an unsupported sample depth of {bits} bits")
    if version >= 2 and srgb is None:  # before anything sized by the header is built
        raise ValueError(f"a version {version} payload needs the JPEG's decoded pixels to decode its samples")
    reader = _Reader(body, _FIXED.size)
    camera = _unpack_camera(reader.take(camera_len), version)
    common = {"grid": grid, "bits": bits, "camera": camera, "image_hash": image_hash}
    if version == 1:
        coded = reader.take(reader.length())
        reader.finish()
        samples = _decoded(sample_coding.decode_row_delta, coded, grid.shape, bits)
        return Payload(samples=samples, version=1, **common)
    expected_psnr, budget = _ESTIMATES.unpack(reader.take(_ESTIMATES.size))
    if not (math.isfinite(budget) and budget >= 0):
        raise PayloadError.damaged(f"rawmeta payload declares an invalid budget {budget}")
    peak = _PEAK.unpack(reader.take(_PEAK.size))[0] / PEAK_SCALE if version >= 9 else None
    alignment, jpeg_size = _unpack_alignment(reader, grid, version) if version >= 3 else (None, None)
    image_h, image_w = jpeg_size or (height, width)
    if version >= 7:
        _check_size(srgb, image_h, image_w)
    fingerprint = _unpack_fingerprint(reader, image_h, image_w) if version >= 4 else None
    coef = np.array(_COEFFICIENTS.unpack(reader.take(_COEFFICIENTS.size)), np.float32).reshape(-1, CHANNELS)
    if not np.all(np.isfinite(coef)):
        raise PayloadError.damaged("rawmeta payload has non-finite prediction coefficients")
    refinement = _unpack_refinement(reader, grid)
    n_refined = struct.unpack(">I", reader.take(4))[0]
    coded = reader.take(reader.length())
    reader.finish()
    if n_refined != refinement.count(height, width):
        raise PayloadError.damaged("rawmeta payload header is inconsistent (refined sample count)")
    rows, cols, depths = coding_order(grid, bits, refinement)
    coding_pixels = srgb if jpeg_size is None else prediction.nearest_on_raw_grid(srgb, alignment)
    terms = prediction.features(prediction.local_means(coding_pixels, rows, cols))
    q = _decoded(sample_coding.decode_residuals, coded, prediction.predict(terms, coef, depths), depths)
    return Payload(samples=q[: grid.count].reshape(*grid.shape, CHANNELS), refinement=refinement,
                   refined=q[grid.count :], highlights=bool(flags & FLAG_HIGHLIGHTS),
                   expected_psnr=expected_psnr, budget=budget, alignment=alignment, fingerprint=fingerprint,
                   version=version, jpeg_size=jpeg_size, peak=peak, **common)


def pixels_per_jpeg_pixel(alignment: Alignment | None, jpeg_size: tuple[int, int] | None) -> float:
    """Pixels of the samples' grid per JPEG pixel: the RAW's per the JPEG's when the samples lie on the
    RAW's grid (``jpeg_size`` given, with ``alignment``), else 1. A budget counts these pixels.

    Examples
    --------
    >>> pixels_per_jpeg_pixel(None, None)
    1.0
    """
    if jpeg_size is None:
        return 1.0
    return float(np.prod(alignment.raw_size)) / float(np.prod(jpeg_size))


def raw_grid_size(data: bytes) -> tuple[int, int] | None:
    """The (height, width) of the RAW's grid that the packed payload ``data`` has its samples on (alignment
    kind 2), read from the header alone (no pixels needed); None for anything that is not such a payload."""
    if len(data) < _FIXED.size or data[:4] != MAGIC:
        return None
    _, version, _, width, height, *_, camera_len = _FIXED.unpack_from(data, 0)
    if version < 7:
        return None
    at = _FIXED.size + camera_len + _ESTIMATES.size + (_PEAK.size if version >= 9 else 0)
    return (height, width) if len(data) > at and data[at] == RAW_GRID else None


def _check_size(srgb: np.ndarray | None, height: int, width: int) -> None:
    """MismatchError unless the JPEG's pixels ``srgb`` (if given) are ``height`` x ``width``."""
    if srgb is not None and srgb.shape[:2] != (height, width):
        turned = srgb.shape[:2] == (width, height)
        raise MismatchError(f"{{file}} is {srgb.shape[1]} x {srgb.shape[0]} pixels but its rawmeta data is for a "
                            f"{width} x {height} image" + ("; turned a quarter since embedding? `jpegtran -copy all "
                                                            "-rotate 90` (or 270) turns it back" if turned
                                                            else " (resized or cropped since embedding?)"))


def _decoded(decoder, coded: bytes, *args):
    """``decoder(coded, *args)``, its SampleCodingError told as a PayloadError."""
    try:
        return decoder(coded, *args)
    except SampleCodingError as exc:
        raise PayloadError.damaged(f"rawmeta payload is corrupt: {exc}") from None


def _pack_alignment(payload: Payload) -> bytes:
    alignment, grid = payload.alignment, payload.grid
    if payload.jpeg_size is not None:
        jpeg_h, jpeg_w = payload.jpeg_size
        return _ALIGNMENT.pack(RAW_GRID, alignment.match) + _ALIGNMENT_MAP.pack(jpeg_w, jpeg_h,
                                                                                *alignment.matrix.ravel())
    if alignment is None or alignment.is_same_grid(grid.height, grid.width):
        match = float("nan") if alignment is None else alignment.match
        return _ALIGNMENT.pack(SAME_GRID, match)
    raw_h, raw_w = alignment.raw_size
    return _ALIGNMENT.pack(MAPPED, alignment.match) + _ALIGNMENT_MAP.pack(raw_w, raw_h, *alignment.matrix.ravel())


def _unpack_alignment(reader: _Reader, grid: Grid, version: int) -> tuple[Alignment, tuple[int, int] | None]:
    """The alignment block: the map, and the JPEG's (height, width) when the samples are on the RAW's grid."""
    kind, match = _ALIGNMENT.unpack(reader.take(_ALIGNMENT.size))
    if not (math.isnan(match) or -1 <= match <= 1):
        raise PayloadError.damaged(f"rawmeta payload has an invalid match figure {match}")
    if kind == SAME_GRID:
        return Alignment.identity(grid.height, grid.width, match), None
    if kind not in (MAPPED, RAW_GRID) or (kind == RAW_GRID and version < 7):
        raise PayloadError.damaged(f"rawmeta payload has an unknown alignment kind {kind}")
    size_w, size_h, *values = _ALIGNMENT_MAP.unpack(reader.take(_ALIGNMENT_MAP.size))
    if kind == RAW_GRID:  # the sizes are the JPEG's; the raw's is the grid's
        if not (0 < size_w <= MAX_DIMENSION and 0 < size_h <= MAX_DIMENSION):
            raise PayloadError.damaged(f"rawmeta payload declares an impossible JPEG size {size_w} x {size_h}")
        raw_w, raw_h, jpeg_size = grid.width, grid.height, (size_h, size_w)
    else:
        raw_w, raw_h, jpeg_size = size_w, size_h, None
    matrix = np.array(values).reshape(2, 3)
    linear = np.abs(matrix[:, :2])
    scales = linear.max(axis=1)
    if (not np.all(np.isfinite(matrix)) or raw_w == 0 or raw_h == 0 or np.count_nonzero(linear) != 2
            or linear.argmax(axis=1)[0] == linear.argmax(axis=1)[1]
            or not np.all((scales >= MIN_SCALE) & (scales <= MAX_SCALE))):
        raise PayloadError.damaged("rawmeta payload has an invalid alignment (it must be an orientation times scales "
                           f"between 1/16 and 256, plus a shift): {matrix.tolist()}")
    return Alignment(matrix, (raw_h, raw_w), match), jpeg_size


def fingerprint_bytes(height: int, width: int) -> int:
    """Bytes of the fingerprint block of a ``height`` x ``width`` image."""
    rows, cols = fp.grid_shape(height, width)
    return _FINGERPRINT_HEAD.size + rows * cols * CHANNELS


def _pack_fingerprint(found: fp.Fingerprint) -> bytes:
    return _FINGERPRINT_HEAD.pack(found.pixels_crc, *found.means.shape[:2]) + found.means.tobytes()


def _unpack_fingerprint(reader: _Reader, height: int, width: int) -> fp.Fingerprint:
    """The fingerprint block of a ``height`` x ``width`` JPEG."""
    crc, *shape = _FINGERPRINT_HEAD.unpack(reader.take(_FINGERPRINT_HEAD.size))
    if tuple(shape) != fp.grid_shape(height, width):
        rows, cols = fp.grid_shape(height, width)
        raise PayloadError.damaged(f"rawmeta payload has a fingerprint of {shape[0]} x {shape[1]} cells; a "
                           f"{width} x {height} image has {rows} x {cols}")
    means = np.frombuffer(reader.take(shape[0] * shape[1] * CHANNELS), np.uint8).reshape(*shape, CHANNELS)
    return fp.Fingerprint(crc, means.copy())


def _unpack_refinement(reader: _Reader, grid: Grid) -> Refinement:
    block, n_levels = _REFINEMENT.unpack(reader.take(_REFINEMENT.size))
    table = reader.take(2 * n_levels)
    strides, depths = tuple(table[0::2]), tuple(table[1::2])
    if not MIN_BLOCK <= block <= MAX_BLOCK:
        raise PayloadError.damaged(f"rawmeta payload declares a refinement block of {block} pixels "
                           f"(readers accept {MIN_BLOCK}-{MAX_BLOCK})")
    shape = (-(-grid.height // block), -(-grid.width // block))
    raw = _decoded(sample_coding.inflate, reader.take(reader.length()), shape[0] * shape[1], "refinement map")
    try:
        return Refinement(block, strides, depths, np.frombuffer(raw, np.uint8).reshape(shape).copy())
    except ValueError as exc:
        raise PayloadError.damaged(f"rawmeta payload refinement is invalid: {exc}") from None


class _Reader:
    """Sequential reads from a payload body, with truncation reported as PayloadError."""

    def __init__(self, body: bytes, pos: int, part: str = "header"):
        self.body, self.pos, self.part = body, pos, part

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.body):
            raise PayloadError.damaged(f"rawmeta payload is truncated inside its {self.part}")
        out = self.body[self.pos : self.pos + n]
        self.pos += n
        return out

    def length(self) -> int:
        """A u32 length field."""
        return _LENGTH.unpack(self.take(_LENGTH.size))[0]

    def finish(self) -> None:
        if self.pos != len(self.body):
            raise PayloadError.damaged("rawmeta payload has bytes after its sample data")


def _pack_text(text: str) -> bytes:
    """A length byte and at most 255 bytes of UTF-8, cut at a character boundary."""
    raw = text.encode("utf-8", "replace")[:255].decode("utf-8", "ignore").encode("utf-8")
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
    return _pack_text(c.make) + _pack_text(c.model) + numbers + _pack_levels(c) + _pack_shot(c.shot)


def _pack_levels(c: CameraFacts) -> bytes:
    """The version 6 end of the camera block: the declared crop and the linearization table."""
    crop = _CROP.pack(*(c.crop or (0, 0, 0, 0)))
    if c.linearization is None:
        return crop + _LENGTH.pack(0)
    values = np.asarray(c.linearization, np.int64)
    steps = np.diff(values, prepend=0).astype(">u2").tobytes()  # non-decreasing: every step fits a u16
    coded = sample_coding.compress(steps)
    return crop + _LENGTH.pack(len(values)) + _LENGTH.pack(len(coded)) + coded


def _pack_shot(tags: tuple[shot.ShotTag, ...]) -> bytes:
    """The version 8 end of the camera block: the shot tags."""
    if not tags:
        return _LENGTH.pack(0)
    entries = shot.pack_tags(tags)
    coded = sample_coding.compress(entries)
    return _LENGTH.pack(len(entries)) + _LENGTH.pack(len(coded)) + coded


def _unpack_shot(reader: _Reader) -> tuple[shot.ShotTag, ...]:
    """The shot tags at the end of a version 8 camera block."""
    n = reader.length()
    if not n:
        return ()
    if not 2 <= n <= shot.MAX_BYTES:
        raise PayloadError.damaged(f"rawmeta payload declares {n} bytes of shot tags")
    entries = _decoded(sample_coding.inflate, reader.take(reader.length()), n, "shot tags")
    try:
        return shot.unpack_tags(entries)
    except ValueError as exc:
        raise PayloadError.damaged(f"rawmeta payload has invalid shot tags: {exc}") from None


def _unpack_levels(block: bytes, pos: int, version: int) -> dict:
    """The crop and linearization table of a version 6 or 7 camera block from ``pos`` to its end, and the
    shot tags after them in version 8."""
    if pos + _CROP.size + _LENGTH.size > len(block):
        raise PayloadError.damaged("rawmeta payload camera block is truncated")
    crop = _CROP.unpack_from(block, pos)
    n = _LENGTH.unpack_from(block, pos + _CROP.size)[0]
    reader = _Reader(block, pos + _CROP.size + _LENGTH.size, "camera block")
    table = None
    if n:
        if not 2 <= n <= MAX_TABLE:
            raise PayloadError.damaged(f"rawmeta payload declares a linearization table of {n} entries")
        steps = _decoded(sample_coding.inflate, reader.take(reader.length()), 2 * n, "linearization table")
        values = np.cumsum(np.frombuffer(steps, ">u2"), dtype=np.int64)
        if values[-1] > 65535:
            raise PayloadError.damaged("rawmeta payload linearization table exceeds 65535")
        table = tuple(values.tolist())
    tags = _unpack_shot(reader) if version >= 8 else ()
    if reader.pos != len(block):
        raise PayloadError.damaged("rawmeta payload camera block has the wrong length")
    return {"crop": crop if any(crop) else None, "linearization": table, "shot": tags}


def _unpack_camera(block: bytes, version: int) -> CameraFacts:
    try:
        make, pos = _unpack_text(block, 0)
        model, pos = _unpack_text(block, pos)
        if version >= 6:
            levels = _unpack_levels(block, pos + _CAMERA_NUMBERS.size, version)
        elif len(block) - pos == _CAMERA_NUMBERS.size:
            levels = {}
        else:
            raise PayloadError.damaged("rawmeta payload camera block has the wrong length")
        v = _CAMERA_NUMBERS.unpack_from(block, pos)
        bits, black, white, cfa = v[0], tuple(v[1:5]), v[5], v[6]
        wb, wb_source, has_matrix, matrix = tuple(v[7:10]), v[10], v[11], tuple(v[12:21])
        illuminant, orientation = v[21], v[22]
        if wb_source >= len(WB_SOURCES) or version < WB_SOURCE_SINCE[wb_source]:
            raise PayloadError.damaged(f"rawmeta payload camera block is invalid: version {version} has no white "
                                       f"balance source {wb_source}")
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
            **levels,
        )
    except (ValueError, IndexError, UnicodeDecodeError) as exc:
        raise PayloadError.damaged(f"rawmeta payload camera block is invalid: {exc}") from None


def _unpack_text(block: bytes, pos: int) -> tuple[str, int]:
    if pos >= len(block):
        raise PayloadError.damaged("rawmeta payload camera block is truncated")
    n = block[pos]
    raw = block[pos + 1 : pos + 1 + n]
    if len(raw) != n:
        raise PayloadError.damaged("rawmeta payload camera block is truncated")
    return raw.decode("utf-8"), pos + 1 + n
