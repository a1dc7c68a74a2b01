"""Progress on stderr: a one-line bar with ETA on a terminal, plain lines anywhere else."""
from __future__ import annotations

import sys
import time

#: On a stream that is not a terminal, a line is written each time this many percent more are done.
LINE_STEP = 10


class ProgressBar:
    """``bar(done, total)`` shows progress; ``close()`` ends it.

    On a terminal it redraws one ``\\r`` line at most every ``interval``
    seconds. Elsewhere (a log file, a pipe) it writes a plain line each
    :data:`LINE_STEP` percent once :attr:`DELAY` seconds have passed, so a
    log holds no control characters and quick work (or a quick refusal,
    whose error must stay one line) writes none. With a ``unit``
    (``"files"``) it also shows ``done/total unit``.
    """

    #: Seconds before the first plain line off a terminal.
    DELAY = 2.0

    def __init__(self, label: str, interval: float = 0.5, stream=None, unit: str | None = None):
        self.label = label
        self.unit = unit
        self.interval = interval
        self.stream = stream or sys.stderr
        self.terminal = _is_terminal(self.stream)
        self.start = time.monotonic()
        self.last = 0.0
        self.next_line = 0
        self.drawn = False

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        frac = done / total if total else 1.0
        if self.terminal:
            if done < total and now - self.last < self.interval:
                return
        elif 100 * frac < self.next_line or now - self.start < self.DELAY:
            return
        self.last = now
        elapsed = now - self.start
        eta = elapsed / frac - elapsed if frac > 0 else float("nan")
        count = f"{done}/{total} {self.unit}  " if self.unit else ""
        times = f"elapsed {_clock(elapsed)}  ETA {_clock(eta)}"
        if self.terminal:
            bar = "#" * int(30 * frac)
            self.stream.write(f"\r{self.label} [{bar:<30}] {count}{100 * frac:5.1f} %  {times} ")
            self.drawn = True
        else:
            self.stream.write(f"{self.label}: {count}{100 * frac:.0f} %  {times}\n")
            self.next_line = (int(100 * frac) // LINE_STEP + 1) * LINE_STEP
        self.stream.flush()

    def close(self) -> None:
        if self.drawn:
            self.stream.write("\n")
            self.stream.flush()


def _is_terminal(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _clock(seconds: float) -> str:
    if seconds != seconds:  # NaN
        return "--:--"
    s = int(round(seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60:02d}:{s % 60:02d}"
