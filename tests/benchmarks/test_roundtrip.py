"""The roundtrip bench section: its measures on small inputs, and darktable's exposure edit."""
from __future__ import annotations

import dataclasses
import math
import shutil
import struct
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from rawmeta.benchmarks import roundtrip as rt
from rawmeta.benchmarks.render import (
    DarktableRender,
    darktable_history,
    render_libraw,
    set_white_balance,
    shift_exposure,
    to_8bit,
)
from rawmeta.errors import RawReadError

from ..conftest import RAW_DIR, REPO, require_tool
from ..helpers import smooth_image

#: An exposure history item as darktable 4.2 writes it (exposure +0.7 EV, compensate exposure bias on).
EXPOSURE = "00000000000080b93333333f00004842000080c001000000"
#: darktable 4.2's default white balance for the Canon D30's CRW, and the one its restored DNG carries (LibRaw's).
CRW_WB, DNG_WB = (1.0022, 1.0, 2.6929), (2.1, 1.0, 1.06)


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


class FakeDarktable:
    """A stand-in for ``render_darktable``: a file's default history has its white balance (:data:`DNG_WB` for a
    restored DNG, :data:`CRW_WB` else) and exposure +0.7 EV, and a render is one smooth scene developed by the
    history's white balance and exposure, so that the same history renders the same whatever the file."""

    def __init__(self) -> None:
        self.calls: list[tuple[Path, str | None]] = []
        self.scene = smooth_image(48, 64, seed=5).astype(np.float32) / 255 / 4  # camera RGB, linear

    def __call__(self, path: Path, sidecar: str | None = None) -> DarktableRender:
        self.calls.append((Path(path), sidecar))
        balance = DNG_WB if Path(path).name.endswith(".restored.dng") else CRW_WB
        xmp = sidecar or history(("temperature", "3", struct.pack("<4f", *balance, math.nan).hex()),
                                 ("exposure", "6", EXPOSURE))
        params = {i.operation: i.params for i in darktable_history(xmp)}
        wb, (ev,) = struct.unpack_from("<3f", params["temperature"]), struct.unpack_from("<f", params["exposure"], 8)
        linear = self.scene * np.array(wb, np.float32) * 2 ** (ev - 0.7)
        return DarktableRender(rt.SRGB.encode(linear).astype(np.uint16) * 257, xmp)


def test_darktable_at_white_balance_sets_it_for_every_edit_of_that_file(monkeypatch):
    fake = FakeDarktable()
    monkeypatch.setattr(rt, "render_darktable", fake)
    original, restored = Path("shot.crw"), Path("shot.restored.dng")
    darktable = rt.Darktable()
    default = rt.judge(darktable, original, restored)
    assert darktable.white_balance(original) == pytest.approx(CRW_WB)
    matched = darktable.at_white_balance(original, darktable.white_balance(restored))
    same_wb = rt.judge(matched, original, restored)
    assert darktable.balances == {} and matched.sidecar(restored, rt.EDITS[0]) is None
    for edit in rt.EDITS:
        params = {i.operation: i.params for i in darktable_history(matched.sidecar(original, edit))}
        assert struct.unpack_from("<3f", params["temperature"]) == pytest.approx(DNG_WB)
        assert struct.unpack_from("<f", params["exposure"], 8)[0] == pytest.approx(0.7 + edit.ev)
        cell = same_wb[edit.label]  # the same developer with the same settings renders the same
        assert cell.edit_applied and cell.dng is not None and cell.dng.psnr == math.inf, cell
    assert default[rt.EDITS[0].label].dng.psnr < 25  # at darktable's defaults the colours differ
    # The DNG is rendered once an edit; the original at its defaults and again at the DNG's white balance.
    assert Counter(path for path, _ in fake.calls) == {original: 6, restored: 3}


def test_bench_file_judges_darktable_at_the_dngs_white_balance_where_its_defaults_differ(raw, tmp_path, monkeypatch):
    monkeypatch.setattr(rt, "render_darktable", FakeDarktable())
    row = rt.bench_file(raw, tmp_path, "cpu")
    assert row.darktable_wb == (pytest.approx(CRW_WB), pytest.approx(DNG_WB))
    assert rt.white_balances_differ(row.darktable_wb)
    assert row.darktable is not None and row.darktable_same_wb is not None and row.darktable_note == ""
    assert row.darktable[rt.EDITS[0].label].dng.psnr < 25
    assert all(c.edit_applied and c.dng.psnr == math.inf for c in row.darktable_same_wb.values())
    # The targets are judged at the DNG's white balance; at darktable's defaults they would be missed.
    assert not any("darktable" in m for m in rt.missed_targets(row))
    defaults = dataclasses.replace(row, darktable_same_wb=None, darktable_wb=(DNG_WB, DNG_WB))
    assert "darktable same frame and >= 36 dB" in rt.missed_targets(defaults)
    text = rt.markdown([row], [], "rawmeta bench --section roundtrip", "cpu", darktable=True)
    line = next(line for line in text.splitlines() if line.startswith(f"| {row.name} |")).split(" | ")
    marked = [f"{rt._cell(row.darktable_same_wb[e.label])} ‡" for e in rt.EDITS]  # as shot: the defaults' first
    assert line[-4:-1] == [f"{rt._cell(row.darktable[rt.EDITS[0].label])}; {marked[0]}", *marked[1:]]
    assert f"- ‡ `{row.name}`, darktable: its default white balance differs, original (1.00, 1.00, 2.69)" in text
    plain = rt.markdown([defaults], [], "rawmeta bench --section roundtrip", "cpu", darktable=True)
    assert "‡ `" not in plain and " ‡ |" not in plain


@pytest.mark.slow
@require_tool("darktable-cli")
def test_darktable_judges_the_d30_at_the_dngs_white_balance(tmp_path):
    """darktable reads another white balance from the D30's CRW than LibRaw's, which the DNG carries."""
    raw = RAW_DIR / "canon_eos_d30.crw"
    if not raw.exists():
        pytest.skip(f"{raw.name} is not in {RAW_DIR}")
    row = rt.bench_file(raw, tmp_path, "cpu")
    assert rt.white_balances_differ(row.darktable_wb) and row.darktable_same_wb is not None, row
    shot = row.darktable_same_wb[rt.EDITS[0].label]
    assert shot.dng is not None and shot.dng.psnr > row.darktable[rt.EDITS[0].label].dng.psnr + 10, row
    for edit in rt.EDITS[1:]:  # in darktable too, the DNG takes an exposure edit better than the JPEG
        cell = row.darktable_same_wb[edit.label]
        assert cell.edit_applied and cell.dng is not None and cell.dng.psnr > cell.jpeg_psnr, cell
