"""The roundtrip bench section: its measures on small inputs, and darktable's exposure edit."""
from __future__ import annotations

import math
import shutil
import struct

import numpy as np
import pytest

from rawmeta.benchmarks import roundtrip as rt
from rawmeta.benchmarks.render import darktable_history, render_libraw, set_white_balance, shift_exposure, to_8bit
from rawmeta.errors import RawReadError

from ..conftest import REPO, require_tool
from ..helpers import smooth_image

#: An exposure history item as darktable 4.2 writes it (exposure +0.7 EV, compensate exposure bias on).
EXPOSURE = "00000000000080b93333333f00004842000080c001000000"


def history(*items: tuple[str, str, str]) -> str:
    """A darktable XMP history of (operation, modversion, params) items."""
    lis = "".join(f'<rdf:li darktable:num="{i}" darktable:operation="{op}" darktable:enabled="1" '
                  f'darktable:modversion="{version}" darktable:params="{params}" darktable:multi_name=""/>'
                  for i, (op, version, params) in enumerate(items))
    return f'<darktable:history><rdf:Seq>{lis}</rdf:Seq></darktable:history>'


def test_shift_exposure_changes_only_the_exposure_value():
    xmp = history(("highlights", "4", "05000000" + "00" * 44), ("exposure", "6", EXPOSURE))
    items = darktable_history(shift_exposure(xmp, 1.0))
    assert [i.operation for i in items] == ["highlights", "exposure"]
    assert items[0].params == bytes.fromhex("05000000" + "00" * 44)
    params = items[1].params
    assert struct.unpack_from("<f", params, 8)[0] == pytest.approx(1.7)
    assert params[:8] + params[12:] == bytes.fromhex(EXPOSURE)[:8] + bytes.fromhex(EXPOSURE)[12:]
    with pytest.raises(RawReadError, match="no exposure module"):
        shift_exposure(history(("flip", "2", "ffffffff")), 1.0)
    with pytest.raises(RawReadError, match="version 5"):
        shift_exposure(history(("exposure", "5", EXPOSURE[:40])), 1.0)


def test_set_white_balance_changes_only_the_coefficients():
    # The Canon D30's default in darktable 4.2: 1.00, 1, 2.69 and g2 NaN.
    temperature = struct.pack("<4f", 1.0022, 1.0, 2.6929, float("nan")).hex()
    xmp = history(("temperature", "3", temperature), ("exposure", "6", EXPOSURE))
    items = darktable_history(set_white_balance(xmp, (2.1, 1.0, 1.06)))
    assert struct.unpack("<3f", items[0].params[:12]) == pytest.approx((2.1, 1.0, 1.06))
    assert items[0].params[12:] == bytes.fromhex(temperature)[12:] and items[1].params == bytes.fromhex(EXPOSURE)
    with pytest.raises(RawReadError, match="temperature module is version 2"):
        set_white_balance(history(("temperature", "2", temperature)), (1.0, 1.0, 1.0))


@pytest.mark.parametrize("curve", [rt.SRGB, rt.LIBRAW_GAMMA], ids=["sRGB", "LibRaw"])
def test_tone_curves_invert_each_other(curve):
    codes = np.arange(256, dtype=np.uint8)
    assert np.array_equal(curve.encode(curve.decode(codes)), codes)
    assert curve.decode(np.array([0, 255], np.uint8)) == pytest.approx([0, 1], abs=1e-6)


def test_libraw_gamma_is_libraws_own_curve(pair):
    """LIBRAW_GAMMA applied to LibRaw's linear render gives its default (gamma 2.222, 4.5) render."""
    linear = render_libraw(pair[0], gamma=(1, 1), no_auto_bright=True, output_bps=16, user_flip=0)
    coded = render_libraw(pair[0], no_auto_bright=True, output_bps=16, user_flip=0)
    ours = rt.LIBRAW_GAMMA.encode(linear.astype(np.float32) / 65535).astype(int)
    assert np.abs(ours - to_8bit(coded)).max() <= 1


