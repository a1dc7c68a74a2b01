"""Files of raw-RGB: what ``rawmeta restore`` writes and ``rawmeta eval`` reads.

raw-RGB is LibRaw-style demosaiced camera RGB: black level subtracted,
divided by (white - black), no white balance, no colour matrix, no gamma, in
sensor orientation (never rotated), in [0, 1]. The file format follows the
output's extension (upper or lower case):

``.npy``
    NumPy array, ``float32``, shape H x W x 3 (rows, columns, R G B), C order,
    values in [0, 1]. Lossless: read back bit for bit.

``.tif`` / ``.tiff``
    Baseline TIFF, one page, 16-bit unsigned RGB (PhotometricInterpretation 2,
    3 samples per pixel, interleaved), uncompressed. Sample =
    ``round(value * 65535)``; read back as ``sample / 65535``, within
    1 / 65535 of the original. No Orientation tag: Pillow and OpenCV would
    apply it and so hand out rotated arrays, unlike tifffile and NumPy.

``.dng``
    LinearRaw DNG (see :func:`rawmeta.io.dng.write_linear_dng`): the same 16-bit
    samples as the TIFF with BlackLevel 0 and WhiteLevel 65535, plus the
    camera's make, model, colour matrix, as-shot white balance
    (AsShotNeutral) and Orientation, so raw developers (darktable,
    RawTherapee, Adobe Camera Raw) render it like the original RAW. With
    ``dng="cfa"``, a CFA DNG of the camera's Bayer mosaic at its own black
    and white levels instead (:func:`rawmeta.io.dng.cfa_dng_bytes`), read
    back through LibRaw's demosaic. Both in lossless JPEG tiles, with a
    thumbnail, a JPEG preview and the JPEG's EXIF and XMP when restored from a JPEG.

Values are clipped to [0, 1] before writing, in every format. Every format
can carry rawmeta's restore mark (:mod:`rawmeta.io.restore_mark`): a TIFF tag in
``.tif`` and ``.dng``, bytes after the array's data in ``.npy``. Files are
written atomically: a failed write leaves the old file (or none).
"""
from __future__ import annotations

import contextlib
import io
import logging
import math
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rawpy
import tifffile

from rawmeta.errors import RawReadError, UsageError
from rawmeta.format.camera import CameraFacts
from rawmeta.format.payload import MAX_JPEG_PIXELS
from rawmeta.io.dng import (
    PRIVATE_DATA_TAG,
    SOFTWARE,
    cfa_dng_bytes,
    check_raw_rgb,
    linear_dng_bytes,
    linear_samples,
)
from rawmeta.io.rawfile import MAX_RAW_BYTES, libraw_message, read_raw
from rawmeta.io.restore_mark import RestoreMark
from rawmeta.io.shot_metadata import ShotMetadata
from rawmeta.io.userfiles import read_input, write_output

#: Extensions :func:`write_raw_rgb` and :func:`read_raw_rgb` know (compared
#: case-insensitively).
SUPPORTED_SUFFIXES = (".npy", ".tif", ".tiff", ".dng")
#: Layouts of a restored DNG: LinearRaw raw-RGB, or the camera's Bayer mosaic.
DNG_LAYOUTS = ("linear", "cfa")

_SCALE = np.float32(65535)


def write_raw_rgb(path: str | os.PathLike, rgb: np.ndarray, camera: CameraFacts, mark: RestoreMark | None = None,
                  *, replace: bool = True, shot: ShotMetadata | None = None, preview: np.ndarray | None = None,
                  dng: str = "linear") -> None:
    """Write raw-RGB in the format its extension names (see the module docstring).

    The extension is checked before anything else is done.

    Parameters
    ----------
    path : str or os.PathLike
        Output file ending in one of :data:`SUPPORTED_SUFFIXES`; replaced
        atomically if it exists.
    rgb : numpy.ndarray
        Floating-point raw-RGB, H x W x 3, in sensor orientation, nominally in
        [0, 1] (values outside are clipped).
    camera : CameraFacts
        The camera's facts; only the DNG uses them.
    mark : RestoreMark, optional
        Says that rawmeta restored the file, and from what
        (:mod:`rawmeta.io.restore_mark`); every format carries it.
    replace : bool
        Replace an existing ``path``; if False, refuse with OutputError when
        it exists, even if it appears while the file is written.
    shot : ShotMetadata, optional
        The EXIF and XMP of the JPEG restored from; the DNG carries them
        (:func:`rawmeta.io.dng.linear_dng_bytes`), the other formats do not.
    preview : numpy.ndarray, optional
        The JPEG's sRGB pixels (uint8 H x W x 3); the DNG carries a thumbnail and a JPEG preview of them.
    dng : {"linear", "cfa"}
        A DNG's layout: LinearRaw raw-RGB (:func:`rawmeta.io.dng.linear_dng_bytes`), or the camera's
        Bayer mosaic (:func:`rawmeta.io.dng.cfa_dng_bytes`; ``rgb`` must be on the RAW's own grid).

    Raises
    ------
    UsageError
        If the extension is not a supported one.
    OutputError
        If the file cannot be written, or exists and ``replace`` is False.
    ValueError
        If ``rgb`` is not a finite floating-point H x W x 3 array, or ``camera``
        cannot make a DNG.
    """
    path = Path(path)
    encode = _ENCODERS[check_suffix(path, "write")]
    if dng not in DNG_LAYOUTS:
        raise ValueError(f"dng must be one of {DNG_LAYOUTS}, not {dng!r}")
    extras = _Extras(None if mark is None else mark.to_bytes(), shot, preview, dng)
    write_output(path, encode(rgb, camera, extras), replace=replace)


