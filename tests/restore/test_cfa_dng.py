"""``restore --dng cfa`` (the default): the camera's Bayer mosaic again, at its own levels, as raw developers expect."""
from __future__ import annotations

import numpy as np
import pytest
import rawpy
import tifffile
from PIL import Image

from rawmeta import restore_bytes
from rawmeta.io.dng import BAYER_PATTERNS, mosaic
from rawmeta.io.outputs import read_raw_rgb

from ..helpers import CAMERA, run


@pytest.fixture(scope="module")
def embedded(pair, tmp_path_factory):
    folder = tmp_path_factory.mktemp("cfa")
    dng, jpg = pair
    out = folder / "shot.jpg"
    run("embed", dng, jpg, "-o", out, "--stride", "4", "-q", check_rc=0)
    return dng, out


def test_the_dng_is_the_camera_s_mosaic_at_its_levels(embedded, tmp_path):
    source, jpg = embedded
    out = tmp_path / "cfa.dng"
    run("restore", jpg, out, "--dng", "cfa", "-q", check_rc=0)
    restored = restore_bytes(jpg.read_bytes())
    camera = restored.payload.camera
    with rawpy.imread(str(out)) as raw, rawpy.imread(str(source)) as original:
        assert raw.raw_type == rawpy.RawType.Flat and raw.raw_pattern.tolist() == original.raw_pattern.tolist()
        assert raw.white_level == original.white_level
        assert list(raw.black_level_per_channel) == list(original.black_level_per_channel)
        np.testing.assert_array_equal(raw.raw_image, mosaic(restored.rgb, camera))
        # the mosaic is the camera's own up to the restore's error: a phase slip by one site is far worse
        mine, theirs = raw.raw_image.astype(float), original.raw_image.astype(float)
        aligned = np.abs(mine[:, 2:-2] - theirs[:, 2:-2]).mean()
        slipped = np.abs(mine[:, 3:-1] - theirs[:, 2:-2]).mean()
        assert aligned < slipped / 2, (aligned, slipped)
    assert read_raw_rgb(out).shape == restored.rgb.shape  # eval reads it through LibRaw's demosaic
    linear = tmp_path / "linear.dng"
    run("restore", jpg, linear, "--dng", "linear", "-q", check_rc=0)
    assert out.stat().st_size < 0.7 * linear.stat().st_size  # one sample a pixel at 12 bits (a thumbnail in both)


def test_a_jpeg_off_the_raw_s_grid_gets_a_linear_dng_and_a_warning(pair, tmp_path):
    dng, jpg = pair
    cropped = tmp_path / "cropped.jpg"
    with Image.open(jpg) as im:
        im.crop((3, 2, im.width - 5, im.height - 1)).save(cropped, quality=95)
    run("embed", dng, cropped, "--stride", "4", "-q", check_rc=0)
    proc = run("restore", cropped, tmp_path / "out.dng", "--dng", "cfa", check_rc=0)
    assert "not on the RAW's own pixel grid" in proc.stderr
    with tifffile.TiffFile(tmp_path / "out.dng") as tif:
        assert next(iter(tifffile.TiffPages(tif.pages[0]))).tags["PhotometricInterpretation"].value == 34892


def test_a_folder_restore_takes_the_layout_too(embedded, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "IMG_2.jpg").write_bytes(embedded[1].read_bytes())
    run("restore", folder, "--out-dir", tmp_path / "out", "--dng", "cfa", "-q", check_rc=0)
    with rawpy.imread(str(tmp_path / "out" / "IMG_2.dng")) as raw:
        assert raw.raw_type == rawpy.RawType.Flat


@pytest.mark.parametrize("cfa", BAYER_PATTERNS)
def test_mosaic_keeps_each_site_s_channel_and_black_level(cfa):
    import dataclasses

    camera = dataclasses.replace(CAMERA, cfa=cfa, black_levels=(100, 200, 300, 400), white_level=4095)
    rgb = np.zeros((4, 6, 3), np.float32)
    rgb[..., 0], rgb[..., 1], rgb[..., 2] = 0.25, 0.5, 0.75
    out = mosaic(rgb, camera)
    value = {"R": 0.25, "G": 0.5, "B": 0.75}
    for k, colour in enumerate(cfa):
        dy, dx = divmod(k, 2)
        row = cfa[2 * dy : 2 * dy + 2]
        index = 3 if colour == "G" and "B" in row else "RGB".index(colour)  # LibRaw's G2: green of the blue row
        black = camera.black_levels[index]
        assert (out[dy::2, dx::2] == round(value[colour] * (4095 - black) + black)).all(), (cfa, k)


def test_a_restore_says_what_its_dng_assumed(embedded, tmp_path):
    import dataclasses

    from rawmeta.restore.jpeg import write_restored

    restored = restore_bytes(embedded[1].read_bytes())
    camera = dataclasses.replace(restored.payload.camera, white_balance_source="daylight")
    restored = dataclasses.replace(restored, payload=dataclasses.replace(restored.payload, camera=camera))
    told: list[str] = []
    write_restored(tmp_path / "out.dng", restored, warn=told.append)
    r, _, b = camera.white_balance
    assert told == [f"the DNG says: white balance R {r:.3f}, G 1, B {b:.3f}: LibRaw's daylight balance for the "
                    "camera, as the RAW names no as-shot balance LibRaw can read"]
    write_restored(tmp_path / "out.npy", restored, warn=told.append)
    assert len(told) == 1  # only a DNG holds camera facts
