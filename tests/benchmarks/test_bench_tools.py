"""Benchmark tools: the RawTherapee crop search, the plots, the 12/24 MP restore run, the JPEG XL comparison."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from rawmeta.benchmarks import plot
from rawmeta.benchmarks import rate_distortion as rd_bench
from rawmeta.benchmarks import scale as scale_bench
from rawmeta.benchmarks.restore import common_area

from ..conftest import require_tool
from ..helpers import smooth_image


def test_common_area_finds_the_crop_offset_despite_a_different_tone_curve():
    reference = smooth_image(200, 260, seed=3)
    noise = np.random.default_rng(0).integers(0, 40, reference.shape)
    reference = np.clip(reference.astype(int) + noise, 0, 255).astype(np.uint8)
    other = reference[7:191, 3:250].astype(np.float64) / 255
    developed = (np.clip(other ** 0.7 * 1.1, 0, 1) * 65535).astype(np.uint16)
    assert common_area(reference, developed) == (7, 3)


def test_scatter_png(tmp_path):
    target = tmp_path / "p.png"
    plot.scatter_png(target, {"a": [(0.5, 40.0), (100.0, 45.0)], "b": [(3.0, 41.5)]}, "t", "x", "y")
    img = Image.open(target)
    assert img.format == "PNG" and img.size == (720, 480)
    colours = {c for _, c in img.getcolors(1 << 16)}
    assert plot.COLOURS[0] in colours and plot.COLOURS[1] in colours
    with pytest.raises(ValueError, match="nothing"):
        plot.scatter_png(target, {"a": []}, "t", "x", "y")


def test_scale_bench_measures_a_restore_process(pair, tmp_path):
    row = scale_bench.bench_size(pair[0], "tiny", 200, 150, "cpu", tmp_path)
    assert (row.width, row.height) == (200, 150) and row.seconds > 0
    assert 50 < row.peak_rss_mb < 4096 and row.psnr > 20
    assert scale_bench.mirror_tile(np.arange(6.0).reshape(1, 2, 3), 2, 3)[:, :, 0].tolist() == [[0, 3, 3], [0, 3, 3]]


def test_scatter_png_lines_and_reference(tmp_path):
    target = tmp_path / "l.png"
    plot.scatter_png(target, {"a": [(5.0, 3.0), (1.0, 8.0), (30.0, 1.0)]}, "t", "x", "y", lines=True, hline=2.0)
    img = np.asarray(Image.open(target))
    line_pixels = (img == plot.COLOURS[0]).all(-1).sum()
    assert line_pixels > 400  # the joined line, not only three markers
    assert ((img == (128, 128, 128)).all(-1)).any()  # the dashed reference line


def test_jxl_distance_interpolates_size_log_log():
    curve = [(0.5, 4000), (1.0, 2000), (2.0, 1000)]
    assert rd_bench.distance_for(curve, 2000) == pytest.approx(1.0)
    assert rd_bench.distance_for(curve, 1414.2) == pytest.approx(2**0.5, rel=1e-3)


def test_ppm_round_trip(tmp_path):
    rgb = np.random.default_rng(0).random((5, 7, 3)).astype(np.float32)
    rd_bench._write_ppm16(tmp_path / "a.ppm", rgb)
    assert np.abs(rd_bench._read_ppm16(tmp_path / "a.ppm") - rgb).max() <= 0.5 / 65535 + 1e-7


@require_tool("cjxl")
def test_rate_distortion_bench_on_the_synthetic_sample(tmp_path):
    from rawmeta.benchmarks.synthetic import write_sample

    dng, _ = write_sample(tmp_path, height=240, width=320)
    # JPEG XL cannot go below about 8.5 % of this small JPEG, so rawmeta's budgets must leave it room to match.
    rows = rd_bench.bench_file(dng, (15.0, 40.0), "cpu", log=lambda m: None)
    assert [r.budget for r in rows] == [15.0, 40.0]
    for r in rows:
        assert r.rawmeta.percent <= r.budget and abs(r.jxl.percent - r.rawmeta.percent) < 0.35 * r.rawmeta.percent
        assert 20 < r.rawmeta.psnr < 80 and 15 < r.jxl.psnr < 80 and r.rawmeta.edit_psnr > 15 and r.jxl.edit_psnr > 10
        assert 0 < r.rawmeta.delta_e < 20 and 0 < r.jxl.delta_e < 20 and 15 < r.rawmeta.render_psnr < 80
    assert rows[1].rawmeta.psnr > rows[0].rawmeta.psnr and rows[1].jxl.psnr > rows[0].jxl.psnr
    assert rows[1].jxl.delta_e < rows[0].jxl.delta_e  # more bytes, a closer developed image
    text = rd_bench.markdown(rows, [], "rawmeta bench --section rd", "rd.png")
    assert "| 15 |" in text and "Target met at" in text and "![rawmeta minus JPEG XL](rd.png)" in text
    assert f"| {rows[0].rawmeta.delta_e:.2f} / {rows[0].jxl.delta_e:.2f} |" in text
    assert "Developed view: rawmeta's ΔE as shot is lower at" in text


def test_align_bench_cases_carry_their_true_maps():
    from rawmeta.benchmarks import align as align_bench

    base = smooth_image(60, 90, seed=2)
    base_map = np.array([[1.0, 0, 4], [0, 1, 3]])  # the base starts at RAW pixel (4, 3)
    raw = np.zeros((70, 100, 3), np.uint8)
    raw[3:63, 4:94] = base
    cases = {case: (stored, tag, known) for case, stored, tag, known in align_bench.derived_cases(base, base_map)}
    assert set(cases) == {"as rendered", "rotated 90", "rotated 180", "rotated 270", "Orientation tag 6", "50 %",
                          "1/3", "cropped 10 % left and top"}
    for case in ("as rendered", "rotated 90", "rotated 180", "rotated 270", "cropped 10 % left and top"):
        stored, _, known = cases[case]
        v, u = np.mgrid[0 : stored.shape[0], 0 : stored.shape[1]]
        x = (known[0, 0] * u + known[0, 1] * v + known[0, 2]).astype(int)
        y = (known[1, 0] * u + known[1, 1] * v + known[1, 2]).astype(int)
        assert np.array_equal(stored, raw[y, x]), case
    small, _, known = cases["50 %"]
    assert small.shape == (30, 45, 3) and np.allclose(known, [[2, 0, 4.5], [0, 2, 3.5]])
    assert cases["Orientation tag 6"][1] == 6
    assert Image.open(io.BytesIO(align_bench.encode(base, 6))).getexif()[0x0112] == 6


def test_align_bench_map_error_is_rms_raw_pixels():
    from rawmeta.benchmarks import align as align_bench

    known = np.array([[1.0, 0, 0], [0, 1, 0]])
    assert align_bench.map_error(known + [[0, 0, 0.3], [0, 0, 0.4]], known, 50, 80) == pytest.approx(0.5)


def test_align_bench_reports_a_case_whose_budget_fits_no_payload():
    from rawmeta.benchmarks import align as align_bench

    def row(case: str, psnr: float | None, found: str) -> align_bench.AlignRow:
        return align_bench.AlignRow("x.dng", case, 540, 304, True, 0.0, 0.99, found, 0.1, psnr, 51.55)

    rows = [row("LibRaw: same grid (fast path)", 51.55, "the RAW's own grid"),
            row("LibRaw: as rendered", None, "as stored; embed refused: no payload fits 547 bytes"),
            row("LibRaw: rotated 90", 49.1, "rotated")]
    text = align_bench.markdown(rows, [], "rawmeta bench --section align")
    assert "| LibRaw: as rendered | 540 x 304 | 0.000 | 0.990 | 0.1 | - | 51.55 | as stored; embed refused" in text


def test_fullres_bench_scores_the_three_restores(pair):
    from rawmeta.benchmarks import fullres
    from rawmeta.benchmarks.render import render_srgb
    from rawmeta.io.rawfile import read_raw

    raw = read_raw(pair[0])
    jpeg = fullres.reduced(render_srgb(pair[0]), 2)
    row, (full, _) = fullres.bench_jpeg(raw, "pair", "1/2", jpeg, 40.0, "cpu", rbf=True)
    assert full.rgb.shape == raw.rgb.shape and row.jpeg_size == (48, 64) and row.raw_size == (96, 128)
    assert min(row.full, row.full_crop, row.rbf_crop, row.binned_up, row.full_at_jpeg) > 12  # a tiny image
    assert row.full_bytes > row.binned_bytes > 0
    assert 0 < row.full_de.full < 30 and 0 < row.binned_de.full < 30 and row.full_de.screen == row.full_de.full
    text = fullres.markdown([row], [fullres.SameSize("pair", 40.0, 1.0)], "cmd", None)
    assert "| pair | 1/2 | 40 | 64 x 48 |" in text and "## Full resolution" in text and "Left out" not in text
    assert f"| {row.full_de.full:.2f} / {row.binned_de.full:.2f} |" in text and "lower ΔE as shot" in text
    unfit = "pair, 1/4, budget 5: no payload fits 976 bytes"
    assert f"- {unfit}" in fullres.markdown([row], [fullres.SameSize("pair", 40.0, 1.0)], "cmd", None, [unfit])