def read_raw_rgb(path: str | os.PathLike) -> np.ndarray:
    """Read a raw-RGB file in any of the formats :func:`write_raw_rgb` writes.

    Parameters
    ----------
    path : str or os.PathLike
        File ending in one of :data:`SUPPORTED_SUFFIXES`. A ``.dng`` must be
        demosaiced (LinearRaw, 3 colours); its samples are scaled with its own
        black and white levels.

    Returns
    -------
    numpy.ndarray
        ``float32`` H x W x 3 in [0, 1], in the file's (sensor) orientation.

    Raises
    ------
    UsageError
        If the extension is not a supported one.
    RawReadError
        If the file is missing, unreadable or not raw-RGB of that format.
    """
    path = Path(path)
    decode = _DECODERS[check_suffix(path, "read")]
    data = read_input(path, "raw-RGB", RawReadError, MAX_RAW_BYTES)
    return decode(data, os.fspath(path))


def check_suffix(path: Path, verb: str = "write") -> str:
    """The lower-case extension of ``path``; UsageError if rawmeta has no format for it."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        reason = f"unsupported extension {path.suffix!r}" if path.suffix else "no extension"
        supported = ", ".join(SUPPORTED_SUFFIXES[:-1]) + " or " + SUPPORTED_SUFFIXES[-1]
        raise UsageError(f"cannot {verb} raw-RGB {path}: {reason} (use {supported})")
    return suffix


# Writers: raw-RGB and camera facts -> file bytes.


@dataclass(frozen=True)
class _Extras:
    """What a restored file carries besides raw-RGB: the restore mark (every format), the shot's EXIF and
    XMP and a preview (the DNG)."""

    mark: bytes | None = None
    shot: ShotMetadata | None = None
    preview: np.ndarray | None = None
    dng: str = "linear"


def _dng_bytes(rgb: np.ndarray, camera: CameraFacts, extras: _Extras) -> bytes:
    encode = cfa_dng_bytes if extras.dng == "cfa" else linear_dng_bytes
    return encode(rgb, camera, extras.mark, extras.shot, extras.preview)


def _npy_bytes(rgb: np.ndarray, camera: CameraFacts, extras: _Extras) -> bytes:
    check_raw_rgb(rgb)
    values = np.ascontiguousarray(np.clip(rgb, 0.0, 1.0), dtype=np.float32)
    buffer = io.BytesIO()
    np.save(buffer, values, allow_pickle=False)
    return buffer.getvalue() + (extras.mark or b"")  # after the data, where .npy readers do not look


def _tiff_bytes(rgb: np.ndarray, camera: CameraFacts, extras: _Extras) -> bytes:
    samples = linear_samples(rgb)
    mark = extras.mark
    private = [] if mark is None else [(PRIVATE_DATA_TAG, 1, len(mark), mark, True)]
    buffer = io.BytesIO()
    with tifffile.TiffWriter(buffer, byteorder="<", bigtiff=False, shaped=False) as tif:
        tif.write(
            samples,
            photometric="rgb",
            planarconfig="contig",
            compression=None,
            software=SOFTWARE,
            metadata=None,
            datetime=None,
            extratags=private,
        )
    return buffer.getvalue()


# Readers: file bytes and name (for messages) -> float32 H x W x 3 in [0, 1].


def _read_npy(data: bytes, name: str) -> np.ndarray:
    try:
        array = np.load(io.BytesIO(data), allow_pickle=False)
    except (ValueError, EOFError, OSError) as exc:
        raise RawReadError(f"cannot read raw-RGB {name}: not a NumPy .npy array ({_first_line(exc)})") from None
    if not isinstance(array, np.ndarray):  # an .npz archive
        array.close()
        raise RawReadError(f"cannot read raw-RGB {name}: it is an .npz archive, not an .npy array")
    if array.dtype.kind != "f":
        raise RawReadError(f"cannot read raw-RGB {name}: it holds {array.dtype}, not floating-point values")
    _check_shape(array, name, "floating-point")
    if not np.isfinite(array).all():
        raise RawReadError(f"cannot read raw-RGB {name}: it has non-finite values")
    low, high = float(array.min()), float(array.max())
    if low < 0 or high > 1:
        raise RawReadError(f"cannot read raw-RGB {name}: values run from {low:g} to {high:g}, outside [0, 1]")
    return np.ascontiguousarray(array, dtype=np.float32)


def _read_tiff(data: bytes, name: str) -> np.ndarray:
    try:
        with _tifffile_quiet(), tifffile.TiffFile(io.BytesIO(data)) as tif:
            shape = tif.pages[0].shape
            if math.prod(shape) > 3 * MAX_JPEG_PIXELS:  # refuse before allocating what the header declares
                raise RawReadError(f"cannot read raw-RGB {name}: it declares {' x '.join(map(str, shape))} "
                                   f"samples, more than rawmeta restores ({MAX_JPEG_PIXELS // 10**6} MP)")
            samples = tif.pages[0].asarray()
    except RawReadError:
        raise
    except Exception as exc:  # noqa: BLE001 (tifffile raises many kinds on malformed files)
        raise RawReadError(f"cannot read raw-RGB {name}: not a TIFF rawmeta can read ({_first_line(exc)})") from None
    if samples.dtype != np.uint16:
        raise RawReadError(f"cannot read raw-RGB {name}: it holds {samples.dtype} samples, not 16-bit (uint16)")
    _check_shape(samples, name, "16-bit")
    return samples.astype(np.float32) / _SCALE


@contextlib.contextmanager
def _tifffile_quiet() -> Iterator[None]:
    """Keep tifffile's logged complaints about a malformed file off stderr: the user gets one error line."""
    logger = logging.getLogger("tifffile")
    was = logger.disabled
    logger.disabled = True
    try:
        yield
    finally:
        logger.disabled = was


