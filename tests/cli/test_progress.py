"""Progress that tells the truth: named stages, an ETA only once measured, plain lines off a terminal."""
from __future__ import annotations

import doctest
import io

import pytest
from click.testing import CliRunner

from rawmeta import progress
from rawmeta.benchmarks.synthetic import write_sample
from rawmeta.cli import batch
from rawmeta.cli.main import main
from rawmeta.cli.progress import ProgressBar
from rawmeta.embed.jpeg import embed_file
from rawmeta.progress import part, stage
from rawmeta.restore.jpeg import restore_file


class Clock:
    """A clock the test moves."""

    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def terminal() -> io.StringIO:
    stream = io.StringIO()
    stream.isatty = lambda: True
    return stream


def shown(stream: io.StringIO) -> list[str]:
    """Each state of a terminal's line."""
    return [line.rstrip() for line in stream.getvalue().split("\r") if line.strip()]


class Recorder:
    """A progress callback that keeps every report and stage."""

    def __init__(self):
        self.events: list = []

    def __call__(self, done: int, total: int) -> None:
        self.events.append(done / total)

    def stage(self, name: str) -> None:
        self.events.append(name)

    def stages(self) -> list[str]:
        return [e for e in self.events if isinstance(e, str)]

    def fractions(self) -> list[float]:
        return [e for e in self.events if not isinstance(e, str)]

    def reports_in(self, name: str) -> int:
        """Reports made while stage ``name`` was under way."""
        at = self.events.index(name)
        following = [k for k, e in enumerate(self.events[at + 1:]) if isinstance(e, str)]
        return len(self.events[at + 1: at + 1 + following[0]] if following else self.events[at + 1:])


def test_the_docstring_examples_hold():
    for module in (progress, batch):
        assert doctest.testmod(module).failed == 0


def test_parts_pass_stage_names_to_the_whole():
    whole = Recorder()
    inner = part(part(whole, 0.5, 1.0), 0.0, 0.5)
    stage(inner, "refining")
    inner(1, 2)
    stage(lambda done, total: None, "a plain callback takes no names")
    assert whole.events == ["refining", 0.625]


def test_the_eta_is_absent_until_enough_work_was_measured():
    clock, stream = Clock(), terminal()
    bar = ProgressBar("restore", stream=stream, clock=clock, heartbeat=False)
    clock.now += 10  # loading: nothing measured yet
    bar(2, 100)
    assert "ETA" not in shown(stream)[-1]  # 2 % done is too little to tell
    clock.now += 1
    bar(10, 100)
    assert shown(stream)[-1].endswith("10.0 %  elapsed 00:11  ETA 01:39")  # 11 s for 10 %: 99 s to go
    clock.now += 0.2
    bar(11, 100)  # within the redraw interval: no new line
    assert len(shown(stream)) == 2
    bar.close()


def test_a_step_that_reports_nothing_still_moves_the_line_and_its_eta_grows():
    clock, stream = Clock(), terminal()
    bar = ProgressBar("embed", stream=stream, clock=clock, heartbeat=False)
    bar.stage("loading")
    assert stream.getvalue() == ""  # the first line waits an interval: a quick refusal's error stays alone
    clock.now += 5
    bar(50, 100)
    assert shown(stream)[-1].endswith("50.0 %  loading  elapsed 00:05  ETA 00:05")
    clock.now += 1
    bar.stage("refining")
    assert shown(stream)[-1].endswith("50.0 %  refining  elapsed 00:06  ETA 00:06")
    clock.now += 4
    bar.tick()  # the heartbeat, with no report since
    assert shown(stream)[-1].endswith("50.0 %  refining  elapsed 00:10  ETA 00:10")
    bar.stage("writing JPEG")
    bar(100, 100)
    bar.close()
    assert shown(stream)[-1].endswith("100.0 %  writing JPEG  elapsed 00:10  ETA 00:00")
    assert stream.getvalue().endswith("\n")


def test_a_shorter_line_covers_a_longer_one():
    clock, stream = Clock(), terminal()
    bar = ProgressBar("embed", stream=stream, clock=clock, heartbeat=False)
    clock.now += 1
    bar.stage("seeking worst blocks")
    clock.now += 1
    bar.stage("refining")
    first, second = stream.getvalue().split("\r")[1:]
    assert len(second) >= len(first)


def test_the_heartbeat_redraws_a_terminal_line_while_nothing_reports():
    stream = terminal()
    bar = ProgressBar("embed", interval=0.01, stream=stream)
    bar.stage("refining")
    for _ in range(500):  # at most 5 s on a loaded machine; a redraw comes every 0.01 s
        if len(shown(stream)) >= 3:
            break
        bar._stopped.wait(0.01)
    bar.close()
    assert len(shown(stream)) >= 3 and all("refining" in line for line in shown(stream))


