"""The shot's tags: the RAW's capture date, exposure, lens and camera names, carried in the payload.

A JPEG exported without EXIF would otherwise restore to a DNG that knows
nothing of the shot. From payload version 8 the camera block ends with the
RAW's own EXIF/TIFF tags of a fixed list (:data:`ALLOWED`), as TIFF entries
(docs/FORMAT.md, section 3, "Shot tags"). This module is that list, the
entries' byte layout, and the TIFF value codec the readers and writers of
tags share.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass

#: The IFDs an entry may belong to: IFD0 (TIFF) and the EXIF IFD.
IFD0, EXIF = 0, 1
#: The tags a payload may carry, by IFD, with their names (docs/FORMAT.md). Orientation is the camera
#: block's own byte, so it is not repeated here.
ALLOWED: dict[int, dict[int, str]] = {
    IFD0: {271: "Make", 272: "Model", 306: "DateTime", 315: "Artist", 33432: "Copyright"},
    EXIF: {
        33434: "ExposureTime", 33437: "FNumber", 34850: "ExposureProgram", 34855: "ISOSpeedRatings",
        36867: "DateTimeOriginal", 36868: "DateTimeDigitized", 36880: "OffsetTime",
        36881: "OffsetTimeOriginal", 36882: "OffsetTimeDigitized", 37377: "ShutterSpeedValue",
        37378: "ApertureValue", 37380: "ExposureBiasValue", 37381: "MaxApertureValue", 37383: "MeteringMode",
        37384: "LightSource", 37385: "Flash", 37386: "FocalLength", 37500: "MakerNote",
        37520: "SubSecTime", 37521: "SubSecTimeOriginal", 37522: "SubSecTimeDigitized",
        41986: "ExposureMode", 41987: "WhiteBalance", 41989: "FocalLengthIn35mmFilm",
        41990: "SceneCaptureType", 42033: "BodySerialNumber", 42034: "LensSpecification",
        42035: "LensMake", 42036: "LensModel", 42037: "LensSerialNumber",
    },
}
#: Bytes per value of each TIFF type an entry may have (6.0: 1 BYTE ... 10 SRATIONAL).
TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4}
#: Types whose values are bytes (BYTE, ASCII, SBYTE, UNDEFINED).
BYTE_TYPES = frozenset({1, 2, 6, 7})
#: Types whose values are numerator/denominator pairs (RATIONAL, SRATIONAL).
RATIONAL_TYPES = frozenset({5, 10})
#: The struct letter of one number of each numeric type.
NUMBER_FORMATS = {3: "H", 4: "I", 5: "I", 8: "h", 9: "i", 10: "i", 11: "f", 12: "d", 13: "I"}
#: Most bytes the entries may take, uncompressed (a maker note with its preview left out fits).
MAX_BYTES = 262_144
_ENTRY = struct.Struct(">BHHI")


@dataclass(frozen=True)
class ShotTag:
    """One TIFF tag of the shot.

    Attributes
    ----------
    ifd : int
        :data:`IFD0` or :data:`EXIF`.
    tag : int
        The tag's number, one of :data:`ALLOWED` for its IFD.
    dtype : int
        The TIFF type (:data:`TYPE_SIZES`).
    value : bytes, int, float or tuple
        As :func:`tiff_value` gives it: bytes for the byte types (ASCII with its NUL), a number or a tuple of
        numbers, a (numerator, denominator) pair or a tuple of pairs for the rational types.

    Examples
    --------
    >>> ShotTag(EXIF, 33434, 5, (1, 250)).name
    'ExposureTime'
    """

    ifd: int
    tag: int
    dtype: int
    value: object

    def __post_init__(self) -> None:
        if self.tag not in ALLOWED.get(self.ifd, {}):
            raise ValueError(f"tag {self.tag} of IFD {self.ifd} is not one a payload carries")
        if self.dtype not in TYPE_SIZES:
            raise ValueError(f"unknown TIFF type {self.dtype}")

    @property
    def name(self) -> str:
        """The tag's EXIF/TIFF name."""
        return ALLOWED[self.ifd][self.tag]


