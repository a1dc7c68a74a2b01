"""Alignment of a JPEG's grid to the raw-RGB's, on the project's synthetic scene (real RAWs: test_alignment_real)."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from rawmeta.alignment import matching as al
from rawmeta.benchmarks.synthetic import write_sample
from rawmeta.errors import MismatchError
from rawmeta.format import orientation
from rawmeta.format.alignment import Alignment
from rawmeta.io.rawfile import read_raw
from rawmeta.resample import box_taps

PIL_OPS = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
           5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
           8: Image.Transpose.ROTATE_90}


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    """(raw-RGB, white balance, LibRaw-grid sRGB) of a 320 x 240 synthetic DNG."""
    dng, jpg = write_sample(tmp_path_factory.mktemp("scene"), height=240, width=320)
    raw = read_raw(dng)
    with Image.open(jpg) as im:
        return raw.rgb, raw.camera.white_balance, np.asarray(im.convert("RGB"))


def q95(srgb: np.ndarray) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(srgb)).save(buf, "JPEG", quality=95)
    return np.asarray(Image.open(buf).convert("RGB"))


@pytest.mark.parametrize("code", range(1, 9))
def test_orientations_are_exif_and_pillow_s(code):
    img = np.arange(4 * 6, dtype=np.uint8).reshape(4, 6)
    if code > 1:
        assert np.array_equal(orientation.orient(img, code), np.asarray(Image.fromarray(img).transpose(PIL_OPS[code])))
    m = orientation.oriented_matrix(code, 4, 6)
    shown = orientation.orient(img, code)
    for v in range(4):
        for u in range(6):
            x, y, _ = m @ [u, v, 1]
            assert shown[int(y), int(x)] == img[v, u]


def test_display_orientation_composes():
    turned = Alignment(np.array([[0.0, -1, 99], [1, 0, 0]]), (100, 200))  # shown the RAW's way by EXIF 6
    assert turned.orientation == 6
    assert al.display_orientation(1, turned) == 6
    assert al.display_orientation(8, turned) == 1  # the RAW itself is shown turned back: nothing left to do
    assert al.display_orientation(3, turned) == 8


def test_box_taps_average_a_footprint():
    assert np.allclose(box_taps(1), [1])
    assert np.allclose(box_taps(2), [0.25, 0.5, 0.25])
    assert np.allclose(box_taps(3), [1 / 3] * 3)
    taps = box_taps(3.5)
    assert taps.sum() == pytest.approx(1) and len(taps) == 5 and taps[0] == taps[-1] < taps[2]


def test_same_grid_pair_is_taken_without_search(scene, monkeypatch):
    rgb, wb, srgb = scene
    match, dx, dy = al.same_grid_offset(rgb, wb, srgb)
    assert match > 0.9 and max(abs(dx), abs(dy)) < 0.05
    monkeypatch.setattr(al, "_coarse_search", None)  # a search would fail now
    found = al.align(rgb, wb, srgb)
    assert found.is_identity and found.match == match


def test_shifted_same_size_jpegs_are_searched(scene):
    rgb, wb, srgb = scene
    shifted = np.pad(srgb[1:, 1:], ((0, 1), (0, 1), (0, 0)), mode="edge")
    assert al.same_grid_offset(rgb, wb, shifted)[1] == np.inf  # a whole pixel: another position is better
    assert np.allclose(al.align(rgb, wb, q95(shifted)).matrix, [[1, 0, 1], [0, 1, 1]])
    mixed = srgb.astype(np.float32)
    mixed[:, :-1] = 0.7 * mixed[:, :-1] + 0.3 * mixed[:, 1:]  # 0.3 pixel to the right
    _, dx, dy = al.same_grid_offset(rgb, wb, mixed.round().astype(np.uint8))
    assert 0.15 < dx < 0.45 and abs(dy) < 0.05


@pytest.mark.parametrize("code", [3, 6, 8, 2])
def test_turned_and_cropped_jpegs_map_exactly(scene, code):
    rgb, wb, srgb = scene
    stored = orientation.orient(srgb[20:230, 15:300], code)
    found = al.align(rgb, wb, q95(stored))
    back = np.linalg.inv(orientation.oriented_matrix(code, 210, 285))  # stored -> crop
    expected = (np.array([[1, 0, 15], [0, 1, 20], [0, 0, 1]]) @ back)[:2]
    undo = {6: 8, 8: 6}.get(code, code)  # turning the stored pixels back to the RAW's way
    assert np.array_equal(found.matrix, expected) and found.orientation == undo and found.match > 0.9


def test_warp_of_a_plain_crop_takes_the_raw_pixels(scene):
    rgb, _, _ = scene
    m = Alignment(np.array([[0.0, -1, 299], [1, 0, 20]]), rgb.shape[:2])  # stored (u, v) -> raw (299 - v, 20 + u)
    out = al.warp(rgb, m, 100, 50)
    assert out.shape == (100, 50, 3)
    v, u = np.mgrid[0:100, 0:50]
    assert np.array_equal(out, rgb[20 + u, 299 - v])


def test_a_crop_at_the_raw_s_corner_is_an_identity_map_but_not_the_same_grid(scene, tmp_path):
    """The map of a crop at (0, 0) is the identity, yet the raw is larger: warp must crop, and the payload
    must keep the raw's size (once an embed of such a JPEG failed with an internal error)."""
    from rawmeta.benchmarks.synthetic import sample_camera
    from rawmeta.embed.jpeg import embed_bytes, make_payload
    from rawmeta.format import container, payload
    from rawmeta.io.jpeg_pixels import decode_jpeg

    rgb, wb, srgb = scene
    found = al.align(rgb, wb, q95(srgb[:200, :280]))
    assert found.is_identity and not found.is_same_grid(200, 280) and found.raw_size == (240, 320)
    assert np.array_equal(al.warp(rgb, found, 200, 280), rgb[:200, :280])
    assert "JPEG pixel (0, 0) at RAW (0.00, 0.00) of 320 x 240" in found.describe(200, 280)
    buf = io.BytesIO()
    Image.fromarray(srgb[:200, :280]).save(buf, "JPEG", quality=95)
    jpeg = buf.getvalue()
    out, _ = embed_bytes(jpeg, make_payload(rgb, sample_camera(), jpeg, budget=None, stride=8, bits=12))
    read = payload.unpack(container.extract(out).payload, decode_jpeg(out)).alignment
    assert read.is_identity and read.raw_size == (240, 320)


