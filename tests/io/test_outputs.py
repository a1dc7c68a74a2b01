"""rawmeta.io.outputs and rawmeta.io.dng.write_linear_dng: raw-RGB files, read back by real readers."""
from __future__ import annotations

import dataclasses
import io
import os
import re
import shutil
import struct
import subprocess

import numpy as np
import pytest
import rawpy
import tifffile
from PIL import Image

from rawmeta.errors import OutputError, RawReadError, UsageError
from rawmeta.format import segments
from rawmeta.io.dng import PREVIEW, XYZ_TO_SRGB, preview_jpeg, write_cfa_dng, write_linear_dng
from rawmeta.io.outputs import SUPPORTED_SUFFIXES, read_raw_rgb, write_raw_rgb
from rawmeta.io.rawfile import read_raw

from ..helpers import CAMERA

H, W = 64, 96
LSB = 1 / 65535
WB = np.array(CAMERA.white_balance)
# EXIF Orientation -> LibRaw sizes.flip
EXIF_TO_FLIP = {1: 0, 6: 6}


def smooth_rgb(h: int = H, w: int = W, seed: int = 0) -> np.ndarray:
    """Random smooth raw-RGB in [0, 1] (sums of random waves plus a little noise)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w] / max(h, w)
    channels = []
    for _ in range(3):
        fy, fx = rng.uniform(0.5, 4, 2)
        py, px = rng.uniform(0, 2 * np.pi, 2)
        wave = 0.5 + 0.25 * np.sin(2 * np.pi * fx * x + px) + 0.2 * np.cos(2 * np.pi * fy * y + py)
        channels.append(wave + 0.04 * rng.random((h, w)))
    return np.clip(np.stack(channels, axis=2), 0, 1).astype(np.float32)


def samples16(rgb: np.ndarray) -> np.ndarray:
    return np.rint(rgb.astype(np.float64) * 65535).astype(np.uint16)


def names(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.fixture
def rgb():
    return smooth_rgb()


@pytest.fixture
def dng(tmp_path, rgb):
    path = tmp_path / "out.dng"
    write_raw_rgb(path, rgb, CAMERA)
    return path


# --- .npy and .tiff ---------------------------------------------------------


@pytest.mark.parametrize("name", ["out.npy", "OUT.NPY"])
def test_npy_round_trip_is_exact(tmp_path, rgb, name):
    path = tmp_path / name
    write_raw_rgb(path, rgb, CAMERA)
    stored = np.load(path, allow_pickle=False)
    assert stored.dtype == np.float32 and stored.shape == (H, W, 3) and stored.flags.c_contiguous
    np.testing.assert_array_equal(stored, rgb)
    back = read_raw_rgb(path)
    assert back.dtype == np.float32
    np.testing.assert_array_equal(back, rgb)
    assert names(tmp_path) == [name]


def test_npy_reads_float64_as_float32(tmp_path, rgb):
    path = tmp_path / "f64.npy"
    np.save(path, rgb.astype(np.float64))
    back = read_raw_rgb(path)
    assert back.dtype == np.float32
    np.testing.assert_array_equal(back, rgb)


@pytest.mark.parametrize("name", ["out.tiff", "out.tif", "OUT.TIF"])
def test_tiff_round_trip_and_layout(tmp_path, rgb, name):
    path = tmp_path / name
    write_raw_rgb(path, rgb, dataclasses.replace(CAMERA, orientation=6))
    back = read_raw_rgb(path)
    assert back.dtype == np.float32 and back.shape == (H, W, 3)
    assert np.abs(back - rgb).max() <= LSB
    with tifffile.TiffFile(path) as tif:
        assert len(tif.pages) == 1
        page = tif.pages[0]
        np.testing.assert_array_equal(page.asarray(), samples16(rgb))
        tags = {t.code: t.value for t in page.tags.values()}
    assert tags[262] == 2 and tags[277] == 3 and tuple(tags[258]) == (16, 16, 16)
    assert tags[284] == 1 and tags[259] == 1
    assert 270 not in tags  # no tifffile JSON ImageDescription
    # No Orientation, though the camera was turned: Pillow would rotate the array.
    assert 274 not in tags
    with Image.open(path) as im:
        assert im.format == "TIFF" and im.size == (W, H)
        assert im.tag_v2[258] == (16, 16, 16) and im.tag_v2[262] == 2 and im.tag_v2[277] == 3
    assert names(tmp_path) == [name]


@pytest.mark.parametrize("suffix", [".npy", ".tiff", ".dng"])
def test_values_outside_0_1_are_clipped(tmp_path, rgb, suffix):
    wild = rgb.copy()
    wild[0, 0] = (-0.5, 1.5, 7.0)
    path = tmp_path / f"wild{suffix}"
    write_raw_rgb(path, wild, CAMERA)
    back = read_raw_rgb(path)
    np.testing.assert_array_equal(back[0, 0], (0.0, 1.0, 1.0))
    assert np.abs(back - np.clip(wild, 0, 1)).max() <= LSB


# --- .dng: LibRaw, tifffile, Adobe DNG SDK, exiftool ------------------------


@pytest.mark.parametrize("orientation", [1, 6])
def test_libraw_reads_the_linear_dng(tmp_path, rgb, orientation):
    path = tmp_path / "out.dng"
    write_raw_rgb(path, rgb, dataclasses.replace(CAMERA, orientation=orientation))
    with rawpy.imread(str(path)) as raw:
        assert raw.raw_type == rawpy.RawType.Stack  # demosaiced, not a CFA
        assert raw.num_colors == 3 and raw.raw_pattern is None
        assert tuple(raw.black_level_per_channel) == (0, 0, 0, 0) and raw.white_level == 65535
        # LibRaw keeps 3-sample images as 4 channels (R, G, B, unused).
        for image in (raw.raw_image, raw.raw_image_visible):
            assert image.shape == (H, W, 4) and image.dtype == np.uint16
            assert np.abs(image[..., :3].astype(int) - samples16(rgb)).max() <= 1
            assert not image[..., 3].any()
        wb = np.array(raw.camera_whitebalance[:3])
        np.testing.assert_allclose(wb / wb[1], WB, rtol=1e-5)  # 1 / AsShotNeutral
        assert raw.sizes.flip == EXIF_TO_FLIP[orientation]
        assert (raw.sizes.height, raw.sizes.width) == (H, W)  # sensor orientation
    back = read_raw_rgb(path)
    assert back.dtype == np.float32 and back.shape == (H, W, 3)
    assert np.abs(back - rgb).max() <= LSB


def test_read_raw_takes_the_linear_dng_back(dng, rgb):
    """rawmeta's own RAW reader (LibRaw postprocess) gives the same raw-RGB and camera facts."""
    image = read_raw(dng)
    assert np.abs(image.rgb - rgb).max() <= LSB
    assert image.camera.cfa == "" and image.camera.white_level == 65535
    np.testing.assert_allclose(image.camera.white_balance, CAMERA.white_balance, rtol=1e-5)
    np.testing.assert_allclose(image.camera.xyz_to_camera, CAMERA.xyz_to_camera, atol=1e-4)
    assert image.camera.calibration_illuminant == 21


