"""What a JPEG says about the shot (EXIF and XMP), read to be copied into the DNG restored from it.

A photo catalogue sorts and filters on the capture date, exposure, lens,
GPS position, rating and keywords. The JPEG carries them; the restored DNG
must carry the same, so this module reads them as TIFF tags, by IFD:

- IFD0: ImageDescription, Make, Model, DateTime, Artist, Copyright (the DNG
  writer adds its own Software, Orientation and DNG tags);
- the EXIF IFD, less the tags that describe the JPEG's encoding rather than
  the shot (pixel dimensions, colour space, components, compression); EXIF
  tags found in IFD0 (as TIFF/EP writers put them) join it;
- the MakerNote, only where it reads the same wherever it is stored (see
  :func:`portable_maker_note`), with the DNG tag MakerNoteSafety = 1 (safe)
  in IFD0. A maker note keeps what EXIF has no tag for (the Nikon D1 writes
  its ISO there only; lens and focus details) and catalogues read it; most
  kinds point into the JPEG's own TIFF structure and would read garbage
  from the DNG's, so they are left out;
- the GPS IFD, whole;
- the XMP packet (``http://ns.adobe.com/xap/1.0/``), as bytes.

Reading never fails a restore: a JPEG with damaged EXIF gives what could be
read (often nothing). Where the JPEG lacks a tag, the RAW's own (carried in
the payload, :mod:`rawmeta.format.shot`) fills in (:func:`with_raw_tags`):
the JPEG's win, as they may carry the user's edits.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field

import piexif

from rawmeta.errors import JpegError
from rawmeta.format import segments as js
from rawmeta.format.shot import IFD0, TYPE_SIZES, ShotTag, tiff_value

#: A TIFF tag's type and value, as :mod:`rawmeta.io.dng` writes it.
Tag = tuple[int, object]

#: IFD0 tags of the shot (the rest of IFD0 describes the JPEG's image).
IFD0_TAGS = frozenset({270, 271, 272, 306, 315, 33432})
#: The EXIF MakerNote tag, and the DNG's IFD0 tag MakerNoteSafety (SHORT; 1: the MakerNote may be kept when
#: the EXIF is rewritten, 0 or none: it may not).
MAKER_NOTE, MAKER_NOTE_SAFETY = 37500, 50741
#: Self-contained maker notes whose IFD follows the header at a fixed place: (header, where the byte order
#: "II" or "MM" is written, where the IFD starts, maker); their offsets count from the note's start. As
#: exiftool 12.57 (MakerNotes.pm: Start, Base) and LibRaw (parse_makernote) read them.
_FIXED_IFD_NOTES = (
    (b"OLYMPUS\0", 8, 12, "Olympus"),  # newer Olympus (the older "OLYMP\0" counts from the EXIF's TIFF header)
    (b"OM SYSTEM\0", 12, 16, "Olympus"),
    (b"Apple iOS\0", 12, 14, "Apple"),
)
#: Tags of a maker's note that point to IFDs of the note, beside those typed as IFD pointers (13): Nikon's
#: PreviewIFD and NikonScanIFD, Olympus's Equipment, CameraSettings, ... (exiftool's tables: Flags SubIFD).
_SUB_IFDS = {
    "Nikon": frozenset({0x0011, 0x0E10}),
    "Olympus": frozenset({0x2010, 0x2020, 0x2030, 0x2031, 0x2040, 0x2050, 0x3000, 0x4000, 0x5000}),
}
#: A maker's preview images in its note: (the tag of the IFD that holds them, 0 for the note's own IFD, the
#: tag of their offset, the tag of their length), as exiftool's tables pair them (OffsetPair). Cameras and
#: exiftool may store the image outside the note.
_PREVIEWS = {
    "Nikon": ((0x0011, 0x0201, 0x0202),),
    "Olympus": ((0, 0x0088, 0x0089), (0, 0x0F04, 0x0F05), (0, 0x1036, 0x1037), (0x2020, 0x0101, 0x0102)),
}
#: Header of a Nikon type 3 maker note (version 2.10), before its TIFF header.
NIKON_TYPE3 = b"Nikon\0\x02\x10\0\0"
#: TIFF type of a pointer to an IFD.
_IFD_TYPE = 13
#: Byte order marks.
_ORDERS = {b"II": "<", b"MM": ">"}
#: EXIF tags that describe the JPEG's encoding, or point into it, not the shot.
EXIF_LEFT_OUT = frozenset({
    37121,  # ComponentsConfiguration
    37122,  # CompressedBitsPerPixel
    40961,  # ColorSpace (of the JPEG's pixels)
    40962, 40963,  # PixelXDimension, PixelYDimension
    40965,  # InteroperabilityIFD pointer
})
#: The tags that belong to a date tag (sub-seconds, time offset) and come from where the date comes from:
#: a JPEG's own date with the RAW's sub-seconds would be a time nobody took.
_DATE_PARTS = {37520: 306, 36880: 306, 37521: 36867, 36881: 36867, 37522: 36868, 36882: 36868}
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
    ifds = tiff_ifds(exif_data[6:]) if exif_data is not None else {}
    ifd0 = {t: v for t, v in ifds.get("0th", {}).items() if t in IFD0_TAGS}
    exif = {t: v for t, v in ifds.get("Exif", {}).items() if t not in EXIF_LEFT_OUT}
    if MAKER_NOTE in exif:  # only a portable one is left (_exif_ifds)
        ifd0[MAKER_NOTE_SAFETY] = (3, 1)
    return ShotMetadata(ifd0=ifd0, exif=exif, gps=ifds.get("GPS", {}), xmp=xmp or None)


def with_raw_tags(found: ShotMetadata, raw: tuple[ShotTag, ...]) -> ShotMetadata:
    """``found`` (a JPEG's) with the RAW's tags ``raw`` (a payload's) added where it lacks them.

    The JPEG's tags win: they may carry the user's edits. A sub-second or time
    offset tag comes with its date: from the RAW only when the JPEG has no
    such date either. Make and Model are in IFD0, so they replace LibRaw's
    names in the DNG as the JPEG's do.

    Examples
    --------
    >>> from rawmeta.format.shot import EXIF
    >>> raw = (ShotTag(IFD0, 272, 2, b"NIKON D1\\0"), ShotTag(EXIF, 36867, 2, b"2000:11:19 13:01:50\\0"),
    ...        ShotTag(EXIF, 37521, 2, b"24\\0"))
    >>> sorted(with_raw_tags(ShotMetadata(exif={36867: (2, b"2001:01:01 00:00:00\\0")}), raw).exif)
    [36867]
    >>> with_raw_tags(ShotMetadata(), raw).ifd0
    {272: (2, b'NIKON D1\\x00')}
    """
    ifd0, exif = dict(found.ifd0), dict(found.exif)
    have = set(ifd0) | set(exif)
    for t in raw:
        if t.tag not in have and _DATE_PARTS.get(t.tag) not in have:
            (ifd0 if t.ifd == IFD0 else exif)[t.tag] = (t.dtype, t.value)
    if MAKER_NOTE in exif:
        ifd0[MAKER_NOTE_SAFETY] = (3, 1)
    return ShotMetadata(ifd0=ifd0, exif=exif, gps=found.gps, xmp=found.xmp)


def tiff_ifds(tiff: bytes) -> dict[str, dict[int, Tag]]:
    """The IFD0, EXIF and GPS IFDs of a TIFF structure (an EXIF segment's after ``Exif\\0\\0``, a TIFF-based
    RAW file) as {"0th"/"Exif"/"GPS": {tag: (type, value)}}; empty where it does not read.

    EXIF tags that a TIFF/EP-style writer put in IFD0 (ExposureTime, FNumber,
    ...) are moved to the EXIF IFD, where catalogues look for them. The
    MakerNote is kept only as :func:`portable_maker_note` gives it.
    """
    try:
        return _tiff_ifds(tiff)
    except (ValueError, TypeError, struct.error):  # damaged EXIF costs its tags, not the restore
        return {}


def _tiff_ifds(tiff: bytes) -> dict[str, dict[int, Tag]]:
    if len(tiff) < 8 or tiff[:4] not in (b"II*\0", b"MM\0*"):
        return {}
    order = "<" if tiff[:2] == b"II" else ">"
    starts: dict[int, int] = {}  # where IFD0's and the EXIF IFD's values start, the EXIF IFD's last
    ifd0 = _read_ifd(tiff, struct.unpack_from(order + "I", tiff, 4)[0], order, starts)
    sub = {name: _read_ifd(tiff, int(_first(ifd0[pointer][1])), order, starts if name == "Exif" else None)
           if pointer in ifd0 else {} for name, pointer in (("Exif", _EXIF_POINTER), ("GPS", _GPS_POINTER))}
    exif_codes = set(piexif.TAGS["Exif"])
    for tag, value in ifd0.items():
        if tag in exif_codes and tag not in sub["Exif"] and tag not in (_EXIF_POINTER, _GPS_POINTER):
            sub["Exif"][tag] = value
    note = sub["Exif"].pop(MAKER_NOTE, (0, None))[1]
    if isinstance(note, bytes):
        make = ifd0.get(271, (2, b""))[1]
        portable = portable_maker_note(note, starts[MAKER_NOTE], make if isinstance(make, bytes) else b"")
        if portable is not None:
            sub["Exif"][MAKER_NOTE] = (7, portable)
    return {"0th": ifd0, **sub}


def portable_maker_note(note: bytes, offset: int, make: bytes) -> bytes | None:
    """``note``, a maker note stored at ``offset`` of a TIFF structure (an EXIF segment's) by a camera of make
    ``make``, in a form that reads the same wherever it is stored; None if it has none.

    A note is that form already when its offsets count from the note itself or
    from a TIFF header inside it (Nikon type 3 "Nikon\\0\\x02", newer Olympus
    and OM System, Fujifilm, Apple; :func:`_note_layout`) and every value it
    points to lies inside it (:func:`_self_contained`: not so a note whose
    preview image was left outside it). A headerless Nikon note (the D1, early
    Coolpix) counts from the TIFF header: when all its values lie inside it,
    it is rebased into a Nikon type 3 note (the same tags, behind a TIFF header
    of its own), as later Nikons write it. Any other kind gives None: Canon's,
    Sony's, Pentax's (its preview offsets) and the rest count offsets from the
    TIFF header, and their values may lie anywhere in it.
    """
    if make.upper().startswith(b"NIKON") and not note.startswith(b"Nikon\0"):
        rebased = _nikon_type3(note, offset)
        if rebased is None:
            return None
        note = rebased
    layout = _note_layout(note)
    return note if layout is not None and _self_contained(note, *layout) else None


def _note_layout(note: bytes) -> tuple[int, int, str, str] | None:
    """Where a self-contained maker note's IFD starts, what its offsets count from (both in the note), its byte
    order and its maker; None for other kinds."""
    if note.startswith(b"Nikon\0\x02") and len(note) >= 18 and note[10:14] in (b"II*\0", b"MM\0*"):  # TIFF at 10
        order = _ORDERS[note[10:12]]
        return 10 + struct.unpack_from(order + "I", note, 14)[0], 10, order, "Nikon"
    if note.startswith(b"FUJIFILM") and len(note) >= 12:  # little-endian, the IFD's offset at 8
        return struct.unpack_from("<I", note, 8)[0], 0, "<", "Fujifilm"
    for header, order_at, ifd, maker in _FIXED_IFD_NOTES:
        if note.startswith(header) and note[order_at : order_at + 2] in _ORDERS:
            return ifd, 0, _ORDERS[note[order_at : order_at + 2]], maker
    return None


def _self_contained(note: bytes, ifd: int, base: int, order: str, maker: str) -> bool:
    """Whether the IFD at ``ifd`` of ``note`` reads and all it points to (offsets counted from ``base``) lies
    inside the note: its values, the IFDs of the note it points to, theirs, and the maker's preview images."""
    top = _entries(note, ifd, base, order)
    if top is None:
        return False
    ifds = {0: {tag: value for tag, _, _, value in top}}
    for tag, dtype, count, value in top:
        if count == 1 and (dtype == _IFD_TYPE or tag in _SUB_IFDS.get(maker, ())):
            sub = _entries(note, base + value, base, order)
            if sub is None:
                return False
            ifds[tag] = {code: field for code, _, _, field in sub}
    for where, start, length in _PREVIEWS.get(maker, ()):
        values = ifds.get(where, {})
        size = values.get(length, 0)
        if size and not (start in values and 0 <= base + values[start] <= len(note) - size):
            return False
    return True


def _entries(note: bytes, ifd: int, base: int, order: str) -> list[tuple[int, int, int, int]] | None:
    """The entries of the IFD at ``ifd`` of ``note`` as (tag, type, count, the value field as an unsigned 32-bit
    number); None if the IFD does not fit the note, or an entry has an unknown type or a value outside the note
    (its offset counted from ``base``)."""
    if not 0 <= ifd <= len(note) - 2:
        return None
    count = struct.unpack_from(order + "H", note, ifd)[0]
    if not 0 < count <= _MAX_ENTRIES or ifd + 2 + 12 * count > len(note):
        return None
    entries = [struct.unpack_from(order + "HHII", note, ifd + 2 + 12 * k) for k in range(count)]
    for _, dtype, n, value in entries:
        size = TYPE_SIZES.get(dtype, 0) * n
        if not size or size > 4 and not 0 <= base + value <= len(note) - size:
            return None
    return entries


def _nikon_type3(note: bytes, offset: int) -> bytes | None:
    """A headerless Nikon maker note, stored at ``offset`` of its TIFF structure, as a Nikon type 3 note: the
    IFD behind :data:`NIKON_TYPE3` and a TIFF header of the IFD's byte order, the offsets counted from there.
    None if the IFD reads in neither byte order, holds an IFD of its own or points outside the note.
    """
    for order in (">", "<"):  # the D1 writes big-endian, the Coolpix little-endian
        rebased = _rebased_ifd(note, offset, order)
        if rebased is not None:
            header = (b"MM\0*" if order == ">" else b"II*\0") + struct.pack(order + "I", 8)
            return NIKON_TYPE3 + header + rebased
    return None


def _rebased_ifd(note: bytes, offset: int, order: str) -> bytes | None:
    """``note``, an IFD stored at ``offset`` of its TIFF structure with its values after it, its value offsets
    counted from 8 bytes before it (a TIFF header put there) and no next IFD; None where that cannot be."""
    entries = _entries(note, 0, -offset, order)
    if entries is None or len(note) < 2 + 12 * len(entries) + 4 or any(
            dtype == _IFD_TYPE or tag in _SUB_IFDS["Nikon"] for tag, dtype, _, _ in entries):
        return None
    out = bytearray(note)
    for k, (_, dtype, n, value) in enumerate(entries):
        if TYPE_SIZES[dtype] * n > 4:
            struct.pack_into(order + "I", out, 2 + 12 * k + 8, value - offset + 8)
    struct.pack_into(order + "I", out, 2 + 12 * len(entries), 0)  # no next IFD
    return bytes(out)


def _read_ifd(tiff: bytes, offset: int, order: str, starts: dict[int, int] | None = None) -> dict[int, Tag]:
    """The entries of the IFD at ``offset`` as {tag: (type, value)}; entries that do not read are left out.
    Where each value starts in ``tiff`` goes into ``starts``, if given."""
    tags: dict[int, Tag] = {}
    if not 8 <= offset <= len(tiff) - 2:
        return tags
    count = struct.unpack_from(order + "H", tiff, offset)[0]
    for k in range(min(count, _MAX_ENTRIES)):
        at = offset + 2 + 12 * k
        if at + 12 > len(tiff):
            break
        tag, dtype, n = struct.unpack_from(order + "HHI", tiff, at)
        size = TYPE_SIZES.get(dtype, 0) * n
        if not size or size > len(tiff):
            continue
        start = at + 8 if size <= 4 else struct.unpack_from(order + "I", tiff, at + 8)[0]
        if start + size > len(tiff):
            continue
        tags[tag] = (dtype, tiff_value(tiff[start : start + size], dtype, n, order))
        if starts is not None:
            starts[tag] = start
    return tags


def _first(value: object) -> object:
    return value[0] if isinstance(value, tuple) else value
