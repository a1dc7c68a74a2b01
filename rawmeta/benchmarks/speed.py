"""Speed benchmark: embed and restore timed as whole processes against LibRaw's decode, and A/B against a baseline.

On a shared, noisy machine an absolute time says little, so every time here
is compared with another measured in the same run, process for process:
``rawmeta embed`` and ``rawmeta restore`` against a Python process that only
decodes the same RAW with LibRaw (:func:`rawmeta.benchmarks.embed.libraw_decode`),
and, given a baseline checkout, the current code against the baseline's on
the same files. The processes alternate (a decode, then the embeds, then the
restores, A and B in turns and in swapped order each round), ``repeat``
rounds, and each figure is the median of its rounds, so a busy spell of the
machine falls on all of them alike. Seconds are a process's wall time from
start to exit (start-up and imports included), memory its peak resident set
size (:func:`rawmeta.benchmarks.harness.timed_process`, run from a small
process of its own so that this one's memory is not counted, see :func:`timed`).

Measured: each shared RAW with LibRaw's quality-95 render; one folder of all
those pairs embedded by one ``rawmeta embed FOLDER --jobs 1`` against one
process decoding all the RAWs; the 12 and 24 MP images of the scale section.
Then each image's embed and restore once more beside one busy loop (a
Python process spinning) and beside one per core (:data:`LOADS`), as on a
computer that is doing other things.
"""
from __future__ import annotations

import contextlib
import inspect
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rawpy

from rawmeta import metrics
from rawmeta.benchmarks.embed import libraw_decode
from rawmeta.benchmarks.harness import ProcessFailed, Timing, machine_line, median_timing, timed
from rawmeta.benchmarks.render import write_render
from rawmeta.benchmarks.scale import SIZES, make_big_image
from rawmeta.benchmarks.sections import BenchRun
from rawmeta.embed.options import DEFAULT_BUDGET
from rawmeta.errors import RawReadError, UsageError
from rawmeta.io.outputs import read_raw_rgb
from rawmeta.io.rawfile import read_raw

#: Issue #21's targets: a folder embed (1 job) at most this many times one LibRaw process decoding the same RAWs,
FOLDER_EMBED_PER_DECODE = 6.0
#: an embed at 12 and 24 MP at most this fraction of the restore of the same image,
BIG_EMBED_PER_RESTORE = 0.5
#: and the restore's PSNR within this many dB of the baseline's, each restoring its own embed.
PSNR_TOLERANCE_DB = 0.05
#: Cores of this computer, and the busy loops beside the loaded runs: one, and one per core.
CORES = os.cpu_count() or 1
LOADS = tuple(sorted({1, CORES}))
#: Issue #34's targets: embed and restore beside one busy loop at most this many times their idle time,
LOADED_PER_IDLE_ONE_LOOP = 1.5
#: and beside one busy loop per core at most this many.
LOADED_PER_IDLE_ALL_CORES = 2.5

# A Python process that runs libraw_decode on each file named: its own source (so the work is exactly the embed
# section's decode), with only rawpy and rawmeta.io.rawfile imported. Importing rawmeta.benchmarks.embed instead
# would add torch's start-up (1.5 s, 200 MB here) to LibRaw's side of every ratio.
_DECODE = "\n".join([
    "import sys",
    "from pathlib import Path",
    "import rawpy",
    "from rawmeta.io.rawfile import postprocess_params",
    inspect.getsource(libraw_decode),
    "for name in sys.argv[1:]:",
    "    libraw_decode(Path(name))",
])