def test_off_a_terminal_one_line_per_stage_after_a_delay():
    clock, stream = Clock(), io.StringIO()
    bar = ProgressBar("restore (inf)", stream=stream, clock=clock)
    bar.stage("loading")
    clock.now += 1
    bar.stage("reading JPEG")
    bar.stage("fitting")
    for done in range(1, 11):
        bar(done, 100)
    assert stream.getvalue() == ""  # quick work says nothing: an error after it stays one line
    clock.now += 1.6
    for done in range(11, 50):
        bar(done, 100)  # the stage under way is told once, at its first report after the delay
    bar.stage("restoring")
    for done in range(50, 101):
        clock.now += 0.1
        bar(done, 100)
    bar.stage("writing DNG")
    bar.close()
    assert stream.getvalue().splitlines() == ["restore (inf): fitting (elapsed 00:03)",
                                              "restore (inf): restoring (elapsed 00:03)",
                                              "restore (inf): writing DNG (elapsed 00:08)"]


def test_the_folder_bar_counts_files():
    clock, stream = Clock(), terminal()
    bar = ProgressBar("embed", stream=stream, unit="files", clock=clock, heartbeat=False)
    clock.now += 4
    bar(1, 4)
    clock.now += 4
    bar(4, 4)
    bar.close()
    assert shown(stream) == ["embed [#######                       ] 1/4 files   25.0 %  elapsed 00:04  ETA 00:12",
                             "embed [##############################] 4/4 files  100.0 %  elapsed 00:08  ETA 00:00"]


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    """A synthetic DNG and its JPEG, large enough for the default budget."""
    return write_sample(tmp_path_factory.mktemp("progress"), height=240, width=320)


def test_embed_and_restore_name_their_stages_and_report_each(sample, tmp_path):
    dng, jpg = sample
    seen = Recorder()
    embed_file(dng, jpg, tmp_path / "planned.jpg", device="cpu", objective="raw", progress=seen)
    assert seen.stages() == ["reading RAW", "aligning", "measuring", "restoring blocks", "seeking worst blocks",
                             "refining", "writing JPEG"]
    fractions = seen.fractions()
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert seen.reports_in("measuring") >= 2 and seen.reports_in("restoring blocks") >= 2  # the fits report
    assert seen.reports_in("refining") >= 2  # the choice of candidates, then the tries

    seen = Recorder()  # the default objective plans no restore: a grid that fits
    embed_file(dng, jpg, tmp_path / "embedded.jpg", device="cpu", progress=seen)
    assert seen.stages() == ["reading RAW", "aligning", "writing JPEG"]
    assert seen.fractions()[-1] == 1.0

    seen = Recorder()
    restore_file(tmp_path / "embedded.jpg", tmp_path / "restored.dng", device="cpu", progress=seen)
    assert seen.stages()[:3] == ["reading JPEG", "fitting", "restoring"]
    assert seen.stages()[-1] == "writing DNG"
    fractions = seen.fractions()
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and seen.reports_in("fitting") >= 2


def test_a_folder_run_off_a_terminal_prints_a_line_per_finished_file(sample, tmp_path):
    dng, jpg = sample
    for stem in ("IMG_0001", "IMG_0002"):
        (tmp_path / f"{stem}.dng").write_bytes(dng.read_bytes())
        (tmp_path / f"{stem}.jpg").write_bytes(jpg.read_bytes())
    (tmp_path / "IMG_0003.dng").write_bytes(dng.read_bytes())  # no JPEG: fails

    def run(*args):
        return CliRunner().invoke(main, [str(a) for a in args], prog_name="rawmeta")

    result = run("embed", tmp_path, "--stride", "8", "--bits", "12", "-j", "1")
    lines = result.stderr.splitlines()
    assert result.exit_code == 9 and len(lines) == 4 and "\r" not in result.stderr
    assert lines[0].startswith(f"[1/3] IMG_0001.dng -> {tmp_path / 'IMG_0001.jpg'}  ") and lines[0].endswith(" s")
    assert lines[2].startswith("[3/3] IMG_0003.dng failed: not paired") and "(exit 2)" in lines[2]
    assert lines[3].startswith("rawmeta: error: 1 of 3 files failed")
    quiet = run("embed", tmp_path, "--stride", "8", "--bits", "12", "-j", "1", "-q")
    assert quiet.stderr.splitlines() == ["rawmeta: error: 1 of 3 files failed (listed above)"]
    report = run("verify", tmp_path / "IMG_0001.jpg", tmp_path / "IMG_0002.jpg", "--json")
    assert report.exit_code == 0 and report.stderr.startswith("verify: 2 done")  # the JSON has every file
