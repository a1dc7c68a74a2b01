"""rawmeta.io.dng: the CFA DNGs it writes are real DNGs (LibRaw, exiftool, Adobe DNG SDK)."""
from __future__ import annotations

import dataclasses
import io
import re
import shutil
import subprocess

import numpy as np
import pytest
import rawpy
import tifffile

from rawmeta import threads
from rawmeta.format.camera import CameraFacts
from rawmeta.io import dng as dng_module
from rawmeta.io.dng import assumptions, cfa_dng_bytes, linear_dng_bytes, mosaic, stored_codes, write_cfa_dng

CFAS = ("RGGB", "BGGR", "GRBG", "GBRG")
D30 = tuple(v / 10000 for v in (9805, -2689, -1312, -5803, 13064, 3068, -2438, 3075, 8775))
# EXIF Orientation -> LibRaw sizes.flip
EXIF_TO_FLIP = {1: 0, 2: 1, 3: 3, 4: 2, 5: 4, 6: 6, 7: 7, 8: 5}


def make_camera(cfa: str = "RGGB", **changes) -> CameraFacts:
    facts = CameraFacts(
        make="rawmeta",
        model="Test 12-bit",
        bits=12,
        black_levels=(250, 251, 252, 253),  # distinct, to catch a mix-up
        white_level=4095,
        cfa=cfa,
        white_balance=(2.0, 1.0, 1.5),
        white_balance_source="camera",
        xyz_to_camera=D30,
        calibration_illuminant=21,
        orientation=1,
    )
    return dataclasses.replace(facts, **changes)


def make_mosaic(height: int = 64, width: int = 96) -> np.ndarray:
    return np.random.default_rng(1).integers(256, 4096, (height, width), dtype=np.uint16)


def cfa_string(raw: rawpy.RawPy) -> str:
    desc = raw.color_desc.decode()
    return "".join(desc[i] for i in raw.raw_pattern.flatten())


@pytest.fixture
def dng(tmp_path):
    path = tmp_path / "test.dng"
    mosaic, camera = make_mosaic(), make_camera()
    write_cfa_dng(path, mosaic, camera)
    return path, mosaic, camera


@pytest.mark.parametrize("cfa", CFAS)
def test_libraw_reads_back_every_cfa(tmp_path, cfa):
    path = tmp_path / f"{cfa}.dng"
    mosaic, camera = make_mosaic(), make_camera(cfa)
    write_cfa_dng(path, mosaic, camera)
    with rawpy.imread(str(path)) as raw:
        assert raw.raw_type == rawpy.RawType.Flat
        np.testing.assert_array_equal(raw.raw_image, mosaic)
        assert cfa_string(raw) == cfa
        assert raw.num_colors == 3
        # LibRaw's per-channel black levels come back as given (R, G, B, G2).
        assert tuple(raw.black_level_per_channel) == camera.black_levels
        assert raw.white_level == camera.white_level
        wb = np.array(raw.camera_whitebalance[:3])
        np.testing.assert_allclose(wb / wb[1], camera.white_balance, atol=1e-3)
        assert (raw.sizes.raw_height, raw.sizes.raw_width) == mosaic.shape
        assert (raw.sizes.height, raw.sizes.width) == mosaic.shape
        rgb = raw.postprocess(user_flip=0)
    assert rgb.shape == (*mosaic.shape, 3) and rgb.dtype == np.uint8


@pytest.mark.parametrize("orientation", range(1, 9))
def test_orientation(tmp_path, orientation):
    path = tmp_path / "o.dng"
    write_cfa_dng(path, make_mosaic(), make_camera(orientation=orientation))
    with rawpy.imread(str(path)) as raw:
        assert raw.sizes.flip == EXIF_TO_FLIP[orientation]


