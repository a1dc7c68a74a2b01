"""Running many archive tasks: in this process, in worker processes, or on a Dask cluster.

All three take the same tasks (:mod:`rawmeta.batch.tasks`) and give the same
outcomes, one per task, reported as they finish through ``on_outcome``. A
failing file never stops a batch: tasks turn their own problems into failed
outcomes, and a worker process that dies (killed, out of memory) fails only
the task that killed it.

Memory: one worker holds one image's work at a time. A restore (and an
embed, which restores to choose its settings) peaks at about
:data:`WORKER_BYTES_PER_PIXEL` bytes per JPEG pixel (docs/CONSTANTS.md;
``rawmeta bench --section scale`` measures it), so N workers need
N times that. :func:`default_jobs` takes no more workers than cores, nor
more than the memory now available holds at 24 MP each.
"""
from __future__ import annotations

import multiprocessing
import os
import signal
import socket
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

from rawmeta.batch.tasks import FAILED, Outcome, Task, run
from rawmeta.errors import ExitCode, SchedulerError

#: Peak resident memory of one worker per JPEG pixel, from the 12 and 24 MP runs in docs/CONSTANTS.md.
WORKER_BYTES_PER_PIXEL = 130
#: The image size :func:`default_jobs` plans memory for.
PLANNED_PIXELS = 24_000_000

OnOutcome = Callable[[Outcome], None]


def cpu_count() -> int:
    """CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def available_memory() -> int | None:
    """Bytes of memory available for new processes (Linux's MemAvailable), or None if unknown."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def default_jobs() -> int:
    """Worker processes to use: one per CPU, but no more than the available memory holds at 24 MP each."""
    jobs = cpu_count()
    memory = available_memory()
    if memory is not None:
        jobs = min(jobs, memory // (WORKER_BYTES_PER_PIXEL * PLANNED_PIXELS))
    return max(1, jobs)


def run_batch(tasks: Sequence[Task], *, jobs: int = 1, scheduler: str | None = None,
              on_outcome: OnOutcome | None = None) -> list[Outcome]:
    """Run ``tasks`` and return their outcomes in the order given.

    Parameters
    ----------
    tasks : sequence of Task
        The work; see :mod:`rawmeta.batch.tasks`.
    jobs : int
        Worker processes on this machine (1: run in this process). Each gets
        an equal share of the CPUs for torch.
    scheduler : str, optional
        Address of a Dask distributed scheduler (``tcp://HOST:PORT``): run
        each task on its cluster instead (``jobs`` is then ignored). Workers
        must have rawmeta installed and see the files at the same paths.
    on_outcome : callable, optional
        Called in this process with each outcome as it arrives.
    """
    report = on_outcome or (lambda outcome: None)
    if scheduler is not None:
        outcomes = _on_dask(tasks, scheduler, report)
    elif jobs > 1 and len(tasks) > 1:
        outcomes = _in_processes(tasks, min(jobs, len(tasks)), report)
    else:
        outcomes = {}
        for i, task in enumerate(tasks):
            outcomes[i] = run(task)
            report(outcomes[i])
    return [outcomes[i] for i in range(len(tasks))]


def _in_processes(tasks: Sequence[Task], jobs: int, report: OnOutcome) -> dict[int, Outcome]:
    """Run in a pool of ``jobs`` fresh processes. Tasks caught in a pool that broke (a worker was
    killed) run again one at a time, each in a pool of its own; one that breaks that too fails."""
    threads = max(1, cpu_count() // jobs)
    outcomes: dict[int, Outcome] = {}
    suspects = _pool_round(tasks, range(len(tasks)), jobs, threads, outcomes, report)
    for i in suspects:
        if _pool_round(tasks, [i], 1, cpu_count(), outcomes, report):
            outcomes[i] = Outcome(tasks[i].path, FAILED, "its worker process died (killed, or out of memory)",
                                  code=ExitCode.INTERNAL)
            report(outcomes[i])
    return outcomes


def _pool_round(tasks: Sequence[Task], indices, jobs: int, threads: int, outcomes: dict[int, Outcome],
                report: OnOutcome) -> list[int]:
    """Run ``tasks[indices]`` in one pool, filling ``outcomes``; return the indices lost to a broken pool."""
    lost: list[int] = []
    context = multiprocessing.get_context("spawn")  # torch's threads do not survive fork
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_worker_start)
    try:
        pending: dict[Future, int] = {pool.submit(run, tasks[i], threads): i for i in indices}
        while pending:
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                i = pending.pop(future)
                try:
                    outcomes[i] = future.result()
                except BrokenProcessPool:
                    lost.append(i)
                    continue
                report(outcomes[i])
    except BaseException:  # Ctrl-C: stop now; finished outputs are kept, the one in flight has no file yet
        pool.shutdown(wait=False, cancel_futures=True)
        for process in list((pool._processes or {}).values()):  # Python < 3.14 has no terminate_workers()
            process.terminate()
        raise
    pool.shutdown()
    return lost


def _worker_start() -> None:
    """A worker leaves Ctrl-C to the parent, which stops it (a terminal sends SIGINT to both)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _on_dask(tasks: Sequence[Task], scheduler: str, report: OnOutcome) -> dict[int, Outcome]:
    """Each task a Dask task on the cluster at ``scheduler``, one torch thread each (size the cluster's
    threads to its cores); a task whose worker died more often than the cluster allows fails."""
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise SchedulerError("--scheduler needs Dask distributed: pip install 'rawmeta[cluster]'") from None
    _check_listening(scheduler)
    try:
        client = Client(scheduler, timeout="10s", set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise SchedulerError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
    outcomes: dict[int, Outcome] = {}
    try:
        futures = client.map(run, list(tasks), threads=1, pure=False)
        index = {future.key: i for i, future in enumerate(futures)}
        for future in as_completed(futures, loop=client.loop):
            i = index[future.key]
            try:
                outcomes[i] = future.result()
            except Exception as exc:  # the task's worker died, or the cluster lost it
                outcomes[i] = Outcome(tasks[i].path, FAILED, f"Dask: {type(exc).__name__}: {exc}",
                                      code=ExitCode.INTERNAL)
            report(outcomes[i])
    finally:
        client.close()
    return outcomes


def _check_listening(address: str) -> None:
    """SchedulerError at once for an address not like ``tcp://HOST:PORT``, or when nothing listens there
    (Dask would retry for 10 s, and leave a client that complains when collected)."""
    scheme, _, rest = address.partition("://")
    host, _, port = rest.rpartition(":")
    if scheme != "tcp" or not host or not port.isdigit():
        raise SchedulerError(f"--scheduler {address!r} is not an address like tcp://HOST:PORT (rawmeta speaks "
                             "plain TCP to Dask)")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=10).close()
    except OSError as exc:
        raise SchedulerError(f"cannot reach the Dask scheduler at {address}: {exc.strerror or exc}") from None
