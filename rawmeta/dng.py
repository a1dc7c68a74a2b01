"""Writing DNG files with tifffile.

For now one kind of DNG: a single-IFD, uncompressed, strip-based CFA
(Bayer mosaic) DNG, enough for LibRaw, the Adobe DNG SDK, darktable and
RawTherapee to read and render it. The file is written atomically
(temp file in the target's folder, fsync, rename).

Tags tifffile writes on its own are kept in check: ``metadata=None`` stops its
JSON ImageDescription, ``software=`` replaces its ``tifffile.py`` Software tag
and no DateTime is written, so the same input always gives the same bytes.
tifffile does always write XResolution = YResolution = 1/1 with
ResolutionUnit = 1 (none), which is harmless.
"""
from __future__ import annotations

import io
import os

import numpy as np
import tifffile

from .atomic import atomic_write
from .camera import CameraFacts

#: Value of the Software tag.
SOFTWARE = "rawmeta"

#: 2 x 2 patterns write_cfa_dng accepts (read row by row).
BAYER_PATTERNS = ("RGGB", "BGGR", "GRBG", "GBRG")

# TIFF field types.
_BYTE, _ASCII, _SHORT, _LONG, _RATIONAL, _SRATIONAL = 1, 2, 3, 4, 5, 10

# CFAPattern / CFAPlaneColor colour codes.
_CFA_CODE = {"R": 0, "G": 1, "B": 2}

# Denominators of the rational tags.
_MATRIX_DENOMINATOR = 10_000
_NEUTRAL_DENOMINATOR = 1_000_000


def write_cfa_dng(path: str | os.PathLike, cfa: np.ndarray, camera: CameraFacts) -> None:
    """Write a Bayer mosaic and its camera facts as a CFA DNG.

    The DNG has one IFD holding the whole mosaic, uncompressed, in one strip:
    PhotometricInterpretation 32803 (CFA), 16 bits per sample, DNG version
    1.4 (readable as 1.1), with ColorMatrix1, AsShotNeutral, per-position
    BlackLevel and WhiteLevel taken from ``camera``.

    Parameters
    ----------
    path : str or os.PathLike
        Output file; replaced atomically if it exists.
    cfa : numpy.ndarray
        2-D ``uint16`` mosaic (H x W, both at least 2), in sensor orientation,
        whose top-left 2 x 2 block is laid out as ``camera.cfa``.
    camera : CameraFacts
        Facts to record. ``camera.cfa`` must be a Bayer pattern (one of
        :data:`BAYER_PATTERNS`), ``camera.xyz_to_camera`` must be given, the
        white-balance multipliers positive, the black levels below the white
        level and make and model ASCII. ``camera.black_levels`` is indexed as
        LibRaw's ``black_level_per_channel`` (R, G, B, G2, where G2 is the
        green in the blue row), so LibRaw reads the same four values back.

    Raises
    ------
    ValueError
        If ``cfa`` or ``camera`` cannot make a CFA DNG (see above).
    """
    extratags = _dng_tags(cfa, camera)
    # Build the file in memory: tifffile cannot write to the os.fdopen() file
    # object atomic_write yields (its ``name`` is an int, not a path).
    buffer = io.BytesIO()
    # shaped=False / metadata=None: no tifffile JSON ImageDescription.
    with tifffile.TiffWriter(buffer, byteorder="<", bigtiff=False, shaped=False) as tif:
        tif.write(
            cfa,
            photometric="CFA",
            compression=None,
            planarconfig=None,
            subfiletype=0,
            software=SOFTWARE,
            metadata=None,
            datetime=None,
            extratags=extratags,
        )
    with atomic_write(path) as fh:
        fh.write(buffer.getbuffer())


