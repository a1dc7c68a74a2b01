"""Threads: how many of the computer's cores are free now, and torch's CPU threads capped to a count.

A photographer's computer is rarely idle. torch's OpenMP threads take every
core by default, and beside another busy process each parallel step waits
for the thread that shares a core with it, so a restore beside one busy
loop took twice its idle time (docs/RESTORE.md, "Threads on a busy
computer"). The command line sizes a single file's work to the cores that
are free when it starts (:func:`free_cores`); folder workers share the
cores among themselves (:mod:`rawmeta.batch.runner`).
"""
from __future__ import annotations

import os
import sys
import time

#: Where Linux tells how many tasks are running at this moment (the fourth field, "running/total").
LOADAVG = "/proc/loadavg"
#: Readings of the running tasks, and the pause between them: one reading catches other processes'
#: short bursts, the median of a few does not.
READINGS, PAUSE_S = 5, 0.002


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity where the system tells it)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS and Windows have no affinity call
        return os.cpu_count() or 1


def busy_cores(loadavg: str = LOADAVG) -> float:
    """How many cores other processes keep busy now.

    On Linux, the median over :data:`READINGS` readings of the tasks
    running at that moment (``loadavg``'s fourth field), less this process's
    own; elsewhere the one-minute load average, which lags a change by about
    a minute.
    """
    try:
        readings = []
        for k in range(READINGS):
            with open(loadavg, encoding="ascii") as f:
                readings.append(int(f.read().split()[3].split("/")[0]) - 1)
            if k < READINGS - 1:
                time.sleep(PAUSE_S)
        return float(sorted(readings)[READINGS // 2])
    except (OSError, IndexError, ValueError):
        return os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0


def free_cores(loadavg: str = LOADAVG) -> int:
    """The cores no other process is busy on now: at least 1.

    Examples
    --------
    >>> 1 <= free_cores() <= usable_cores()
    True
    """
    return max(1, min(usable_cores(), round(usable_cores() - busy_cores(loadavg))))


def fit_to_free_cores() -> int:
    """Cap torch's CPU threads to the free cores (:func:`free_cores`), unless the user chose a count in
    ``OMP_NUM_THREADS``; the count the work will use."""
    chosen = os.environ.get("OMP_NUM_THREADS", "")
    if chosen.isdigit() and int(chosen) > 0:
        return int(chosen)
    threads = free_cores()
    limit_threads(threads)
    return threads


def limit_threads(threads: int) -> None:
    """Cap torch's CPU threads in this process, whether torch is imported yet or not."""
    os.environ["OMP_NUM_THREADS"] = str(threads)  # read by torch when it is first imported
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)
