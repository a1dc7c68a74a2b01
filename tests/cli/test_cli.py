"""The command line as a user meets it: exit codes, one-line errors, outputs (in-process through CliRunner)."""
from __future__ import annotations

import io
import json
import os
import shutil
import stat
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from rawmeta.format import container
from rawmeta.format import segments as js

from ..helpers import assert_one_line_error, run, snapshot


def test_embed_inspect_strip_round_trip(work):
    folder, dng, jpg = work
    original = jpg.read_bytes()
    out = run("embed", dng, jpg, "--budget", "40", "--objective", "raw", check_rc=0).stdout
    assert out.startswith("embedded ") and "refinement blocks" in out and "expected restore PSNR" in out
    info = json.loads(run("inspect", jpg, "--json", check_rc=0).stdout)
    assert info["integrity"] == "ok" and info["image_data"] == "matches" and info["format_version"] == 10
    assert 0 < info["peak"] <= 1
    assert info["camera"]["make"] == "rawmeta" and info["camera"]["cfa"] == "RGGB"
    assert info["budget_percent"] == 40 and info["percent_of_jpeg"] <= 40
    assert info["added_bytes"] == len(jpg.read_bytes()) - len(original)
    assert info["refinement"]["samples"] > 0 and info["expected_restore_psnr"] > 20
    text = run("inspect", jpg, check_rc=0).stdout
    assert f"stride {info['grid']['stride']}" in text and "integrity    ok" in text and "(budget 40 %)" in text
    assert f"peak {info['peak']:.4f} of white" in text
    stride = info["grid"]["stride"]
    assert info["grid"]["alternate"] == ("alternating rows and columns" in text) == (stride % 2 == 0 and stride >= 4)
    assert "extra samples in 16 x 16 blocks" in text and "measured at embed" in text
    assert "(the camera's as-shot balance, read from the RAW)" in text
    assert info["alignment"]["kind"] == "same grid" and info["alignment"]["match"] > 0.9
    assert "alignment    the RAW's own grid (128 x 96), match 0." in text


def test_the_default_embed_is_a_plain_grid_that_fits_the_budget(work):
    folder, dng, jpg = work
    out = run("embed", dng, jpg, "--budget", "40", check_rc=0).stdout
    assert out.startswith("embedded ") and "8-bit" in out and "refinement blocks" not in out
    info = json.loads(run("inspect", jpg, "--json", check_rc=0).stdout)
    assert info["sample_bits"] == 8 and info["refinement"]["samples"] == 0 and info["percent_of_jpeg"] <= 40
    assert info["expected_restore_psnr"] is None


def test_default_embed_keeps_to_the_default_budget(tmp_path):
    from rawmeta.benchmarks.synthetic import write_sample
    from rawmeta.embed.options import DEFAULT_BUDGET

    dng, jpg = write_sample(tmp_path, height=240, width=320)  # 5 % of the tiny pair's JPEG is under 500 bytes
    original = len(jpg.read_bytes())
    run("embed", dng, jpg, check_rc=0)
    info = json.loads(run("inspect", jpg, "--json", check_rc=0).stdout)
    assert info["budget_percent"] == DEFAULT_BUDGET
    assert len(jpg.read_bytes()) - original <= DEFAULT_BUDGET / 100 * original


def test_budget_below_any_payload_is_refused(work):
    folder, dng, jpg = work
    before = snapshot(folder)
    proc = run("embed", dng, jpg, "--quiet")  # the default 5 % of a 9 KB JPEG; a loaded machine's progress line aside
    assert_one_line_error(proc, 2, f"{jpg}: no payload fits")
    assert "--budget" in proc.stderr
    assert snapshot(folder) == before


def test_embed_to_output_leaves_input_alone(work):
    folder, dng, jpg = work
    original = jpg.read_bytes()
    run("embed", dng, jpg, "-o", folder / "out.jpg", "--stride", "4", "--bits", "16", check_rc=0)
    assert jpg.read_bytes() == original
    info = json.loads(run("inspect", folder / "out.jpg", "--json", check_rc=0).stdout)
    assert info["grid"]["stride"] == 4 and info["sample_bits"] == 16
    run("strip", folder / "out.jpg", "-o", folder / "back.jpg", check_rc=0)
    assert (folder / "back.jpg").read_bytes() == original


