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
from rawmeta.benchmarks.synthetic import write_sample
from rawmeta.io.jpeg_pixels import decode_jpeg


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
        assert version == 1 and seq < count  # the container version
        chunks[seq] = data[21:-4]
    payload = b"".join(chunks[i] for i in range(count))
    assert len(payload) == total and payload[-32:-28] == pid
    return payload


def spec_predictions(D: np.ndarray, ys: np.ndarray, xs: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Section 4, filter 2, steps 1-3, written from the text alone."""
    H, W = D.shape[:2]
    total = np.zeros((len(ys), 3))
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            total += D[np.clip(ys + dy, 0, H - 1), np.clip(xs + dx, 0, W - 1)]
    m = total / (9 * 255)
    lin = np.where(m <= 0.04045, m / 12.92, ((m + 0.055) / 1.055) ** 2.4)
    t = [np.ones(len(m)), m[:, 0], m[:, 1], m[:, 2], lin[:, 0], lin[:, 1], lin[:, 2], lin[:, 0] * lin[:, 0],
         lin[:, 0] * lin[:, 1], lin[:, 0] * lin[:, 2], lin[:, 1] * lin[:, 1], lin[:, 1] * lin[:, 2],
         lin[:, 2] * lin[:, 2]]
    s = np.zeros((len(m), 3))
    for k in range(13):
        s += t[k][:, None] * a[k].astype(np.float64)
    top = (2 ** b.astype(np.int64) - 1)[:, None]
    return np.clip(np.floor(top * s + 0.5), 0, top)


def spec_shot_tags(rest: bytes, at: int) -> tuple[dict, int]:
    """Section 3, shot tags (version 8): {(IFD, tag): (type, count, value bytes)}, and where the camera
    block's bytes after them start."""
    (size,) = struct.unpack(">I", rest[at : at + 4])
    if not size:
        return {}, at + 4
    (coded,) = struct.unpack(">I", rest[at + 4 : at + 8])
    entries = zstandard.ZstdDecompressor().decompress(rest[at + 8 : at + 8 + coded])
    assert len(entries) == size
    (n,), pos, found = struct.unpack(">H", entries[:2]), 2, {}
    for _ in range(n):
        ifd, tag, dtype, count = struct.unpack(">BHHI", entries[pos : pos + 9])
        width = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4}[dtype] * count
        found[ifd, tag] = (dtype, count, entries[pos + 9 : pos + 9 + width])
        pos += 9 + width
    assert pos == size and list(found) == sorted(found)
    return found, at + 8 + coded


