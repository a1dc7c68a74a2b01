"""Camera facts: what a DNG writer needs to know about the RAW a payload came from."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# EXIF LightSource codes used for CalibrationIlluminant.
ILLUMINANT_UNKNOWN = 0
ILLUMINANT_D65 = 21

#: Where a white balance came from, by its payload code (docs/FORMAT.md section 3).
WB_SOURCES = ("camera", "daylight", "unity", "jpeg")
#: The first payload version that may carry each source.
WB_SOURCE_SINCE = (1, 1, 1, 8)
#: Each source in the user's words: which balance it is and where it came from.
WB_SOURCE_WORDS = {
    "camera": "the camera's as-shot balance, read from the RAW",
    "daylight": "LibRaw's daylight balance for the camera, as the RAW names no as-shot balance LibRaw can read",
    "unity": "none known, as the RAW names none and LibRaw knows no daylight balance for the camera",
    "jpeg": "the as-shot balance estimated from the JPEG at embed, as the RAW names none LibRaw can read",
}

#: Most entries a linearization table may have (one per 16-bit code).
MAX_TABLE = 65536


@dataclass(frozen=True)
class CameraFacts:
    """Facts about the camera and RAW file, carried in the payload header.

    Attributes
    ----------
    make, model : str
        Camera maker and model as LibRaw names them.
    bits : int
        Bit depth of the stored RAW samples (``ceil(log2(white_level + 1))``).
    black_levels : tuple of 4 int
        Black level per colour index (R, G, B, G2), in RAW data units.
    white_level : int
        Saturation level in RAW data units.
    cfa : str
        Top-left 2 x 2 CFA pattern read row by row, e.g. ``"RGGB"``; the empty
        string for a source that was already demosaiced (LinearRaw DNG).
    white_balance : tuple of 3 float
        As-shot RGB multipliers normalised to green = 1. This and
        ``xyz_to_camera`` are rounded to float32, the precision the payload keeps.
    white_balance_source : str
        ``"camera"`` (from the file), ``"daylight"`` (the file had none; LibRaw's
        daylight multipliers were used), ``"unity"`` (neither was known) or
        ``"jpeg"`` (the file had none; estimated from the JPEG at embed).
    xyz_to_camera : tuple of 9 float or None
        Row-major 3 x 3 matrix from CIE XYZ to camera RGB (a DNG ColorMatrix),
        ``None`` when the file gives none.
    calibration_illuminant : int
        EXIF LightSource code of ``xyz_to_camera`` (21 = D65); 0 when unknown.
    orientation : int
        EXIF Orientation (1-8) of the RAW; the raw-RGB itself is never flipped.
    crop : tuple of 4 int or None
        The frame the RAW declares for showing (its DNG DefaultCrop, or the
        crop LibRaw knows for the camera) as ``(left, top, width, height)`` in
        the raw-RGB (LibRaw's visible area); ``None`` when it declares none
        or the whole area.
    linearization : tuple of int or None
        The RAW's stored codes to RAW data units (a DNG LinearizationTable):
        code ``k`` stands for the value ``linearization[k]``, non-decreasing.
        ``None`` when the RAW stores its values directly. Levels above
        (``black_levels``, ``white_level``) are in data units, after this table.
    """

    make: str
    model: str
    bits: int
    black_levels: tuple[int, int, int, int]
    white_level: int
    cfa: str
    white_balance: tuple[float, float, float]
    white_balance_source: str
    xyz_to_camera: tuple[float, ...] | None
    calibration_illuminant: int
    orientation: int
    crop: tuple[int, int, int, int] | None = None
    linearization: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if len(self.black_levels) != 4:
            raise ValueError("black_levels needs 4 values (R, G, B, G2)")
        if self.cfa and (len(self.cfa) != 4 or set(self.cfa) - set("RGB")):
            raise ValueError(f"cfa must be 4 letters of R, G, B or empty, not {self.cfa!r}")
        if len(self.white_balance) != 3 or not all(math.isfinite(v) and v > 0 for v in self.white_balance):
            raise ValueError(f"white_balance needs 3 finite positive values, not {self.white_balance}")
        if self.white_balance_source not in WB_SOURCES:
            raise ValueError(f"white_balance_source must be one of {WB_SOURCES}")
        if self.xyz_to_camera is not None and (len(self.xyz_to_camera) != 9
                                               or not all(math.isfinite(v) for v in self.xyz_to_camera)):
            raise ValueError(f"xyz_to_camera needs 9 finite values, not {self.xyz_to_camera}")
        if not 1 <= self.orientation <= 8:
            raise ValueError(f"orientation must be 1-8, not {self.orientation}")
        if self.crop is not None and (len(self.crop) != 4 or min(self.crop) < 0 or min(self.crop[2:]) < 1):
            raise ValueError(f"crop needs left, top >= 0 and width, height >= 1, not {self.crop}")
        if self.linearization is not None and not _is_table(self.linearization):
            raise ValueError("linearization needs 2 to 65536 non-decreasing values of 0 to 65535")
        object.__setattr__(self, "white_balance", _float32s(self.white_balance))
        if self.xyz_to_camera is not None:
            object.__setattr__(self, "xyz_to_camera", _float32s(self.xyz_to_camera))


def _is_table(table: tuple[int, ...]) -> bool:
    values = np.asarray(table)
    return (2 <= values.size <= MAX_TABLE and values.dtype.kind in "iu" and int(values.min()) >= 0
            and int(values.max()) <= 65535 and bool(np.all(np.diff(values) >= 0)))


def _float32s(values: tuple[float, ...]) -> tuple[float, ...]:
    return tuple(float(v) for v in np.asarray(values, dtype=np.float32))
