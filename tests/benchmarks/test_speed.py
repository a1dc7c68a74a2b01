"""The speed section: its ratios, targets and Markdown on made-up rows; its processes on the sample and a fake checkout.

No test asserts on a time: the machine is shared, so only that times were taken.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rawmeta.benchmarks import harness, speed
from rawmeta.benchmarks.harness import Timing
from rawmeta.benchmarks.render import write_render
from rawmeta.benchmarks.sections import SECTIONS
from rawmeta.benchmarks.speed import FolderRow, ImageRow, Side, SpeedResult
from rawmeta.errors import UsageError

from ..conftest import REPO


def side(embed: float, restore: float, psnr: float = 40.0) -> Side:
    return Side(Timing(embed, 500.0), Timing(restore, 400.0), psnr)


def row(name: str, decode: float, current: Side, baseline: Side | None = None) -> ImageRow:
    return ImageRow(name, 3000, 2000, Timing(decode, 120.0), current, baseline)


def test_ratios_are_of_the_current_code_against_decode_and_restore():
    r = row("a.nef", 0.5, side(2.0, 1.0))
    assert r.embed_per_decode == 4.0 and r.restore_per_decode == 2.0 and r.embed_per_restore == 2.0
    assert FolderRow(3, Timing(2.0, 100.0), Timing(9.0, 600.0)).embed_per_decode == 4.5
    assert speed.speedup(Timing(3.0, 1.0), Timing(2.0, 1.0)) == 1.5


def test_median_timing_takes_each_median_on_its_own():
    runs = [Timing(1.0, 300.0), Timing(5.0, 100.0), Timing(2.0, 200.0)]
    assert harness.median_timing(runs) == Timing(2.0, 200.0)


def test_targets_say_met_or_missed_with_the_figure():
    result = SpeedResult(
        rows=[row("a.nef", 1.0, side(3.0, 2.0, 40.00), side(4.0, 3.0, 40.02)),
              row("b.crw", 1.0, side(3.0, 2.0, 38.00), side(4.0, 3.0, 38.07))],
        folder=FolderRow(2, Timing(2.0, 100.0), Timing(11.0, 600.0), Timing(13.0, 600.0)),
        big=[row("12 MP", 1.0, side(5.0, 12.0)), row("24 MP", 1.0, side(13.0, 24.0))],
        big_source=Path("b.crw"), skipped=[])
    lines = speed.targets(result)
    assert lines[0] == ("- Folder embed (1 job) at most 6x one LibRaw process decoding the same 2 RAWs: 5.50x, "
                        "**met** (baseline 6.50x).")
    assert lines[1] == "- Embed at most 0.5 of the restore at 12 MP: 0.42, **met**."
    assert lines[2] == "- Embed at most 0.5 of the restore at 24 MP: 0.54, **missed**."
    assert lines[3] == ("- Restore PSNR the baseline's within 0.05 dB, each code's own payload: largest difference "
                        "-0.070 dB (b.crw), **missed**.")
    no_baseline = SpeedResult([row("a.nef", 1.0, side(3.0, 2.0))], None, [], None, [])
    assert speed.targets(no_baseline) == ["- Restore PSNR the baseline's within 0.05 dB: not measured (no `--baseline`)."]


def test_markdown_tables_and_the_baseline_columns(tmp_path):
    codes = [speed.Code("current", tmp_path / "a"), speed.Code("baseline", tmp_path / "b")]
    result = SpeedResult(
        rows=[row("a.nef", 0.5, side(2.0, 1.0, 40.0), side(3.0, 1.5, 40.01))],
        folder=FolderRow(1, Timing(0.5, 120.0), Timing(2.5, 600.0), Timing(3.5, 700.0)),
        big=[row("12 MP", 1.0, side(5.0, 12.0, 45.0), side(10.0, 12.0, 45.0))],
        big_source=Path("/x/a.nef"), skipped=["c.kdc: no payload fits"])
    text = speed.markdown(result, "rawmeta bench --section speed --baseline B", 3, "cpu", codes)
    assert text.startswith("## Speed: embed and restore as processes, against LibRaw's decode and a baseline\n\n"
                           "Written by `rawmeta bench --section speed --baseline B` on ")
    assert "Figures are medians of 3 rounds." in text and "restores the JPEG it embedded" in text
    assert f"Baseline: `{tmp_path / 'b'}` (not a git checkout)." in text
    assert "| a.nef | 3000 x 2000 | 0.50 | 120 | 2.00 | 500 | 1.00 | 400 | 4.00 | 2.00 | 40.00 |" in text
    assert "### A folder of 1 pair\n" in text and "| rawmeta embed FOLDER | 2.50 | 600 | 5.00 |" in text
    assert "| rawmeta embed FOLDER, baseline | 3.50 | 700 | 7.00 |" in text
    assert "made from `a.nef`" in text
    assert "| 12 MP | 3000 x 2000 | 1.00 | 120 | 5.00 | 500 | 12.00 | 400 | 0.42 | 45.00 |" in text
    assert ("| a.nef | 2.00 | 3.00 | 1.50 | 500 | 500 | 1.00 | 1.50 | 1.50 | 400 | 400 | 40.00 | 40.01 | -0.010 |"
            in text)
    assert "| 12 MP | 5.00 | 10.00 | 2.00 |" in text
    assert "Targets (issues #21 and #34):" in text and "- c.kdc: no payload fits" in text
    assert "On a busy computer" not in text  # no loaded runs
    alone = speed.markdown(SpeedResult([row("a.nef", 0.5, side(2.0, 1.0))], None, [], None, []), "cmd", 1, "auto",
                           codes[:1])
    assert "baseline" not in alone.split("Targets")[0]
    assert "Against the baseline" not in alone and "12 and 24 MP" not in alone and "A folder" not in alone


def test_runs_beside_busy_loops_are_told_against_the_idle_medians(tmp_path, monkeypatch):
    monkeypatch.setattr(speed, "CORES", 2)
    monkeypatch.setattr(speed, "LOADS", (1, 2))
    loaded = (speed.Loaded(1, Timing(2.8, 500.0), Timing(1.2, 400.0)),
              speed.Loaded(2, Timing(5.2, 500.0), Timing(2.6, 400.0)))
    current = speed.Side(Timing(2.0, 500.0), Timing(1.0, 400.0), 40.0, loaded)
    base = speed.Side(Timing(2.0, 500.0), Timing(1.0, 400.0), 40.0,
                      (speed.Loaded(1, Timing(2.0, 500.0), Timing(3.0, 400.0)),
                       speed.Loaded(2, Timing(4.0, 500.0), Timing(4.0, 400.0))))
    result = SpeedResult([row("a.nef", 0.5, current, base)], None, [], None, [])
    codes = [speed.Code("current", tmp_path / "a"), speed.Code("baseline", tmp_path / "b")]
    text = speed.markdown(result, "cmd", 1, "cpu", codes)
    assert "### On a busy computer" in text
    assert "| a.nef | 1 | 2.80 (1.40x) | 1.20 (1.20x) | 2.00 (1.00x) | 3.00 (3.00x) |" in text
    assert "| a.nef | 2 | 5.20 (2.60x) | 2.60 (2.60x) | 4.00 (2.00x) | 4.00 (4.00x) |" in text
    lines = speed.targets(result)
    assert ("- Embed and restore beside 1 busy loop at most 1.5x their idle time, every image: 2 of 2 runs, the "
            "slowest 1.40x (a.nef), **met**.") in lines
    assert ("- Embed and restore beside 2 busy loops at most 2.5x their idle time, every image: 0 of 2 runs, the "
            "slowest 2.60x (a.nef), **missed**.") in lines


def test_busy_loops_spin_while_the_block_runs_and_stop_after():
    with speed.busy_loops(2) as loops:
        assert len(loops) == 2 and all(loop.poll() is None for loop in loops)
    assert all(loop.poll() is not None for loop in loops)


def test_the_section_is_registered():
    assert SECTIONS["speed"].module == "rawmeta.benchmarks.speed"


def test_decode_process_runs_libraw_decode_without_torch(sample_pair):
    probe = speed._DECODE + "\nimport sys as s\nprint('torch' in s.modules)"
    proc = subprocess.run([sys.executable, "-c", probe, str(sample_pair[0])], capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["False"]
    assert "def libraw_decode(" in speed._DECODE


def test_timed_counts_the_process_memory_not_this_one(tmp_path):
    big = bytearray(400 * 1024 * 1024)  # this process's peak well above a bare Python's
    big[::4096] = b"\x01" * len(big[::4096])
    t = harness.timed([sys.executable, "-c", "pass"], tmp_path / "log", "python")
    assert t.seconds > 0 and t.peak_mb < 100
    with pytest.raises(harness.ProcessFailed, match="python failed [(]exit 3[)]: oops"):
        harness.timed([sys.executable, "-c", "import sys; print('oops', file=sys.stderr); sys.exit(3)"],
                    tmp_path / "log", "python")


def test_the_current_code_resolves_to_this_checkout():
    code = speed.current_code()
    assert code.root == REPO
    code.check()


def test_a_baseline_runs_its_own_rawmeta_and_cli(tmp_path):
    """An editable install maps rawmeta.cli to its own cli/; the baseline's processes must load the baseline's."""
    fake = tmp_path / "old"
    (fake / "rawmeta").mkdir(parents=True)
    (fake / "cli").mkdir()
    (fake / "rawmeta" / "__init__.py").write_text("")
    (fake / "cli" / "__init__.py").write_text("")
    (fake / "cli" / "main.py").write_text(
        "import sys\nimport rawmeta\n\ndef main(prog_name):\n    print(prog_name, rawmeta.__file__, *sys.argv[1:])\n")
    code = speed.baseline_code(fake)
    code.check()
    proc = subprocess.run(code.command("restore", "x.jpg"), capture_output=True, text=True, check=True, cwd=REPO)
    assert proc.stdout.split() == ["rawmeta", str(fake / "rawmeta" / "__init__.py"), "restore", "x.jpg"]
    (fake / "cli" / "main.py").unlink()
    with pytest.raises(UsageError, match="does not import as rawmeta"):
        code.check()
    with pytest.raises(UsageError, match="not a rawmeta checkout"):
        speed.baseline_code(tmp_path)


@pytest.mark.slow
def test_sample_end_to_end_with_this_checkout_as_its_own_baseline(tmp_path):
    """The whole of one image and a folder on samples/sample.dng (a JPEG rendered here), A and B both this code."""
    raw = tmp_path / "sample.dng"
    shutil.copyfile(REPO / "samples" / "sample.dng", raw)
    render = tmp_path / "sample.jpg"
    write_render(raw, render)
    codes = [speed.current_code(), speed.Code("baseline", speed.current_code().root)]
    r = speed.measure_image("sample.dng", raw, render, codes, 1, "cpu", tmp_path / "image", log=lambda m: None)
    assert (r.width, r.height) == (1024, 768) and r.baseline is not None
    assert r.decode.seconds > 0 and r.current.embed.seconds > 0 and r.baseline.restore.seconds > 0
    assert 20 < r.decode.peak_mb < r.current.restore.peak_mb
    assert r.current.psnr > 25 and r.current.psnr == pytest.approx(r.baseline.psnr, abs=1e-6)
    f = speed.measure_folder([(raw, render)], codes[:1], 1, "cpu", tmp_path / "folder", log=lambda m: None)
    assert f.pairs == 1 and f.current.seconds > 0 and f.baseline is None
    text = speed.markdown(SpeedResult([r], f, [], None, []), "cmd", 1, "cpu", codes)
    assert "| sample.dng | 1024 x 768 |" in text and "**met**" in text.split("PSNR the baseline's")[1]


def test_the_section_needs_a_checkout_as_baseline(tmp_path):
    from rawmeta.benchmarks.sections import BenchOptions, BenchRun

    bench = BenchRun([], tmp_path / "B.md", BenchOptions(baseline=tmp_path))
    with pytest.raises(UsageError, match="not a rawmeta checkout"):
        speed.section(bench)


def test_the_section_passes_its_options_on(monkeypatch, tmp_path):
    from rawmeta.benchmarks.sections import BenchOptions, BenchRun

    seen = {}

    def fake_run(raws, codes, repeat, device, big, log):
        seen.update(codes=[c.label for c in codes], repeat=repeat, device=device, big=big)
        return SpeedResult([], None, [], None, [])

    monkeypatch.setattr(speed, "run", fake_run)
    bench = BenchRun([], tmp_path / "B.md", BenchOptions(repeat=1, device="cpu", baseline=REPO, speed_big=False))
    text = speed.section(bench)
    assert seen == {"codes": ["current", "baseline"], "repeat": 1, "device": "cpu", "big": False}
    assert (f"`rawmeta bench --section speed --repeat 1 --device cpu --baseline {REPO} --no-speed-big`" in text)
    assert "Figures are medians of 1 round." in text
