"""Threads: how many of the computer's cores are free now, and torch's and BLAS's CPU threads capped to a count.

A photographer's computer is rarely idle. torch's OpenMP threads take every
core by default, and beside another busy process each parallel step waits
for the thread that shares a core with it, so a restore beside one busy
loop took twice its idle time (docs/RESTORE.md, "Threads on a busy
computer"). The command line sizes a single file's work to the cores that
are free when it starts (:func:`free_cores`); folder workers share the
cores among themselves (:mod:`rawmeta.batch.runner`). The NumPy engine
(:mod:`rawmeta.restore.engine`) runs as many threads as :func:`pool_threads`
and keeps OpenBLAS to one thread inside them (:func:`blas_limited`).
"""
from __future__ import annotations

import ctypes
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

#: Where Linux tells how many tasks are running at this moment (the fourth field, "running/total").
LOADAVG = "/proc/loadavg"
#: The calls that set the thread count of OpenBLAS (NumPy's and SciPy's wheels rename its symbols).
OPENBLAS_SETTERS = ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads", "openblas_set_num_threads")
OPENBLAS_GETTERS = ("scipy_openblas_get_num_threads64_", "scipy_openblas_get_num_threads", "openblas_get_num_threads")
#: The NumPy engine's pool size that :func:`fit_to_free_cores` chose for this process (None: not chosen).
_pool: int | None = None
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
    return _free(usable_cores(), busy_cores(loadavg))


def _free(usable: int, busy: float) -> int:
    """Of ``usable`` cores, those ``busy`` leaves free: at least 1."""
    return max(1, min(usable, round(usable - busy)))


def fit_to_free_cores(loadavg: str = LOADAVG) -> int:
    """Size this process's work to the free cores, unless the user chose a count in ``OMP_NUM_THREADS``; the
    count torch's threads will use.

    torch's threads are capped to the free cores (:func:`free_cores`): they
    wait for each other at every step, so a thread that shares a core with a
    busy program holds all of them back. The NumPy engine's pool
    (:func:`pool_threads`) takes one thread more where some cores are busy and
    at least one is free: its threads do not wait for each other, and the
    extra one runs in the time the scheduler gives this process on the busy
    cores. Where every core is busy it takes one thread, as more then queue
    for Python's interpreter lock behind a thread the scheduler has paused.
    """
    global _pool
    chosen = _chosen_threads()
    if chosen is not None:
        return chosen
    usable, busy = usable_cores(), busy_cores(loadavg)
    threads = _free(usable, busy)
    limit_threads(threads)
    _pool = min(usable, threads + 1) if 0.5 <= busy <= usable - 1 else threads
    return threads


def limit_threads(threads: int) -> None:
    """Cap torch's CPU threads in this process, whether torch is imported yet or not."""
    os.environ["OMP_NUM_THREADS"] = str(threads)  # read by torch when it is first imported
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)


def pool_threads() -> int:
    """The threads of the NumPy engine's pool: as :func:`fit_to_free_cores` sized it, else the count in
    ``OMP_NUM_THREADS`` (which :func:`limit_threads` sets in folder workers), else every usable core."""
    if _pool is not None:
        return _pool
    return _chosen_threads() or usable_cores()


def _chosen_threads() -> int | None:
    """The thread count set in ``OMP_NUM_THREADS`` (by the user, or by :func:`limit_threads`); None if none."""
    chosen = os.environ.get("OMP_NUM_THREADS", "")
    return int(chosen) if chosen.isdigit() and int(chosen) > 0 else None


def _openblas() -> tuple[tuple[ctypes.CDLL, str, str], ...]:
    """The OpenBLAS libraries loaded in this process (Linux), with the names of their thread-count calls."""
    try:
        with open("/proc/self/maps", encoding="utf-8") as f:
            paths = sorted({line.split()[-1] for line in f if "openblas" in line.rsplit("/", 1)[-1].lower()})
    except OSError:
        return ()
    found = []
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        setter = next((s for s in OPENBLAS_SETTERS if hasattr(lib, s)), None)
        getter = next((g for g in OPENBLAS_GETTERS if hasattr(lib, g)), None)
        if setter and getter:
            found.append((lib, setter, getter))
    return tuple(found)


@contextmanager
def blas_limited(count: int) -> Iterator[None]:
    """Within the block, OpenBLAS (NumPy's BLAS) uses at most ``count`` threads; elsewhere, and with
    another BLAS, nothing changes.

    Threads that each call BLAS would otherwise each start BLAS's own threads
    on every core, and those wait for each other by spinning.

    Examples
    --------
    >>> with blas_limited(1):
    ...     pass
    """
    import numpy  # noqa: F401  (loads NumPy's BLAS, so that it is found)

    libraries = _openblas()
    before = [getattr(lib, getter)() for lib, _, getter in libraries]
    for lib, setter, _ in libraries:
        getattr(lib, setter)(count)
    try:
        yield
    finally:
        for (lib, setter, _), n in zip(libraries, before):
            getattr(lib, setter)(n)