def test_warp_averages_the_footprint_of_a_coarser_pixel():
    rgb = np.zeros((8, 8, 3), np.float32)
    rgb[:, ::2] = 1.0  # stripes one pixel wide: a 2x coarser pixel sees their mean
    m = Alignment(np.array([[2.0, 0, 0.5], [0, 2.0, 0.5]]), (8, 8))
    out = al.warp(rgb, m, 4, 4)
    assert np.allclose(out[1:3, 1:3], 0.5, atol=1e-6)


def test_another_picture_is_refused_with_its_match(scene):
    rgb, wb, _ = scene
    noise = np.random.default_rng(3).integers(0, 256, (240, 320, 3), dtype=np.uint8)
    with pytest.raises(MismatchError, match=r"does not show the RAW's picture \(match -?0\.\d\d"):
        al.align(rgb, wb, noise)


def test_a_jpeg_that_cannot_span_half_the_raw_is_refused(scene):
    rgb, wb, srgb = scene
    with pytest.raises(MismatchError, match="less than 50 % of the RAW's width or height"):
        al.align(rgb, wb, q95(srgb[:16, :]))  # a strip: no scale makes it half as tall as the RAW and fit


def test_a_heavy_crop_is_refused_naming_the_minimum(scene):
    rgb, wb, srgb = scene
    with pytest.raises(MismatchError, match="a crop showing less than 50 % of the RAW's width or height"):
        al.align(rgb, wb, q95(srgb[:100, :100]))


def test_force_same_grid_needs_the_same_size(scene):
    rgb, wb, srgb = scene
    assert np.isnan(al.align(rgb, wb, srgb[:, :, ::-1], same_grid=True).match)  # nothing is checked
    with pytest.raises(MismatchError, match="--force-same-grid needs"):
        al.align(rgb, wb, srgb[:200], same_grid=True)

