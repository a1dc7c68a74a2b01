"""A JPEG smaller than the RAW: embed samples the RAW's own grid and restore gives the RAW's resolution."""
from __future__ import annotations

import json

import numpy as np
import pytest
import rawpy
from PIL import Image

import rawmeta
from rawmeta import restore_bytes
from rawmeta.format import container
from rawmeta.format import payload as pl
from rawmeta.format.orientation import compose
from rawmeta.io.dng import mosaic
from rawmeta.io.outputs import read_raw_rgb
from rawmeta.io.restore_mark import read_mark
from rawmeta.metrics import psnr
from rawmeta.restore.jpeg import restored_size

from ..helpers import run, shrunk


@pytest.fixture(scope="module")
def larger(tmp_path_factory):
    """A synthetic pair large enough (256 x 192) for a restore whose accuracy means something."""
    from rawmeta.benchmarks.synthetic import write_sample

    return write_sample(tmp_path_factory.mktemp("larger"), height=192, width=256)


@pytest.fixture(scope="module")
def raw_and_half(larger):
    dng, jpg = larger
    raw = rawmeta.read_raw(dng)
    jpeg = shrunk(jpg)
    payload = rawmeta.make_payload(raw.rgb, raw.camera, jpeg, budget=None, stride=4)
    return raw, rawmeta.embed_bytes(jpeg, payload)[0], dng


def test_a_half_size_jpeg_samples_the_raw_s_own_pixels(raw_and_half):
    raw, jpeg, _ = raw_and_half
    payload = restore_bytes(jpeg).payload
    assert payload.jpeg_size == (96, 128) and (payload.grid.height, payload.grid.width) == raw.rgb.shape[:2]
    rows, cols = payload.grid.rows(), payload.grid.cols()
    expected = np.floor(raw.rgb[np.ix_(rows, cols)].astype(np.float64) * (2**payload.bits - 1) + 0.5)
    assert np.array_equal(payload.samples, expected)


def test_restore_has_the_raw_s_resolution_and_beats_the_jpeg_s(raw_and_half):
    raw, jpeg, _ = raw_and_half
    full = restore_bytes(jpeg)
    binned = restore_bytes(jpeg, size="jpeg")
    assert full.rgb.shape == raw.rgb.shape and binned.rgb.shape == (96, 128, 3)
    carried = container.extract(jpeg).payload  # what a folder rerun expects of a finished restore, unrestored
    assert restored_size(carried, (96, 128), "raw") == full.rgb.shape[:2]
    assert restored_size(carried, (96, 128), "jpeg") == binned.rgb.shape[:2]
    assert full.shown.shape == raw.rgb.shape and binned.shown is binned.srgb
    # the JPEG-size restore is the full one averaged over each JPEG pixel's footprint
    assert np.allclose(binned.rgb, rawmeta.warp(full.rgb, full.payload.alignment, 96, 128), atol=1e-6)
    upscaled = np.stack([np.asarray(Image.fromarray(binned.rgb[..., c], "F").resize((256, 192), Image.BICUBIC))
                         for c in range(3)], -1)
    assert psnr(full.rgb, raw.rgb) > psnr(np.clip(upscaled, 0, 1), raw.rgb) + 0.5  # 0.9 dB on this small scene


def test_the_full_resolution_dng_is_the_camera_s_mosaic(raw_and_half, tmp_path):
    raw, jpeg, source = raw_and_half
    src = tmp_path / "half.jpg"
    src.write_bytes(jpeg)
    run("restore", src, tmp_path / "full.dng", "-q", check_rc=0)
    restored = restore_bytes(jpeg)
    with rawpy.imread(str(tmp_path / "full.dng")) as out:
        assert out.raw_type == rawpy.RawType.Flat and out.raw_image.shape == raw.rgb.shape[:2]
        np.testing.assert_array_equal(out.raw_image, mosaic(restored.rgb, restored.payload.camera))
    assert read_mark(tmp_path / "full.dng").size == "raw"
    proc = run("eval", tmp_path / "full.dng", source, "--jpeg", src, "--json", check_rc=0)
    assert json.loads(proc.stdout)["clipped_share"] is not None  # the JPEG enlarged onto the RAW's grid
    proc = run("restore", src, tmp_path / "small.dng", "--size", "jpeg", check_rc=0)
    assert "not on the RAW's own pixel grid" in proc.stderr  # the JPEG's grid has no known mosaic
    assert read_raw_rgb(tmp_path / "small.dng").shape == (96, 128, 3)
    assert read_mark(tmp_path / "small.dng").size == "jpeg"