def _read_dng(data: bytes, name: str) -> np.ndarray:
    try:
        raw = rawpy.imread(io.BytesIO(data))
    except (rawpy.LibRawError, OSError, ValueError) as exc:
        raise RawReadError(f"cannot read raw-RGB {name}: not a DNG LibRaw can read ({libraw_message(exc)})") from None
    with raw:
        if raw.raw_type != rawpy.RawType.Stack:  # a mosaic (rawmeta's --dng cfa): LibRaw demosaics it
            return read_raw(name).rgb
        if raw.num_colors != 3:
            raise RawReadError(f"cannot read raw-RGB {name}: it has {raw.num_colors} colours, not 3")
        try:
            samples = raw.raw_image_visible
            black = np.array(raw.black_level_per_channel[:3], dtype=np.float32)
            white = np.float32(raw.white_level)
            if samples.ndim != 3 or samples.shape[2] < 3:
                raise RawReadError(f"cannot read raw-RGB {name}: LibRaw gives shape {samples.shape}, not H x W x 3")
            if not (white > black).all():
                raise RawReadError(f"cannot read raw-RGB {name}: white level {white:g} is not above black {black}")
            rgb = (samples[..., :3].astype(np.float32) - black) / (white - black)
        except (rawpy.LibRawError, MemoryError) as exc:
            raise RawReadError(f"cannot decode raw-RGB {name}: {libraw_message(exc)}") from None
    return np.clip(rgb, 0.0, 1.0, out=rgb)


def _check_shape(array: np.ndarray, name: str, kind: str) -> None:
    if array.ndim != 3 or array.shape[2] != 3 or 0 in array.shape:
        shape = " x ".join(str(n) for n in array.shape) or "a scalar"
        raise RawReadError(f"cannot read raw-RGB {name}: it is {shape}, not {kind} H x W x 3")


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


#: Encoders by suffix: (rgb, camera, extras) -> file bytes.
_ENCODERS: dict[str, Callable[[np.ndarray, CameraFacts, _Extras], bytes]] = {
    ".npy": _npy_bytes,
    ".tif": _tiff_bytes,
    ".tiff": _tiff_bytes,
    ".dng": _dng_bytes,
}
_DECODERS: dict[str, Callable[[bytes, str], np.ndarray]] = {
    ".npy": _read_npy,
    ".tif": _read_tiff,
    ".tiff": _read_tiff,
    ".dng": _read_dng,
}
