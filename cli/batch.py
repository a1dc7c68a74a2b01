"""The command line's side of folder work: batch options, one progress bar (a line per file off a terminal),
the summary table."""
from __future__ import annotations

import json
import sys
import time
from collections import Counter
from pathlib import Path

import click

from rawmeta.batch.runner import default_jobs, run_batch
from rawmeta.batch.tasks import FAILED, Outcome, Plan
from rawmeta.errors import BatchFailed, Interrupted

from .progress import ProgressBar

#: Skipped and done files the summary names one by one (all failures are named).
LISTED = 10


def options(command):
    """The options every folder command takes."""
    for option in reversed([
        click.option("--jobs", "-j", type=click.IntRange(1), default=None,
                     help="Worker processes. [default: one per CPU, as many as memory holds at 24 MP]"),
        click.option("--scheduler", metavar="tcp://HOST:PORT",
                     help="Run each file as a task on this Dask distributed scheduler's cluster (its workers need "
                          "rawmeta and the same paths) instead of local processes."),
        click.option("--recursive", "-r", is_flag=True, help="Also take files in subfolders of each folder."),
        click.option("--quiet", "-q", is_flag=True, help="No progress bar."),
    ]):
        command = option(command)
    return command


def run_plan(verb: str, plan: Plan, *, jobs: int | None, scheduler: str | None, quiet: bool,
             as_json: bool = False) -> None:
    """Run a batch with a progress bar, then print its summary (or JSON report); BatchFailed if any failed."""
    jobs = jobs or default_jobs()
    terminal = sys.stderr.isatty()
    bar = ProgressBar(verb, unit="files") if not quiet and plan.tasks and terminal else None
    lines = not quiet and not as_json and not terminal  # a log gets a line per file (the JSON report has them)
    done = 0

    def arrived(outcome: Outcome) -> None:
        nonlocal done
        done += 1
        if bar is not None:
            bar(done, len(plan.tasks))
        if lines:
            click.echo(finished_line(outcome, done, len(plan.tasks)), err=True)

    start = time.monotonic()
    try:
        outcomes = run_batch(plan.tasks, jobs=jobs, scheduler=scheduler, on_outcome=arrived)
    except KeyboardInterrupt:
        raise Interrupted(f"interrupted after {done} of {len(plan.tasks)} files; their outputs are complete and "
                          "a rerun skips them") from None
    finally:
        if bar is not None:
            bar.close()
    seconds = time.monotonic() - start
    counts = Counter(o.status for o in outcomes)
    where = f"on {scheduler}" if scheduler else f"{min(jobs, max(1, len(outcomes)))} job(s)"
    line = (f"{verb}: {counts['done']} done, {counts['skipped']} skipped, {counts[FAILED]} failed of "
            f"{len(outcomes)} in {seconds:.1f} s ({where})")
    if as_json:
        click.echo(json.dumps({
            "command": verb, "seconds": round(seconds, 3),
            "summary": {s: counts[s] for s in ("done", "skipped", FAILED)},
            "files": [o.as_dict() for o in outcomes],
            "unpaired_jpegs": [str(p) for p in plan.unpaired_jpegs],
            "notes": plan.notes,
        }, indent=2))
        if counts[FAILED]:  # the error line is the summary: one line on stderr either way
            raise BatchFailed(f"{counts[FAILED]} of {len(outcomes)} files failed ({counts['done']} done, "
                              f"{counts['skipped']} skipped; the JSON report says why)")
        click.echo(line, err=True)
        return
    click.echo(_table(outcomes, plan))
    click.echo(line)
    if counts[FAILED]:
        raise BatchFailed(f"{counts[FAILED]} of {len(outcomes)} files failed (listed above)")


def finished_line(outcome: Outcome, done: int, total: int) -> str:
    """One plain line for a finished file, as a log shows it: ``[3/120] IMG_0003.jpg -> out/IMG_0003.dng  4.1 s``.

    Examples
    --------
    >>> print(finished_line(Outcome("raw/IMG_3.NEF", "done", "embedded", seconds=4.06, output="raw/IMG_3.jpg"), 3, 9))
    [3/9] IMG_3.NEF -> raw/IMG_3.jpg  4.1 s
    >>> print(finished_line(Outcome("a/IMG_4.jpg", "failed", "no rawmeta data", seconds=0.01, code=3), 4, 9))
    [4/9] IMG_4.jpg failed: no rawmeta data (exit 3)  0.0 s
    """
    name = Path(outcome.path).name
    if outcome.status == "done":
        what = f" -> {outcome.output}" if outcome.output else f": {outcome.detail}"
    else:
        what = f" {outcome.status}: {outcome.detail}" + (f" (exit {outcome.code})" if outcome.code else "")
    return f"[{done}/{total}] {name}{what}  {outcome.seconds:.1f} s"


def _table(outcomes: list[Outcome], plan: Plan) -> str:
    """Counts by status, then each failure and skip with its reason, then the plan's notes."""
    counts = Counter(o.status for o in outcomes)
    lines = ["status    files", *(f"{s:<8} {counts[s]:>6}" for s in ("done", "skipped", FAILED))]
    for status, most in ((FAILED, None), ("skipped", LISTED), ("done", LISTED)):
        listed = [o for o in outcomes if o.status == status]
        if listed:
            lines.append(f"{status}:")
            lines += [f"  {Path(o.path).name}: {o.detail}" + (f" (exit {o.code})" if o.code else "")
                      for o in listed[:most]]
            if most is not None and len(listed) > most:
                lines.append(f"  ... and {len(listed) - most} more")
    if plan.unpaired_jpegs:
        lines.append("JPEGs without a RAW (left alone):")
        lines += [f"  {p.name}" for p in plan.unpaired_jpegs]
    noted = [o for o in outcomes if o.note and o.status != FAILED]
    if noted:
        lines.append("written under another name:")
        lines += [f"  {Path(o.path).name} -> {o.note}" for o in noted]
    if plan.notes:
        lines.append("notes:")
        lines += [f"  {note}" for note in plan.notes]
    return "\n".join(lines)