def test_dng_tags(dng):
    with tifffile.TiffFile(dng) as tif:
        assert len(tif.pages) == 1 and tif.byteorder == "<" and not tif.is_bigtiff
        page = tif.pages[0]
        tags = {t.code: t for t in page.tags.values()}
        value = {code: tag.value for code, tag in tags.items()}
    assert set(tags) == {
        254, 256, 257, 258, 259, 262, 271, 272, 273, 274, 277, 278, 279,
        282, 283, 284, 296, 305,
        50706, 50707, 50708, 50714, 50717, 50721, 50728, 50778,
    }  # strips only: no TileWidth/Length/Offsets/ByteCounts (322-325), no CFA tags
    assert value[254] == 0 and tags[254].dtype == 4  # NewSubFileType, LONG
    assert (value[256], value[257]) == (W, H)
    assert tuple(value[258]) == (16, 16, 16) and value[259] == 7  # lossless JPEG
    assert value[262] == 34892 and value[277] == 3 and value[284] == 1
    assert value[278] == H  # one strip
    assert (value[271], value[272], value[50708]) == ("Test", "Cam", "Test Cam")
    assert value[274] == 1 and value[305] == "rawmeta"
    assert tuple(value[50706]) == (1, 4, 0, 0) and tuple(value[50707]) == (1, 1, 0, 0)
    assert tuple(value[50714]) == (0, 0, 0) and tuple(value[50717]) == (65535,) * 3
    assert tags[50721].dtype == 10 and tags[50728].dtype == 5 and value[50778] == 21
    matrix = np.array(value[50721], dtype=float).reshape(9, 2)
    np.testing.assert_allclose(matrix[:, 0] / matrix[:, 1], CAMERA.xyz_to_camera, atol=1e-4)
    neutral = np.array(value[50728], dtype=float).reshape(3, 2)
    np.testing.assert_allclose(neutral[:, 0] / neutral[:, 1], 1 / WB, atol=1e-6)


