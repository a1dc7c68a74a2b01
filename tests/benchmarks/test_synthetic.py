"""rawmeta.benchmarks.synthetic: the shipped sample scene, its mosaic, DNG and JPEG."""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess

import numpy as np
import pytest
import rawpy
from PIL import Image

from rawmeta.benchmarks.synthetic import (
    GREY_RAMP,
    SAMPLE_WHITE_BALANCE,
    grey_patch_boxes,
    make_scene,
    mosaic,
    sample_camera,
    write_sample,
)
from rawmeta.io.dng import write_cfa_dng

H, W = 64, 96


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    """The default sample, written once for the module."""
    return write_sample(tmp_path_factory.mktemp("sample"))


def patch_means(rgb: np.ndarray, boxes, inset: int) -> np.ndarray:
    return np.array(
        [
            rgb[y0 + inset : y1 - inset, x0 + inset : x1 - inset].reshape(-1, 3).mean(axis=0)
            for y0, y1, x0, x1 in boxes
        ]
    )


def test_scene_shape_range_and_determinism():
    scene = make_scene(H, W)
    assert scene.shape == (H, W, 3) and scene.dtype == np.float32
    assert scene.min() >= 0.0 and scene.max() == 1.0
    np.testing.assert_array_equal(scene, make_scene(H, W))
    other = make_scene(H, W, seed=1)
    assert not np.array_equal(scene, other)  # the seed moves the noise texture
    assert np.array_equal(scene[: H // 2], other[: H // 2])  # and only that


def test_scene_contents():
    scene = make_scene()
    # Clipped highlight: a sizeable area at 1.0 in every channel.
    assert (scene == 1.0).all(axis=2).sum() > 5000
    # Grey patches are neutral for the as-shot white balance and follow the ramp.
    means = patch_means(scene, grey_patch_boxes(), 0)
    balanced = means * np.array(SAMPLE_WHITE_BALANCE)
    np.testing.assert_allclose(balanced, np.repeat(np.array(GREY_RAMP)[:, None], 3, axis=1), rtol=1e-3)
    # Fine texture: plenty of pixel-to-pixel contrast somewhere.
    assert np.abs(np.diff(scene[:, :, 1], axis=1)).max() > 0.3


def test_scene_too_small():
    with pytest.raises(ValueError, match="at least 32 x 32"):
        make_scene(16, 64)


@pytest.mark.parametrize("cfa", ["RGGB", "BGGR", "GRBG", "GBRG"])
def test_mosaic_picks_channels_and_scales(cfa):
    rgb = np.empty((H, W, 3), np.float32)
    rgb[...] = (0.2, 0.5, 0.8)
    m = mosaic(rgb, cfa, bits=12, black=256)
    assert m.shape == (H, W) and m.dtype == np.uint16
    level = {"R": 0.2, "G": 0.5, "B": 0.8}
    for k, c in enumerate(cfa):
        block = m[k // 2 :: 2, k % 2 :: 2].astype(float)
        expected = 256 + level[c] * (4095 - 256)
        assert abs(block.mean() - expected) < 3  # noise averages out
        assert 0 < block.std() < 0.02 * expected  # mild noise


def test_mosaic_saturates_and_clips():
    rgb = np.zeros((H, W, 3))
    rgb[:, : W // 2] = 1.0
    rgb[:, W // 2 :] = 0.0
    m = mosaic(rgb, bits=14, black=512)
    assert (m[:, : W // 2] == 2**14 - 1).all()  # saturated: exactly white
    right = m[:, W // 2 :]
    assert right.max() < 600 and abs(right.mean() - 512) < 2  # read noise about black


def test_mosaic_is_deterministic_and_seeded():
    scene = make_scene(H, W)
    a, b, c = mosaic(scene), mosaic(scene), mosaic(scene, seed=1)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"cfa": "RGX"}, "4 letters"),
        ({"bits": 17}, "bits must be 2-16"),
        ({"black": 4095}, "black must be in"),
    ],
)
def test_mosaic_refuses(kwargs, message):
    with pytest.raises(ValueError, match=message):
        mosaic(np.zeros((H, W, 3)), **kwargs)
    with pytest.raises(ValueError, match="H x W x 3"):
        mosaic(np.zeros((H, W)))
    with pytest.raises(ValueError, match="non-finite"):
        mosaic(np.full((H, W, 3), np.nan))


def test_sample_camera():
    cam = sample_camera()
    assert (cam.make, cam.model, cam.bits) == ("rawmeta", "Synthetic 12-bit", 12)
    assert (cam.white_level, cam.cfa) == (4095, "RGGB")
    assert cam.black_levels == (256, 256, 256, 256)
    assert cam.white_balance_source == "camera" and cam.calibration_illuminant == 21 and cam.orientation == 1
    assert len(cam.xyz_to_camera) == 9


def test_sample_lit_by_d65_and_renders_grey_ramp(tmp_path):
    """As-shot WB = LibRaw's daylight WB from the matrix; the ramp renders grey and rising."""
    h, w = 192, 256
    cam = sample_camera()
    path = tmp_path / "s.dng"
    write_cfa_dng(path, mosaic(make_scene(h, w)), cam)
    with rawpy.imread(str(path)) as raw:
        daylight = np.array(raw.daylight_whitebalance[:3])
        np.testing.assert_allclose(daylight / daylight[1], SAMPLE_WHITE_BALANCE, atol=1e-3)
        rgb = raw.postprocess(user_flip=0).astype(float)
    means = patch_means(rgb, grey_patch_boxes(h, w), 2)
    luma = means.mean(axis=1)
    assert (np.diff(luma) > 5).all(), luma
    assert luma[0] < 40 and luma[-1] > 180
    assert (means.max(axis=1) - means.min(axis=1) < 8).all(), means  # neutral


def test_write_sample_is_deterministic(sample, tmp_path):
    again = write_sample(tmp_path)
    assert [p.name for p in sample] == ["sample.dng", "sample.jpg"]
    for a, b in zip(sample, again):
        assert hashlib.sha256(a.read_bytes()).digest() == hashlib.sha256(b.read_bytes()).digest()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sample.dng", "sample.jpg"]


def test_sample_jpeg_has_the_dng_visible_size(sample):
    dng, jpg = sample
    with rawpy.imread(str(dng)) as raw:
        visible = (raw.sizes.width, raw.sizes.height)
        rendered = raw.postprocess(user_flip=0).shape  # LibRaw's visible, unflipped grid
    with Image.open(jpg) as im:
        assert im.format == "JPEG" and im.mode == "RGB"
        assert im.size == visible == (1024, 768) == (rendered[1], rendered[0])
        assert 100_000 < jpg.stat().st_size < 2_000_000
    if shutil.which("jpeginfo"):
        run = subprocess.run(["jpeginfo", "-c", str(jpg)], capture_output=True, text=True)
        assert run.returncode == 0 and run.stdout.split()[-1] == "OK", run.stdout


def check_render(out, dng):
    """A third-party rendering: a JPEG about the DNG's size, not black, grey ramp rising."""
    assert out.is_file() and out.stat().st_size > 50_000
    with Image.open(out) as im:
        assert im.format == "JPEG"
        w, h = im.size
        rgb = np.asarray(im.convert("RGB"), dtype=float)
    assert 1000 <= w <= 1024 and 744 <= h <= 768  # renderers may trim a border
    assert rgb.mean() > 40
    dy, dx = (768 - h) // 2, (1024 - w) // 2
    boxes = [(y0 - dy, y1 - dy, x0 - dx, x1 - dx) for y0, y1, x0, x1 in grey_patch_boxes()]
    luma = patch_means(rgb, boxes, 12).mean(axis=1)
    assert (np.diff(luma) > 3).all(), luma


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("darktable-cli") is None, reason="darktable-cli is not installed")
def test_darktable_renders_sample(sample, tmp_path):
    dng = sample[0]
    out = tmp_path / "dt.jpg"
    run = subprocess.run(
        [
            "darktable-cli", str(dng), str(out), "--core",
            "--configdir", str(tmp_path / "config"), "--cachedir", str(tmp_path / "cache"),
            "--library", ":memory:",
        ],
        capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    check_render(out, dng)


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("rawtherapee-cli") is None, reason="rawtherapee-cli is not installed")
def test_rawtherapee_renders_sample(sample, tmp_path):
    # RawTherapee 5.9 refuses RAW files under about 100 kB ("Error loading
    # file"), so it gets the full-size sample, not a small test DNG.
    dng = sample[0]
    out = tmp_path / "rt.jpg"
    run = subprocess.run(
        ["rawtherapee-cli", "-o", str(out), "-j92", "-Y", "-c", str(dng)],
        capture_output=True, text=True, timeout=120,
        # Its own config and cache, so no user profile changes the rendering.
        env={
            **os.environ,
            "XDG_CONFIG_HOME": str(tmp_path / "config"),
            "XDG_CACHE_HOME": str(tmp_path / "cache"),
        },
    )
    assert run.returncode == 0, run.stdout + run.stderr
    check_render(out, dng)


def test_shipped_samples_are_what_the_code_makes(sample, sample_pair):
    """samples/ holds exactly the project's own output (`rawmeta sample` regenerates it)."""
    made_dng, made_jpg = sample
    shipped_dng, shipped_jpg = sample_pair
    assert shipped_dng.read_bytes() == made_dng.read_bytes()
    diff = np.asarray(Image.open(shipped_jpg), np.int16) - np.asarray(Image.open(made_jpg), np.int16)
    assert np.abs(diff).max() <= 2  # JPEG bytes may differ across libjpeg builds; pixels may not
