"""A long fuzz run of the properties in tests/fuzz/targets.py (issue #6); not collected by pytest.

    .venv/bin/python -m tests.fuzz.long_run --minutes 20
    .venv/bin/python -m tests.fuzz.long_run --examples 5000 --only unpack inspect

Each property runs in turn, in chunks of hypothesis examples with fresh
random seeds, until the time or the examples are used up, in one process
whose address space is capped (an unbounded allocation is a MemoryError,
that is a failure). A check slower than ``--slow`` seconds is a failure
too. Failures are told apart by exception type and the innermost line of
rawmeta (or of the tests) it came from; the first time one is seen,
hypothesis shrinks it, and later sightings are only counted, so that the
run goes on exploring. At the end it prints the executions per property
and the distinct failures, and ``--out`` holds, per failure, the smallest
failing input seen (``.bin``: the bytes given to rawmeta) and a ``.txt``
with the input's repr and the traceback, to turn into a regression test.
"""
from __future__ import annotations

import argparse
import hashlib
import random
import time
import traceback
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Verbosity, given, seed, settings

from . import targets as ft

REPO = Path(__file__).resolve().parents[2]


class TooSlow(Exception):
    """One check ran longer than the run's ``--slow`` limit."""


@dataclass
class Failure:
    """A distinct failure: its smallest input so far and how often it was seen."""

    key: str
    value: Any
    trace: str
    seen: int = 1

    @property
    def size(self) -> int:
        return len(_input_bytes(self.value) or repr(self.value))


def failure_key(prop: str, exc: BaseException) -> str:
    """``property: Type at file:line``, the line being the innermost one in this repository."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.startswith(str(REPO))]
    where = f"{Path(frames[-1].filename).relative_to(REPO)}:{frames[-1].lineno}" if frames else "?"
    return f"{prop}: {type(exc).__name__} at {where}"


def _input_bytes(value: Any) -> bytes | None:
    """The bytes an input hands to rawmeta: the input itself, or the bytes in an input tuple."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, tuple):
        return next((v for v in value if isinstance(v, bytes)), None)
    return None


class Recorder:
    """Counts executions and keeps the smallest input of each distinct failure."""

    def __init__(self, slow: float):
        self.slow = slow
        self.executions: Counter[str] = Counter()
        self.failures: dict[str, Failure] = {}
        self.shrunk: set[str] = set()  # failures hypothesis has shrunk once: later ones are only counted

    def checked(self, prop: ft.Property):
        """``prop.check`` that counts its runs and records its failures."""

        def run(value):
            self.executions[prop.name] += 1
            start = time.monotonic()
            try:
                prop.run(value)
                took = time.monotonic() - start
                if took > self.slow:
                    raise TooSlow(f"one check took {took:.1f} s")
            except Exception as exc:
                if self.record(failure_key(prop.name, exc), value, exc) in self.shrunk:
                    return
                raise

        return run

    def record(self, key: str, value: Any, exc: BaseException) -> str:
        trace = "".join(traceback.format_exception(exc))
        old = self.failures.get(key)
        if old is None:
            print(f"new failure: {key}", flush=True)
            self.failures[key] = Failure(key, value, trace)
        else:
            old.seen += 1
            if len(_input_bytes(value) or repr(value)) < old.size:
                old.value, old.trace = value, trace
        return key

    def write(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        for f in self.failures.values():
            name = f.key.split(":")[0] + "-" + hashlib.sha256(f.key.encode()).hexdigest()[:10]
            data = _input_bytes(f.value)
            if data is not None:
                (folder / f"{name}.bin").write_bytes(data)
            (folder / f"{name}.txt").write_text(f"{f.key}\nseen {f.seen} times\n\ninput: {f.value!r}\n\n{f.trace}")


def run_chunk(prop: ft.Property, recorder: Recorder, examples: int, rng: random.Random) -> None:
    """``examples`` hypothesis examples of ``prop`` with a fresh seed; failures end up in ``recorder``."""
    test = settings(max_examples=examples, deadline=None, database=None, verbosity=Verbosity.quiet,
                    suppress_health_check=list(HealthCheck))(given(prop.inputs())(recorder.checked(prop)))
    known = set(recorder.failures)
    try:
        seed(rng.getrandbits(64))(test)()
    except BaseException as exc:  # a failure (recorded as it happened), an ExceptionGroup of them, or hypothesis's own
        if isinstance(exc, KeyboardInterrupt):
            raise
        if set(recorder.failures) == known:
            recorder.record(failure_key(prop.name, exc), None, exc)
    recorder.shrunk |= set(recorder.failures)


def fuzz(props: list[ft.Property], recorder: Recorder, minutes: float | None, examples: int | None,
         chunk: int, rng: random.Random, turn: float) -> float:
    """Round-robin over ``props``, each for chunks of ``chunk`` examples during ``turn`` seconds, until the
    time or every property's examples are used; returns the seconds spent."""
    start = time.monotonic()
    deadline = start + 60 * minutes if minutes else float("inf")

    def pending(prop: ft.Property) -> bool:
        return time.monotonic() < deadline and (examples is None or recorder.executions[prop.name] < examples)

    while any(pending(p) for p in props):
        for prop in filter(pending, props):
            turn_end = time.monotonic() + turn
            while pending(prop) and time.monotonic() < turn_end:
                run_chunk(prop, recorder, chunk, rng)
        print(f"[{(time.monotonic() - start) / 60:.1f} min] executions {dict(recorder.executions)}, "
              f"{len(recorder.failures)} distinct failures", flush=True)
    return time.monotonic() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    budget = parser.add_mutually_exclusive_group(required=True)
    budget.add_argument("--minutes", type=float, help="run for this long")
    budget.add_argument("--examples", type=int, help="run each property about this many times")
    parser.add_argument("--only", nargs="+", choices=sorted(ft.PROPERTIES), help="properties to run (default: all)")
    parser.add_argument("--chunk", type=int, default=200, help="examples per hypothesis run (default 200)")
    parser.add_argument("--turn", type=float, default=30.0, help="seconds per property per round (default 30)")
    parser.add_argument("--slow", type=float, default=10.0, help="seconds after which a check is a failure")
    parser.add_argument("--memory-gb", type=float, default=2.0, help="address space allowed beyond the start's")
    parser.add_argument("--seed", type=int, default=None, help="seed of the run (default: random)")
    parser.add_argument("--out", type=Path, default=Path("fuzz-failures"), help="where failing inputs go")
    args = parser.parse_args(argv)

    master = args.seed if args.seed is not None else random.randrange(2**32)
    props = [ft.PROPERTIES[name] for name in args.only or ft.PROPERTIES]
    print(f"fuzzing {', '.join(p.name for p in props)} (seed {master})", flush=True)
    ft.seeds()  # built before the cap, like the seed files they are
    recorder = Recorder(args.slow)
    with ft.memory_cap(int(args.memory_gb * 2**30)):
        took = fuzz(props, recorder, args.minutes, args.examples, args.chunk, random.Random(master), args.turn)
    recorder.write(args.out)
    print(f"\n{took / 60:.1f} minutes, {sum(recorder.executions.values())} executions")
    for prop in props:
        print(f"  {prop.name:10} {recorder.executions[prop.name]:8}")
    print(f"{len(recorder.failures)} distinct failures" + (f" (inputs in {args.out}/)" if recorder.failures else ""))
    for f in recorder.failures.values():
        print(f"  {f.key}  (seen {f.seen} times, smallest input {f.size} bytes)")
    return 1 if recorder.failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
