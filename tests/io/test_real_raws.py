"""End to end on every shared RAW, checked by the tools users meet: jpeginfo, exiftool, djpeg, jpegtran."""
from __future__ import annotations

import collections
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from rawmeta.embed.budget import GRID_BITS
from rawmeta.embed.options import DEFAULT_BUDGET
from rawmeta.format import container
from rawmeta.format import segments as js
from rawmeta.format.grid import Grid
from rawmeta.io.rawfile import read_raw

from ..conftest import raw_params, require_tool
from ..helpers import assert_one_line_error, run

pytestmark = [pytest.mark.slow, require_tool("jpeginfo"), require_tool("exiftool"), require_tool("djpeg"),
              require_tool("jpegtran")]

OUR_EXIFTOOL_NOTICE = "[minor] Unknown APP9 'RAWMETA' segment"


def exiftool_warnings(path) -> collections.Counter:
    out = subprocess.run(["exiftool", "-validate", "-warning", "-a", "-s", str(path)],
                         capture_output=True, text=True, check=True).stdout
    return collections.Counter(
        line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Warning")
    )


def djpeg_pixels(path) -> bytes:
    return subprocess.run(["djpeg", "-ppm", str(path)], capture_output=True, check=True).stdout


@pytest.fixture(scope="session")
def embedded_once(rendered, tmp_path_factory):
    """``embedded_once(raw) -> (original, embedded)``: each RAW's render embedded with the default budget, once
    (an embed measures restores, so it takes seconds)."""
    cache: dict[Path, tuple[Path, Path]] = {}

    def get(raw: Path) -> tuple[Path, Path]:
        if raw not in cache:
            folder = tmp_path_factory.mktemp(raw.stem)
            original = folder / "original.jpg"
            shutil.copy(rendered(raw), original)
            run("embed", raw, original, "-o", folder / "shot.jpg", check_rc=0)
            cache[raw] = original, folder / "shot.jpg"
        return cache[raw]

    return get


@pytest.fixture(params=raw_params())
def embedded(request, embedded_once, tmp_path):
    raw = request.param
    original, shot = embedded_once(raw)
    jpg = tmp_path / "shot.jpg"
    shutil.copy(shot, jpg)
    return raw, original, jpg


def test_jpeg_stays_valid_and_pixels_identical(embedded):
    _, original, jpg = embedded
    check = subprocess.run(["jpeginfo", "-c", str(jpg)], capture_output=True, text=True)
    assert check.returncode == 0 and re.search(r"\bOK\s*$", check.stdout.strip()), check.stdout
    before, after = exiftool_warnings(original), exiftool_warnings(jpg)
    new = after - before
    segments = len(container.ours(js.parse(jpg.read_bytes())))
    # exiftool names every APP segment it has no table for; that notice is all that may be new.
    assert new == collections.Counter({OUR_EXIFTOOL_NOTICE: segments}), new
    assert np.array_equal(np.asarray(Image.open(original)), np.asarray(Image.open(jpg)))
    assert djpeg_pixels(original) == djpeg_pixels(jpg)


def test_inspect_strip_and_re_embed(embedded):
    raw, original, jpg = embedded
    h, w = read_raw(raw).rgb.shape[:2]
    info = json.loads(run("inspect", jpg, "--json", check_rc=0).stdout)
    assert info["grid"]["samples"] == Grid.centred(h, w, info["grid"]["stride"]).count
    assert info["integrity"] == "ok" and info["image_data"] == "matches"
    assert info["percent_of_jpeg"] <= DEFAULT_BUDGET and info["sample_bits"] == GRID_BITS
    assert info["refinement"]["samples"] == 0 and info["expected_restore_psnr"] is None  # the developed objective
    run("embed", raw, jpg, "--stride", "16", "--bits", "8", check_rc=0)  # again, in place (a quick plain grid)
    again = json.loads(run("inspect", jpg, "--json", check_rc=0).stdout)
    assert again["grid"]["stride"] == 16 and again["integrity"] == "ok"
    assert len(container.ours(js.parse(jpg.read_bytes()))) == again["segments"]  # the old segments are gone
    stripped = jpg.with_name("stripped.jpg")
    run("strip", jpg, "-o", stripped, check_rc=0)
    assert stripped.read_bytes() == original.read_bytes()


def test_payload_survives_jpegtran_copy_all(embedded):
    _, _, jpg = embedded
    moved = jpg.with_name("jpegtran.jpg")
    moved.write_bytes(subprocess.run(["jpegtran", "-copy", "all", str(jpg)], capture_output=True, check=True).stdout)
    info = json.loads(run("inspect", moved, "--json", check_rc=0).stdout)
    assert info["integrity"] == "ok"


def test_pillow_resave_and_flipped_byte(embedded):
    _, _, jpg = embedded
    resaved = jpg.with_name("resaved.jpg")
    Image.open(jpg).save(resaved, quality=95)
    assert_one_line_error(run("inspect", resaved), 6, "no rawmeta data")
    data = bytearray(jpg.read_bytes())
    seg = container.ours(js.parse(bytes(data)))[-1]
    data[(seg.data_start + seg.end) // 2] ^= 0x04
    flipped = jpg.with_name("flipped.jpg")
    flipped.write_bytes(bytes(data))
    assert_one_line_error(run("inspect", flipped), 7, "flipped.jpg's rawmeta data is corrupt")
