"""Archive benchmark: images per minute for a folder of RAW+JPEG pairs, 1 job, N jobs and a local Dask cluster.

The folder holds :data:`PAIRS` pairs made from the shared RAWs, taken in turn
(links to the RAW files, never copies, beside LibRaw's quality-95 render of
each). Each way of running embeds every pair (default budget), verifies
every JPEG and restores every JPEG to a DNG, through
:func:`rawmeta.batch.runner.run_batch` on a fresh copy of the JPEGs: the same work
the folder commands do, without their start-up. The N-job runs include
starting the worker processes; the Dask cluster is started before timing,
as an existing cluster would be.
"""
from __future__ import annotations

import resource
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rawmeta.batch.runner import cpu_count, run_batch
from rawmeta.batch.tasks import embed_plan, restore_plan, verify_plan
from rawmeta.benchmarks.harness import machine_line
from rawmeta.benchmarks.render import jpeg_bytes, render_srgb
from rawmeta.benchmarks.sections import BenchRun
from rawmeta.embed.options import DEFAULT_BUDGET, EmbedOptions

#: Pairs in the benchmark folder (the issue asks for at least 20).
PAIRS = 21
STEPS = ("embed", "verify", "restore")


@dataclass(frozen=True)
class ArchiveRow:
    """One way of running: seconds per step and how many files each step finished."""

    label: str
    seconds: dict[str, float]
    done: dict[str, int]
    failed: dict[str, int]

    def per_minute(self, step: str) -> float:
        return 60 * self.done[step] / self.seconds[step]


def make_folder(raws: list[Path], folder: Path, pairs: int = PAIRS) -> Path:
    """``folder/originals`` with ``pairs`` RAW links and JPEG renders, ``IMG_NNNN.<ext>`` and ``IMG_NNNN.jpg``."""
    originals = folder / "originals"
    originals.mkdir(parents=True)
    renders = {raw: jpeg_bytes(render_srgb(raw), 95) for raw in raws}
    for i in range(pairs):
        raw = raws[i % len(raws)]
        (originals / f"IMG_{i:04d}{raw.suffix}").symlink_to(raw.absolute())
        (originals / f"IMG_{i:04d}.jpg").write_bytes(renders[raw])
    return originals


def bench_way(label: str, originals: Path, work: Path, *, jobs: int = 1, scheduler: str | None = None,
              log: Callable[[str], None] = print) -> ArchiveRow:
    """Embed, verify and restore the whole folder one way; a fresh copy of the JPEGs each time."""
    folder = work / label.replace(" ", "_")
    shutil.copytree(originals, folder, symlinks=True)
    seconds, done, failed = {}, {}, {}
    for step in STEPS:
        plan = _plan(step, folder, work / f"{folder.name}-out")
        t0 = time.perf_counter()
        outcomes = run_batch(plan.tasks, jobs=jobs, scheduler=scheduler)
        seconds[step] = time.perf_counter() - t0
        done[step] = sum(o.status == "done" for o in outcomes)
        failed[step] = sum(o.status == "failed" for o in outcomes)
        for o in outcomes:
            if o.status == "failed":
                log(f"{label} {step} failed {Path(o.path).name}: {o.detail}")
        log(f"{label}: {step} {done[step]} files in {seconds[step]:.1f} s")
    return ArchiveRow(label, seconds, done, failed)


def _plan(step: str, folder: Path, out: Path):
    if step == "embed":
        return embed_plan([folder], options=EmbedOptions())
    if step == "verify":
        return verify_plan([folder])
    return restore_plan([folder], out, suffix=".dng")


def run(raws: list[Path], log: Callable[[str], None] = print) -> tuple[list[ArchiveRow], float]:
    """All three ways, in one run; returns the rows and the largest worker process's peak RSS (MB)."""
    from distributed import LocalCluster

    n = cpu_count()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        originals = make_folder(raws, work / "pairs", PAIRS)
        rows.append(bench_way("1 job", originals, work, jobs=1, log=log))
        rows.append(bench_way(f"{n} jobs", originals, work, jobs=n, log=log))
        worker_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        with LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                          env={"OMP_NUM_THREADS": "1"}) as cluster:
            rows.append(bench_way(f"local Dask cluster ({n} workers x 1 thread)", originals, work,
                                  scheduler=cluster.scheduler_address, log=log))
    return rows, worker_rss


def markdown(rows: list[ArchiveRow], raws: list[Path], worker_rss: float, command: str) -> str:
    """The archive section of docs/BENCHMARKS.md."""
    base = rows[0]
    out = [
        f"## Archive: images per minute for a folder of {PAIRS} pairs",
        "",
        machine_line(command),
        "",
        (f"{PAIRS} RAW+JPEG pairs made from the {len(raws)} shared RAWs in turn "
         f"({', '.join(r.name for r in raws)}), each JPEG LibRaw's quality-95 render. Each way embeds every pair "
         f"(default budget, {DEFAULT_BUDGET:g} %), verifies every JPEG (integrity and fingerprint, no restore) "
         "and restores every JPEG to a DNG (fast preset), each on a fresh copy of the JPEGs, in one run. "
         "Timed through the library's batch runner, as the folder commands use it, without their start-up "
         "(about 3 s); the N-job times include starting the worker processes, the Dask cluster was started "
         "before timing. Ratio: images per minute over 1 job's."),
        "",
        "| way | embed img/min | ratio | verify img/min | ratio | restore img/min | ratio | failed |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        cells = [f"{r.per_minute(s):.1f} | {r.per_minute(s) / base.per_minute(s):.2f}" for s in STEPS]
        out.append(f"| {r.label} | {' | '.join(cells)} | {sum(r.failed.values())} |")
    out += ["", (f"Largest peak resident memory of one worker process in the {rows[1].label} run: "
                 f"{worker_rss:.0f} MB (`getrusage` of the reaped workers).")]
    return "\n".join(out) + "\n"


def section(bench: BenchRun) -> str:
    """The archive section of ``rawmeta bench``."""
    rows, worker_rss = run(bench.raws, log=bench.log)
    return markdown(rows, bench.raws, worker_rss, "rawmeta bench --section archive")
