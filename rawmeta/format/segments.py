"""Reading the marker structure of a JPEG file and splicing APP segments into it.

Only the structure is parsed: markers, segment lengths, where each scan's
entropy-coded data ends. The image itself is never decoded or re-encoded,
so every byte that rawmeta does not add or remove stays as it was.
"""
from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from rawmeta.errors import JpegError

SOI, EOI, SOS, COM = 0xD8, 0xD9, 0xDA, 0xFE
APP0, APP15 = 0xE0, 0xEF
#: Start-of-frame markers (SOF0-SOF15 without DHT, JPG and DAC).
SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
#: Start-of-frame markers of arithmetic-coded JPEGs.
ARITHMETIC_SOF_MARKERS = frozenset([0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF])
_STANDALONE = frozenset([0x01, *range(0xD0, 0xD8)])
#: Most data one segment can carry: the 2-byte length counts itself.
MAX_SEGMENT_DATA = 65533
# Inside entropy-coded data a marker is 0xFF followed by a byte that is not
# 0x00 (stuffing), 0xD0-0xD7 (restart) or 0xFF (fill).
_MARKER_IN_SCAN = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")


@dataclass(frozen=True)
class Segment:
    """A marker segment: ``FF marker``, a 2-byte length, then ``length - 2`` data bytes.

    ``start`` is the offset of the 0xFF byte, ``end`` the offset just past the data.
    """

    marker: int
    start: int
    end: int

    @property
    def data_start(self) -> int:
        return self.start + 4

    def is_app(self) -> bool:
        return APP0 <= self.marker <= APP15


@dataclass(frozen=True)
class JpegLayout:
    """The parsed structure of a JPEG file.

    Attributes
    ----------
    segments : list of Segment
        Every marker segment with a length field, in file order.
    scans : list of (int, int)
        ``(start, end)`` byte ranges of entropy-coded data, one per scan.
    eoi_end : int
        Offset just past the EOI marker; bytes from here on are trailing data
        (e.g. the further images of an MPF file) and are left alone.
    """

    data: bytes
    segments: list[Segment]
    scans: list[tuple[int, int]]
    eoi_end: int

    def segment_data(self, seg: Segment) -> bytes:
        return self.data[seg.data_start : seg.end]

    def frame(self) -> tuple[int, int, int]:
        """``(height, width, components)`` from the first start-of-frame segment."""
        for seg in self.segments:
            if seg.marker in SOF_MARKERS:
                d = self.segment_data(seg)
                if len(d) < 6:
                    break
                return int.from_bytes(d[1:3], "big"), int.from_bytes(d[3:5], "big"), d[5]
        raise JpegError("{file} is damaged: it holds no picture frame",
                        "malformed JPEG: no valid start-of-frame segment")


#: A file that ends too soon, in the user's words; ``where`` says inside what.
CUT_SHORT = "{{file}} is cut short: it ends {where} (copied incompletely?)"
#: A file whose marker structure is broken, in the user's words.
DAMAGED = "{file} is damaged: its structure is not a valid JPEG's"
#: What files that are not JPEGs start with, for saying what a file is instead.
_MAGIC = ((b"\x89PNG", "a PNG image"), (b"II*\0", "a TIFF file (or a RAW)"), (b"MM\0*", "a TIFF file (or a RAW)"),
          (b"GIF8", "a GIF image"), (b"BM", "a BMP image"), (b"RIFF", "a RIFF file (WebP?)"), (b"%PDF", "a PDF"))


def is_jpeg_data(head: bytes) -> bool:
    """Whether a file starting with ``head`` (its first 2 bytes or more) is a JPEG by its content."""
    return head[:2] == bytes([0xFF, SOI])


def not_a_jpeg(head: bytes) -> str:
    """Why a file starting with ``head`` is not a JPEG, in the user's words, saying what it is if its start tells.

    Examples
    --------
    >>> not_a_jpeg(b"\\x89PNG\\r\\n")
    '{file} is a PNG image, not a JPEG'
    """
    if not head:
        return "{file} is empty, not a JPEG"
    kind = next((kind for magic, kind in _MAGIC if head.startswith(magic)), None)
    return f"{{file}} is {kind}, not a JPEG" if kind else "{file} is not a JPEG: its content is not a JPEG's"