def spec_decode(payload: bytes, D: np.ndarray) -> dict:
    body = payload[:-32]
    assert hashlib.sha256(body).digest() == payload[-32:]
    (magic, version, flags, W, H, S, Ox, Oy, B, ch, count, filt, comp, ihash, C) = struct.unpack(
        ">4sHHIIHHHBBIBB32sI", body[:66])
    assert magic == b"RMPL" and version == 10 and ch == 3 and filt == 2 and comp == 1 and flags in (0, 1, 2, 3)
    cam = body[66 : 66 + C]
    m = cam[0]
    make = cam[1 : 1 + m].decode()
    m2 = cam[1 + m]
    model = cam[2 + m : 2 + m + m2].decode()
    rest = cam[2 + m + m2 :]
    crop = struct.unpack(">4H", rest[78:86])
    (n_table,) = struct.unpack(">I", rest[86:90])
    linearization, at = None, 90
    if n_table:
        (t_len,) = struct.unpack(">I", rest[90:94])
        steps = np.frombuffer(zstandard.ZstdDecompressor().decompress(rest[94 : 94 + t_len]), ">u2")
        assert len(steps) == n_table
        linearization = tuple(int(v) for v in np.cumsum(steps.astype(np.int64)))
        at = 94 + t_len
    shot, at = spec_shot_tags(rest, at)
    assert len(rest) == at
    bits = rest[0]
    black = struct.unpack(">4I", rest[1:17])
    (white,) = struct.unpack(">I", rest[17:21])
    cfa = rest[21:25]
    wb = struct.unpack(">3f", rest[25:37])
    has_matrix = rest[38]
    matrix = struct.unpack(">9f", rest[39:75])
    illuminant, orientation = struct.unpack(">HB", rest[75:78])
    pos = 66 + C
    expected_psnr, budget = struct.unpack(">ff", body[pos : pos + 8])
    (peak,) = struct.unpack(">H", body[pos + 8 : pos + 10])
    kind, match = struct.unpack(">Bf", body[pos + 10 : pos + 15])
    pos += 15
    raw_size, mapping, jpeg_size = (H, W), None, (H, W)
    if kind in (1, 2):
        size_w, size_h, *mapping = struct.unpack(">HH6d", body[pos : pos + 52])
        if kind == 1:
            raw_size = (size_h, size_w)
        else:
            jpeg_size = (size_h, size_w)
        pos += 52
    assert D.shape[:2] == jpeg_size
    pixels_crc, fr, fc = struct.unpack(">IBB", body[pos : pos + 6])
    assert (fr, fc) == (min(8, jpeg_size[0]), min(8, jpeg_size[1]))
    means = np.frombuffer(body[pos + 6 : pos + 6 + 3 * fr * fc], np.uint8).reshape(fr, fc, 3)
    pos += 6 + 3 * fr * fc
    a = np.array(struct.unpack(">39f", body[pos : pos + 156]), np.float32).reshape(13, 3)
    pos += 156
    R, L = struct.unpack(">HB", body[pos : pos + 3])
    table = body[pos + 3 : pos + 3 + 2 * L]
    T, Bl = table[0::2], table[1::2]
    pos += 3 + 2 * L
    (Mlen,) = struct.unpack(">I", body[pos : pos + 4])
    bh, bw = -(-H // R), -(-W // R)
    levels = np.frombuffer(zstandard.ZstdDecompressor().decompress(body[pos + 4 : pos + 4 + Mlen],
                                                                  max_output_size=bh * bw), np.uint8).reshape(bh, bw)
    pos += 4 + Mlen
    (n,) = struct.unpack(">I", body[pos : pos + 4])
    (N,) = struct.unpack(">I", body[pos + 4 : pos + 8])
    coded = body[pos + 8 : pos + 8 + N]
    assert pos + 8 + N == len(body)
    # Grid rows and columns; on an alternating grid (flag bit 1) every odd-numbered one is one pixel further.
    alternate = bool(flags & 2)
    assert not alternate or (S % 2 == 0 and max(Ox, Oy) < S - 1)
    grid_ys = [y for i in range(-(-(H - Oy) // S)) if (y := Oy + S * i + (i % 2 if alternate else 0)) < H]
    grid_xs = [x for j in range(-(-(W - Ox) // S)) if (x := Ox + S * j + (j % 2 if alternate else 0)) < W]
    rows, cols = len(grid_ys), len(grid_xs)
    assert count == rows * cols
    # Sample positions: the grid row-major, then refined blocks row-major, each block's lattice row by row.
    ys = [y for y in grid_ys for x in grid_xs]
    xs = [x for y in grid_ys for x in grid_xs]
    depth = [B] * count
    for by in range(bh):
        for bx in range(bw):
            level = levels[by, bx]
            if level:
                t = T[level - 1]
                for y in range(by * R + t // 2, min(by * R + R, H), t):
                    for x in range(bx * R + t // 2, min(bx * R + R, W), t):
                        ys.append(y)
                        xs.append(x)
                        depth.append(Bl[level - 1])
    assert len(ys) == count + n
    depth = np.array(depth)
    P = -(-(int(depth.max()) + 2) // 8)
    stream = zstandard.ZstdDecompressor().decompress(coded, max_output_size=3 * P * (count + n))
    planes = np.frombuffer(stream, np.uint8).reshape(3, P, count + n).astype(np.int64)
    z = sum(planes[:, k] << (8 * (P - 1 - k)) for k in range(P))
    e = ((z >> 1) ^ -(z & 1)).T
    if kind == 2:  # D on the raw's grid: each raw pixel takes the nearest JPEG pixel, the map inverted by axis
        m0, m1, m2, m3, m4, m5 = mapping
        xr, yr = np.arange(W, dtype=np.float64)[None, :], np.arange(H, dtype=np.float64)[:, None]
        u, v = ((xr - m2) / m0, (yr - m5) / m4) if m0 != 0 else ((yr - m5) / m3, (xr - m2) / m1)
        ui = np.clip(np.floor(u + 0.5), 0, jpeg_size[1] - 1).astype(int)
        vi = np.clip(np.floor(v + 0.5), 0, jpeg_size[0] - 1).astype(int)
        D = D[vi, ui]
    q = spec_predictions(D, np.array(ys), np.array(xs), a, depth) + e
    assert (q >= 0).all() and (q <= (2 ** depth - 1)[:, None]).all()
    return dict(W=W, H=H, S=S, Ox=Ox, Oy=Oy, alternate=alternate, grid_ys=np.array(grid_ys), grid_xs=np.array(grid_xs),
                B=B, hash=ihash, make=make, model=model, bits=bits,
                black=black, white=white, cfa=cfa, wb=wb, matrix=matrix if has_matrix else None,
                illuminant=illuminant, orientation=orientation, crop=crop if any(crop) else None, linearization=linearization,
                shot=shot,
                highlights=bool(flags & 1),
                expected_psnr=expected_psnr, budget=budget, peak=peak, kind=kind, match=match, raw_size=raw_size,
                jpeg_size=jpeg_size,
                mapping=mapping, pixels_crc=pixels_crc, means=means, levels=levels, strides=tuple(T), depths=tuple(Bl),
                q=q[:count].reshape(rows, cols, 3), refined=q[count:], ys=np.array(ys[count:], np.int64),
                xs=np.array(xs[count:], np.int64))


@pytest.mark.parametrize("budget,stride,bits,objective", [(40.0, None, None, "raw"), (40.0, None, None, "developed"),
                                                          (None, 3, 16, "developed"), (None, 5, 7, "developed")])
def test_second_reader_agrees(tmp_path, budget, stride, bits, objective):
    dng, jpg = write_sample(tmp_path, height=200, width=300)
    jpeg = jpg.read_bytes()
    raw = rawmeta.read_raw(dng)
    payload = rawmeta.make_payload(raw.rgb, raw.camera, jpeg, budget=budget, stride=stride, bits=bits,
                                   objective=objective)
    embedded, _ = rawmeta.embed_bytes(jpeg, payload)
    segments, image_hash = spec_segments(embedded)
    got = spec_decode(spec_payload(segments), decode_jpeg(jpeg))
    g = payload.grid
    bits = payload.bits
    assert (got["W"], got["H"], got["S"], got["Ox"], got["Oy"], got["alternate"], got["B"]) == (
        g.width, g.height, g.stride, g.offset_x, g.offset_y, g.alternate, bits)
    assert got["alternate"] == (g.stride % 2 == 0)  # the writer's default grid alternates with even strides
    assert np.array_equal(got["q"], payload.samples)
    picked = raw.rgb[np.ix_(got["grid_ys"], got["grid_xs"])].astype(np.float64)
    expected_q = np.floor(np.clip(picked, 0, 1) * (2**bits - 1) + 0.5)
    assert np.array_equal(got["q"], expected_q)
    ref = payload.refinement or rawmeta.Refinement.empty(g.height, g.width, bits)
    assert np.array_equal(got["levels"], ref.levels) and (got["strides"], got["depths"]) == (ref.strides, ref.depths)
    assert np.array_equal(got["refined"], payload.refined if payload.refined is not None else np.zeros((0, 3)))
    top = (2 ** np.array(ref.depths)[got["levels"][got["ys"] // 16, got["xs"] // 16] - 1] - 1)[:, None]
    expected_refined = np.floor(np.clip(raw.rgb[got["ys"], got["xs"]].astype(np.float64), 0, 1) * top + 0.5)
    assert np.array_equal(got["refined"], expected_refined)
    planned = budget is not None and objective == "raw"  # only the raw objective's plan refines, and restores
    assert planned == (len(got["refined"]) > 0)
    assert got["budget"] == (budget or 0) and got["highlights"] == payload.highlights
    assert np.isnan(got["expected_psnr"]) == (not planned)
    assert got["peak"] == np.floor(float(raw.rgb.max()) * 65535 + 0.5)
    cam = raw.camera
    assert (got["make"], got["model"], got["bits"], got["black"], got["white"]) == (
        cam.make, cam.model, cam.bits, cam.black_levels, cam.white_level)
    assert got["cfa"].decode() == cam.cfa and got["orientation"] == cam.orientation
    assert got["wb"] == pytest.approx(cam.white_balance) and got["matrix"] == pytest.approx(cam.xyz_to_camera)
    assert got["illuminant"] == cam.calibration_illuminant
    assert got["crop"] == cam.crop and got["linearization"] == cam.linearization
    # The sample DNG's IFD0 names its camera; the shot tags keep them as it stores them (section 3, version 8).
    assert got["shot"] == {(0, 271): (2, 8, b"rawmeta\0"), (0, 272): (2, 17, b"Synthetic 12-bit\0")}
    assert [(t.ifd, t.tag, t.value) for t in cam.shot] == [(k[0], k[1], v[2]) for k, v in got["shot"].items()]
    assert got["kind"] == 0 and got["raw_size"] == raw.rgb.shape[:2] and got["match"] > 0.9
    # Section 5: hash of SOI..EOI without APPn and COM segments.
    assert got["hash"] == image_hash == payload.image_hash
    pixels = decode_jpeg(jpeg)
    assert got["pixels_crc"] == zlib.crc32(pixels.tobytes())
    assert np.array_equal(got["means"], spec_means(pixels))


def spec_means(D: np.ndarray) -> np.ndarray:
    """Section 3, fingerprint block, written from the text alone: cell means rounded half up."""
    H, W = D.shape[:2]
    rows, cols = min(8, H), min(8, W)
    out = np.zeros((rows, cols, 3), np.int64)
    for i in range(rows):
        for j in range(cols):
            cell = D[i * H // rows : (i + 1) * H // rows, j * W // cols : (j + 1) * W // cols].astype(np.int64)
            total, n = cell.sum(axis=(0, 1)), cell.shape[0] * cell.shape[1]
            out[i, j] = (2 * total + n) // (2 * n)  # floor(mean + 1/2), exactly
    return out


def spec_read_turned(tmp_path, edit) -> tuple[rawmeta.RawImage, dict]:
    """The sample's RAW, and what the second reader decodes from its JPEG turned a quarter, then changed by
    ``edit`` (a Pillow image to another) and embedded with stride 4 at 16 bits (saved as turned.jpg)."""
    from PIL import Image

    dng, jpg = write_sample(tmp_path, height=200, width=300)
    with Image.open(jpg) as im:
        edit(im.transpose(Image.Transpose.ROTATE_90)).save(tmp_path / "turned.jpg", quality=95)
    jpeg = (tmp_path / "turned.jpg").read_bytes()
    raw = rawmeta.read_raw(dng)
    payload = rawmeta.make_payload(raw.rgb, raw.camera, jpeg, budget=None, stride=4, bits=16)
    embedded, _ = rawmeta.embed_bytes(jpeg, payload)
    return raw, spec_decode(spec_payload(spec_segments(embedded)[0]), decode_jpeg(jpeg))


def test_second_reader_maps_an_aligned_jpeg_into_the_raw(tmp_path):
    """A JPEG turned a quarter and cropped: the header's map (section 3) takes each sample's JPEG
    pixel to the RAW pixel whose raw-RGB it carries."""
    raw, got = spec_read_turned(tmp_path, lambda im: im.crop((10, 20, 190, 290)))
    assert got["kind"] == 1 and got["raw_size"] == (200, 300) and got["match"] > 0.9
    m = np.array(got["mapping"]).reshape(2, 3)
    rows, cols = np.meshgrid(got["grid_ys"], got["grid_xs"], indexing="ij")
    x = m[0, 0] * cols + m[0, 1] * rows + m[0, 2]
    y = m[1, 0] * cols + m[1, 1] * rows + m[1, 2]
    assert np.array_equal(x, np.round(x)) and np.array_equal(y, np.round(y))  # a pure crop and turn
    expected = np.floor(raw.rgb[y.astype(int), x.astype(int)].astype(np.float64) * 65535 + 0.5)
    assert np.array_equal(got["q"], expected)
    assert got["orientation"] == 6  # shown the RAW's way up: turned a quarter clockwise


def test_second_reader_samples_the_raw_grid_of_a_smaller_jpeg(tmp_path):
    """A JPEG turned a quarter and half the RAW's size (alignment kind 2, section 3): the samples are the
    raw-RGB's own pixels on its grid, predicted from the nearest JPEG pixels, and the orientation shows
    the RAW's grid as the JPEG is shown."""
    from PIL import Image

    raw, got = spec_read_turned(tmp_path, lambda im: im.resize((100, 150), Image.Resampling.LANCZOS))
    assert got["kind"] == 2 and (got["H"], got["W"]) == (200, 300) and got["jpeg_size"] == (150, 100)
    m = np.array(got["mapping"]).reshape(2, 3)
    assert m[0, 0] == 0 and abs(abs(m[0, 1]) - 2) < 0.05 and abs(abs(m[1, 0]) - 2) < 0.05
    expected = np.floor(raw.rgb[np.ix_(got["grid_ys"], got["grid_xs"])].astype(np.float64) * 65535 + 0.5)
    assert np.array_equal(got["q"], expected)
    assert got["orientation"] == raw.camera.orientation  # no tag in the JPEG: the RAW's grid as the RAW is shown
    pixels = decode_jpeg((tmp_path / "turned.jpg").read_bytes())
    assert got["pixels_crc"] == zlib.crc32(pixels.tobytes()) and np.array_equal(got["means"], spec_means(pixels))