def tiff_value(data: bytes, dtype: int, count: int, order: str) -> object:
    """A tag's ``count`` values of type ``dtype`` stored as ``data`` in byte order ``order`` ("<" or ">").

    Examples
    --------
    >>> tiff_value(bytes([0, 0, 0, 1, 0, 0, 0, 250]), 5, 1, ">")
    (1, 250)
    >>> tiff_value(b"NIKON\\0", 2, 6, ">")
    b'NIKON\\x00'
    """
    if dtype in BYTE_TYPES:
        return data
    numbers = struct.unpack(order + NUMBER_FORMATS[dtype] * (count * (2 if dtype in RATIONAL_TYPES else 1)), data)
    if dtype in RATIONAL_TYPES:
        pairs = tuple(zip(numbers[0::2], numbers[1::2]))
        return pairs[0] if count == 1 else pairs
    return numbers[0] if count == 1 else numbers


def flat_value(dtype: int, value: object) -> tuple[int, object]:
    """The count and the flat value (bytes, or a tuple of numbers) of a tag's ``value`` as
    :func:`tiff_value` or piexif gives it; ASCII gains its NUL if it lacks one.

    Examples
    --------
    >>> flat_value(5, ((28, 10), (28, 10)))
    (2, (28, 10, 28, 10))
    >>> flat_value(2, "D1")
    (3, b'D1\\x00')
    """
    if dtype == 2:
        text = value.encode("latin-1", "replace") if isinstance(value, str) else bytes(value)
        text = text if text.endswith(b"\0") else text + b"\0"
        return len(text), text
    if dtype in BYTE_TYPES:
        data = bytes([value]) if isinstance(value, int) else bytes(value)
        return len(data), data
    items = value if isinstance(value, tuple | list) else (value,)
    if dtype in RATIONAL_TYPES:
        pairs = items if items and isinstance(items[0], tuple | list) else (items,)
        return len(pairs), tuple(int(v) for pair in pairs for v in pair)
    return len(items), tuple(items)


def value_bytes(dtype: int, flat: object, order: str) -> bytes:
    """The stored bytes of a :func:`flat_value` in byte order ``order``."""
    if isinstance(flat, bytes):
        return flat
    return struct.pack(order + NUMBER_FORMATS[dtype] * len(flat), *flat)


def pack_tags(tags: tuple[ShotTag, ...], limit: int | None = MAX_BYTES) -> bytes:
    """The shot tags' entries (docs/FORMAT.md, "Shot tags"), uncompressed: a u16 count, then each entry in
    (IFD, tag) order; ValueError if they take more than ``limit`` bytes (None: no limit).

    Examples
    --------
    >>> pack_tags((ShotTag(EXIF, 34855, 3, 200),)).hex()
    '000101882700030000000100c8'
    """
    out = bytearray(struct.pack(">H", len(tags)))
    for t in sorted(tags, key=lambda t: (t.ifd, t.tag)):
        count, flat = flat_value(t.dtype, t.value)
        out += _ENTRY.pack(t.ifd, t.tag, t.dtype, count) + value_bytes(t.dtype, flat, ">")
    if limit is not None and len(out) > limit:
        raise ValueError(f"the shot tags take {len(out)} bytes, more than {limit}")
    return bytes(out)


def unpack_tags(data: bytes) -> tuple[ShotTag, ...]:
    """The entries :func:`pack_tags` wrote.

    Raises
    ------
    ValueError
        On a truncated entry, bytes after the last, a tag not in :data:`ALLOWED`, an unknown type, a count of
        0, or entries out of (IFD, tag) order or repeated.

    Examples
    --------
    >>> unpack_tags(bytes.fromhex('000101882700030000000100c8'))
    (ShotTag(ifd=1, tag=34855, dtype=3, value=200),)
    """
    if len(data) < 2:
        raise ValueError("the shot tags are truncated")
    count, pos, tags = struct.unpack_from(">H", data)[0], 2, []
    for _ in range(count):
        if pos + _ENTRY.size > len(data):
            raise ValueError("the shot tags are truncated")
        ifd, tag, dtype, n = _ENTRY.unpack_from(data, pos)
        if dtype not in TYPE_SIZES:
            raise ValueError(f"the shot tag {tag} has an unknown TIFF type {dtype}")
        size = TYPE_SIZES[dtype] * n
        pos += _ENTRY.size
        if not n or pos + size > len(data):
            raise ValueError(f"the shot tag {tag} has {n} values or is truncated")
        found = ShotTag(ifd, tag, dtype, tiff_value(data[pos : pos + size], dtype, n, ">"))
        if tags and (tags[-1].ifd, tags[-1].tag) >= (ifd, tag):
            raise ValueError("the shot tags are out of order or repeated")
        tags.append(found)
        pos += size
    if pos != len(data):
        raise ValueError("the shot tags have bytes after their last entry")
    return tuple(tags)
