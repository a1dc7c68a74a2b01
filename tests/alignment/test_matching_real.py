"""Alignment on every shared RAW: a raw developer's crop, turns, resizes, crops, camera JPEGs, other shots."""
from __future__ import annotations

import functools
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import rawpy

from rawmeta import metrics
from rawmeta.alignment import matching as al
from rawmeta.benchmarks.align import base_render, derived_cases, encode, map_error
from rawmeta.benchmarks.render import render_srgb
from rawmeta.errors import MismatchError
from rawmeta.format import orientation
from rawmeta.format.alignment import Alignment
from rawmeta.io.jpeg_pixels import decode_jpeg
from rawmeta.io.rawfile import RawImage, read_raw

from ..conftest import RAW_DIR, raw_params, shared_raws
from ..helpers import run

pytestmark = pytest.mark.slow

#: Target of the alignment issue for maps that are known.
MAX_ERROR_PX = 0.25
CAMERA_JPEGS = {"canon_eos_d30.crw": 1.5, "canon_powershot_g2.crw": 3.55}


@functools.cache
def raw_and_render(path: Path) -> tuple[RawImage, np.ndarray]:
    """A RAW read once for this module, with LibRaw's render of it."""
    return read_raw(path), render_srgb(path)


@pytest.mark.parametrize("raw_path", raw_params())
def test_known_maps_are_found_within_a_quarter_pixel(raw_path):
    raw, libraw = raw_and_render(raw_path)
    _, base, base_map = base_render(raw_path, libraw)
    for case, srgb, tag, known in derived_cases(base, base_map):
        if tag:
            continue  # a tag leaves the pixels as they are: the same map as "as rendered"
        stored = decode_jpeg(encode(srgb))
        found = al.align(raw.rgb, raw.camera.white_balance, stored)
        error = map_error(found.matrix, known, *stored.shape[:2])
        assert error <= MAX_ERROR_PX and found.match > 0.9, (case, error, found.raw_size)


@pytest.mark.parametrize("raw_path", raw_params())
def test_a_render_of_another_shot_is_refused(raw_path):
    raws = shared_raws()
    other = raws[(raws.index(raw_path) + 1) % len(raws)]
    raw = raw_and_render(raw_path)[0]
    with pytest.raises(MismatchError, match=r"does not show the RAW's picture \(match -?0\.[0-3]"):
        al.align(raw.rgb, raw.camera.white_balance, raw_and_render(other)[1])


@pytest.mark.parametrize("name", sorted(CAMERA_JPEGS))
def test_the_camera_s_own_jpeg_is_found_at_its_scale(name):
    if not (RAW_DIR / name).exists():
        pytest.skip(f"{name} is not in {RAW_DIR}")
    raw = read_raw(RAW_DIR / name)
    jpg = RAW_DIR / name.replace(Path(name).suffix, ".camera_jpg_from_raw.jpg")
    found = al.align(raw.rgb, raw.camera.white_balance, decode_jpeg(jpg.read_bytes()))
    assert found.orientation == 1 and found.match > 0.95
    assert found.scale == (pytest.approx(CAMERA_JPEGS[name], abs=0.01),) * 2


def test_embed_and_restore_a_camera_jpeg_end_to_end(tmp_path):
    name = "canon_eos_d30.crw"
    if not (RAW_DIR / name).exists():
        pytest.skip(f"{name} is not in {RAW_DIR}")
    jpg = tmp_path / "camera.jpg"
    shutil.copy(RAW_DIR / "canon_eos_d30.camera_jpg_from_raw.jpg", jpg)
    out = run("embed", RAW_DIR / name, jpg, "--stride", "6", "--bits", "10", check_rc=0).stdout
    assert "; aligned: as stored, 1.49" in out or "; aligned: as stored, 1.50" in out
    info = json.loads(run("inspect", jpg, "--json", check_rc=0).stdout)["alignment"]
    assert info["kind"] == "mapped" and info["raw_size"] == {"width": 2176, "height": 1448}
    assert info["scale"] == [pytest.approx(1.5, abs=0.002)] * 2
    raw = read_raw(RAW_DIR / name)
    for size, shape in (("jpeg", (960, 1440)), ("raw", raw.rgb.shape[:2])):  # the JPEG's grid, the RAW's own
        out = tmp_path / f"{size}.dng"
        said = run("restore", jpg, out, "--size", size, "--dng", "linear", "--quiet", "--reference", RAW_DIR / name,
                   check_rc=0).stdout  # LinearRaw: the values read back are the restore's (a mosaic is demosaiced)
        with rawpy.imread(str(out)) as dng:
            assert (dng.sizes.height, dng.sizes.width) == shape
        truth = al.raw_on_jpeg_grid(raw.rgb, Alignment(np.array(info["matrix"]), raw.rgb.shape[:2]), *shape)
        psnr = metrics.psnr(read_raw(out).rgb, truth)
        assert psnr > (35 if size == "jpeg" else 30)
        said_psnr = float(re.search(r"PSNR \(whole image\)\s+([\d.]+) dB", said).group(1))
        assert said_psnr == pytest.approx(psnr, abs=0.05)  # --reference sees the RAW through the map
        evaluated = json.loads(run("eval", out, RAW_DIR / name, "--jpeg", jpg, "--json", check_rc=0).stdout)
        assert evaluated["psnr_db"] == pytest.approx(psnr, abs=0.01)


def test_a_turned_jpeg_restores_to_a_dng_shown_the_raw_s_way(tmp_path):
    raws = [p for p in shared_raws() if p.name == "nikon_d1.nef"]
    if not raws:
        pytest.skip(f"nikon_d1.nef is not in {RAW_DIR}")
    srgb = np.ascontiguousarray(orientation.orient(render_srgb(raws[0]), 8))  # turned a quarter counter-clockwise
    jpg = tmp_path / "turned.jpg"
    jpg.write_bytes(encode(srgb))
    run("embed", raws[0], jpg, "--stride", "8", "--bits", "10", check_rc=0)
    run("restore", jpg, tmp_path / "r.dng", "--quiet", check_rc=0)
    with rawpy.imread(str(tmp_path / "r.dng")) as dng:
        assert (dng.sizes.width, dng.sizes.height) == srgb.shape[1::-1]
        assert dng.sizes.flip == 6  # LibRaw's code for EXIF 6: turn a quarter clockwise to show it