def test_in_place_writes_keep_the_file_s_permissions(work):
    folder, dng, jpg = work
    os.chmod(jpg, 0o640)
    run("embed", dng, jpg, "--stride", "8", "--bits", "12", check_rc=0)
    assert stat.S_IMODE(jpg.stat().st_mode) == 0o640
    os.chmod(jpg, 0o604)
    run("strip", jpg, check_rc=0)
    assert stat.S_IMODE(jpg.stat().st_mode) == 0o604
    assert sorted(os.listdir(folder)) == ["shot.jpg"]


def test_help_for_every_command():
    for cmd in ("embed", "inspect", "strip", "bench", "sample"):
        assert run(cmd, "--help", check_rc=0).stdout.startswith("Usage:")


def test_top_level_help_has_examples_and_whole_summaries():
    from rawmeta.cli.main import main

    text = run("--help", check_rc=0).stdout
    assert "Examples:\n    rawmeta embed " in text
    listing = text.split("Commands:\n", 1)[1].splitlines()
    named = {line.split()[0] for line in listing if line.startswith("  ") and not line.startswith("   ")}
    assert named == set(main.commands)
    for line in listing:  # click cuts a summary it finds too long with "..."
        assert not line.rstrip().endswith("..."), line
        assert len(line) <= 80, line