# The start of a process running a checkout's rawmeta: argv[1] is the checkout. Its folder replaces the script's
# ('' = the working folder) at the head of sys.path, so its rawmeta is imported before an installed one; its
# cli/ folder (installed as rawmeta.cli) is loaded from the checkout too, since an editable install would
# otherwise map rawmeta.cli to the installed checkout's cli/ whatever rawmeta itself resolved to.
_CHECKOUT = """\
import importlib.util, os, sys
root = sys.argv.pop(1)
sys.path[0] = root
import rawmeta
cli = os.path.join(root, "cli")
if os.path.isfile(os.path.join(cli, "__init__.py")):
    spec = importlib.util.spec_from_file_location("rawmeta.cli", os.path.join(cli, "__init__.py"),
                                                  submodule_search_locations=[cli])
    module = importlib.util.module_from_spec(spec)
    sys.modules["rawmeta.cli"] = module
    spec.loader.exec_module(module)
    rawmeta.cli = module
"""
_MAIN = _CHECKOUT + """\
from rawmeta.cli.main import main
sys.argv[0] = "rawmeta"
main(prog_name="rawmeta")
"""
_WHERE = _CHECKOUT + """\
import rawmeta.cli.main
print(rawmeta.__file__)
print(rawmeta.cli.main.__file__)
"""


@dataclass(frozen=True)
class Code:
    """A checkout whose rawmeta the timed processes run: this one (A) or a baseline (B)."""

    label: str  # "current" or "baseline"
    root: Path

    def command(self, *args: object) -> list[str]:
        """``rawmeta ARGS...`` as a process running this checkout's code."""
        return [sys.executable, "-c", _MAIN, str(self.root), *map(str, args)]

    def check(self) -> None:
        """Make sure a process started by :meth:`command` imports rawmeta and its CLI from this checkout."""
        proc = subprocess.run([sys.executable, "-c", _WHERE, str(self.root)], capture_output=True, text=True,
                              check=False)
        files = [Path(line).resolve() for line in proc.stdout.split()]
        if proc.returncode != 0 or len(files) != 2 or not all(f.is_relative_to(self.root) for f in files):
            raise UsageError(f"the {self.label} code at {self.root} does not import as rawmeta: "
                             f"{(proc.stderr.strip() or proc.stdout.strip())[-300:]}")

    def describe(self) -> str:
        """Which commit the checkout is at, and whether rawmeta's code differs from it."""
        head = (_git(self.root, "log", "-1", "--format=%h (%s)") or "").strip()
        if not head:
            return f"`{self.root}` (not a git checkout)"
        changed = _git(self.root, "--no-optional-locks", "status", "--porcelain", "--untracked-files=no",
                       "--", "rawmeta", "cli") or ""
        files = [line[3:] for line in changed.splitlines()]
        dirty = f", with uncommitted changes to {', '.join(f'`{f}`' for f in files)}" if files else ""
        return f"`{self.root}` at {head}{dirty}"


def _git(root: Path, *args: str) -> str | None:
    try:
        proc = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=False)
    except OSError:
        return None
    return proc.stdout if proc.returncode == 0 else None


def current_code() -> Code:
    """The code this benchmark itself runs: the checkout holding this module's rawmeta."""
    return Code("current", Path(__file__).resolve().parents[2])


def baseline_code(folder: Path) -> Code:
    """Another checkout of rawmeta (a ``git worktree`` at an older commit); UsageError if it is none."""
    root = folder.resolve()
    if not (root / "rawmeta" / "__init__.py").is_file():
        raise UsageError(f"baseline {folder} is not a rawmeta checkout (it has no rawmeta/__init__.py)")
    return Code("baseline", root)


def decode_command(raws: Sequence[Path]) -> list[str]:
    """A process decoding ``raws`` one after the other with LibRaw, as :func:`libraw_decode` does."""
    return [sys.executable, "-c", _DECODE, *map(str, raws)]


@dataclass(frozen=True)
class Loaded:
    """A code's embed and restore of an image beside ``loops`` busy loops, once each."""

    loops: int
    embed: Timing
    restore: Timing


@dataclass(frozen=True)
class Side:
    """One code's embed and restore of an image, the PSNR of its restore, and both beside busy loops."""

    embed: Timing
    restore: Timing
    psnr: float
    loaded: tuple[Loaded, ...] = ()


def loaded_limit(loops: int) -> float:
    """The most a loaded run may take, in times its idle median, beside ``loops`` busy loops."""
    return LOADED_PER_IDLE_ALL_CORES if loops >= CORES else LOADED_PER_IDLE_ONE_LOOP