def test_tags_are_exactly_the_dng_ones(dng):
    path, mosaic, camera = dng
    with tifffile.TiffFile(path) as tif:
        assert len(tif.pages) == 1 and tif.byteorder == "<" and not tif.is_bigtiff
        page = tif.pages[0]
        tags = {t.code: t for t in page.tags.values()}
        value = {code: tag.value for code, tag in tags.items()}
    with rawpy.imread(str(path)) as raw:  # lossless JPEG: LibRaw decodes it
        np.testing.assert_array_equal(raw.raw_image, mosaic)
    assert set(tags) == {
        254, 256, 257, 258, 259, 262, 271, 272, 273, 274, 277, 278, 279,
        282, 283, 296,  # XResolution, YResolution, ResolutionUnit: tifffile always writes them
        305, 33421, 33422, 50706, 50707, 50708, 50710, 50711, 50713, 50714,
        50717, 50721, 50728, 50778,
    }  # no ImageDescription (tifffile JSON), DateTime, tiles (narrower than one) or SubIFDs
    assert value[254] == 0 and tags[254].dtype == 4  # NewSubFileType, LONG
    assert (value[256], value[257]) == (96, 64)
    assert value[258] == 16 and value[259] == 7 and value[262] == 32803 and value[277] == 1
    assert value[278] == 64  # RowsPerStrip: one strip, one lossless JPEG stream
    assert value[305] == "rawmeta"
    assert (value[271], value[272], value[50708]) == ("rawmeta", "Test 12-bit", "rawmeta Test 12-bit")
    assert value[274] == 1
    assert tuple(value[33421]) == (2, 2)
    assert tuple(value[33422]) == (0, 1, 1, 2)
    assert tuple(value[50706]) == (1, 4, 0, 0) and tuple(value[50707]) == (1, 1, 0, 0)
    assert tuple(value[50710]) == (0, 1, 2) and value[50711] == 1
    assert tuple(value[50713]) == (2, 2)
    # RGGB: R, G, then the green of the blue row (LibRaw's G2), B
    assert tuple(value[50714]) == (250, 251, 253, 252)
    assert value[50717] == 4095
    assert tags[50721].dtype == 10 and tags[50728].dtype == 5 and value[50778] == 21
    matrix = np.array(value[50721], dtype=float).reshape(9, 2)
    np.testing.assert_allclose(matrix[:, 0] / matrix[:, 1], D30, atol=1e-4)
    neutral = np.array(value[50728], dtype=float).reshape(3, 2)
    np.testing.assert_allclose(neutral[:, 0] / neutral[:, 1], (0.5, 1.0, 1 / 1.5), atol=1e-6)


def test_same_input_same_bytes_and_no_temp_files(tmp_path):
    a, b = tmp_path / "a.dng", tmp_path / "b.dng"
    write_cfa_dng(a, make_mosaic(), make_camera())
    write_cfa_dng(b, make_mosaic(), make_camera())
    write_cfa_dng(b, make_mosaic(), make_camera())  # over an existing file
    assert a.read_bytes() == b.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.dng", "b.dng"]


@pytest.mark.skipif(shutil.which("exiftool") is None, reason="exiftool is not installed")
def test_exiftool_validates(dng):
    out = subprocess.run(
        ["exiftool", "-validate", "-warning", "-a", str(dng[0])],
        capture_output=True, text=True, check=True,
    ).stdout
    lines = dict(re.match(r"(\S[^:]*?)\s*:\s*(.*)", line).groups() for line in out.splitlines())
    assert lines.get("Validate") == "OK", out
    assert not [line for line in out.splitlines() if line.startswith("Warning")], out


def test_adobe_dng_sdk_reads_it(dng, capfd):
    dngpy = pytest.importorskip("dngpy")
    path, mosaic, camera = dng
    d = dngpy.Dng(str(path))
    pixels = d.raw_pixels
    assert pixels.shape == (64, 96, 1)
    np.testing.assert_array_equal(pixels[..., 0], mosaic)
    info = d.get_data_info()
    assert (info.width, info.height) == (96, 64)
    assert d.get_bayer_pattern() == "RGGB"
    np.testing.assert_allclose(d.get_white_balance(), (0.5, 1.0, 1 / 1.5), atol=1e-5)
    assert (d.metadata.make, d.metadata.model) == ("rawmeta", "Test 12-bit")
    # The SDK's validation messages go to stderr. The only ones allowed are the
    # advisory "too little padding" (no DefaultCrop margin, by design: the
    # visible area is the whole mosaic, as LibRaw reports it).
    err = capfd.readouterr().err
    messages = re.findall(r"\*\*\* (.*?) \*\*\*", err)
    assert all(m.startswith("Warning: Too little padding on") for m in messages), err


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"cfa": ""}, "camera.cfa is empty"),
        ({"cfa": "RGBG"}, "camera.cfa must be one of"),
        ({"xyz_to_camera": None}, "xyz_to_camera is None"),
        ({"black_levels": (4095, 0, 0, 0)}, "must be below the white level"),
        ({"make": "Caméra"}, "must be ASCII"),
    ],
)
def test_refuses_bad_camera(tmp_path, change, message):
    path = tmp_path / "x.dng"
    with pytest.raises(ValueError, match=message):
        write_cfa_dng(path, make_mosaic(), make_camera(**change))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("mosaic", "message"),
    [
        (np.zeros((64, 96), np.float32), "must be a uint16 numpy array, not float32"),
        (np.zeros((64, 96), np.int32), "must be a uint16 numpy array, not int32"),
        ([[0, 1], [2, 3]], "must be a uint16 numpy array, not list"),
        (np.zeros((64, 96, 3), np.uint16), r"must be 2-D and at least 2 x 2, not shape \(64, 96, 3\)"),
        (np.zeros(64, np.uint16), "must be 2-D"),
        (np.zeros((1, 96), np.uint16), "at least 2 x 2"),
    ],
)
def test_refuses_bad_mosaic(tmp_path, mosaic, message):
    path = tmp_path / "x.dng"
    with pytest.raises(ValueError, match=message):
        write_cfa_dng(path, mosaic, make_camera())
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("gains", [(2.0, 0.0, 1.5), (2.0, float("nan"), 1.5), (-1.0, 1.0, 1.0)])
def test_camera_facts_keep_white_balance_positive(gains):
    with pytest.raises(ValueError, match="white_balance needs 3 finite positive values"):
        make_camera(white_balance=gains)