def _libraw_colour_indices(cfa: str) -> tuple[int, int, int, int]:
    """LibRaw's colour index (0 R, 1 G, 2 B, 3 G2) of each 2 x 2 CFA position.

    LibRaw calls the green that shares a row with blue G2, whatever the phase:
    ``RGGB -> (0, 1, 3, 2)``, ``BGGR -> (2, 3, 1, 0)``, ``GRBG -> (1, 0, 2, 3)``,
    ``GBRG -> (3, 2, 0, 1)`` (``rawpy.RawPy.raw_pattern`` read row by row).
    ``CameraFacts.black_levels`` follows LibRaw's ``black_level_per_channel``,
    so this is the map from it to DNG BlackLevel positions.

    Parameters
    ----------
    cfa : str
        A Bayer pattern, one of :data:`BAYER_PATTERNS`.

    Returns
    -------
    tuple of 4 int
        Colour index of the top-left, top-right, bottom-left and bottom-right
        position.
    """
    indices = []
    for k, c in enumerate(cfa):
        row = cfa[2 * (k // 2) : 2 * (k // 2) + 2]
        indices.append(3 if c == "G" and "B" in row else _CFA_CODE[c])
    return tuple(indices)  # type: ignore[return-value]


def _dng_tags(cfa: np.ndarray, camera: CameraFacts) -> list[tuple]:
    """Check the inputs and return the DNG tags as tifffile ``extratags``."""
    if not isinstance(cfa, np.ndarray) or cfa.dtype != np.uint16:
        dtype = getattr(cfa, "dtype", type(cfa).__name__)
        raise ValueError(f"CFA mosaic must be a uint16 numpy array, not {dtype}")
    if cfa.ndim != 2 or cfa.shape[0] < 2 or cfa.shape[1] < 2:
        raise ValueError(f"CFA mosaic must be 2-D and at least 2 x 2, not shape {cfa.shape}")
    if not camera.cfa:
        raise ValueError(
            "camera.cfa is empty (a demosaiced source): cannot write a CFA DNG without a CFA pattern"
        )
    if camera.cfa not in BAYER_PATTERNS:
        raise ValueError(f"camera.cfa must be one of {BAYER_PATTERNS}, not {camera.cfa!r}")
    if camera.xyz_to_camera is None:
        raise ValueError("camera.xyz_to_camera is None: a DNG needs a ColorMatrix1")
    if not all(np.isfinite(v) for v in camera.xyz_to_camera):
        raise ValueError("camera.xyz_to_camera has non-finite values")
    if not all(np.isfinite(v) and v > 0 for v in camera.white_balance):
        raise ValueError(f"white balance multipliers must be positive, not {camera.white_balance}")
    if not 0 < camera.white_level <= 65535:
        raise ValueError(f"white level must be 1-65535, not {camera.white_level}")
    if not all(0 <= b < camera.white_level for b in camera.black_levels):
        raise ValueError(f"black levels {camera.black_levels} must be below the white level")

    pattern = tuple(_CFA_CODE[c] for c in camera.cfa)
    black = tuple(camera.black_levels[i] for i in _libraw_colour_indices(camera.cfa))

    matrix = []
    for v in camera.xyz_to_camera:
        matrix += [round(v * _MATRIX_DENOMINATOR), _MATRIX_DENOMINATOR]
    neutral = []
    for m in camera.white_balance:
        neutral += [round(_NEUTRAL_DENOMINATOR / m), _NEUTRAL_DENOMINATOR]

    make, model = camera.make.strip(), camera.model.strip()
    if not (make + model).isascii():
        raise ValueError(f"make and model must be ASCII for TIFF, not {make!r} {model!r}")
    unique = f"{make} {model}".strip() or "rawmeta camera"
    tags = [
        (271, _ASCII, 0, make or "Unknown", True),  # Make
        (272, _ASCII, 0, model or "Unknown", True),  # Model
        (274, _SHORT, 1, camera.orientation, True),  # Orientation
        (33421, _SHORT, 2, (2, 2), True),  # CFARepeatPatternDim
        (33422, _BYTE, 4, pattern, True),  # CFAPattern
        (50706, _BYTE, 4, (1, 4, 0, 0), True),  # DNGVersion
        (50707, _BYTE, 4, (1, 1, 0, 0), True),  # DNGBackwardVersion
        (50708, _ASCII, 0, unique, True),  # UniqueCameraModel
        (50710, _BYTE, 3, (0, 1, 2), True),  # CFAPlaneColor
        (50711, _SHORT, 1, 1, True),  # CFALayout: rectangular
        (50713, _SHORT, 2, (2, 2), True),  # BlackLevelRepeatDim
        (50714, _LONG, 4, black, True),  # BlackLevel
        (50717, _LONG, 1, camera.white_level, True),  # WhiteLevel
        (50721, _SRATIONAL, 9, tuple(matrix), True),  # ColorMatrix1
        (50728, _RATIONAL, 3, tuple(neutral), True),  # AsShotNeutral
        (50778, _SHORT, 1, camera.calibration_illuminant, True),  # CalibrationIlluminant1
    ]
    return tags