@pytest.mark.parametrize("turn,tag", [(False, 6), (True, None), (True, 8)])
def test_the_full_resolution_restore_is_shown_as_the_jpeg_is(pair, turn, tag):
    dng, jpg = pair
    raw = rawmeta.read_raw(dng)
    jpeg = shrunk(jpg, turn=turn, orientation=tag)
    payload = rawmeta.make_payload(raw.rgb, raw.camera, jpeg, budget=None, stride=4)
    assert payload.jpeg_size is not None and payload.alignment.orientation == (6 if turn else 1)
    # shown on the RAW's grid, then turned back onto the JPEG's, it is what the JPEG's tag shows
    jpeg_shown = tag or compose(raw.camera.orientation, payload.alignment.orientation)
    assert compose(payload.camera.orientation, payload.alignment.orientation) == jpeg_shown
    restored = restore_bytes(rawmeta.embed_bytes(jpeg, payload)[0], size="jpeg")
    assert restored.camera.orientation == jpeg_shown


def test_older_data_on_the_jpeg_s_grid_restore_at_its_size_with_a_warning():
    """A version 6 payload of a JPEG 1.5x smaller than its RAW (tests/data) holds samples on the JPEG's grid."""
    from pathlib import Path

    data = (Path(__file__).parent.parent / "data" / "v6_payload.jpg").read_bytes()
    told: list[str] = []
    restored = restore_bytes(data, warn=told.append)
    assert restored.rgb.shape == (64, 96, 3) and restored.payload.version == 6
    assert any("holds samples on the JPEG's grid" in t and "not the RAW's 100 x 150" in t for t in told)
    assert restored.mark.size == "" and pl.raw_grid_size(b"RMPL") is None
    assert restored_size(container.extract(data).payload, (64, 96), "raw") == (64, 96)


def test_an_unknown_size_is_refused():
    from rawmeta.restore.options import RestoreOptions

    with pytest.raises(ValueError, match="size must be one of raw, jpeg"):
        RestoreOptions(size="huge")


def test_the_growth_cap_holds_where_the_budget_counts_the_raw_s_pixels(larger, tmp_path):
    """A half-size JPEG: 15 % counted on the RAW's 4 x as many pixels asks for up to 60 % of the JPEG (this
    small synthetic image takes about 28); a cap of 5 % (--max-growth) holds it to the budget's own 15 %, and
    the embed line says both."""
    from click.testing import CliRunner

    from rawmeta.cli.main import main

    dng, jpg = larger
    raw = rawmeta.read_raw(dng)
    jpeg = shrunk(jpg)

    def grown(max_growth: float | None) -> float:
        payload = rawmeta.make_payload(raw.rgb, raw.camera, jpeg, budget=15.0, max_growth=max_growth)
        assert payload.pixels_per_jpeg_pixel == pytest.approx(4.0, rel=0.02)
        return rawmeta.embed_bytes(jpeg, payload)[1].percent_of_jpeg

    capped, free = grown(5.0), grown(None)
    assert 10 < capped <= 15 < 20 < free <= 60
    small = tmp_path / "small.jpg"
    small.write_bytes(jpeg)
    said = CliRunner().invoke(main, ["embed", str(dng), str(small), "--budget", "15", "--max-growth", "5",
                                      "--quiet"])
    assert said.exit_code == 0, said.output
    assert "(budget 15 %, counted on the RAW's pixels, 4.0 x the JPEG's, which the restore gives back; capped at " \
           "15 % of the JPEG, --max-growth)" in said.stdout
    inspected = CliRunner().invoke(main, ["inspect", str(small)]).stdout
    assert "% of the JPEG (budget 15 %, counted on the RAW's pixels, 4.0 x the JPEG's" in inspected
