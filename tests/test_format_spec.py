"""A second reader written from docs/FORMAT.md alone, checked against rawmeta's own.

It uses none of rawmeta's parsing code, so a change to the code that the
spec does not describe (or the reverse) fails here.
"""
from __future__ import annotations

import hashlib
import re
import struct
import zlib

import numpy as np
import pytest
import zstandard

import rawmeta
from rawmeta.synthetic import write_sample


def spec_segments(jpeg: bytes) -> tuple[list[bytes], bytes]:
    """Section 5 walk: APP9 data that starts with the signature (section 2), and the image-data hash."""
    assert jpeg[:2] == b"\xff\xd8"
    pos, found, image = 2, [], bytearray(jpeg[:2])
    while True:
        assert jpeg[pos] == 0xFF
        while jpeg[pos + 1] == 0xFF:
            pos += 1
        code = jpeg[pos + 1]
        if code == 0xD9:
            return found, hashlib.sha256(bytes(image) + jpeg[pos : pos + 2]).digest()
        if code == 0x01 or 0xD0 <= code <= 0xD7:
            image += jpeg[pos : pos + 2]
            pos += 2
            continue
        (length,) = struct.unpack(">H", jpeg[pos + 2 : pos + 4])
        data = jpeg[pos + 4 : pos + 2 + length]
        if code == 0xE9 and data[:8] == b"RAWMETA\0":
            found.append(data)
        if not (0xE0 <= code <= 0xEF or code == 0xFE):
            image += jpeg[pos : pos + 2 + length]
        pos += 2 + length
        if code == 0xDA:
            end = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]").search(jpeg, pos).start()
            image += jpeg[pos:end]
            pos = end


def spec_payload(segments: list[bytes]) -> bytes:
    chunks = {}
    for data in segments:
        assert zlib.crc32(data[:-4]) == struct.unpack(">I", data[-4:])[0]
        version, pid, seq, count, total = struct.unpack(">B4sHHI", data[8:21])
        assert version == 1 and seq < count
        chunks[seq] = data[21:-4]
    payload = b"".join(chunks[i] for i in range(count))
    assert len(payload) == total and payload[-32:-28] == pid
    return payload


def spec_decode(payload: bytes) -> dict:
    body = payload[:-32]
    assert hashlib.sha256(body).digest() == payload[-32:]
    (magic, version, flags, W, H, S, Ox, Oy, B, ch, count, filt, comp, ihash, C) = struct.unpack(
        ">4sHHIIHHHBBIBB32sI", body[:66])
    assert magic == b"RMPL" and version == 1 and ch == 3 and filt == 1 and comp == 1
    cam = body[66 : 66 + C]
    m = cam[0]
    make = cam[1 : 1 + m].decode()
    m2 = cam[1 + m]
    model = cam[2 + m : 2 + m + m2].decode()
    rest = cam[2 + m + m2 :]
    assert len(rest) == 78
    bits = rest[0]
    black = struct.unpack(">4I", rest[1:17])
    (white,) = struct.unpack(">I", rest[17:21])
    cfa = rest[21:25]
    wb = struct.unpack(">3f", rest[25:37])
    has_matrix = rest[38]
    matrix = struct.unpack(">9f", rest[39:75])
    illuminant, orientation = struct.unpack(">HB", rest[75:78])
    (N,) = struct.unpack(">I", body[66 + C : 70 + C])
    coded = body[70 + C : 70 + C + N]
    assert 70 + C + N == len(body)
    rows, cols = -(-(H - Oy) // S), -(-(W - Ox) // S)
    assert count == rows * cols
    P = -(-(B + 2) // 8)
    stream = zstandard.ZstdDecompressor().decompress(coded, max_output_size=3 * P * rows * cols)
    planes = np.frombuffer(stream, np.uint8).reshape(3, P, rows, cols).astype(np.int64)
    z = sum(planes[:, k] << (8 * (P - 1 - k)) for k in range(P))
    e = (z >> 1) ^ -(z & 1)
    d = np.stack([e[0] + e[1], e[1], e[2] + e[1]])
    q = np.cumsum(d, axis=2)
    return dict(W=W, H=H, S=S, Ox=Ox, Oy=Oy, B=B, hash=ihash, make=make, model=model, bits=bits,
                black=black, white=white, cfa=cfa, wb=wb, matrix=matrix if has_matrix else None,
                illuminant=illuminant, orientation=orientation, q=np.moveaxis(q, 0, 2))


@pytest.mark.parametrize("stride,bits", [(8, 12), (3, 16), (5, 7)])
def test_second_reader_agrees(tmp_path, stride, bits):
    dng, jpg = write_sample(tmp_path, height=200, width=300)
    jpeg = jpg.read_bytes()
    raw = rawmeta.read_raw(dng)
    payload = rawmeta.make_payload(raw.rgb, raw.camera, jpeg, stride=stride, bits=bits)
    embedded, _ = rawmeta.embed_bytes(jpeg, payload)
    segments, image_hash = spec_segments(embedded)
    got = spec_decode(spec_payload(segments))
    g = payload.grid
    assert (got["W"], got["H"], got["S"], got["Ox"], got["Oy"], got["B"]) == (g.width, g.height, g.stride,
                                                                           g.offset_x, g.offset_y, bits)
    assert np.array_equal(got["q"], payload.samples)
    expected_q = np.floor(np.clip(raw.rgb[g.offset_y :: g.stride, g.offset_x :: g.stride].astype(np.float64), 0, 1)
                          * (2**bits - 1) + 0.5)
    assert np.array_equal(got["q"], expected_q)
    cam = raw.camera
    assert (got["make"], got["model"], got["bits"], got["black"], got["white"]) == (
        cam.make, cam.model, cam.bits, cam.black_levels, cam.white_level)
    assert got["cfa"].decode() == cam.cfa and got["orientation"] == cam.orientation
    assert got["wb"] == pytest.approx(cam.white_balance) and got["matrix"] == pytest.approx(cam.xyz_to_camera)
    assert got["illuminant"] == cam.calibration_illuminant
    # Section 5: hash of SOI..EOI without APPn and COM segments.
    assert got["hash"] == image_hash == payload.image_hash
