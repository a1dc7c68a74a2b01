"""What a JPEG says about the shot (EXIF and XMP), read to be copied into the DNG restored from it.

A photo catalogue sorts and filters on the capture date, exposure, lens,
GPS position, rating and keywords. The JPEG carries them; the restored DNG
must carry the same, so this module reads them as TIFF tags, by IFD:

- IFD0: ImageDescription, Make, Model, DateTime, Artist, Copyright (the DNG
  writer adds its own Software, Orientation and DNG tags);
- the EXIF IFD, less the tags that describe the JPEG's encoding rather than
  the shot (pixel dimensions, colour space, components, compression) and
  the MakerNote, whose offsets point into the JPEG; EXIF tags found in IFD0
  (as TIFF/EP writers put them) join it;
- the GPS IFD, whole;
- the XMP packet (``http://ns.adobe.com/xap/1.0/``), as bytes.

Reading never fails a restore: a JPEG with damaged EXIF gives what could be
read (often nothing).
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field

import piexif

from rawmeta.errors import JpegError
from rawmeta.format import segments as js

#: A TIFF tag's type and value, as :mod:`rawmeta.io.dng` writes it.
Tag = tuple[int, object]

#: IFD0 tags of the shot (the rest of IFD0 describes the JPEG's image).
IFD0_TAGS = frozenset({270, 271, 272, 306, 315, 33432})
#: EXIF tags that describe the JPEG's encoding, or point into it, not the shot.
EXIF_LEFT_OUT = frozenset({
    37121,  # ComponentsConfiguration
    37122,  # CompressedBitsPerPixel
    37500,  # MakerNote: offsets into the JPEG's own TIFF structure
    40961,  # ColorSpace (of the JPEG's pixels)
    40962, 40963,  # PixelXDimension, PixelYDimension
    40965,  # InteroperabilityIFD pointer
})
#: Bytes per value of each TIFF type.
_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4}
#: IFD0's pointers to the EXIF and GPS IFDs.
_EXIF_POINTER, _GPS_POINTER = 34665, 34853
#: Entries read from one IFD at most (a damaged count must not make a long loop).
_MAX_ENTRIES = 1000
#: The APP1 signature of an XMP packet.
XMP_SIGNATURE = b"http://ns.adobe.com/xap/1.0/\x00"
_APP1 = 0xE1


@dataclass(frozen=True)
class ShotMetadata:
    """EXIF tags by IFD (tag -> (TIFF type, value)) and the XMP packet of a JPEG."""

    ifd0: dict[int, Tag] = field(default_factory=dict)
    exif: dict[int, Tag] = field(default_factory=dict)
    gps: dict[int, Tag] = field(default_factory=dict)
    xmp: bytes | None = None

    def __bool__(self) -> bool:
        return bool(self.ifd0 or self.exif or self.gps or self.xmp)


def read_shot_metadata(jpeg: bytes) -> ShotMetadata:
    """The shot's EXIF and XMP in ``jpeg`` (empty where it has none, or they cannot be read)."""
    try:
        layout = js.parse(jpeg)
    except JpegError:  # the restore reports a bad JPEG itself
        return ShotMetadata()
    exif_data = xmp = None
    for seg in layout.segments:
        if seg.marker != _APP1:
            continue
        data = layout.segment_data(seg)
        if exif_data is None and data.startswith(b"Exif\x00\x00"):
            exif_data = data
        elif xmp is None and data.startswith(XMP_SIGNATURE):
            xmp = data[len(XMP_SIGNATURE):]
    try:
        ifds = _exif_ifds(exif_data) if exif_data is not None else {}
    except (ValueError, TypeError, struct.error):  # a damaged EXIF costs its tags, not the restore
        ifds = {}
    return ShotMetadata(
        ifd0={t: v for t, v in ifds.get("0th", {}).items() if t in IFD0_TAGS},
        exif={t: v for t, v in ifds.get("Exif", {}).items() if t not in EXIF_LEFT_OUT},
        gps=ifds.get("GPS", {}),
        xmp=xmp or None,
    )


def _exif_ifds(app1: bytes) -> dict[str, dict[int, Tag]]:
    """The EXIF segment's IFD0, EXIF and GPS IFDs as {"0th"/"Exif"/"GPS": {tag: (type, value)}}.

    EXIF tags that a TIFF/EP-style writer put in IFD0 (ExposureTime, FNumber,
    ...) are moved to the EXIF IFD, where catalogues look for them.
    """
    tiff = app1[6:]
    if len(tiff) < 8 or tiff[:4] not in (b"II*\0", b"MM\0*"):
        return {}
    order = "<" if tiff[:2] == b"II" else ">"
    ifd0 = _read_ifd(tiff, struct.unpack_from(order + "I", tiff, 4)[0], order)
    sub = {name: _read_ifd(tiff, int(_first(ifd0[pointer][1])), order) if pointer in ifd0 else {}
           for name, pointer in (("Exif", _EXIF_POINTER), ("GPS", _GPS_POINTER))}
    exif_codes = set(piexif.TAGS["Exif"])
    for tag, value in ifd0.items():
        if tag in exif_codes and tag not in sub["Exif"] and tag not in (_EXIF_POINTER, _GPS_POINTER):
            sub["Exif"][tag] = value
    return {"0th": ifd0, **sub}


def _read_ifd(tiff: bytes, offset: int, order: str) -> dict[int, Tag]:
    """The entries of the IFD at ``offset`` as {tag: (type, value)}; entries that do not read are left out."""
    tags: dict[int, Tag] = {}
    if not 8 <= offset <= len(tiff) - 2:
        return tags
    count = struct.unpack_from(order + "H", tiff, offset)[0]
    for k in range(min(count, _MAX_ENTRIES)):
        at = offset + 2 + 12 * k
        if at + 12 > len(tiff):
            break
        tag, dtype, n = struct.unpack_from(order + "HHI", tiff, at)
        size = _TYPE_SIZES.get(dtype, 0) * n
        if not size or size > len(tiff):
            continue
        start = at + 8 if size <= 4 else struct.unpack_from(order + "I", tiff, at + 8)[0]
        if start + size > len(tiff):
            continue
        tags[tag] = (dtype, _value(tiff[start : start + size], dtype, n, order))
    return tags


def _value(data: bytes, dtype: int, count: int, order: str) -> object:
    """A tag's value: bytes for byte and text types, a (pair or) tuple of pairs for rationals, an int or a
    tuple of numbers otherwise."""
    if dtype in (1, 2, 6, 7):
        return data
    fmt = {3: "H", 4: "I", 5: "I", 8: "h", 9: "i", 10: "i", 11: "f", 12: "d", 13: "I"}[dtype]
    numbers = struct.unpack(order + fmt * (count * (2 if dtype in (5, 10) else 1)), data)
    if dtype in (5, 10):
        pairs = tuple(zip(numbers[0::2], numbers[1::2]))
        return pairs[0] if count == 1 else pairs
    return numbers[0] if count == 1 else numbers


def _first(value: object) -> object:
    return value[0] if isinstance(value, tuple) else value
