"""Kill a ``rawmeta`` command with SIGKILL at random moments, many times over (used by tests/kill/test_kill.py).

Run as ``python -m tests.kill.harness`` with a JSON object on stdin:

- ``args``: the command line after ``rawmeta``;
- ``watch``: the file whose state is recorded after each kill;
- ``reset``: the bytes (hex) ``watch`` is set back to before each run, or null to delete it;
- ``runs``, ``seed``: how many kills, and the seed of their moments.

This interpreter imports the command line once, then forks a child per run,
so a run costs only the command's own work, not the start-up of Python and
torch. It never runs torch itself, so the children do not inherit thread
pools. It first runs the command to the end, timing the whole run and how
long its temp file lives. Half the kills then fall anywhere in the run (or a
little past it); the other half fall while the output is written: the
harness watches the folder and kills within 1.5 times that write time of the
temp file appearing.

Prints one JSON object: ``complete`` (sha256 of ``watch`` after the full run)
and ``runs``, a list of ``{"delay", "after_temp", "killed", "state", "temps"}``:
the delay in seconds (from the start, or from the temp file appearing),
whether the signal found the child still running, the sha256 of
``watch`` afterwards (null if absent) and the rawmeta temp files then in its
folder.
"""
from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import sys
import time
from pathlib import Path

import rawmeta.embed.jpeg  # noqa: F401  the commands import these (and torch) on first use: once here
from rawmeta.cli.main import main as rawmeta_main
from rawmeta.io.atomic import TEMP_MARKER

#: Full runs tried before concluding the command writes no temp file.
FULL_RUN_TRIES = 5


def _child(args: list[str]) -> None:
    """Run the command in this (forked) process and leave with its exit code."""
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    os.dup2(null, 2)
    code = 0
    try:
        rawmeta_main(args, prog_name="rawmeta", standalone_mode=True)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    finally:
        os._exit(code)


def _reset(watch: Path, original: bytes | None) -> None:
    if original is None:
        watch.unlink(missing_ok=True)
    else:
        watch.write_bytes(original)


def _state(watch: Path) -> str | None:
    return hashlib.sha256(watch.read_bytes()).hexdigest() if watch.exists() else None


def _temps(folder: Path) -> set[str]:
    return {name for name in os.listdir(folder) if TEMP_MARKER in name}


def _run(args: list[str], folder: Path, delay: float | None, after_temp: bool) -> tuple[bool, float]:
    """Fork the command and SIGKILL it ``delay`` seconds after its start, or after its temp file appears.

    With ``delay`` None it runs to the end. Returns whether the signal killed
    it and how long its temp file was seen (0 when never).
    """
    before = _temps(folder)
    pid = os.fork()
    if pid == 0:
        _child(args)
    start = time.perf_counter()
    seen = gone = None
    while True:
        done, _ = os.waitpid(pid, os.WNOHANG)
        now = time.perf_counter()
        if done:
            return False, (gone or now) - seen if seen else 0.0
        fresh = bool(_temps(folder) - before)
        if fresh and seen is None:
            seen = now
        elif not fresh and seen is not None and gone is None:
            gone = now
        origin = seen if after_temp else start
        if delay is not None and origin is not None and now >= origin + delay:
            os.kill(pid, signal.SIGKILL)
            _, status = os.waitpid(pid, 0)
            return os.WIFSIGNALED(status), (gone or now) - seen if seen else 0.0
        time.sleep(0.0002)


def main(spec: dict) -> dict:
    watch = Path(spec["watch"])
    original = None if spec["reset"] is None else bytes.fromhex(spec["reset"])
    rng = random.Random(spec["seed"])
    for _ in range(FULL_RUN_TRIES):  # a write quicker than one poll, or a poller not scheduled, sees no temp file
        _reset(watch, original)
        start = time.perf_counter()
        _, window = _run(spec["args"], watch.parent, None, False)
        full = time.perf_counter() - start
        if window:
            break
    else:
        raise SystemExit(f"none of {FULL_RUN_TRIES} full runs was seen writing a temp file: "
                         "is this a command that writes WATCH?")
    complete = _state(watch)
    runs = []
    for i in range(spec["runs"]):
        _reset(watch, original)
        after_temp = i % 2 == 0
        delay = rng.uniform(0, 1.5 * window) if after_temp else rng.uniform(0, 1.1 * full)
        killed, _ = _run(spec["args"], watch.parent, delay, after_temp)
        temps = sorted(name for name in os.listdir(watch.parent) if TEMP_MARKER in name)
        runs.append({"delay": delay, "after_temp": after_temp, "killed": killed, "state": _state(watch),
                     "temps": temps})
    return {"complete": complete, "full_seconds": full, "write_seconds": window, "runs": runs}


if __name__ == "__main__":
    print(json.dumps(main(json.load(sys.stdin))))
