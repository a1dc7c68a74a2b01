"""Reading camera RAW files into raw-RGB and camera facts.

raw-RGB (the paper's "RAW") is LibRaw's demosaiced camera-native image:
black level subtracted, divided by (white - black), no white balance, no
colour matrix, no gamma, in sensor orientation (never flipped), as float32
H x W x 3 in [0, 1]. Its pixel grid is LibRaw's visible area.
"""
from __future__ import annotations

import contextlib
import io
import math
import os
import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import rawpy

from rawmeta.errors import RawReadError
from rawmeta.format.camera import ILLUMINANT_D65, ILLUMINANT_UNKNOWN, MAX_TABLE, CameraFacts
from rawmeta.io.libraw_ids import identify
from rawmeta.io.userfiles import read_input

# LibRaw's sizes.flip (dcraw bit flags) -> EXIF Orientation.
_FLIP_TO_EXIF = {0: 1, 1: 2, 2: 4, 3: 3, 4: 5, 5: 8, 6: 6, 7: 7}

#: Largest RAW file rawmeta will read into memory (bytes).
MAX_RAW_BYTES = 2 * 1024**3


@dataclass(frozen=True)
class RawImage:
    """A RAW file as rawmeta uses it.

    Attributes
    ----------
    rgb : ndarray, float32, shape (H, W, 3)
        raw-RGB in [0, 1] (see module docstring).
    camera : CameraFacts
        Facts kept for writing a DNG later.
    """

    rgb: np.ndarray
    camera: CameraFacts


def postprocess_params() -> dict:
    """rawpy ``postprocess`` arguments that produce raw-RGB (as 16-bit integers).

    ``adjust_maximum_thr=0`` keeps the white level from the file instead of
    LibRaw's data-dependent guess, so the scale is the same for every image
    of a camera.
    """
    return dict(
        gamma=(1, 1),
        no_auto_bright=True,
        output_bps=16,
        output_color=rawpy.ColorSpace.raw,
        user_wb=[1.0, 1.0, 1.0, 1.0],
        user_flip=0,
        adjust_maximum_thr=0.0,
    )


def read_raw(path: str | os.PathLike) -> RawImage:
    """Read a RAW file that LibRaw understands.

    Raises
    ------
    RawReadError
        If the file is missing, unreadable, not a RAW LibRaw knows, or of a
        kind rawmeta refuses (cameras with other than 3 colours).
    """
    data = read_input(path, "RAW", RawReadError, MAX_RAW_BYTES)
    name = os.fspath(path)
    if not data:
        raise RawReadError(f"cannot read RAW {name}: the file is empty")
    with _libraw_quiet():
        try:
            raw = rawpy.imread(io.BytesIO(data))
        except (rawpy.LibRawError, OSError, ValueError) as exc:
            raise RawReadError(f"cannot read RAW {name}: {libraw_message(exc)}") from None
        with raw:
            if raw.num_colors != 3:
                raise RawReadError(
                    f"cannot use RAW {name}: it has {raw.num_colors} colour channels "
                    f"({raw.color_desc.decode(errors='replace')}); rawmeta handles RGB sensors only"
                )
            try:  # LibRaw unpacks lazily: reading the black levels can already fail on a damaged file
                camera = _camera_facts(raw, data)  # before postprocess, which resets sizes.flip
                rgb16 = raw.postprocess(**postprocess_params())
            except (rawpy.LibRawError, MemoryError) as exc:
                raise RawReadError(f"cannot decode RAW {name}: {libraw_message(exc)}") from None
    rgb = rgb16.astype(np.float32)
    rgb /= np.float32(65535.0)
    return RawImage(rgb=rgb, camera=camera)


def libraw_message(exc: BaseException) -> str:
    """One line for a rawpy/LibRaw exception."""
    text = str(exc).strip()
    kind = type(exc).__name__
    if "Unsupported" in kind or "unsupported" in text.lower():
        return "not a RAW format LibRaw knows"
    if isinstance(exc, rawpy.LibRawIOError):  # LibRaw read past the data it was given
        return "the file is truncated or damaged (LibRaw ran out of data)"
    return f"{kind}: {text}" if text else kind


