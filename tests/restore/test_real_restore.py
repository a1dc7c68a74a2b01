"""The fast preset on every shared RAW, from LibRaw's render and from RawTherapee's (slow: run in CI)."""
from __future__ import annotations

import numpy as np
import pytest

from rawmeta.benchmarks.restore import MAX_OFFSET, regime_pair
from rawmeta.errors import RawReadError
from rawmeta.format.grid import Grid
from rawmeta.io.jpeg_pixels import decode_jpeg
from rawmeta.io.rawfile import read_raw
from rawmeta.metrics import psnr
from rawmeta.restore.patchwise import reconstruct

from ..conftest import raw_params, require_tool

pytestmark = pytest.mark.slow


def fast_psnr(rgb: np.ndarray, jpeg: bytes) -> float:
    grid = Grid.centred(*rgb.shape[:2])
    return psnr(reconstruct(decode_jpeg(jpeg), grid.sample(rgb), grid, device="cpu"), rgb)


@pytest.mark.parametrize("raw", raw_params())
def test_fast_preset_on_libraw_render(raw, rendered):
    rgb = read_raw(raw).rgb
    # 40.2-51.9 dB measured over the shared RAWs (docs/BENCHMARKS.md); a broken model falls far below
    assert fast_psnr(rgb, rendered(raw).read_bytes()) > 38


@require_tool("rawtherapee-cli")
@pytest.mark.parametrize("raw", raw_params())
def test_rawtherapee_render_is_cut_to_the_common_area(raw):
    try:
        rgb, _, jpeg, (dy, dx) = regime_pair(raw, "rawtherapee")
    except RawReadError as exc:
        assert "rawtherapee-cli failed" in str(exc)
        pytest.skip(f"RawTherapee cannot read {raw.name}: {exc}")
    full = read_raw(raw).rgb
    assert abs(dy) <= MAX_OFFSET and abs(dx) <= MAX_OFFSET
    assert rgb.shape[0] >= full.shape[0] - 2 * MAX_OFFSET and rgb.shape[1] >= full.shape[1] - 2 * MAX_OFFSET
    # a wrong offset pairs each sRGB pixel with another pixel's raw-RGB and costs well over 10 dB
    assert fast_psnr(rgb, jpeg) > 30