def test_dng_without_camera_matrix_falls_back_on_srgb(tmp_path, rgb):
    path = tmp_path / "srgb.dng"
    write_linear_dng(path, rgb, dataclasses.replace(CAMERA, xyz_to_camera=None, calibration_illuminant=0))
    with tifffile.TiffFile(path) as tif:
        tags = tif.pages[0].tags
        matrix = np.array(tags[50721].value, dtype=float).reshape(9, 2)
        illuminant = tags[50778].value
    np.testing.assert_allclose(matrix[:, 0] / matrix[:, 1], XYZ_TO_SRGB, atol=1e-4)
    assert illuminant == 21  # D65


def test_same_input_same_bytes(tmp_path, rgb):
    for suffix in SUPPORTED_SUFFIXES:
        a, b = tmp_path / f"a{suffix}", tmp_path / f"b{suffix}"
        write_raw_rgb(a, rgb, CAMERA)
        write_raw_rgb(b, rgb, CAMERA)
        assert a.read_bytes() == b.read_bytes()


def test_adobe_dng_sdk_reads_it(dng, rgb, capfd):
    dngpy = pytest.importorskip("dngpy")
    d = dngpy.Dng(str(dng))
    pixels = d.raw_pixels
    assert pixels.shape == (H, W, 3) and pixels.dtype == np.uint16
    np.testing.assert_array_equal(pixels, samples16(rgb))
    info = d.get_data_info()
    assert (info.width, info.height, info.channels) == (W, H, 3)
    assert d.get_bayer_pattern() == ""
    np.testing.assert_allclose(d.get_white_balance(), 1 / WB, atol=1e-5)
    assert (d.metadata.make, d.metadata.model) == ("Test", "Cam")
    # The SDK's validation messages go to stderr as "*** ... ***". A LinearRaw
    # image needs no demosaic margin, so unlike the CFA DNGs there is not even
    # the "Too little padding" warning.
    err = capfd.readouterr().err
    assert not re.findall(r"\*\*\* (.*?) \*\*\*", err), err


@pytest.mark.skipif(shutil.which("exiftool") is None, reason="exiftool is not installed")
def test_exiftool_validates(dng):
    out = subprocess.run(
        ["exiftool", "-validate", "-warning", "-a", str(dng)],
        capture_output=True, text=True, check=True,
    ).stdout
    lines = dict(re.match(r"(\S[^:]*?)\s*:\s*(.*)", line).groups() for line in out.splitlines())
    assert lines.get("Validate") == "OK", out
    assert not [line for line in out.splitlines() if line.startswith("Warning")], out


# --- third-party raw developers (slow) ---------------------------------------

# RawTherapee 5.9 refuses RAW files under about 100 kB, so these DNGs are
# 256 x 384 (590 kB). The image is a grey ramp in camera RGB, i.e.
# ramp / white_balance, which a developer using AsShotNeutral renders neutral.
RENDER_H, RENDER_W = 256, 384
RENDER_CASES = [
    pytest.param(1, CAMERA.xyz_to_camera, id="camera-matrix"),
    pytest.param(6, None, id="rotated-srgb-fallback"),
]


