"""Fuzz properties shared by the bounded CI tests (tests/fuzz/test_fuzz.py) and the long run (tests/fuzz/long_run.py).

Each :class:`Property` pairs a hypothesis strategy of inputs with a check.
rawmeta's readers may refuse bad input only with a ``RawmetaError``
subclass (JpegError, NoPayloadError, PayloadError): any other exception is
a bug. Inputs are random bytes and mutations of valid files (:func:`seeds`):
byte edits; rawmeta's segments reordered, duplicated, moved, re-chunked or
forged with their CRC-32 recomputed; and payload header rewrites and
replaced zstandard frames with the SHA-256 trailer resealed, so that a
mutation gets past the checksums to the deep decoders (docs/FORMAT.md).
"""
from __future__ import annotations

import contextlib
import functools
import io
import json
import math
import resource
import struct
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import zstandard
from hypothesis import strategies as st
from PIL import Image

from rawmeta.embed import report
from rawmeta.errors import RawmetaError
from rawmeta.format import container
from rawmeta.format import payload as pl
from rawmeta.format import segments as js
from rawmeta.format.alignment import Alignment
from rawmeta.format.camera import WB_SOURCES, CameraFacts
from rawmeta.format.fingerprint import fingerprint
from rawmeta.format.grid import Grid
from rawmeta.format.refinement import Refinement
from rawmeta.format.sample_coding import plane_bytes
from rawmeta.format.shot import EXIF, IFD0, ShotTag
from rawmeta.io.jpeg_pixels import decode_jpeg

from ..helpers import jpeg, payload_for, reseal, smooth_image

DATA = Path(__file__).parent.parent / "data"
TRAILER = 32  # the payload's SHA-256
#: Address space a check may take beyond what the process holds (see :func:`memory_cap`).
HEADROOM = 1 << 30
#: Payload sizes for the container round trip: up to several segments.
MAX_PAYLOAD = 200_000
#: Most content a generated zstandard frame holds (what it declares is not bounded).
MAX_CONTENT = 1 << 22


# --- seed files -------------------------------------------------------------------------------------------

@dataclass(frozen=True, repr=False)
class Seed:
    """A valid JPEG carrying a payload, and the views of it that mutations start from."""

    name: str
    jpeg: bytes

    def __repr__(self) -> str:
        return f"<seed {self.name}>"

    @cached_property
    def payload(self) -> bytes:
        return container.extract(self.jpeg).payload

    @cached_property
    def bare(self) -> bytes:
        """The JPEG without rawmeta's segments."""
        return container.detach(self.jpeg)

    @cached_property
    def srgb(self) -> np.ndarray:
        return decode_jpeg(self.jpeg)

    @cached_property
    def decoded(self) -> pl.Payload:
        return pl.unpack(self.payload, self.srgb)

    @cached_property
    def layout(self) -> PayloadLayout:
        return payload_layout(self.payload, self.decoded)


def carrying(j: bytes, p: pl.Payload) -> bytes:
    """``j`` with ``p`` embedded as rawmeta writes it."""
    return container.attach(j, pl.pack(p, decode_jpeg(j)))


def with_refined(p: pl.Payload, refinement: Refinement, seed: int) -> pl.Payload:
    """``p`` with ``refinement`` and random refined samples within each level's depth."""
    rows, cols = refinement.positions(p.grid.height, p.grid.width)
    tops = (1 << refinement.depth_at(rows, cols).astype(np.int64)) - 1
    refined = np.random.default_rng(seed).integers(0, tops[:, None] + 1, (len(rows), 3)).astype(np.uint16)
    return replace(p, refinement=refinement, refined=refined)