def bad_jpegs(embedded: bytes) -> dict[str, tuple[bytes, int, str]]:
    """Damaged versions of a JPEG that carries a payload, with the exit code and words expected."""
    seg = container.ours(js.parse(embedded))[0]
    flipped = bytearray(embedded)
    flipped[seg.start + 60] ^= 0x40
    return {
        "empty": (b"", 3, "bad.jpg is empty, not a JPEG"),
        "png": (b"\x89PNG\r\n\x1a\n" + b"\0" * 64, 3, "bad.jpg is a PNG image, not a JPEG"),
        "text": (b"hello world\n", 3, "bad.jpg is not a JPEG"),
        "truncated": (embedded[: len(embedded) // 2], 3, "bad.jpg is cut short"),
        "no EOI": (embedded[:-2], 3, "bad.jpg is cut short"),
        "flipped payload byte": (bytes(flipped), 7, "bad.jpg's rawmeta data is corrupt"),
    }


@pytest.fixture
def embedded(work) -> bytes:
    folder, dng, jpg = work
    run("embed", dng, jpg, "-o", folder / "emb.jpg", "--budget", "40", check_rc=0)
    data = (folder / "emb.jpg").read_bytes()
    (folder / "emb.jpg").unlink()
    return data


@pytest.mark.parametrize("case", ["empty", "png", "text", "truncated", "no EOI", "flipped payload byte"])
@pytest.mark.parametrize("command", ["inspect", "strip"])
def test_bad_jpeg_gives_one_line_and_leaves_file_alone(work, embedded, case, command):
    folder, dng, jpg = work
    data, rc, words = bad_jpegs(embedded)[case]
    if case == "flipped payload byte" and command == "strip":
        rc, words = 0, "removed"  # strip needs no intact payload: it removes what is there
    bad = folder / "bad.jpg"
    bad.write_bytes(data)
    before = snapshot(folder)
    proc = run(command, bad)
    if rc == 0:
        assert proc.returncode == 0 and words in proc.stdout
        return
    assert_one_line_error(proc, rc, words)
    assert snapshot(folder) == before


@pytest.mark.parametrize("case", ["empty", "png", "truncated", "no EOI"])
def test_embed_refuses_bad_jpeg(work, embedded, case):
    folder, dng, jpg = work
    data, rc, words = bad_jpegs(embedded)[case]
    bad = folder / "bad.jpg"
    bad.write_bytes(data)
    before = snapshot(folder)
    assert_one_line_error(run("embed", dng, bad), rc, words)
    assert snapshot(folder) == before


def test_embed_refuses_unreadable_raw(work):
    folder, _, jpg = work
    fake = folder / "fake.dng"
    fake.write_bytes(b"II*\0garbage" * 10)
    before = snapshot(folder)
    assert_one_line_error(run("embed", fake, jpg), 4, "cannot read RAW")
    assert_one_line_error(run("embed", folder / "none.cr2", jpg), 4, "no such file")
    assert snapshot(folder) == before


def test_embed_aligns_a_resized_jpeg_and_inspect_shows_the_map(tmp_path):
    from rawmeta.benchmarks.synthetic import write_sample

    dng, jpg = write_sample(tmp_path, height=240, width=320)
    small = tmp_path / "small.jpg"
    Image.open(jpg).resize((160, 120), Image.Resampling.LANCZOS).save(small, quality=95)
    out = run("embed", dng, small, "--stride", "4", check_rc=0).stdout
    assert "aligned: as stored, 2.00" in out
    info = json.loads(run("inspect", small, "--json", check_rc=0).stdout)["alignment"]
    assert info["kind"] == "mapped" and info["orientation"] == 1 and info["match"] > 0.9
    assert info["scale"] == [pytest.approx(2, abs=0.005)] * 2 and info["raw_size"] == {"width": 320, "height": 240}
    # Pillow's resize puts JPEG pixel u at RAW 2u + 0.5 (this smooth synthetic scene aligns to about 0.3 px).
    assert info["matrix"] == [[pytest.approx(2, abs=0.005), 0, pytest.approx(0.5, abs=0.3)],
                              [0, pytest.approx(2, abs=0.005), pytest.approx(0.5, abs=0.3)]]
    assert "alignment    as stored, 2.00" in run("inspect", small, check_rc=0).stdout


def test_force_same_grid_refuses_a_size_mismatch(work):
    folder, dng, jpg = work
    small = folder / "small.jpg"
    Image.open(jpg).resize((64, 48)).save(small, quality=90)
    before = snapshot(folder)
    assert_one_line_error(run("embed", dng, small, "--force-same-grid"), 5,
                          "the RAW gives 128 x 96 pixels, the JPEG has 64 x 48")
    assert snapshot(folder) == before


def test_embed_refuses_a_jpeg_of_another_picture(work):
    folder, dng, jpg = work
    other = folder / "other.jpg"
    rng = np.random.default_rng(5)
    Image.fromarray(rng.integers(0, 256, (96, 128, 3), dtype=np.uint8)).save(other, quality=90)
    before = snapshot(folder)
    proc = run("embed", dng, other, "--stride", "4")
    assert_one_line_error(proc, 5, "the JPEG does not show the RAW's picture (match ")
    assert snapshot(folder) == before


def test_grayscale_jpeg_is_refused(work):
    folder, dng, jpg = work
    grey = folder / "grey.jpg"
    Image.open(jpg).convert("L").save(grey)
    assert_one_line_error(run("embed", dng, grey), 3, "colour")


def test_no_payload(work):
    _, _, jpg = work
    assert_one_line_error(run("inspect", jpg), 6, "no rawmeta data")
    assert_one_line_error(run("strip", jpg), 6, "no rawmeta data")


def test_pillow_resave_loses_payload_clearly(work):
    folder, dng, jpg = work
    run("embed", dng, jpg, "--budget", "40", check_rc=0)
    resaved = folder / "resaved.jpg"
    Image.open(jpg).save(resaved, quality=95)
    assert_one_line_error(run("inspect", resaved), 6, "no rawmeta data")


def test_unknown_version_is_named(work):
    from tests.helpers import patch_header

    folder, dng, jpg = work
    run("embed", dng, jpg, "--budget", "40", check_rc=0)
    data = jpg.read_bytes()
    payload = container.extract(data).payload
    future = container.attach(data, patch_header(payload, ">H", 4, 11))
    fut = folder / "future.jpg"
    fut.write_bytes(future)
    assert_one_line_error(run("inspect", fut), 7, "format version 11")


def test_re_encoded_jpeg_warns(work):
    folder, dng, jpg = work
    run("embed", dng, jpg, "--budget", "40", check_rc=0)
    data = jpg.read_bytes()
    buf = io.BytesIO()
    Image.open(io.BytesIO(data)).save(buf, "JPEG", quality=80)
    moved = container.attach(buf.getvalue(), container.extract(data).payload)
    (folder / "moved.jpg").write_bytes(moved)
    proc = run("inspect", folder / "moved.jpg", check_rc=0)
    assert "re-encoded" in proc.stdout and "warning" in proc.stderr


def test_unwritable_output(work):
    folder, dng, jpg = work
    before = snapshot(folder)
    assert_one_line_error(run("embed", dng, jpg, "-o", folder / "no" / "such" / "dir.jpg"), 8, "cannot write")
    assert snapshot(folder) == before


def test_bad_options_exit_2(work):
    _, dng, jpg = work
    proc = run("embed", dng, jpg, "--stride", "0")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_bench_writes_a_report(tmp_path, pair):
    from rawmeta.benchmarks.synthetic import write_sample

    raws = tmp_path / "raws"
    raws.mkdir()
    shutil.copy(pair[0], raws / "tiny.dng")
    (raws / "notes.txt").write_text("ignored: not a RAW extension")
    (raws / "broken.nef").write_bytes(b"garbage" * 100)
    more = tmp_path / "more"
    write_sample(more, height=240, width=320)
    shutil.copytree(raws, more, dirs_exist_ok=True)
    report = tmp_path / "B.md"
    run("bench", "--raw-dir", more, "--output", report, "--repeat", "1", "--section", "embed", check_rc=0)
    text = report.read_text()
    row = next(line for line in text.splitlines() if line.startswith("| sample.dng | rawmeta Synthetic 12-bit | 320 x 240 |"))
    assert float(row.split("|")[9]) <= 5.0  # % of the JPEG, within the default budget
    skipped = text.split("## Skipped")[-1]
    assert "broken.nef" in skipped and "tiny.dng: no payload fits" in skipped and "<!-- bench:restore -->" not in text
    proc = run("bench", "--raw-dir", raws, "--output", report, "--section", "restore", "--paper-patches", "1",
               check_rc=0)
    text = report.read_text()
    assert row in text  # the embed section is kept
    whole = next(line for line in text.splitlines() if line.startswith("| libraw | tiny.dng | 128 x 96 | 0, 0 | 1 |"))
    cells = [c.strip() for c in whole.split("|")[1:-1]]
    assert len(cells) == 8 and 15 < float(cells[5]) < 80 and 0 < float(cells[6]) <= 1
    crop = next(line for line in text.splitlines() if line.startswith("| libraw | tiny.dng | 0:96, 0:128 (1 patches) |"))
    cells = [c.strip() for c in crop.split("|")[1:-1]]
    assert len(cells) == 13 and cells[-1].endswith("x")
    assert all(15 < float(cells[k]) < 80 for k in (3, 6, 9))  # fast, RBF and paper PSNR on the crop
    assert "Means, libraw (1 files)" in proc.stdout
    # RawTherapee refuses images this small, and may not be installed: either way the regime is skipped with
    # its reason (real RAWs: test_real_raws)
    why = "failed" if shutil.which("rawtherapee-cli") else "is not installed"
    assert f"tiny.dng (rawtherapee): rawtherapee-cli {why}" in proc.stdout
    assert "broken.nef (libraw)" in proc.stdout
    figure = Image.open(tmp_path / "restore_psnr_time.png")
    assert figure.format == "PNG" and figure.size == (720, 480)
    assert_one_line_error(run("bench", "--raw-dir", tmp_path / "none"), 2, "does not exist")


def test_a_version_1_file_still_inspects_and_restores(tmp_path):
    """tests/data/v1_payload.jpg was written by rawmeta's format-version-1 writer."""
    from pathlib import Path

    old = Path(__file__).parent.parent / "data" / "v1_payload.jpg"
    info = json.loads(run("inspect", old, "--json", check_rc=0).stdout)
    assert info["format_version"] == 1 and info["sample_bits"] == 12 and info["refinement"]["samples"] == 0
    assert info["budget_percent"] is None and info["expected_restore_psnr"] is None and info["highlights"]
    run("restore", old, tmp_path / "r.npy", "--quiet", check_rc=0)
    assert (tmp_path / "r.npy").exists()


def test_the_jpeg_s_orientation_tag_is_what_the_restored_dng_carries(work):
    folder, dng, jpg = work
    tagged = folder / "tagged.jpg"
    exif = Image.Exif()
    exif[0x0112] = 8
    Image.open(jpg).save(tagged, quality=95, exif=exif)
    run("embed", dng, tagged, "--stride", "4", check_rc=0)
    info = json.loads(run("inspect", tagged, "--json", check_rc=0).stdout)
    assert info["alignment"]["kind"] == "same grid" and info["camera"]["orientation"] == 8
    run("restore", tagged, folder / "r.dng", "--quiet", check_rc=0)
    import rawpy

    with rawpy.imread(str(folder / "r.dng")) as restored:
        assert restored.sizes.flip == 5  # LibRaw's flip code for EXIF 8


def test_commands_that_only_read_payloads_start_without_torch():
    # torch's import takes about 2 s; inspect, strip, verify and the batch workers do not need it
    code = ("import sys, rawmeta.cli.main, rawmeta, rawmeta.embed.report, rawmeta.batch.tasks, rawmeta.batch.runner; "
            "print('torch' in sys.modules); import rawmeta.restore.patchwise; print(callable(rawmeta.reconstruct))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "True"]
