"""The shot's tags as a RAW file holds them, for the payload (:mod:`rawmeta.format.shot`).

Three sources, by the kind of file:

- a TIFF-based RAW (NEF, DNG, KDC, and most others): its own IFD0 and EXIF
  tags, byte for byte, as :func:`rawmeta.io.shot_metadata.tiff_ifds` reads
  a JPEG's (a Nikon D1's maker note made portable, the rest left out);
- a Canon CRW (CIFF, not TIFF): make and model as the camera wrote them,
  the capture date, and the exposure time and f-number from its shot
  record, decoded as exiftool decodes them; ISO and focal length from
  LibRaw;
- any other file: what LibRaw parsed (date, exposure time, f-number, ISO,
  focal length).

Values of 0 for a quantity that cannot be 0 (exposure time, f-number, ISO,
focal length) and empty texts mean "unknown" and are left out; so are the
largest values (a maker note first) while the tags would not fit the
payload's limit (:data:`rawmeta.format.shot.MAX_BYTES`).
"""
from __future__ import annotations

import math
import struct
from collections.abc import Iterator
from datetime import UTC, datetime
from fractions import Fraction

from rawmeta.format.shot import (
    ALLOWED,
    EXIF,
    IFD0,
    MAX_BYTES,
    RATIONAL_TYPES,
    TYPE_SIZES,
    ShotTag,
    flat_value,
    pack_tags,
)
from rawmeta.io.shot_metadata import tiff_ifds

#: Tags whose value 0 means "unknown": ExposureTime, FNumber, ISOSpeedRatings, FocalLength,
#: FocalLengthIn35mmFilm.
_UNKNOWN_WHEN_ZERO = frozenset({33434, 33437, 34855, 37386, 41989})
#: CIFF records: make and model, the capture time, the shot record (exiftool's CanonRaw and Canon tables).
_CIFF_MAKE_MODEL, _CIFF_TIME, _CIFF_SHOT_INFO = 0x080A, 0x180E, 0x102A
#: Where the shot record keeps the f-number and the exposure time (int16 index; exiftool's Canon ShotInfo).
_SHOT_FNUMBER, _SHOT_EXPOSURE = 21, 22
#: Sub-heaps a CIFF heap is nested at most (a loop of heaps must end).
_MAX_DEPTH = 8
#: Records read from one CIFF heap at most.
_MAX_RECORDS = 1000
_TIFF_HEADERS = (b"II*\0", b"MM\0*")


def raw_shot_tags(data: bytes, other) -> tuple[ShotTag, ...]:
    """The shot's tags of the RAW file ``data``, whose LibRaw facts (``rawpy.RawPy.other``) are ``other``.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> when = datetime(2000, 11, 19, 13, 1, 50)
    >>> facts = SimpleNamespace(timestamp=when, shutter_speed=0.004, aperture=7.6, iso_speed=200.0,
    ...                         focal_length=0.0)
    >>> [(t.name, t.value) for t in raw_shot_tags(b"not a RAW", facts)]
    [('ExposureTime', (1, 250)), ('FNumber', (76, 10)), ('ISOSpeedRatings', 200), \
('DateTimeOriginal', b'2000:11:19 13:01:50\\x00')]
    """
    if data[:4] in _TIFF_HEADERS:
        return _known(_tiff_tags(data))
    tags = _libraw_tags(other)
    if data[6:14] == b"HEAPCCDR":
        tags.update(_ciff_tags(data))
    return _known(tags)


def _known(tags: dict[tuple[int, int], ShotTag]) -> tuple[ShotTag, ...]:
    """``tags`` in (IFD, tag) order, less those that say "unknown" and the largest that do not fit."""
    kept = [t for _, t in sorted(tags.items()) if not _unknown(t)]
    while kept and len(pack_tags(tuple(kept), limit=None)) > MAX_BYTES:
        kept.remove(max(kept, key=lambda t: flat_value(t.dtype, t.value)[0] * TYPE_SIZES[t.dtype]))
    return tuple(kept)


def _unknown(t: ShotTag) -> bool:
    if t.dtype == 2:
        return not t.value.strip(b"\0 ")
    if t.tag not in _UNKNOWN_WHEN_ZERO:
        return False
    values = t.value if isinstance(t.value, tuple) else (t.value,)
    if t.dtype in RATIONAL_TYPES and values and not isinstance(values[0], tuple):
        values = (values,)
    return all((v[0] == 0 or v[1] == 0) if isinstance(v, tuple) else v == 0 for v in values)


def _tiff_tags(data: bytes) -> dict[tuple[int, int], ShotTag]:
    ifds = tiff_ifds(data)
    tags = {}
    for ifd, name in ((IFD0, "0th"), (EXIF, "Exif")):
        for tag, (dtype, value) in ifds.get(name, {}).items():
            if tag in ALLOWED[ifd]:
                tags[ifd, tag] = ShotTag(ifd, tag, dtype, value)
    return tags