def grey_ramp_dng(folder, orientation, matrix):
    ramp = np.linspace(0.05, 0.6, RENDER_W)[None, :].repeat(RENDER_H, axis=0)
    rgb = (ramp[..., None] / WB).astype(np.float32)
    camera = dataclasses.replace(CAMERA, orientation=orientation, xyz_to_camera=matrix)
    path = folder / "grey.dng"
    write_raw_rgb(path, rgb, camera)
    return path


def check_grey_render(out, orientation):
    """The rendering is a JPEG of the right (rotated) size, not black, grey and rising along the ramp."""
    assert out.is_file()
    with Image.open(out) as im:
        assert im.format == "JPEG"
        rgb = np.asarray(im.convert("RGB"), dtype=float)
    if orientation == 6:  # Rotate 90 CW: the ramp's left end comes out on top
        rgb = rgb.transpose(1, 0, 2)
    h, w, _ = rgb.shape
    assert 0.95 * RENDER_H <= h <= RENDER_H and 0.95 * RENDER_W <= w <= RENDER_W  # may trim a border
    assert rgb.mean() > 40
    columns = rgb[h // 4 : 3 * h // 4].mean(axis=0)  # W x 3
    assert np.abs(columns - columns.mean(axis=1, keepdims=True)).max() < 6, columns  # neutral
    luma = columns.mean(axis=1)[:: w // 8]
    assert (np.diff(luma) > 3).all(), luma


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("darktable-cli") is None, reason="darktable-cli is not installed")
@pytest.mark.parametrize(("orientation", "matrix"), RENDER_CASES)
def test_darktable_renders_it(tmp_path, orientation, matrix):
    dng = grey_ramp_dng(tmp_path, orientation, matrix)
    out = tmp_path / "fresh" / "dt.jpg"  # darktable never overwrites: a new folder
    run = subprocess.run(
        [
            "darktable-cli", str(dng), str(out), "--core",
            "--configdir", str(tmp_path / "config"), "--cachedir", str(tmp_path / "cache"),
            "--library", ":memory:",
        ],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    check_grey_render(out, orientation)


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("rawtherapee-cli") is None, reason="rawtherapee-cli is not installed")
@pytest.mark.parametrize(("orientation", "matrix"), RENDER_CASES)
def test_rawtherapee_renders_it(tmp_path, orientation, matrix):
    dng = grey_ramp_dng(tmp_path, orientation, matrix)
    assert dng.stat().st_size > 100_000
    out = tmp_path / "rt.jpg"
    run = subprocess.run(
        ["rawtherapee-cli", "-o", str(out), "-j92", "-Y", "-c", str(dng)],
        capture_output=True, text=True, timeout=120, check=False,
        # Its own config and cache, so no user profile changes the rendering.
        env={
            **os.environ,
            "XDG_CONFIG_HOME": str(tmp_path / "config"),
            "XDG_CACHE_HOME": str(tmp_path / "cache"),
        },
    )
    assert run.returncode == 0, run.stdout + run.stderr
    check_grey_render(out, orientation)


# --- errors --------------------------------------------------------------------


@pytest.mark.parametrize("name", ["out.jpg", "out.png", "out", "out.npz", "out.dng.tmp"])
def test_unknown_extension_is_refused_before_any_work(tmp_path, name):
    # rgb and camera are not even looked at: the extension is checked first.
    with pytest.raises(UsageError, match=r"use \.npy, \.tif, \.tiff or \.dng\)$") as info:
        write_raw_rgb(tmp_path / name, None, None)  # type: ignore[arg-type]
    assert "\n" not in str(info.value)
    assert names(tmp_path) == []
    with pytest.raises(UsageError):
        read_raw_rgb(tmp_path / name)


@pytest.mark.parametrize("suffix", SUPPORTED_SUFFIXES)
def test_unwritable_place_is_an_output_error(tmp_path, rgb, suffix):
    (tmp_path / "a-file").write_bytes(b"x")
    (tmp_path / f"a-folder{suffix}").mkdir()
    for target in (
        tmp_path / "missing" / f"out{suffix}",  # no such folder
        tmp_path / "a-file" / f"out{suffix}",  # "folder" is a file
        tmp_path / f"a-folder{suffix}",  # target is a folder
    ):
        with pytest.raises(OutputError, match=f"^cannot write {re.escape(str(target))}: ") as info:
            write_raw_rgb(target, rgb, CAMERA)
        assert "\n" not in str(info.value)
    assert names(tmp_path) == ["a-file", f"a-folder{suffix}"]  # no temp files left
    assert list((tmp_path / f"a-folder{suffix}").iterdir()) == []


def test_overwrites_atomically_leaving_no_temp_files(tmp_path, rgb):
    for suffix in SUPPORTED_SUFFIXES:
        path = tmp_path / f"out{suffix}"
        path.write_bytes(b"old")
        path.chmod(0o640)
        write_raw_rgb(path, rgb, CAMERA)
        assert path.stat().st_mode & 0o777 == 0o640
        assert np.abs(read_raw_rgb(path) - rgb).max() <= LSB
    assert names(tmp_path) == sorted(f"out{s}" for s in SUPPORTED_SUFFIXES)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (np.zeros((H, W, 3), np.uint16), "must be a floating-point numpy array, not uint16"),
        (np.zeros((H, W), np.float32), r"must be H x W x 3, not shape \(64, 96\)"),
        (np.zeros((H, W, 4), np.float32), "must be H x W x 3"),
        (np.full((H, W, 3), np.nan, np.float32), "non-finite"),
    ],
)
@pytest.mark.parametrize("suffix", SUPPORTED_SUFFIXES)
def test_writer_refuses_bad_arrays(tmp_path, bad, message, suffix):
    with pytest.raises(ValueError, match=message):
        write_raw_rgb(tmp_path / f"x{suffix}", bad, CAMERA)
    assert names(tmp_path) == []


