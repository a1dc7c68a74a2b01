"""A one-line progress bar with ETA on stderr."""
from __future__ import annotations

import sys
import time


class ProgressBar:
    """``bar(done, total)`` redraws at most every ``interval`` seconds; ``close()`` ends the line.

    With a ``unit`` (``"files"``) it also shows ``done/total unit``.
    """

    def __init__(self, label: str, interval: float = 0.5, stream=None, unit: str | None = None):
        self.label = label
        self.unit = unit
        self.interval = interval
        self.stream = stream or sys.stderr
        self.start = time.monotonic()
        self.last = 0.0
        self.drawn = False

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - self.last < self.interval:
            return
        self.last = now
        frac = done / total if total else 1.0
        elapsed = now - self.start
        eta = elapsed / frac - elapsed if frac > 0 else float("nan")
        bar = "#" * int(30 * frac)
        count = f"{done}/{total} {self.unit}  " if self.unit else ""
        self.stream.write(f"\r{self.label} [{bar:<30}] {count}{100 * frac:5.1f} %  "
                          f"elapsed {_clock(elapsed)}  ETA {_clock(eta)} ")
        self.stream.flush()
        self.drawn = True

    def close(self) -> None:
        if self.drawn:
            self.stream.write("\n")
            self.stream.flush()


def _clock(seconds: float) -> str:
    if seconds != seconds:  # NaN
        return "--:--"
    s = int(round(seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60:02d}:{s % 60:02d}"