@contextlib.contextmanager
def busy_loops(count: int) -> Iterator[list[subprocess.Popen]]:
    """``count`` Python processes spinning (``while True: pass``) for as long as the block runs."""
    loops = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]
    try:
        yield loops
    finally:
        for loop in loops:
            loop.kill()
            loop.wait()


@dataclass(frozen=True)
class ImageRow:
    """An image: LibRaw's decode of its RAW, and the current code's and (given) the baseline's work on it."""

    name: str
    width: int
    height: int
    decode: Timing
    current: Side
    baseline: Side | None = None

    @property
    def embed_per_decode(self) -> float:
        return self.current.embed.seconds / self.decode.seconds

    @property
    def restore_per_decode(self) -> float:
        return self.current.restore.seconds / self.decode.seconds

    @property
    def embed_per_restore(self) -> float:
        return self.current.embed.seconds / self.current.restore.seconds


@dataclass(frozen=True)
class FolderRow:
    """One folder of pairs: one process decoding all the RAWs, and the folder embed of each code."""

    pairs: int
    decode: Timing
    current: Timing
    baseline: Timing | None = None

    @property
    def embed_per_decode(self) -> float:
        return self.current.seconds / self.decode.seconds


def speedup(baseline: Timing, current: Timing) -> float:
    """How many times faster the current code is (above 1: faster than the baseline)."""
    return baseline.seconds / current.seconds


def measure_image(name: str, raw: Path, render: Path, codes: Sequence[Code], repeat: int, device: str, work: Path,
                  log: Callable[[str], None] = print) -> ImageRow:
    """Time LibRaw's decode of ``raw``, and each code's embed of it into a copy of ``render`` and restore.

    Each code restores the JPEG it embedded in the first round, as its users would: a newer payload version
    may restore differently (and the baseline need not read it). PSNR is each restore's raw-RGB against
    ``read_raw(raw).rgb``.
    """
    work.mkdir(parents=True, exist_ok=True)
    decodes: list[Timing] = []
    embeds: dict[str, list[Timing]] = {c.label: [] for c in codes}
    restores: dict[str, list[Timing]] = {c.label: [] for c in codes}
    payloads = {c.label: work / f"{c.label}.payload.jpg" for c in codes}
    log_path = work / "process.log"
    for r in range(repeat):
        order = list(codes) if r % 2 == 0 else list(codes)[::-1]
        decodes.append(timed(decode_command([raw]), log_path, f"LibRaw's decode of {name}"))
        for code in order:
            jpg = work / f"{code.label}.jpg"
            shutil.copyfile(render, jpg)
            embeds[code.label].append(timed(code.command("embed", raw, jpg, "--quiet", "--device", device),
                                            log_path, f"the {code.label} code's embed of {name}"))
            if r == 0:
                jpg.replace(payloads[code.label])
        for code in order:
            out = work / f"{code.label}.dng"
            out.unlink(missing_ok=True)
            restores[code.label].append(timed(code.command("restore", payloads[code.label], out, "--quiet", "--device",
                                                           device),
                                              log_path, f"the {code.label} code's restore of {name}"))
        log(f"speed {name} round {r + 1}: decode {decodes[-1].seconds:.2f} s, "
            + ", ".join(f"{c.label} embed {embeds[c.label][-1].seconds:.2f} s restore "
                        f"{restores[c.label][-1].seconds:.2f} s" for c in codes))
    loaded: dict[str, list[Loaded]] = {c.label: [] for c in codes}
    for k, loops in enumerate(LOADS):
        with busy_loops(loops):
            for code in list(codes) if k % 2 == 0 else list(codes)[::-1]:
                jpg, out = work / f"{code.label}.jpg", work / f"{code.label}.dng"
                shutil.copyfile(render, jpg)
                out.unlink(missing_ok=True)
                what = f"the {code.label} code's {{}} of {name} beside {_count(loops, 'busy loop')}"
                loaded[code.label].append(Loaded(
                    loops,
                    timed(code.command("embed", raw, jpg, "--quiet", "--device", device), log_path,
                          what.format("embed")),
                    timed(code.command("restore", payloads[code.label], out, "--quiet", "--device", device), log_path,
                          what.format("restore"))))
        log(f"speed {name} beside {_count(loops, 'busy loop')}: " + ", ".join(
            f"{c.label} embed {loaded[c.label][-1].embed.seconds:.2f} s restore {loaded[c.label][-1].restore.seconds:.2f} s"
            for c in codes))
    truth = read_raw(raw).rgb
    sides = [Side(median_timing(embeds[c.label]), median_timing(restores[c.label]),
                  metrics.psnr(restored_rgb(c, payloads[c.label], work / f"{c.label}.dng", device), truth),
                  tuple(loaded[c.label])) for c in codes]
    return ImageRow(name, truth.shape[1], truth.shape[0], median_timing(decodes), sides[0],
                    sides[1] if len(sides) > 1 else None)