def write_bad(folder, name: str):
    """Write a file that is not readable raw-RGB; returns its path."""
    path = folder / name
    if name == "pickled.npy":
        np.save(path, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    elif name == "2d.npy":
        np.save(path, np.zeros((H, W), np.float32))
    elif name == "4ch.npy":
        np.save(path, np.zeros((H, W, 4), np.float32))
    elif name == "ints.npy":
        np.save(path, np.zeros((H, W, 3), np.uint16))
    elif name == "range.npy":
        np.save(path, np.full((H, W, 3), 1.5, np.float32))
    elif name == "archive.npy":
        with open(path, "wb") as fh:
            np.savez(fh, rgb=np.zeros((H, W, 3), np.float32))
    elif name == "text.tiff":
        path.write_text("this is not a TIFF\n")
    elif name == "grey16.tif":
        tifffile.imwrite(path, np.zeros((H, W), np.uint16))
    elif name == "rgb8.tif":
        tifffile.imwrite(path, np.zeros((H, W, 3), np.uint8), photometric="rgb")
    elif name == "huge.tif":  # a small TIFF whose header declares 60000 x 60000 pixels
        tifffile.imwrite(path, np.zeros((H, W, 3), np.uint16), photometric="rgb")
        data = bytearray(path.read_bytes())
        with tifffile.TiffFile(path) as tif:
            for tag in tif.pages[0].tags.values():
                if tag.code in (256, 257):  # ImageWidth, ImageLength
                    struct.pack_into("<H" if tag.dtype == 3 else "<I", data, tag.valueoffset, 60000)
        path.write_bytes(bytes(data))
    elif name == "text.dng":
        path.write_text("this is not a DNG\n")
    elif name == "cfa.dng":
        mosaic = np.zeros((H, W), np.uint16) + 300
        write_cfa_dng(path, mosaic, CAMERA)
    return path


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("pickled.npy", r"not a NumPy \.npy array \(Object arrays cannot be loaded when allow_pickle=False\)"),
        ("2d.npy", "it is 64 x 96, not floating-point H x W x 3"),
        ("4ch.npy", "it is 64 x 96 x 4, not floating-point H x W x 3"),
        ("ints.npy", "it holds uint16, not floating-point values"),
        ("range.npy", r"values run from 1\.5 to 1\.5, outside \[0, 1\]"),
        ("archive.npy", r"it is an \.npz archive"),
        ("text.tiff", "not a TIFF rawmeta can read"),
        ("grey16.tif", "it is 64 x 96, not 16-bit H x W x 3"),
        ("rgb8.tif", r"it holds uint8 samples, not 16-bit \(uint16\)"),
        ("huge.tif", r"it declares 60000 x 60000 x 3 samples, more than rawmeta restores \(160 MP\)"),
        ("text.dng", "not a DNG LibRaw can read"),
        ("missing.npy", "no such file"),
    ],
)
def test_reader_refuses_bad_files(tmp_path, name, message):
    path = write_bad(tmp_path, name)
    with pytest.raises(RawReadError, match=f"^cannot read raw-RGB {re.escape(str(path))}: {message}") as info:
        read_raw_rgb(path)
    assert "\n" not in str(info.value)


