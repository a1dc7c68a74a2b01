"""What every benchmark section shares: finding the RAWs, timing (in-process, and of whole processes), and the line
saying where a section was run."""
from __future__ import annotations

import datetime
import inspect
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import rawpy
import torch

from rawmeta.batch.pairing import is_raw


def find_raws(folder: Path) -> list[Path]:
    """RAW files in ``folder`` by extension, sorted."""
    return sorted(p for p in folder.iterdir() if is_raw(p))


def median_time(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def machine_line(command: str) -> str:
    """Who wrote a section, when and where."""
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (f"Written by `{command}` on {now}; {platform.machine()}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}, torch {torch.__version__}, "
            f"LibRaw {'.'.join(map(str, rawpy.libraw_version))}.")


def timed_process(args: list[str], log_path: Path) -> tuple[float, float, int]:
    """Run ``args`` with its standard error to ``log_path``; return (wall seconds, peak RSS in MB, exit status)."""
    with open(log_path, "wb") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    return seconds, usage.ru_maxrss / 1024, proc.returncode


# A process running timed_process (its own source) on the command in argv[2:], standard error to argv[1]; it prints
# the wall seconds, peak RSS in MB and exit status.
_TIMER = "\n".join([
    "import os, subprocess, sys, time",
    "from pathlib import Path",
    inspect.getsource(timed_process),
    "print(*timed_process(sys.argv[2:], Path(sys.argv[1])))",
])


class ProcessFailed(RuntimeError):
    """A timed process exited with an error."""


@dataclass(frozen=True)
class Timing:
    """One process, or the median of several: wall seconds and peak resident set size (MB)."""

    seconds: float
    peak_mb: float


def median_timing(runs: Sequence[Timing]) -> Timing:
    """Each of seconds and peak MB as its median over ``runs``."""
    return Timing(statistics.median(t.seconds for t in runs), statistics.median(t.peak_mb for t in runs))


def timed(args: list[str], log_path: Path, what: str) -> Timing:
    """``args`` as a timed process (its standard error to ``log_path``); ProcessFailed if it exits with an error.

    :func:`timed_process` runs in a small Python process of its own (stdlib only, about 12 MB): a process
    started from this one would count this one's peak memory as its own (Linux keeps the larger of the
    starting process's high-water mark and its own across ``exec``), and this one holds torch and images.
    """
    proc = subprocess.run([sys.executable, "-c", _TIMER, str(log_path), *args], capture_output=True, text=True,
                          check=False)
    try:
        seconds, peak_mb, rc = proc.stdout.split()
        seconds, peak_mb, rc = float(seconds), float(peak_mb), int(rc)
    except ValueError:
        raise ProcessFailed(f"timing {what} failed: {proc.stderr.strip()[-300:]}") from None
    if rc != 0:
        raise ProcessFailed(f"{what} failed (exit {rc}): {log_path.read_text(errors='replace').strip()[-300:]}")
    return Timing(seconds, peak_mb)