@contextlib.contextmanager
def _libraw_quiet() -> Iterator[None]:
    """Silence what LibRaw prints to the process's stderr (such as "Unexpected end of file"): its
    errors reach the user as one RawReadError line instead."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _camera_facts(raw: rawpy.RawPy, data: bytes) -> CameraFacts:
    ident = identify(data)
    make = model = ""
    is_dng = False
    if ident is not None and ident.colors == raw.num_colors:
        make, model, is_dng = ident.make, ident.model, ident.dng_version > 0
    black = tuple(int(b) for b in raw.black_level_per_channel)
    white = int(raw.white_level)
    wb, wb_source = _white_balance(raw)
    matrix, illuminant = _xyz_to_camera(raw, data if is_dng else None)
    return CameraFacts(
        make=make,
        model=model,
        bits=max(1, math.ceil(math.log2(white + 1))),
        black_levels=black,  # type: ignore[arg-type]
        white_level=white,
        cfa=_cfa_string(raw),
        white_balance=wb,
        white_balance_source=wb_source,
        xyz_to_camera=matrix,
        calibration_illuminant=illuminant,
        orientation=_FLIP_TO_EXIF.get(int(raw.sizes.flip), 1),
        crop=_declared_crop(raw.sizes),
        linearization=_linearization(raw),
    )


def _declared_crop(sizes) -> tuple[int, int, int, int] | None:
    """The frame the RAW declares (LibRaw's first inset crop: a DNG's DefaultCrop, a camera's JPEG frame) as
    ``(left, top, width, height)`` in the visible area; None if there is none, it is the whole area, or it
    does not fit in it."""
    left, top = sizes.crop_left_margin - sizes.left_margin, sizes.crop_top_margin - sizes.top_margin
    width, height = sizes.crop_width, sizes.crop_height
    if width < 1 or height < 1 or left < 0 or top < 0:
        return None
    if left + width > sizes.width or top + height > sizes.height:
        return None
    if (left, top, width, height) == (0, 0, sizes.width, sizes.height):
        return None
    return left, top, width, height


def _linearization(raw: rawpy.RawPy) -> tuple[int, ...] | None:
    """The RAW's codes -> data units table, when its values are a curve's levels (LibRaw's ``curve``,
    filled from a DNG LinearizationTable or a camera's decompression curve).

    The table runs up to the first code that reaches the curve's top. It is kept only if it is not the
    identity and every value of the visible area is one of its levels, so a curve LibRaw fills but does
    not use is never taken for one.
    """
    curve = np.asarray(raw.tone_curve, dtype=np.int64)
    if curve.size < 2 or np.any(np.diff(curve) < 0):
        return None
    table = curve[: int(np.argmax(curve)) + 1]
    if table.size < 2 or table.size > MAX_TABLE or np.array_equal(table, np.arange(table.size)):
        return None
    used = np.flatnonzero(np.bincount(raw.raw_image_visible.ravel(), minlength=65536))
    if not np.isin(used, table).all():
        return None
    return tuple(int(v) for v in table)


def _cfa_string(raw: rawpy.RawPy) -> str:
    pattern = raw.raw_pattern
    if pattern is None or pattern.shape != (2, 2):
        return ""
    desc = raw.color_desc.decode("ascii")
    return "".join(desc[int(i)] for i in pattern.flatten())


def _white_balance(raw: rawpy.RawPy) -> tuple[tuple[float, float, float], str]:
    """The balance LibRaw renders the RAW with when asked for the camera's: the camera's multipliers if
    LibRaw read valid ones, else its daylight ones for the camera, else unity.

    Exactly 1, 1, 1 is LibRaw's word for "none read", not a balance: the Nikon D1's NEF has one in its
    maker note (WB RB Levels about 1.98 and 1.29, which exiftool reads) that LibRaw reports as 1, 1, 1,
    and where its daylight balance is 1, 1, 1 too LibRaw knows nothing of the camera's colour (Kodak
    DC50). Embed then estimates the balance from the JPEG (:mod:`rawmeta.embed.white_balance`).
    """
    for values, source in ((raw.camera_whitebalance, "camera"), (raw.daylight_whitebalance, "daylight")):
        r, g, b = (float(v) for v in values[:3])
        if min(r, g, b) > 0 and all(math.isfinite(v) for v in (r, g, b)) and not r == g == b:
            return (r / g, 1.0, b / g), source
    return (1.0, 1.0, 1.0), "unity"


def _xyz_to_camera(raw: rawpy.RawPy, dng_data: bytes | None) -> tuple[tuple[float, ...] | None, int]:
    m = np.asarray(raw.rgb_xyz_matrix, dtype=np.float64)[:3]
    if np.any(m):
        # LibRaw's built-in matrices are Adobe's D65 ColorMatrix2 values.
        return tuple(float(v) for v in m.flatten()), ILLUMINANT_D65
    if dng_data is not None:
        return _dng_color_matrix(dng_data)
    return None, ILLUMINANT_UNKNOWN


def _dng_color_matrix(data: bytes) -> tuple[tuple[float, ...] | None, int]:
    """ColorMatrix of a DNG's first IFD, preferring the one calibrated for D65."""
    import tifffile

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with tifffile.TiffFile(io.BytesIO(data)) as tif:
                tags = tif.pages[0].tags
                found = []
                for i in (1, 2):
                    cm = tags.get(f"ColorMatrix{i}")
                    ill = tags.get(f"CalibrationIlluminant{i}")
                    if cm is not None:
                        found.append((_rationals(cm.value), int(ill.value) if ill is not None else 0))
    except Exception:  # a malformed IFD only costs us the matrix
        return None, ILLUMINANT_UNKNOWN
    found = [(m, ill) for m, ill in found if m is not None and len(m) == 9]
    if not found:
        return None, ILLUMINANT_UNKNOWN
    found.sort(key=lambda item: item[1] != ILLUMINANT_D65)
    return found[0]


def _rationals(value: tuple) -> tuple[float, ...] | None:
    vals = list(value)
    if len(vals) == 18:
        pairs = zip(vals[0::2], vals[1::2])
        if any(den == 0 for _, den in zip(vals[0::2], vals[1::2])):
            return None
        return tuple(num / den for num, den in pairs)
    return tuple(float(v) for v in vals)
