"""What every benchmark section shares: finding the RAWs, timing, and the line saying where a section was run."""
from __future__ import annotations

import datetime
import os
import platform
import statistics
import time
from collections.abc import Callable
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