def _inside(data: bytes, marker: int, pos: int) -> str:
    """Where in a file its segment of ``marker`` at ``pos``, which runs past the end, lies, in the user's words."""
    if marker == 0xE9 and data[pos + 4 : pos + 12] == b"RAWMETA\0":
        return "inside rawmeta's data"
    if APP0 <= marker <= APP15 or marker == COM:
        return "inside its metadata"
    return "before the picture is complete"


def parse(data: bytes) -> JpegLayout:
    """Parse the marker structure of a complete JPEG file.

    Raises
    ------
    JpegError
        If ``data`` is not a JPEG, is truncated (no EOI), or a segment's
        length runs past the end of the file.
    """
    n = len(data)
    if n < 2 or data[0] != 0xFF or data[1] != SOI:
        raise JpegError(not_a_jpeg(data), "not a JPEG file (it does not start with an SOI marker)")
    segments: list[Segment] = []
    scans: list[tuple[int, int]] = []
    pos = 2
    while True:
        if pos >= n:
            raise JpegError(CUT_SHORT.format(where="before the picture is complete"),
                            "truncated JPEG: the file ends before its EOI marker")
        if data[pos] != 0xFF:
            raise JpegError(DAMAGED, f"malformed JPEG: expected a marker at byte {pos}")
        while pos + 1 < n and data[pos + 1] == 0xFF:  # fill bytes
            pos += 1
        if pos + 1 >= n:
            raise JpegError(CUT_SHORT.format(where="before the picture is complete"),
                            "truncated JPEG: the file ends inside a marker")
        marker = data[pos + 1]
        if marker == EOI:
            return JpegLayout(data, segments, scans, pos + 2)
        if marker == SOI or marker == 0x00:
            raise JpegError(DAMAGED, f"malformed JPEG: unexpected marker FF{marker:02X} at byte {pos}")
        if marker in _STANDALONE:
            pos += 2
            continue
        if pos + 4 > n:
            raise JpegError(CUT_SHORT.format(where="before the picture is complete"),
                            "truncated JPEG: the file ends inside a segment header")
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        end = pos + 2 + length
        if length < 2 or end > n:
            raise JpegError(
                (CUT_SHORT.format(where=_inside(data, marker, pos)) if end > n else DAMAGED),
                f"malformed JPEG: the FF{marker:02X} segment at byte {pos} runs past the end of the file",
            )
        segments.append(Segment(marker, pos, end))
        pos = end
        if marker == SOS:
            found = _MARKER_IN_SCAN.search(data, pos)
            if found is None:
                raise JpegError(CUT_SHORT.format(where="inside the picture"),
                                "truncated JPEG: the file ends inside the image data")
            scans.append((pos, found.start()))
            pos = found.start()


def image_data_hash(layout: JpegLayout) -> bytes:
    """SHA-256 of the image data: the bytes from SOI to EOI without APPn and COM segments.

    It changes when the image is re-encoded and stays when metadata
    segments are added, removed or edited.
    """
    h = hashlib.sha256()
    pos = 0
    for seg in layout.segments:
        if seg.is_app() or seg.marker == COM:
            h.update(layout.data[pos : seg.start])
            pos = seg.end
    h.update(layout.data[pos : layout.eoi_end])
    return h.digest()


def encode_segment(marker: int, data: bytes) -> bytes:
    """One marker segment carrying ``data``."""
    if len(data) > MAX_SEGMENT_DATA:
        raise ValueError(f"a JPEG segment carries at most {MAX_SEGMENT_DATA} bytes, not {len(data)}")
    return bytes([0xFF, marker]) + (len(data) + 2).to_bytes(2, "big") + data


def splice(layout: JpegLayout, remove: Iterable[Segment], insert_at: int, insert: bytes) -> bytes:
    """The file with the ``remove`` segments cut out and ``insert`` placed at offset ``insert_at``.

    ``insert_at`` is an offset in the original file that does not fall inside
    a removed segment.
    """
    cuts = sorted((s.start, s.end) for s in remove)
    out = bytearray()
    pos = 0
    inserted = False
    for start, end in cuts:
        if not inserted and insert_at <= start:
            out += layout.data[pos:insert_at] + insert
            pos, inserted = insert_at, True
        out += layout.data[pos:start]
        pos = end
    if not inserted:
        out += layout.data[pos:insert_at] + insert
        pos = insert_at
    out += layout.data[pos:]
    return bytes(out)