def test_a_mosaic_dng_reads_through_libraw_s_demosaic(tmp_path):
    rgb = read_raw_rgb(write_bad(tmp_path, "cfa.dng"))  # a flat mosaic of 300 at black 256, white 4095
    assert rgb.shape == (H, W, 3)
    np.testing.assert_allclose(rgb, (300 - 256) / (4095 - 256), atol=2e-4)


def test_a_dng_with_a_preview_shows_its_thumbnail_and_keeps_the_raw_in_a_subifd(tmp_path, rgb):
    srgb = np.linspace(0, 255, 300 * 400 * 3).reshape(300, 400, 3).astype(np.uint8)  # larger than a thumbnail
    path = tmp_path / "preview.dng"
    write_raw_rgb(path, rgb, CAMERA, preview=srgb)
    with tifffile.TiffFile(path) as tif:
        ifd0 = tif.pages[0]
        raw, preview = tifffile.TiffPages(ifd0)
        assert ifd0.tags["NewSubfileType"].value == 1 and raw.tags["NewSubfileType"].value == 0
        assert ifd0.tags["SubIFDs"].dtype == 4  # LONG, as DNG readers expect
        assert ifd0.shape == (192, 256, 3)
        assert "ColorMatrix1" in ifd0.tags and "ColorMatrix1" not in raw.tags  # camera-level tags in IFD0
        assert "WhiteLevel" in raw.tags and "WhiteLevel" not in ifd0.tags  # image tags with the image
        thumb = ifd0.asarray()
        raw_next = struct.unpack_from("<I", path.read_bytes(), raw.offset + 2 + 12 * len(raw.tags))[0]
        assert raw_next == 0  # a SubIFD tree, not a chain (DNG supports no chains)
        assert preview.tags["NewSubfileType"].value == 1 and preview.tags["Compression"].value == 7
        assert preview.tags["PhotometricInterpretation"].value == 6  # YCbCr: a baseline DCT JPEG
        assert preview.tags["PreviewColorSpace"].value == 2  # sRGB
        stream = path.read_bytes()[preview.dataoffsets[0] : preview.dataoffsets[0] + preview.databytecounts[0]]
    np.testing.assert_allclose(thumb.mean(axis=(0, 1)), srgb.mean(axis=(0, 1)), atol=2)
    shown = np.asarray(Image.open(io.BytesIO(stream)))
    assert shown.shape == srgb.shape  # smaller than PREVIEW: not reduced
    assert np.abs(shown.astype(int) - srgb).mean() < 3
    plain = tmp_path / "plain.dng"
    write_raw_rgb(plain, rgb, CAMERA)
    np.testing.assert_array_equal(read_raw_rgb(path), read_raw_rgb(plain))
    with rawpy.imread(str(path)) as image:
        offered = image.extract_thumb()  # what LibRaw offers file browsers: the largest preview
    assert offered.format == rawpy.ThumbFormat.JPEG
    assert offered.data.endswith(stream[2:])  # LibRaw puts the DNG's EXIF in after the SOI


def test_the_preview_is_at_most_preview_pixels_on_its_long_side():
    srgb = np.random.default_rng(0).integers(0, 256, (900, 1400, 3), dtype=np.uint8)
    stream = preview_jpeg(srgb)
    layout = segments.parse(stream)
    assert layout.frame() == (658, PREVIEW, 3)
    assert not [s for s in layout.segments if s.is_app()]  # no JFIF inside a TIFF strip