def rich_payload(j: bytes) -> pl.Payload:
    """A payload for ``j`` with every optional part: refined blocks at four levels, a mapped alignment
    (a 100 x 150 RAW turned a quarter and shrunk 1.5x), restore hints and the shot's tags."""
    p = payload_for(j, bits=10)
    shot = (ShotTag(IFD0, 272, 2, b"NIKON D1 \0"), ShotTag(EXIF, 33434, 5, (1, 250)), ShotTag(EXIF, 34855, 3, 200))
    p = replace(p, camera=replace(p.camera, shot=shot))
    shape = (-(-p.grid.height // 16), -(-p.grid.width // 16))
    levels = (np.arange(shape[0] * shape[1]) % 5).astype(np.uint8).reshape(shape)
    alignment = Alignment(np.array([[0.0, -1.5, 98.25], [1.5, 0.0, 2.0]]), (150, 100), 0.987)
    p = replace(p, alignment=alignment, highlights=False, expected_psnr=41.5, budget=6.0)
    return with_refined(p, Refinement(16, (4, 2, 1, 1), (10, 9, 10, 14), levels), seed=1)


def mpo() -> bytes:
    """A two-image MPO file: an MPF APP2 segment and a second JPEG after EOI."""
    buf = io.BytesIO()
    frames = [Image.fromarray(smooth_image(48, 64, seed)) for seed in (2, 3)]
    frames[0].save(buf, "MPO", save_all=True, append_images=frames[1:])
    return buf.getvalue()


@functools.cache
def seeds() -> tuple[Seed, ...]:
    """Valid inputs: the older payload versions in tests/data (``v1``, ...), and the current one with every
    optional part (``rich``), spread over three segments of a progressive JPEG (``segments``), and in an
    MPO file (``mpo``)."""
    small, progressive, multi = jpeg(), jpeg(128, 192, seed=1, progressive=True), mpo()
    return (
        *(Seed(path.name.split("_")[0], path.read_bytes()) for path in sorted(DATA.glob("v*_payload.jpg"))),
        Seed("rich", carrying(small, rich_payload(small))),
        Seed("segments", carrying(progressive, payload_for(progressive, bits=16, stride=1))),
        Seed("mpo", carrying(multi, payload_for(multi, stride=5))),
    )


# --- where a payload's fields lie ------------------------------------------------------------------------

@dataclass(frozen=True)
class Field:
    """A fixed-size field of a payload body: its name, offset and struct format."""

    name: str
    offset: int
    fmt: str


@dataclass(frozen=True)
class Section:
    """A u32 length at ``length_at``, then a zstandard frame of ``length`` bytes holding ``expected``."""

    name: str
    length_at: int
    length: int
    expected: int


@dataclass(frozen=True)
class PayloadLayout:
    fields: tuple[Field, ...]
    sections: tuple[Section, ...]

    def field(self, name: str) -> Field:
        return next(f for f in self.fields if f.name == name)


_FIXED = (("version", ">H"), ("flags", ">H"), ("width", ">I"), ("height", ">I"), ("stride", ">H"),
          ("offset x", ">H"), ("offset y", ">H"), ("bits", "B"), ("channels", "B"), ("count", ">I"),
          ("filter", "B"), ("compression", "B"))
_CAMERA = (("raw bits", "B"), *[("black", ">I")] * 4, ("white", ">I"), *[("cfa", "B")] * 4,
           *[("white balance", ">f")] * 3, ("wb source", "B"), ("has matrix", "B"), *[("matrix", ">f")] * 9,
           ("illuminant", ">H"), ("orientation", "B"))
_MAP = (("raw width", ">H"), ("raw height", ">H"), *[("map", ">d")] * 6)


class _Walk:
    """Reads a payload body field by field (docs/FORMAT.md, section 3), noting where each one lies."""

    def __init__(self, body: bytes):
        self.body, self.pos, self.fields, self.sections = body, 0, [], []

    def field(self, name: str, fmt: str = ">I"):
        (value,) = struct.unpack_from(fmt, self.body, self.pos)
        self.fields.append(Field(name, self.pos, fmt))
        self.pos += struct.calcsize(fmt)
        return value

    def all(self, fields) -> None:
        for name, fmt in fields:
            self.field(name, fmt)

    def section(self, name: str, expected: int) -> None:
        at = self.pos
        length = self.field(f"{name} length")
        self.sections.append(Section(name, at, length, expected))
        self.pos += length


def payload_layout(payload: bytes, decoded: pl.Payload) -> PayloadLayout:
    """Offsets of the fields and zstandard sections of a valid ``payload`` that unpacks to ``decoded``."""
    w = _Walk(payload[:-TRAILER])
    w.pos = 4  # magic
    w.all(_FIXED)
    w.pos += 32  # image-data hash
    w.field("camera length")
    for text in ("make", "model"):
        length = w.field(f"{text} length", "B")
        w.pos += length
    w.all(_CAMERA)
    if decoded.version >= 6:
        w.all([("crop", ">H")] * 4)
        entries = w.field("table entries")
        if entries:
            w.section("linearization table", 2 * entries)
    if decoded.version >= 8:
        size = w.field("shot tags size")
        if size:
            w.section("shot tags", size)
    grid, depths = decoded.grid, decoded.bits
    if decoded.version >= 2:
        w.all((("expected psnr", ">f"), ("budget", ">f")))
    if decoded.version >= 9:
        w.field("peak", ">H")
    if decoded.version >= 3:
        if w.field("alignment kind", "B") in (pl.MAPPED, pl.RAW_GRID):
            w.field("match", ">f")
            w.all(_MAP)
        else:
            w.field("match", ">f")
    if decoded.version >= 4:
        w.field("pixels crc", ">I")
        cells = w.field("fingerprint rows", "B") * w.field("fingerprint columns", "B")
        w.field("fingerprint", "B")
        w.pos += 3 * cells - 1
    if decoded.version >= 2:
        w.all([("coefficient", ">f")] * 39)
        block = w.field("block", ">H")
        w.all([("level stride", "B"), ("level depth", "B")] * w.field("levels", "B"))
        w.section("block map", -(-grid.height // block) * -(-grid.width // block))
        w.field("refined count")
        depths = pl.coding_order(grid, decoded.bits, decoded.refinement)[2]
    w.section("samples", 3 * plane_bytes(depths) * decoded.sample_count)
    return PayloadLayout(tuple(w.fields), tuple(w.sections))


# --- hand-made zstandard frames -------------------------------------------------------------------------

_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_ZSTD_BLOCK = 1 << 17


def zstd_frame(parts: list[bytes | tuple[int, int]], declared: int | None) -> bytes:
    """A zstandard frame (RFC 8878) written by hand, so that it can declare any content size.

    ``parts`` are raw content (bytes) or runs ``(byte value, count)``, which
    become RLE blocks (gigabytes in a few kilobytes). ``declared`` is the
    frame's content size field; None writes a frame without one.
    """
    if declared is None:
        out = [_ZSTD_MAGIC, b"\x00\x38"]  # no size; window descriptor: 128 KiB
    else:
        out = [_ZSTD_MAGIC, b"\xe0", declared.to_bytes(8, "little")]  # single segment, 8-byte size
    blocks = []  # (block type, block data, content size)
    for part in parts:
        if isinstance(part, bytes):
            blocks += [(0, part[i : i + _ZSTD_BLOCK], len(part[i : i + _ZSTD_BLOCK]))
                       for i in range(0, len(part), _ZSTD_BLOCK)]
        else:
            value, count = part
            blocks += [(1, bytes([value]), min(_ZSTD_BLOCK, count - i)) for i in range(0, count, _ZSTD_BLOCK)]
    blocks = blocks or [(0, b"", 0)]
    for i, (kind, data, size) in enumerate(blocks):
        last = i == len(blocks) - 1
        out.append((last | kind << 1 | size << 3).to_bytes(3, "little") + data)
    return b"".join(out)


def with_fields(body: bytes, values: dict[Field, Any]) -> bytes:
    out = bytearray(body)
    for f, value in values.items():
        struct.pack_into(f.fmt, out, f.offset, value)
    return bytes(out)


def with_frames(body: bytes, frames: dict[Section, bytes]) -> bytes:
    """``body`` (of the seed's layout) with the frames of the given sections replaced, lengths updated."""
    for section in sorted(frames, key=lambda s: s.length_at, reverse=True):  # later ones first: offsets hold
        end = section.length_at + 4 + section.length
        body = body[: section.length_at] + struct.pack(">I", len(frames[section])) + frames[section] + body[end:]
    return body


def forge(seed: Seed, fields: dict[str, Any] | None = None, frames: dict[str, bytes] | None = None) -> bytes:
    """``seed``'s payload with the named fields (the first of each name) set and the named sections' frames
    replaced, resealed."""
    layout, fields, frames = seed.layout, fields or {}, frames or {}
    body = with_fields(seed.payload[:-TRAILER], {layout.field(name): v for name, v in fields.items()})
    return reseal(with_frames(body, {s: frames[s.name] for s in layout.sections if s.name in frames}))


# --- strategies -----------------------------------------------------------------------------------------

def random_bytes(seed: int, size: int) -> bytes:
    return np.random.default_rng(seed).integers(0, 256, size, dtype=np.uint8).tobytes()


_TOKENS = (b"\xff", b"\x00", b"\xff\xd8", b"\xff\xd9", b"\xff\xda", b"\xff\xe9", b"\xff\xc0", b"\xff\x00",
           b"\xff\xff", b"\xff\xd0", b"\x00\x02", b"\xff\xfe", b"\x7f\xff\xff\xff", b"\xff\xff\xff\xff",
           b"RAWMETA\0", b"RMPL")
_snippets = st.one_of(st.sampled_from(_TOKENS), st.binary(min_size=1, max_size=16))


def _position(draw, out: bytearray, end: bool = False) -> int:
    return draw(st.integers(0, max(0, len(out) - (0 if end else 1))))


def _flip(draw, out: bytearray) -> None:
    if out:
        out[_position(draw, out)] ^= 1 << draw(st.integers(0, 7))


def _overwrite(draw, out: bytearray) -> None:
    i, snippet = _position(draw, out), draw(_snippets)
    out[i : i + len(snippet)] = snippet


def _truncate(draw, out: bytearray) -> None:
    del out[_position(draw, out, end=True) :]


def _insert(draw, out: bytearray) -> None:
    i = _position(draw, out, end=True)
    out[i:i] = draw(_snippets)


def _delete(draw, out: bytearray) -> None:
    i = _position(draw, out)
    del out[i : i + draw(st.integers(1, 256))]


def _duplicate(draw, out: bytearray) -> None:
    start, dest = _position(draw, out), _position(draw, out, end=True)
    out[dest:dest] = out[start : start + draw(st.integers(1, 1024))]


_BYTE_EDITS = (_flip, _overwrite, _truncate, _insert, _delete, _duplicate)


@st.composite
def byte_edits(draw, data: bytes, max_edits: int = 4) -> bytes:
    """``data`` with 1 to ``max_edits`` bit flips, overwrites, truncations, insertions, deletions or
    duplicated chunks."""
    out = bytearray(data)
    for _ in range(draw(st.integers(1, max_edits))):
        draw(st.sampled_from(_BYTE_EDITS))(draw, out)
    return bytes(out)


_SEGMENT_HEAD = struct.Struct(">8sB4sHHI")  # docs/FORMAT.md, section 2


def segment(pid: bytes, seq: int, count: int, total: int, chunk: bytes,
            version: int = container.CONTAINER_VERSION) -> bytes:
    """A rawmeta APP9 segment with any header fields, its CRC-32 computed."""
    data = _SEGMENT_HEAD.pack(container.SIGNATURE, version, pid, seq, count, total) + chunk
    return js.encode_segment(container.MARKER, data + struct.pack(">I", zlib.crc32(data)))


def chunked(payload: bytes, size: int) -> list[bytes]:
    """The segments carrying ``payload`` in chunks of ``size`` bytes."""
    chunks = [payload[i : i + size] for i in range(0, len(payload), size)] or [b""]
    pid = container.payload_id(payload)
    return [segment(pid, seq, len(chunks), len(payload), chunk) for seq, chunk in enumerate(chunks)]


def boundaries(jpeg_data: bytes) -> list[int]:
    """Offsets where a segment may be inserted: before every segment and before EOI."""
    layout = js.parse(jpeg_data)
    return [s.start for s in layout.segments] + [layout.eoi_end - 2]


def inserted(data: bytes, pieces: list[tuple[int, bytes]]) -> bytes:
    """``data`` with each ``(offset, bytes)`` inserted at its offset in ``data``."""
    out = bytearray(data)
    for at, piece in sorted(pieces, key=lambda p: p[0], reverse=True):
        out[at:at] = piece
    return bytes(out)


@st.composite
def arranged(draw, seed: Seed) -> tuple[Seed, bytes]:
    """``(seed, jpeg)``: ``seed``'s payload in segments re-chunked, shuffled, some exactly duplicated,
    each anywhere before EOI."""
    payload = seed.payload
    size = draw(st.one_of(st.just(container.CHUNK_BYTES),
                          st.integers(max(1, len(payload) // 64), min(len(payload), container.CHUNK_BYTES))))
    segs = draw(st.permutations(chunked(payload, size)))
    segs += draw(st.lists(st.sampled_from(segs), max_size=3))
    spots = boundaries(seed.bare)
    return seed, inserted(seed.bare, [(draw(st.sampled_from(spots)), s) for s in segs])


_FORGEABLE = {"version": (1, "B"), "pid": (2, "4s"), "seq": (3, "H"), "count": (4, "H"), "total": (5, "I")}


@st.composite
def forged_segments(draw, seed: Seed) -> bytes:
    """``seed`` with one rawmeta segment dropped, duplicated with other content, or with a header field
    or its chunk changed and its CRC-32 recomputed."""
    layout = js.parse(seed.jpeg)
    ours = container.ours(layout)
    victim = draw(st.sampled_from(ours))
    data = layout.segment_data(victim)
    fields = list(_SEGMENT_HEAD.unpack_from(data))
    chunk = data[_SEGMENT_HEAD.size : -4]
    how = draw(st.sampled_from(["drop", "field", "chunk", "twin"]))
    if how == "field":
        index, fmt = _FORGEABLE[draw(st.sampled_from(sorted(_FORGEABLE)))]
        fields[index] = draw(st.binary(min_size=4, max_size=4) if fmt == "4s" else _integers(fmt, fields[index]))
    elif how != "drop":
        chunk = (draw(byte_edits(chunk)) if chunk else draw(_snippets))[: container.CHUNK_BYTES]
    forged = segment(*fields[2:], chunk, version=fields[1])
    if how == "drop":
        forged = b""
    elif how == "twin":
        forged = layout.data[victim.start : victim.end] + forged
    return js.splice(layout, [victim], victim.start, forged)


def _integers(fmt: str, old: int) -> st.SearchStrategy[int]:
    """Values for an unsigned field: its neighbours, the edges of its range, or anything."""
    top = (1 << 8 * struct.calcsize(fmt)) - 1
    edges = {0, 1, 2, 7, 8, 16, 255, 256, top // 2, top // 2 + 1, top - 1, top, old - 1, old + 1, 2 * old}
    return st.one_of(st.sampled_from(sorted(v for v in edges if 0 <= v <= top)), st.integers(0, top))


def _floats(fmt: str) -> st.SearchStrategy[float]:
    width = 32 if fmt.endswith("f") else 64
    edges = [0.0, -0.0, 1.0, -1.0, math.nan, math.inf, -math.inf, 1 / 16, 256.0, 1e-40, 3e38]
    return st.one_of(st.sampled_from(edges), st.floats(width=width))


def _values(f: Field, body: bytes) -> st.SearchStrategy:
    if f.fmt.endswith(("f", "d")):
        return _floats(f.fmt)
    return _integers(f.fmt, struct.unpack_from(f.fmt, body, f.offset)[0])


@st.composite
def zstd_frames(draw, expected: int) -> bytes:
    """A zstandard frame for a section whose header implies ``expected`` bytes: of that size or another,
    declaring its size truly, falsely (up to exabytes) or not at all, compressed or hand-made."""
    sizes = [n for n in (expected, expected - 1, expected + 1, 0) if 0 <= n <= MAX_CONTENT]
    size = draw(st.one_of(st.sampled_from(sizes), st.integers(0, min(2 * expected + 64, MAX_CONTENT))))
    fill = draw(st.one_of(st.none(), st.integers(0, 255)))
    parts = [random_bytes(draw(st.integers(0, 2**32 - 1)), size)] if fill is None else [(fill, size)]
    if draw(st.booleans()):
        content = parts[0] if fill is None else bytes([fill]) * size
        return zstandard.ZstdCompressor(level=1, write_content_size=draw(st.booleans())).compress(content)
    declared = draw(st.one_of(st.just(size), st.none(), st.sampled_from([expected, 2**32, 2**40, 2**64 - 1]),
                              st.integers(0, 2**64 - 1)))
    return zstd_frame(parts, declared)


_sides = st.one_of(st.sampled_from([1, 65535]), st.integers(1, 65535))


@st.composite
def regridded(draw, seed: Seed) -> tuple[dict[Field, int], int]:
    """Another image size, grid stride and offsets, and the sample count that matches them (and no refined
    samples), so that a payload passes the header's consistency checks: the field values and the count."""
    field, old = seed.layout.field, seed.decoded.grid
    height, width = draw(weighted((3, st.just((old.height, old.width))), (1, st.tuples(_sides, _sides))))
    stride = draw(st.one_of(st.just(old.stride), st.integers(1, 64), st.integers(1, 65535)))
    oy, ox = draw(st.integers(0, min(stride, height) - 1)), draw(st.integers(0, min(stride, width) - 1))
    count = Grid(height, width, stride, oy, ox).count  # below 2**32: 65535**2 is
    values = {field("width"): width, field("height"): height, field("stride"): stride, field("offset y"): oy,
              field("offset x"): ox, field("count"): count}
    if seed.decoded.version >= 2:
        values[field("refined count")] = 0
    return values, count


@st.composite
def resealed(draw, seed: Seed) -> bytes:
    """``seed``'s payload with header fields rewritten, a grid that passes the consistency checks, a
    replaced zstandard frame and byte edits, in any combination, and a valid SHA-256 trailer."""
    body, layout = seed.payload[:-TRAILER], seed.layout
    rewrites = draw(st.lists(st.sampled_from(layout.fields), max_size=3, unique=True))
    values = {f: draw(_values(f, body)) for f in rewrites}
    count = None
    if draw(st.booleans()):
        grid, count = draw(regridded(seed))
        values |= grid
    body = with_fields(body, values)
    frames = {}
    for section in draw(st.lists(st.sampled_from(layout.sections), unique=True)):
        expected = section.expected if count is None else _regridded_size(section, body, layout, count)
        frames[section] = draw(zstd_frames(expected))
    body = with_frames(body, frames)
    if draw(st.integers(0, 3)) == 0:
        body = pl.MAGIC + draw(byte_edits(body[len(pl.MAGIC) :], max_edits=2))
    return reseal(body)


def _regridded_size(section: Section, body: bytes, layout: PayloadLayout, count: int) -> int:
    """What ``section`` must hold for a regridded body (whose refined count is 0)."""
    def value(name: str) -> int:
        f = layout.field(name)
        return struct.unpack_from(f.fmt, body, f.offset)[0]

    if section.name == "block map":
        block = max(1, value("block"))
        return -(-value("height") // block) * -(-value("width") // block)
    return 3 * plane_bytes(min(max(value("bits"), 1), 16)) * count


_seed = st.deferred(lambda: st.sampled_from(seeds()))


def _from_seed(build: Callable[[Seed], st.SearchStrategy]) -> st.SearchStrategy:
    return _seed.flatmap(build)


def jpeg_inputs() -> st.SearchStrategy[bytes]:
    """Arbitrary bytes, bytes after an SOI marker, and edited seed JPEGs (with and without payloads)."""
    return st.one_of(
        st.binary(max_size=512),
        st.binary(max_size=512).map(lambda b: b"\xff\xd8" + b),
        _from_seed(lambda s: byte_edits(s.jpeg)),
        _from_seed(lambda s: byte_edits(s.bare)),
    )


def container_inputs() -> st.SearchStrategy[bytes]:
    """Seed JPEGs with byte edits or forged segments."""
    return st.one_of(_from_seed(lambda s: byte_edits(s.jpeg)), _from_seed(forged_segments))


def weighted(*choices: tuple[int, st.SearchStrategy]) -> st.SearchStrategy:
    """One of the strategies, each chosen with its weight."""
    return st.sampled_from([s for weight, s in choices for _ in range(weight)]).flatmap(lambda s: s)


def payload_inputs() -> st.SearchStrategy[tuple[Seed, bytes]]:
    """``(seed, payload)``: mostly the seed's payload resealed after rewrites; else edited (and so
    failing its SHA-256 check), or arbitrary bytes after the magic."""
    return _from_seed(lambda s: st.tuples(st.just(s), weighted(
        (4, resealed(s)), (1, byte_edits(s.payload)), (1, st.binary(max_size=300).map(lambda b: pl.MAGIC + b)))))


def carried_inputs() -> st.SearchStrategy[bytes]:
    """Seed JPEGs carrying a resealed payload (mostly), with byte edits, or with forged segments."""
    return weighted(
        (4, _from_seed(lambda s: resealed(s).map(lambda p: container.attach(s.bare, p)))),
        (1, _from_seed(lambda s: byte_edits(s.jpeg))),
        (1, _from_seed(forged_segments)),
    )


# --- checks ---------------------------------------------------------------------------------------------

def refused(call: Callable, *args):
    """``call(*args)``, or None when it refuses the input with a RawmetaError (any other error propagates)."""
    try:
        return call(*args)
    except RawmetaError:
        return None


PROBE = bytes(range(256)) * 3  # a payload any parseable JPEG must carry and give back


def check_parse(data: bytes) -> None:
    layout = refused(js.parse, data)
    if layout is not None:
        js.image_data_hash(layout)
        refused(layout.frame)


def check_container(data: bytes) -> None:
    """extract/detach/attach refuse cleanly, and attach works on any JPEG parse accepts: the probe payload
    comes back, and detach removes exactly what attach added."""
    layout = refused(js.parse, data)
    if layout is None:
        return
    refused(container.extract, data)
    bare = container.detach(data) if container.ours(layout) else data
    with_probe = container.attach(data, PROBE)
    assert container.extract(with_probe).payload == PROBE
    assert container.detach(with_probe) == bare


def check_arranged(case: tuple[Seed, bytes]) -> None:
    """Segments in any order, chunking, position or exact duplication give back the seed's payload, and
    detach the seed's JPEG."""
    seed, data = case
    assert container.extract(data).payload == seed.payload
    assert container.detach(data) == seed.bare
    assert report.inspect_bytes(data).payload.version == seed.decoded.version


def check_unpack(case: tuple[Seed, bytes]) -> None:
    """unpack refuses cleanly with the JPEG's pixels and without (where a version 2+ payload may say
    that it needs them)."""
    seed, data = case
    refused(pl.unpack, data, seed.srgb)
    try:
        refused(pl.unpack, data)
    except ValueError as exc:
        if "decoded pixels" not in str(exc):
            raise


def check_inspect(data: bytes) -> None:
    """inspect refuses cleanly, and what it accepts it can report as text and JSON."""
    info = refused(report.inspect_bytes, data)
    if info is not None:
        summary = info.as_dict()
        json.dumps(summary, allow_nan=False)  # what `inspect --json` prints must be JSON
        report.format_text(summary)


# --- round trips ----------------------------------------------------------------------------------------

@st.composite
def attach_cases(draw) -> tuple[Seed, bytes]:
    """``(seed, payload)``: random payload bytes of 32 (a SHA-256 trailer alone) ... MAX_PAYLOAD (several
    segments) for a seed's bare JPEG."""
    edges = [32, 33, container.CHUNK_BYTES, container.CHUNK_BYTES + 1, 3 * container.CHUNK_BYTES]
    size = draw(st.one_of(st.sampled_from(edges), st.integers(32, MAX_PAYLOAD)))
    return draw(_seed), random_bytes(draw(st.integers(0, 2**32 - 1)), size)


def check_attach(case: tuple[Seed, bytes]) -> None:
    j, payload = case[0].bare, case[1]
    carried = container.attach(j, payload)
    got = container.extract(carried)
    assert got.payload == payload
    assert got.segment_count == max(1, -(-len(payload) // container.CHUNK_BYTES))
    assert container.detach(carried) == j


_texts = st.one_of(st.text(st.characters(codec="utf-8"), max_size=20),
                   st.text(st.characters(codec="utf-8", min_codepoint=0x80), min_size=120, max_size=200))
_f32 = st.floats(width=32, allow_nan=False, allow_infinity=False)
_positive_f32 = st.floats(width=32, min_value=2.0**-100, max_value=2.0**100)  # a white balance gain


@st.composite
def cameras(draw) -> CameraFacts:
    return CameraFacts(
        make=draw(_texts), model=draw(_texts), bits=draw(st.integers(0, 255)),
        black_levels=tuple(draw(st.lists(st.integers(0, 2**32 - 1), min_size=4, max_size=4))),
        white_level=draw(st.integers(0, 2**32 - 1)),
        cfa=draw(st.one_of(st.just(""), st.text("RGB", min_size=4, max_size=4))),
        white_balance=tuple(draw(st.lists(_positive_f32, min_size=3, max_size=3))),
        white_balance_source=draw(st.sampled_from(WB_SOURCES)),
        xyz_to_camera=draw(st.one_of(st.none(), st.lists(_f32, min_size=9, max_size=9).map(tuple))),
        calibration_illuminant=draw(st.integers(0, 2**16 - 1)), orientation=draw(st.integers(1, 8)),
    )


@st.composite
def refinements(draw, height: int, width: int) -> Refinement:
    block = draw(st.integers(pl.MIN_BLOCK, pl.MAX_BLOCK))
    divisors = [d for d in range(1, block + 1) if block % d == 0 and d < 256]
    n = draw(st.integers(1, 7))
    strides = tuple(draw(st.lists(st.sampled_from(divisors), min_size=n, max_size=n)))
    depths = tuple(draw(st.lists(st.integers(1, 16), min_size=n, max_size=n)))
    shape = (-(-height // block), -(-width // block))
    levels = np.random.default_rng(draw(st.integers(0, 2**32 - 1))).integers(0, n + 1, shape, dtype=np.uint8)
    return Refinement(block, strides, depths, levels)


_ORIENTATIONS = [np.array(m, float) for m in ([[1, 0], [0, 1]], [[-1, 0], [0, 1]], [[1, 0], [0, -1]],
                                               [[-1, 0], [0, -1]], [[0, 1], [1, 0]], [[0, -1], [1, 0]],
                                               [[0, 1], [-1, 0]], [[0, -1], [-1, 0]])]


@st.composite
def alignments(draw, height: int, width: int) -> Alignment | None:
    kind = draw(st.sampled_from(["none", "identity", "mapped"]))
    match = draw(st.one_of(st.just(math.nan), st.floats(-1, 1, width=32)))  # NaN: not checked
    if kind == "none":
        return None
    if kind == "identity":
        return Alignment.identity(height, width, match)
    scales = draw(st.lists(st.floats(pl.MIN_SCALE, pl.MAX_SCALE), min_size=2, max_size=2))
    linear = draw(st.sampled_from(_ORIENTATIONS)) * np.array(scales)[:, None]
    shift = draw(st.lists(st.floats(-1e6, 1e6), min_size=2, max_size=2))
    raw = tuple(draw(st.lists(st.integers(1, 65535), min_size=2, max_size=2)))
    return Alignment(np.column_stack([linear, shift]), raw, match)


@st.composite
def payload_objects(draw) -> tuple[pl.Payload, np.ndarray]:
    """A random valid Payload and the random sRGB it is packed against."""
    height, width = draw(st.integers(1, 64)), draw(st.integers(1, 64))
    stride = draw(st.integers(1, 70))
    grid = Grid(height, width, stride, draw(st.integers(0, min(stride, height) - 1)),
                draw(st.integers(0, min(stride, width) - 1)))
    bits = draw(st.integers(1, 16))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    p = pl.Payload(grid, bits, rng.integers(0, 1 << bits, (*grid.shape, 3)).astype(np.uint16), draw(cameras()),
                   rng.bytes(32), highlights=draw(st.booleans()), expected_psnr=draw(st.floats(width=32)),
                   budget=draw(st.floats(0, 1000, width=32)), alignment=draw(alignments(height, width)))
    if draw(st.booleans()):
        p = with_refined(p, draw(refinements(height, width)), seed=int(rng.integers(2**32)))
    return p, rng.integers(0, 256, (height, width, 3), dtype=np.uint8)


def _same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


def _stored_text(text: str) -> str:
    """A camera name as the payload keeps it: at most 255 bytes of UTF-8, cut between characters."""
    return text.encode("utf-8")[:255].decode("utf-8", errors="ignore")


def check_pack(case: tuple[pl.Payload, np.ndarray]) -> None:
    p, srgb = case
    u = pl.unpack(pl.pack(p, srgb), srgb)
    assert (u.grid, u.bits, u.image_hash, u.highlights, u.version) == (p.grid, p.bits, p.image_hash, p.highlights,
                                                                       pl.FORMAT_VERSION)
    assert np.array_equal(u.samples, p.samples)
    assert _same(u.expected_psnr, p.expected_psnr) and _same(u.budget, p.budget)
    assert u.camera == replace(p.camera, make=_stored_text(p.camera.make), model=_stored_text(p.camera.model))
    ref = p.refinement or Refinement.empty(p.grid.height, p.grid.width, p.bits)
    assert (u.refinement.block, u.refinement.strides, u.refinement.depths) == (ref.block, ref.strides, ref.depths)
    assert np.array_equal(u.refinement.levels, ref.levels)
    assert np.array_equal(u.refined, p.refined if p.refined is not None else np.zeros((0, 3), np.uint16))
    assert u.fingerprint == fingerprint(srgb)
    a = p.alignment or Alignment.identity(p.grid.height, p.grid.width)
    assert np.array_equal(u.alignment.matrix, a.matrix) and u.alignment.raw_size == a.raw_size
    assert _same(u.alignment.match, a.match)


# --- the properties -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Property:
    """A check and the strategy of its inputs; ``ci_examples`` bounds the CI run (tests/fuzz/test_fuzz.py)."""

    name: str
    inputs: Callable[[], st.SearchStrategy]
    check: Callable[[Any], None]
    ci_examples: int

    def run(self, value: Any) -> None:
        """The check, with numpy's invalid operations (NaN made, NaN cast to an integer: results that
        differ between platforms) raised as FloatingPointError."""
        with np.errstate(invalid="raise"):
            self.check(value)


PROPERTIES = {p.name: p for p in (
    Property("parse", jpeg_inputs, check_parse, 1500),
    Property("container", container_inputs, check_container, 600),
    Property("arranged", lambda: _from_seed(arranged), check_arranged, 150),
    Property("unpack", payload_inputs, check_unpack, 1000),
    Property("inspect", carried_inputs, check_inspect, 600),
    Property("attach", attach_cases, check_attach, 100),
    Property("pack", payload_objects, check_pack, 150),
)}


# --- resources ------------------------------------------------------------------------------------------

def _address_space() -> int:
    """Bytes of address space this process holds (VmSize)."""
    status = Path("/proc/self/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmSize:")).split()[1]) * 1024


@contextlib.contextmanager
def memory_cap(headroom: int = HEADROOM) -> Iterator[None]:
    """Cap the process's address space at what it holds now plus ``headroom`` while inside, so that an
    unbounded allocation fails at once with MemoryError instead of exhausting the (shared) machine."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = _address_space() + headroom
    resource.setrlimit(resource.RLIMIT_AS, (cap if hard == resource.RLIM_INFINITY else min(cap, hard), hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