def _libraw_tags(other) -> dict[tuple[int, int], ShotTag]:
    """What LibRaw parsed, as tags (its timestamp is the file's date as the camera's clock showed it)."""
    found = [
        ShotTag(EXIF, 33434, 5, _exposure_time(other.shutter_speed)),
        ShotTag(EXIF, 33437, 5, _tenths(other.aperture)),
        ShotTag(EXIF, 34855, 3, min(max(round(other.iso_speed), 0), 65535)),
        ShotTag(EXIF, 37386, 5, _tenths(other.focal_length)),
    ]
    if other.timestamp.year > 1970:  # LibRaw's 0: no date
        found.append(ShotTag(EXIF, 36867, 2, _exif_date(other.timestamp)))
    return {(t.ifd, t.tag): t for t in found}


def _exif_date(when: datetime) -> bytes:
    return when.strftime("%Y:%m:%d %H:%M:%S").encode("ascii") + b"\0"


def _exposure_time(seconds: float) -> tuple[int, int]:
    """An exposure time as EXIF writes it: 1/n below a quarter second, else in tenths; (0, 1) if unknown."""
    if not (math.isfinite(seconds) and seconds > 0):
        return (0, 1)
    if seconds < 0.25:
        return (1, round(1 / seconds))
    fraction = Fraction(seconds).limit_denominator(10)
    return (fraction.numerator, fraction.denominator)


def _tenths(value: float) -> tuple[int, int]:
    """A positive quantity in tenths (an f-number, a focal length in mm); (0, 1) if unknown."""
    return (round(value * 10), 10) if math.isfinite(value) and 0 < value < 1e8 else (0, 1)


def _ciff_tags(data: bytes) -> dict[tuple[int, int], ShotTag]:
    """Make, model, date, exposure time and f-number from a CRW's CIFF records."""
    order = "<" if data[:2] == b"II" else ">"
    try:
        start = struct.unpack_from(order + "I", data, 2)[0]
        records = dict(_ciff_records(data, start, len(data), order, 0))
    except struct.error:  # a damaged CRW keeps what LibRaw read
        return {}
    found = []
    names = records.get(_CIFF_MAKE_MODEL, b"").split(b"\0")
    if len(names) >= 2:
        found += [ShotTag(IFD0, 271, 2, names[0] + b"\0"), ShotTag(IFD0, 272, 2, names[1] + b"\0")]
    if len(records.get(_CIFF_TIME, b"")) >= 4:  # seconds from 1970 on the camera's clock, no zone
        seconds = struct.unpack_from(order + "I", records[_CIFF_TIME])[0]
        found.append(ShotTag(EXIF, 36867, 2, _exif_date(datetime.fromtimestamp(seconds, UTC))))
    shot = records.get(_CIFF_SHOT_INFO, b"")
    if len(shot) >= 2 * (_SHOT_EXPOSURE + 1):
        fnumber, exposure = struct.unpack_from(order + "2h", shot, 2 * _SHOT_FNUMBER)
        found.append(ShotTag(EXIF, 33437, 5, _tenths(2 ** (_canon_ev(fnumber) / 2))))
        found.append(ShotTag(EXIF, 33434, 5, _exposure_time(2 ** -_canon_ev(exposure))))
    return {(t.ifd, t.tag): t for t in found}


def _canon_ev(value: int) -> float:
    """A Canon APEX code in EV: 1/32 steps, with 0x0C and 0x14 in the low bits for 1/3 and 2/3 (exiftool's
    CanonEv)."""
    sign, value = (-1, -value) if value < 0 else (1, value)
    fraction = value & 0x1F
    whole = value - fraction
    fraction = {0x0C: 32 / 3, 0x14: 64 / 3}.get(fraction, fraction)
    return sign * (whole + fraction) / 32


def _ciff_records(data: bytes, start: int, end: int, order: str, depth: int) -> Iterator[tuple[int, bytes]]:
    """(tag, value) of each record of the CIFF heap ``data[start:end]`` and of its sub-heaps.

    A heap ends with the offset of its table: a u16 count, then 10-byte records (u16 tag, u32 size, u32
    offset in the heap). Bits 14-15 of the tag say where the value is (0: in the heap, 1: in the record's
    last 8 bytes), bits 11-13 its type (5 and 6: a sub-heap).
    """
    if depth > _MAX_DEPTH or not 0 <= start <= end - 6 or end > len(data):
        return
    table = start + struct.unpack_from(order + "I", data, end - 4)[0]
    if not start <= table <= end - 2:
        return
    count = struct.unpack_from(order + "H", data, table)[0]
    for k in range(min(count, _MAX_RECORDS)):
        at = table + 2 + 10 * k
        if at + 10 > end:
            return
        tag, size, offset = struct.unpack_from(order + "HII", data, at)
        if tag & 0xC000 == 0x4000:
            yield tag & 0x3FFF, data[at + 2 : at + 10]
        elif tag & 0xC000 == 0 and start + offset + size <= end:
            if (tag >> 11) & 7 in (5, 6):
                yield from _ciff_records(data, start + offset, start + offset + size, order, depth + 1)
            else:
                yield tag & 0x3FFF, data[start + offset : start + offset + size]
