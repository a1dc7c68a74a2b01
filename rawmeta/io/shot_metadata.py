"""What a JPEG says about the shot (EXIF and XMP), read to be copied into the DNG restored from it.

A photo catalogue sorts and filters on the capture date, exposure, lens,
GPS position, rating and keywords. The JPEG carries them; the restored DNG
must carry the same, so this module reads them as TIFF tags, by IFD:

- IFD0: ImageDescription, Make, Model, DateTime, Artist, Copyright (the DNG
  writer adds its own Software, Orientation and DNG tags);
- the EXIF IFD, less the tags that describe the JPEG's encoding rather than
  the shot (pixel dimensions, colour space, components, compression) and
  the MakerNote, whose offsets point into the JPEG;
- the GPS IFD, whole;
- the XMP packet (``http://ns.adobe.com/xap/1.0/``), as bytes.

Reading never fails a restore: a JPEG with damaged EXIF gives what could be
read (often nothing).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import piexif

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
    except Exception:  # the restore reports a bad JPEG itself
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
    ifds = _exif_ifds(exif_data) if exif_data is not None else {}
    return ShotMetadata(
        ifd0={t: v for t, v in ifds.get("0th", {}).items() if t in IFD0_TAGS},
        exif={t: v for t, v in ifds.get("Exif", {}).items() if t not in EXIF_LEFT_OUT},
        gps=ifds.get("GPS", {}),
        xmp=xmp or None,
    )


def _exif_ifds(app1: bytes) -> dict[str, dict[int, Tag]]:
    """The EXIF segment's IFDs as {name: {tag: (type, value)}}, leaving out tags piexif does not know."""
    try:
        loaded = piexif.load(app1)
    except Exception:  # piexif raises many kinds on damaged EXIF: keep the restore going without it
        return {}
    out: dict[str, dict[int, Tag]] = {}
    for name in ("0th", "Exif", "GPS"):
        known = piexif.TAGS[name]
        out[name] = {tag: (known[tag]["type"], value) for tag, value in (loaded.get(name) or {}).items()
                     if tag in known}
    return out
