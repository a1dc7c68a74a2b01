"""Carrying a payload in a JPEG: rawmeta's APP9 segments.

Each segment's data is ``RAWMETA\\0``, a container version byte, a 4-byte
payload id, a 2-byte sequence number, a 2-byte segment count, the 4-byte
total payload length, one chunk of the payload, and a CRC-32 of everything
before it (docs/FORMAT.md, "Container"). The segments go right after the
JPEG's leading APP segments (before an MPF segment, whose offsets must stay
valid); nothing else in the file changes.
"""
from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

from rawmeta.errors import JpegError, NoPayloadError, PayloadError
from rawmeta.format import segments as js

MARKER = 0xE9  # APP9
SIGNATURE = b"RAWMETA\0"
CONTAINER_VERSION = 1
_HEADER = struct.Struct(">8sB4sHHI")
_CRC = struct.Struct(">I")
CHUNK_BYTES = js.MAX_SEGMENT_DATA - _HEADER.size - _CRC.size
#: Bytes each segment adds besides its chunk: marker, length, header, CRC.
CHUNK_BYTES_OVERHEAD = 4 + _HEADER.size + _CRC.size
MAX_SEGMENTS = 0xFFFF
#: A JPEG without rawmeta's segments, in the user's words.
NO_DATA = "{file} has no rawmeta data"


@dataclass(frozen=True)
class Carried:
    """A payload found in a JPEG, with where it was found."""

    payload: bytes
    segment_count: int
    layout: js.JpegLayout


def carried_bytes(payload_bytes: int, segment_count: int) -> int:
    """Bytes that ``segment_count`` segments carrying a payload add to a JPEG, headers included."""
    return payload_bytes + segment_count * CHUNK_BYTES_OVERHEAD


def payload_id(payload: bytes) -> bytes:
    """First 4 bytes of the payload's SHA-256 trailer (its last 32 bytes)."""
    return payload[-32:-28]


def encode_segments(payload: bytes) -> bytes:
    """The APP9 segments carrying ``payload``, concatenated.

    A payload ends with its 32-byte SHA-256, from which its id is taken, so
    a shorter one is refused (ValueError).
    """
    if len(payload) < 32:
        raise ValueError(f"a payload ends with its 32-byte SHA-256; {len(payload)} bytes cannot be one")
    chunks = [payload[i : i + CHUNK_BYTES] for i in range(0, len(payload), CHUNK_BYTES)] or [b""]
    if len(chunks) > MAX_SEGMENTS:
        raise ValueError(f"payload of {len(payload)} bytes needs more than {MAX_SEGMENTS} segments")
    pid = payload_id(payload)
    out = []
    for seq, chunk in enumerate(chunks):
        head = _HEADER.pack(SIGNATURE, CONTAINER_VERSION, pid, seq, len(chunks), len(payload))
        body = head + chunk
        out.append(js.encode_segment(MARKER, body + _CRC.pack(zlib.crc32(body))))
    return b"".join(out)


def ours(layout: js.JpegLayout) -> list[js.Segment]:
    """rawmeta's segments in the file: APP9 segments that start with the signature."""
    return [
        s
        for s in layout.segments
        if s.marker == MARKER and layout.data[s.data_start : s.data_start + len(SIGNATURE)] == SIGNATURE
    ]


def carries_payload(jpeg: bytes) -> bool:
    """Whether ``jpeg`` is a JPEG with rawmeta segments (whole or not); False for anything unreadable."""
    try:
        return bool(ours(js.parse(jpeg)))
    except JpegError:
        return False


def size_without_ours(layout: js.JpegLayout) -> int:
    """Bytes of the JPEG without rawmeta's segments: what payload budgets are a percentage of."""
    return len(layout.data) - sum(s.end - s.start for s in ours(layout))


def insertion_point(layout: js.JpegLayout, skip: list[js.Segment]) -> int:
    """Offset after the leading APP segments (ignoring ``skip``), but before an MPF segment."""
    pos = 2
    for seg in layout.segments:
        if seg in skip:
            continue
        if not (seg.is_app() or seg.marker == js.COM):
            break
        if seg.marker == 0xE2 and layout.segment_data(seg)[:4] == b"MPF\0":
            break
        if seg.is_app():
            pos = seg.end
    return pos


def attach(jpeg: bytes, payload: bytes) -> bytes:
    """``jpeg`` carrying ``payload``; any payload it already carried is replaced."""
    layout = js.parse(jpeg)
    old = ours(layout)
    return js.splice(layout, old, insertion_point(layout, old), encode_segments(payload))


def detach(jpeg: bytes) -> bytes:
    """``jpeg`` without rawmeta's segments (the original file when rawmeta added them)."""
    layout = js.parse(jpeg)
    old = ours(layout)
    if not old:
        raise NoPayloadError(NO_DATA)
    return js.splice(layout, old, 0, b"")


def extract(jpeg: bytes) -> Carried:
    """Reassemble the payload from its segments, checking every segment.

    Segments may come in any order. Raises NoPayloadError when there are none
    and PayloadError when any is corrupt, missing, duplicated with other
    content, or from a different payload.
    """
    layout = js.parse(jpeg)
    segs = ours(layout)
    if not segs:
        raise NoPayloadError(NO_DATA)
    chunks: dict[int, bytes] = {}
    ids, counts, totals = set(), set(), set()
    for seg in segs:
        data = layout.segment_data(seg)
        if len(data) < _HEADER.size + _CRC.size:
            raise PayloadError.damaged(f"rawmeta segment at byte {seg.start} is too short")
        _, version, pid, seq, count, total = _HEADER.unpack_from(data, 0)
        if zlib.crc32(data[: -_CRC.size]) != _CRC.unpack(data[-_CRC.size :])[0]:
            raise PayloadError.corrupt(f"rawmeta segment {seq + 1} of {count} fails its CRC-32 check")
        if version != CONTAINER_VERSION:
            raise PayloadError.unknown_version(
                "container", version, CONTAINER_VERSION,
                f"rawmeta segment has container version {version}; this rawmeta reads version {CONTAINER_VERSION}",
            )
        if seq >= count:
            raise PayloadError.damaged(f"rawmeta segment has sequence number {seq} of only {count}")
        chunk = data[_HEADER.size : -_CRC.size]
        if chunks.get(seq, chunk) != chunk:
            raise PayloadError.damaged(f"rawmeta segment {seq + 1} appears twice with different content")
        chunks[seq] = chunk
        ids.add(pid)
        counts.add(count)
        totals.add(total)
    if len(ids) > 1 or len(counts) > 1 or len(totals) > 1:
        raise PayloadError("{file} holds parts of more than one embed's rawmeta data (a tool mixed two files?)",
                           "this JPEG holds segments of more than one rawmeta payload")
    (count,), (total,), (pid,) = counts, totals, ids
    missing = sorted(set(range(count)) - set(chunks))
    if missing:
        shown = ", ".join(str(m + 1) for m in missing[:5]) + (", ..." if len(missing) > 5 else "")
        raise PayloadError(f"{{file}}'s rawmeta data is incomplete: {len(missing)} of its {count} parts "
                           f"{'is' if len(missing) == 1 else 'are'} missing (a tool that rewrote the file dropped "
                           f"{'it' if len(missing) == 1 else 'them'}?)",
                           f"incomplete rawmeta payload: {len(missing)} of {count} segments missing ({shown})")
    payload = b"".join(chunks[i] for i in range(count))
    if len(payload) != total or payload_id(payload) != pid:
        raise PayloadError.damaged("rawmeta segments do not add up to the payload they declare")
    return Carried(payload=payload, segment_count=count, layout=layout)