def test_stored_codes_take_the_nearest_level_and_the_lower_on_a_tie():
    table = (0, 10, 10, 30)
    values = np.array([0, 4, 5, 6, 10, 19, 20, 21, 30, 65535], np.uint16)
    np.testing.assert_array_equal(stored_codes(values, table), [0, 0, 0, 1, 1, 1, 1, 3, 3, 3])


def test_a_camera_s_codes_table_and_frame_come_back_through_libraw(tmp_path):
    """A camera that stores 10-bit codes through a curve to 12-bit values, and declares a frame inside its area."""
    table = tuple(int(v) for v in np.round(4095 * (np.arange(1024) / 1023) ** 2))
    camera = make_camera(black_levels=(0, 0, 0, 0), linearization=table, crop=(8, 6, 80, 50))
    rgb = np.random.default_rng(2).random((64, 96, 3)).astype(np.float32)
    path = tmp_path / "curve.dng"
    path.write_bytes(cfa_dng_bytes(rgb, camera))
    values = mosaic(rgb, camera)
    with rawpy.imread(str(path)) as raw:
        got = raw.raw_image.astype(np.int64)
        crop = (raw.sizes.crop_left_margin, raw.sizes.crop_top_margin, raw.sizes.crop_width, raw.sizes.crop_height)
    np.testing.assert_array_equal(got, np.asarray(table)[stored_codes(values, table)])
    assert np.isin(got, table).all()
    assert np.abs(got - values).max() <= np.diff(table).max() / 2  # each the level nearest the restored value
    assert crop == camera.crop
    with tifffile.TiffFile(path) as tif:
        image = tif.pages[0].pages[0] if tif.pages[0].tags.get("SubIFDs") else tif.pages[0]
        assert image.tags["BitsPerSample"].value == 10
        assert image.tags["LinearizationTable"].value == table


def test_a_frame_that_does_not_fit_is_left_out(tmp_path):
    camera = make_camera(crop=(8, 6, 96, 50))  # 8 + 96 > 96 columns
    rgb = np.random.default_rng(2).random((64, 96, 3)).astype(np.float32)
    with tifffile.TiffFile(io.BytesIO(cfa_dng_bytes(rgb, camera))) as tif:
        assert "DefaultCropOrigin" not in tif.pages[0].tags


def test_the_dng_says_what_it_assumed_where_the_raw_said_nothing():
    rgb = np.random.default_rng(2).random((64, 96, 3)).astype(np.float32)
    told = make_camera(xyz_to_camera=None, calibration_illuminant=0, white_balance=(1.0, 1.0, 1.0),
                       white_balance_source="unity")
    for write in (cfa_dng_bytes, linear_dng_bytes):
        with tifffile.TiffFile(io.BytesIO(write(rgb, told))) as tif:
            name = tif.pages[0].tags["ProfileName"].value
        assert name == ("rawmeta: no colour matrix in the RAW: camera RGB taken as linear sRGB; "
                        "white balance R 1.000, G 1, B 1.000: none known, as the RAW names none and LibRaw knows "
                        "no daylight balance for the camera")
        with tifffile.TiffFile(io.BytesIO(write(rgb, make_camera()))) as tif:
            assert "ProfileName" not in tif.pages[0].tags
    assert assumptions(make_camera(white_balance=(1.2856, 1.0, 1.4567), white_balance_source="jpeg")) == [
        "white balance R 1.286, G 1, B 1.457: the as-shot balance estimated from the JPEG at embed, as the RAW "
        "names none LibRaw can read"]


def test_tile_threads_follow_the_folder_workers_cap(monkeypatch):
    """Folder workers cap numeric threads with OMP_NUM_THREADS; the tile encoder keeps to it."""
    pools = []

    class Recorded(dng_module.ThreadPoolExecutor):
        def __init__(self, max_workers: int):
            pools.append(max_workers)
            super().__init__(max_workers)

    monkeypatch.setattr(dng_module, "ThreadPoolExecutor", Recorded)
    monkeypatch.setattr(threads, "_pool", None)
    data = np.zeros((2 * dng_module.TILE, dng_module.TILE), np.uint16)
    for count in ("1", "3"):
        monkeypatch.setenv("OMP_NUM_THREADS", count)
        assert dng_module._lossless_jpeg_tiles(data, 16) == [dng_module._lossless_jpeg(data[:dng_module.TILE], 16)] * 2
    assert pools == [1, 3]