def test_edited_jpeg_scales_linear_light():
    shot = smooth_image(96, 128, seed=4) // 2
    for edit in rt.EDITS[1:]:
        edited = rt.edited_jpeg(shot, edit, rt.SRGB)
        assert edited.shape == shot.shape
        assert rt.linear_gain(shot, edited, rt.SRGB) == pytest.approx(edit.gain, rel=0.1)
    assert math.isnan(rt.linear_gain(np.zeros((4, 4, 3), np.uint8), np.zeros((4, 4, 3), np.uint8), rt.SRGB))


def test_compare_frames_uses_the_best_aligned_overlap():
    noise = np.random.default_rng(1).integers(0, 60, (200, 260, 3))
    reference = np.clip(smooth_image(200, 260, seed=3).astype(int) + noise, 0, 255).astype(np.uint8)
    same = rt.compare_frames(reference, reference.copy())
    assert same.same_frame and same.psnr == math.inf and same.offset == (0, 0)
    shifted = rt.compare_frames(reference, reference[5:190, 2:251])
    assert not shifted.same_frame and shifted.offset == (5, 2) and shifted.psnr == math.inf
    assert (shifted.original, shifted.dng) == ((200, 260), (185, 249))


def test_check_exif_tells_kept_lost_and_changed_tags():
    check = rt.check_exif({"Make": "Canon", "ISO": 100, "FNumber": 2.8, "Artist": "A"},
                          {"Make": "Canon", "ISO": 100.0, "FNumber": 4.0, "LensModel": "x"})
    assert (check.kept, check.lost, check.changed, check.total) == (("ISO", "Make"), ("Artist",), ("FNumber",), 4)


@pytest.fixture(scope="module")
def raw(tmp_path_factory):
    """A synthetic CFA DNG large enough for the default budget (the 128 x 96 pair is not)."""
    from rawmeta.benchmarks.synthetic import write_sample

    return write_sample(tmp_path_factory.mktemp("raw"), height=240, width=320)[0]


def test_bench_file_measures_a_round_trip_without_darktable(raw, tmp_path):
    (tmp_path / "work").mkdir()
    row = rt.bench_file(raw, tmp_path / "work", "cpu", darktable=False)
    # The default budget is 5 % of a small, noisy JPEG here: few samples, so the floors are low.
    assert row.name == raw.name and row.seconds > 0 and 15 < row.raw_psnr < 100 and row.size_ratio > 0
    assert list(row.libraw) == [e.label for e in rt.EDITS] and row.darktable is None
    for cell in row.libraw.values():
        assert cell.edit_applied, cell
        assert cell.dng is not None and cell.dng.same_frame and 12 < cell.dng.psnr < 100, cell
        assert 15 < cell.jpeg_psnr < 100
    if shutil.which("exiftool"):
        assert row.exif is not None and row.exif_copy == "" and row.exif.total >= 2  # Make, Model at least
    else:
        assert row.exif is None and "exiftool" in row.exif_copy
    text = rt.markdown([row], [], "rawmeta bench --section roundtrip", "cpu", darktable=False)
    assert text.startswith("## Round trip: the restored DNG in LibRaw and darktable\n")
    assert f"| {row.name} |" in text and "darktable" not in text.split("Targets:")[1]
    assert all(isinstance(m, str) for m in rt.missed_targets(row))


@pytest.mark.slow
@require_tool("darktable-cli")
def test_darktable_exposure_edits_change_brightness_by_a_stop():
    sample = REPO / "samples" / "sample.dng"
    darktable = rt.Darktable()
    cells = rt.judge(darktable, sample, sample)
    for edit in rt.EDITS:
        cell = cells[edit.label]
        assert cell.edit_applied, cell  # the edited history really brightens / darkens by about a stop
        assert cell.dng is not None and cell.dng.psnr > 50, cell  # the same file renders the same
    assert darktable.highlights(sample).startswith("on")
