"""The raw-RGB's peak reached where the JPEG is white (payload version 9)."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from rawmeta.format.grid import Grid
from rawmeta.format.payload import Payload
from rawmeta.restore.highlights import reach_peak
from rawmeta.restore.patchwise import reconstruct

from ..helpers import CAMERA, quantize, scene


def white_spot(h: int = 96, w: int = 128) -> tuple[np.ndarray, np.ndarray]:
    """The test scene with a 3 x 3 white spot between the samples of a stride-8 grid, where the raw-RGB
    clips at 1 in green and is 0.9 in red and blue."""
    srgb, raw = scene(h, w)
    srgb[40:43, 50:53] = 255
    raw[40:43, 50:53] = (0.9, 1.0, 0.9)
    return srgb, raw


def test_only_white_pixels_are_lifted_and_keep_their_colour():
    srgb, _ = scene(32, 48)
    srgb[5:7, 5:9] = 255
    srgb[20, 20] = (255, 255, 249)  # one channel below 250: not white
    out = np.full((32, 48, 3), 0.4, np.float32)
    out[5, 5] = (0.8, 0.6, 0.7)
    out[20, 20] = 0.85  # brighter than any white pixel, still below the peak
    before = out.copy()
    reach_peak(out, srgb, 0.9)
    white = np.zeros((32, 48), bool)
    white[5:7, 5:9] = True
    assert np.array_equal(out[~white], before[~white])
    assert out[white].max() == pytest.approx(0.9)
    assert np.allclose(out[white], before[white] * 0.9 / 0.8)  # one factor: the colour stays


def test_a_restore_that_reaches_the_peak_anywhere_is_left_alone():
    srgb, _ = scene(32, 48)
    srgb[5:7, 5:9] = 255
    out = np.full((32, 48, 3), 0.4, np.float32)
    out[30, 40, 2] = 0.95
    before = out.copy()
    reach_peak(out, srgb, 0.9)
    assert np.array_equal(out, before)


def test_without_white_pixels_nothing_changes():
    srgb, raw = scene(32, 48)
    out = raw.copy()
    reach_peak(out, srgb, 1.0)
    assert np.array_equal(out, raw)


def test_a_restore_that_misses_the_clipped_spot_reaches_the_peak_the_payload_records():
    srgb, raw = white_spot()
    grid = Grid.centred(96, 128, 8)
    assert not np.isin(np.arange(40, 43), grid.rows()).any()  # no sample on the spot
    payload = Payload(grid, 12, quantize(grid.sample(raw), 12), CAMERA, b"\0" * 32)
    without = reconstruct(srgb, payload, patch_size=(48, 64), device="cpu")
    peaked = dataclasses.replace(payload, peak=1.0)
    out = reconstruct(srgb, peaked, patch_size=(48, 64), device="cpu")
    assert without[..., 1].max() < 0.98  # the fit alone stays below the RAW's clipping
    assert out[40:43, 50:53].max() == pytest.approx(1.0)
    spot = np.zeros((96, 128), bool)
    spot[40:43, 50:53] = True
    assert np.array_equal(out[~spot], without[~spot])
    assert np.abs(out[spot] - raw[spot]).mean() < np.abs(without[spot] - raw[spot]).mean()
    some = reconstruct(srgb, peaked, patch_size=(48, 64), device="cpu", patches=[(0, 0), (0, 1)])
    assert np.array_equal(some[:48], without[:48])  # the peak is the whole image's: a part is left as fitted