def restored_rgb(code: Code, jpeg: Path, dng: Path, device: str) -> np.ndarray:
    """The raw-RGB ``code`` restored from ``jpeg``: read from its restored ``dng`` when that is LinearRaw, else
    (the camera's mosaic, which LibRaw would demosaic again) from one more restore of it, untimed, to ``.npy``."""
    with rawpy.imread(str(dng)) as raw:
        linear = raw.raw_type == rawpy.RawType.Stack
    if linear:
        return read_raw_rgb(dng)
    npy = dng.with_suffix(".npy")
    npy.unlink(missing_ok=True)
    proc = subprocess.run(code.command("restore", jpeg, npy, "--quiet", "--device", device),
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise ProcessFailed(f"the {code.label} code's restore to .npy failed (exit {proc.returncode}): "
                            f"{proc.stderr.strip()[-300:]}")
    return read_raw_rgb(npy)


def measure_folder(pairs: Sequence[tuple[Path, Path]], codes: Sequence[Code], repeat: int, device: str,
                   work: Path, log: Callable[[str], None] = print) -> FolderRow:
    """Time one process decoding every RAW of ``pairs`` (RAW, render) against ``rawmeta embed FOLDER --jobs 1``
    of each code on a fresh folder of the pairs (links to the RAWs, copies of the renders, ``{stem}.jpg``)."""
    originals = work / "originals"
    originals.mkdir(parents=True)
    for raw, render in pairs:
        (originals / raw.name).symlink_to(raw.absolute())
        shutil.copyfile(render, originals / f"{raw.stem}.jpg")
    raws = [raw for raw, _ in pairs]
    decodes: list[Timing] = []
    embeds: dict[str, list[Timing]] = {c.label: [] for c in codes}
    log_path = work / "process.log"
    for r in range(repeat):
        order = list(codes) if r % 2 == 0 else list(codes)[::-1]
        decodes.append(timed(decode_command(raws), log_path, "LibRaw's decode of the folder's RAWs"))
        for code in order:
            folder = work / code.label
            shutil.copytree(originals, folder, symlinks=True)
            embeds[code.label].append(timed(code.command("embed", folder, "--jobs", "1", "--quiet", "--device", device),
                                            log_path, f"the {code.label} code's folder embed"))
            shutil.rmtree(folder)
        log(f"speed folder of {len(pairs)} round {r + 1}: decode {decodes[-1].seconds:.2f} s, "
            + ", ".join(f"{c.label} embed {embeds[c.label][-1].seconds:.2f} s" for c in codes))
    timings = [median_timing(embeds[c.label]) for c in codes]
    return FolderRow(len(pairs), median_timing(decodes), timings[0], timings[1] if len(timings) > 1 else None)


@dataclass(frozen=True)
class SpeedResult:
    """Everything the section measured."""

    rows: list[ImageRow]
    folder: FolderRow | None
    big: list[ImageRow]
    big_source: Path | None
    skipped: list[str]


def run(raws: Sequence[Path], codes: Sequence[Code], repeat: int = 3, device: str = "auto", big: bool = True,
        log: Callable[[str], None] = print) -> SpeedResult:
    """Measure ``raws`` one by one, as a folder, and (``big``) the 12 and 24 MP images made from the largest."""
    rows, skipped, pairs = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for i, raw in enumerate(raws):
            render = work / "renders" / f"{raw.stem}.jpg"
            render.parent.mkdir(exist_ok=True)
            try:
                write_render(raw, render)
                rows.append(measure_image(raw.name, raw, render, codes, repeat, device, work / f"image{i}", log))
                pairs.append((raw, render))
            except (RawReadError, ProcessFailed) as exc:
                skipped.append(f"{raw.name}: {exc}")
                log(f"speed: skipped {raw.name}: {exc}")
        folder = measure_folder(pairs, codes, repeat, device, work / "folder", log) if pairs else None
        big_rows, source = [], None
        if big and raws:
            source = max(raws, key=lambda p: p.stat().st_size)
            for label, (w, h) in SIZES.items():
                size_work = work / label.replace(" ", "")
                size_work.mkdir()
                try:
                    dng, jpg = make_big_image(source, label, w, h, size_work)
                    big_rows.append(measure_image(label, dng, jpg, codes, repeat, device, size_work, log))
                except (RawReadError, ProcessFailed) as exc:
                    skipped.append(f"{label}: {exc}")
                    log(f"speed: skipped the {label} image: {exc}")
                shutil.rmtree(size_work)
    return SpeedResult(rows, folder, big_rows, source, skipped)


def _met(ok: bool) -> str:
    return "**met**" if ok else "**missed**"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _t(t: Timing) -> str:
    return f"{t.seconds:.2f} | {t.peak_mb:.0f}"


def targets(result: SpeedResult) -> list[str]:
    """The issue's targets, each with the measured figure and whether it is met."""
    out = []
    f = result.folder
    if f is not None:
        line = (f"- Folder embed (1 job) at most {FOLDER_EMBED_PER_DECODE:g}x one LibRaw process decoding the same "
                f"{_count(f.pairs, 'RAW')}: {f.embed_per_decode:.2f}x, {_met(f.embed_per_decode <= FOLDER_EMBED_PER_DECODE)}")
        if f.baseline is not None:
            line += f" (baseline {f.baseline.seconds / f.decode.seconds:.2f}x)"
        out.append(line + ".")
    for r in result.big:
        line = (f"- Embed at most {BIG_EMBED_PER_RESTORE:g} of the restore at {r.name}: {r.embed_per_restore:.2f}, "
                f"{_met(r.embed_per_restore <= BIG_EMBED_PER_RESTORE)}")
        if r.baseline is not None:
            line += f" (baseline {r.baseline.embed.seconds / r.baseline.restore.seconds:.2f})"
        out.append(line + ".")
    for loops in LOADS:
        ratios = [(t.seconds / idle.seconds, r.name) for r in result.rows + result.big for load in r.current.loaded
                  if load.loops == loops for t, idle in ((load.embed, r.current.embed), (load.restore, r.current.restore))]
        if ratios:
            limit = loaded_limit(loops)
            worst = max(ratios)
            out.append(f"- Embed and restore beside {_count(loops, 'busy loop')} at most {limit:g}x their idle time, "
                       f"every image: {sum(x <= limit for x, _ in ratios)} of {len(ratios)} runs, the slowest "
                       f"{worst[0]:.2f}x ({worst[1]}), {_met(worst[0] <= limit)}.")
    ab = [r for r in result.rows + result.big if r.baseline is not None]
    if ab:
        worst = max(ab, key=lambda r: abs(r.current.psnr - r.baseline.psnr))
        diff = round(worst.current.psnr - worst.baseline.psnr, 3) + 0.0  # + 0.0: no "-0.000"
        out.append(f"- Restore PSNR the baseline's within {PSNR_TOLERANCE_DB:g} dB, each code's own payload: largest "
                   f"difference {diff:+.3f} dB ({worst.name}), {_met(abs(diff) <= PSNR_TOLERANCE_DB)}.")
    else:
        out.append(f"- Restore PSNR the baseline's within {PSNR_TOLERANCE_DB:g} dB: not measured (no `--baseline`).")
    return out


def _x(loaded: Timing, idle: Timing) -> str:
    return f"{loaded.seconds:.2f} ({loaded.seconds / idle.seconds:.2f}x)"


def busy_table(rows: Sequence[ImageRow], codes: Sequence[Code]) -> list[str]:
    """The section's part on a busy computer: each image's loaded runs against its idle medians."""
    rows = [r for r in rows if r.current.loaded]
    if not rows:
        return []
    baseline = len(codes) > 1
    head = "| image | busy loops | embed s (x idle) | restore s (x idle) |"
    rule = "|---|---|---|---|"
    if baseline:
        head += " baseline embed s (x idle) | baseline restore s (x idle) |"
        rule += "---|---|"
    out = ["", "### On a busy computer", "",
           ("Each image's embed and restore once more, beside busy loops (`python -c \"while True: pass\"`, "
            "started before and stopped after the runs): one, and one per core. The figure in brackets is the run "
            "over the same code's idle median above."), "", head, rule]
    for r in rows:
        for k, load in enumerate(r.current.loaded):
            line = f"| {r.name} | {load.loops} | {_x(load.embed, r.current.embed)} | {_x(load.restore, r.current.restore)} |"
            if r.baseline is not None:
                b = r.baseline.loaded[k]
                line += f" {_x(b.embed, r.baseline.embed)} | {_x(b.restore, r.baseline.restore)} |"
            out.append(line)
    return out


def markdown(result: SpeedResult, command: str, repeat: int, device: str, codes: Sequence[Code]) -> str:
    """The speed section of docs/BENCHMARKS.md."""
    baseline = len(codes) > 1
    out = [
        "## Speed: embed and restore as processes, against LibRaw's decode" + (" and a baseline" if baseline else ""),
        "",
        machine_line(command) + f" Figures are medians of {_count(repeat, 'round')}.",
        "",
        ("Every time is a whole process, start-up and imports included: its wall time from start to exit and its "
         "peak resident set size. decode is a Python process that only decodes the RAW with LibRaw (rawpy: open, "
         "unpack, demosaic to 16-bit raw-RGB, as the embed section's decode); embed is "
         f"`rawmeta embed RAW JPEG --quiet --device {device}` (default budget, {DEFAULT_BUDGET:g} % of the JPEG) on "
         "a fresh copy of LibRaw's quality-95 render of the RAW; restore is "
         f"`rawmeta restore JPEG OUT.dng --quiet --device {device}` (fast preset, the default DNG). Each round runs "
         "the decode, then the embeds, then the restores"
         + (", current and baseline in turns, in swapped order every other round" if baseline else "")
         + ", so a busy spell of this shared machine falls on all of them; ratios are of the medians. "
         "Each code restores the JPEG it embedded in the first round, as its users would"
         + (" (a newer payload version may restore differently, and the baseline need not read it)" if baseline
            else "")
         + ". PSNR is the restored raw-RGB (the LinearRaw DNG, or for a camera-mosaic DNG one more restore to "
         ".npy) against LibRaw's raw-RGB of the RAW, peak 1."),
    ]
    if baseline:
        out += ["", f"Current code: {codes[0].describe()}. Baseline: {codes[1].describe()}."]
    out += [
        "",
        "| file | raw-RGB (w x h) | decode s | decode MB | embed s | embed MB | restore s | restore MB "
        "| embed / decode | restore / decode | PSNR dB |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    out += [f"| {r.name} | {r.width} x {r.height} | {_t(r.decode)} | {_t(r.current.embed)} | {_t(r.current.restore)} "
            f"| {r.embed_per_decode:.2f} | {r.restore_per_decode:.2f} | {r.current.psnr:.2f} |" for r in result.rows]
    if result.rows:
        e = [r.embed_per_decode for r in result.rows]
        s = [r.restore_per_decode for r in result.rows]
        out += ["", f"Mean embed / decode {np.mean(e):.2f} (min {min(e):.2f}, max {max(e):.2f}); mean restore / "
                f"decode {np.mean(s):.2f} (min {min(s):.2f}, max {max(s):.2f})."]
    f = result.folder
    if f is not None:
        out += [
            "",
            f"### A folder of {_count(f.pairs, 'pair')}",
            "",
            (f"`rawmeta embed FOLDER --jobs 1 --quiet --device {device}` on a fresh folder of the pairs above (links "
             "to the RAWs, `{stem}.jpg` renders), against one process decoding all the RAWs with LibRaw in turn."),
            "",
            "| process | seconds | peak MB | / decode |",
            "|---|---|---|---|",
            f"| LibRaw decode of the {_count(f.pairs, 'RAW')} | {_t(f.decode)} | 1.00 |",
            f"| rawmeta embed FOLDER | {_t(f.current)} | {f.embed_per_decode:.2f} |",
        ]
        if f.baseline is not None:
            out.append(f"| rawmeta embed FOLDER, baseline | {_t(f.baseline)} | {f.baseline.seconds / f.decode.seconds:.2f} |")
    if result.big:
        out += [
            "",
            "### 12 and 24 MP",
            "",
            (f"The scale section's images, made from `{result.big_source.name}`: its raw-RGB tiled with mirroring, "
             "written as a LinearRaw DNG (the RAW here), rendered by LibRaw at quality 95 (the JPEG). Processes as "
             "above."),
            "",
            "| image | size (w x h) | decode s | decode MB | embed s | embed MB | restore s | restore MB "
            "| embed / restore | PSNR dB |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        out += [f"| {r.name} | {r.width} x {r.height} | {_t(r.decode)} | {_t(r.current.embed)} "
                f"| {_t(r.current.restore)} | {r.embed_per_restore:.2f} | {r.current.psnr:.2f} |" for r in result.big]
    out += busy_table(result.rows + result.big, codes)
    ab = [r for r in result.rows + result.big if r.baseline is not None]
    if ab:
        out += [
            "",
            "### Against the baseline",
            "",
            "Speed-up is the baseline's seconds over the current code's (above 1: the current code is faster).",
            "",
            "| image | embed s | baseline | speed-up | embed MB | baseline | restore s | baseline | speed-up "
            "| restore MB | baseline | PSNR dB | baseline | difference |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in ab:
            a, b = r.current, r.baseline
            out.append(f"| {r.name} | {a.embed.seconds:.2f} | {b.embed.seconds:.2f} | {speedup(b.embed, a.embed):.2f} "
                       f"| {a.embed.peak_mb:.0f} | {b.embed.peak_mb:.0f} | {a.restore.seconds:.2f} "
                       f"| {b.restore.seconds:.2f} | {speedup(b.restore, a.restore):.2f} | {a.restore.peak_mb:.0f} "
                       f"| {b.restore.peak_mb:.0f} | {a.psnr:.2f} | {b.psnr:.2f} "
                       f"| {round(a.psnr - b.psnr, 3) + 0.0:+.3f} |")
    out += ["", "Targets (issues #21 and #34):", "", *targets(result)]
    if result.skipped:
        out += ["", "Skipped:", ""] + [f"- {s}" for s in result.skipped]
    return "\n".join(out) + "\n"


def section(bench: BenchRun) -> str:
    """The speed section of ``rawmeta bench``."""
    opts = bench.options
    codes = [current_code()] + ([baseline_code(opts.baseline)] if opts.baseline is not None else [])
    for code in codes:
        code.check()
    result = run(bench.raws, codes, opts.repeat, opts.device, big=opts.speed_big, log=bench.log)
    command = ("rawmeta bench --section speed" + (f" --repeat {opts.repeat}" if opts.repeat != 3 else "")
               + (f" --device {opts.device}" if opts.device != "auto" else "")
               + (f" --baseline {opts.baseline}" if opts.baseline is not None else "")
               + ("" if opts.speed_big else " --no-speed-big"))
    return markdown(result, command, opts.repeat, opts.device, codes)
