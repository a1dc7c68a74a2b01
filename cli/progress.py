"""Progress on stderr: a one-line bar with the stage and an ETA on a terminal, a line per stage anywhere else."""
from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable


class ProgressBar:
    """``bar(done, total)`` shows progress, ``bar.stage(name)`` names the stage now started; ``close()`` ends it.

    On a terminal it redraws one ``\\r`` line at most every ``interval``
    seconds, and at least that often while no report comes (a heartbeat
    thread keeps the elapsed time moving through a long step). The ETA
    appears once :attr:`ETA_AFTER` of the work is done and :attr:`ETA_SECONDS`
    have passed: the time left at the average rate of the whole run so far,
    so that it neither guesses before anything was measured nor follows
    each step's pace, and grows while a step reports nothing.

    Elsewhere (a log file, a pipe) it writes one plain line as each stage
    starts, once :attr:`DELAY` seconds have passed (the stage under way
    then is told at its next report): a log holds no control characters,
    and quick work (or a quick refusal, whose error must stay one line)
    writes none. With a ``unit``
    (``"files"``) it also shows ``done/total unit``.

    Parameters
    ----------
    label : str
    interval : float
        Seconds between redraws on a terminal.
    stream : file, optional
        Where to write (default: stderr).
    unit : str, optional
    clock : callable
        Seconds, monotonic (tests give a fake one).
    heartbeat : bool
        Whether a thread redraws a terminal's line while no report comes.
    """

    #: Seconds before the first plain line off a terminal.
    DELAY = 2.0
    #: Fraction of the work done before an ETA is shown ...
    ETA_AFTER = 0.05
    #: ... and seconds of work.
    ETA_SECONDS = 2.0

    def __init__(self, label: str, interval: float = 0.5, stream=None, unit: str | None = None,
                 clock: Callable[[], float] = time.monotonic, heartbeat: bool = True):
        self.label = label
        self.unit = unit
        self.interval = interval
        self.stream = stream or sys.stderr
        self.terminal = _is_terminal(self.stream)
        self.clock = clock
        self.start = clock()
        self.last = self.start  # the first line waits an interval: a quick refusal's error stays alone
        self.done, self.total = 0, 0
        self.stage_name = ""
        #: Whether the stage under way was told off a terminal.
        self.told = False
        self.width = 0
        self.drawn = False
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._heart = None
        if self.terminal and heartbeat:
            self._heart = threading.Thread(target=self._beat, name="progress-heartbeat", daemon=True)
            self._heart.start()

    def __call__(self, done: int, total: int) -> None:
        with self._lock:
            now = self.clock()
            self.done, self.total = done, total
            if self.terminal and (done >= total or now - self.last >= self.interval):
                self._draw(now)
            self._announce(now)

    def stage(self, name: str) -> None:
        """The stage ``name`` starts now."""
        with self._lock:
            if name == self.stage_name:
                return
            now = self.clock()
            self.stage_name, self.told = name, False
            if self.terminal and now - self.last >= self.interval:
                self._draw(now)
            self._announce(now)

    def tick(self) -> None:
        """Redraw a terminal's line (the elapsed time, the ETA) though no report came."""
        with self._lock:
            if self.terminal and self.clock() - self.last >= self.interval:
                self._draw(self.clock())

    def close(self) -> None:
        self._stopped.set()
        if self._heart is not None:
            self._heart.join()
        with self._lock:
            if self.drawn:
                self.stream.write("\n")
                self.stream.flush()

    def eta_at(self, now: float) -> float | None:
        """Seconds still to go at ``now`` at the rate of the work so far, or None while too little is done."""
        frac = min(self.done / self.total, 1.0) if self.total else 0.0
        elapsed = now - self.start
        if frac < self.ETA_AFTER or elapsed < self.ETA_SECONDS:
            return None
        return elapsed / frac - elapsed

    def _beat(self) -> None:
        while not self._stopped.wait(self.interval):
            self.tick()

    def _draw(self, now: float) -> None:
        self.last = now
        frac = min(self.done / self.total, 1.0) if self.total else 0.0
        count = f"{self.done}/{self.total} {self.unit}  " if self.unit else ""
        stage = f"  {self.stage_name}" if self.stage_name else ""
        eta = self.eta_at(now)
        times = f"elapsed {_clock(now - self.start)}" + ("" if eta is None else f"  ETA {_clock(eta)}")
        line = f"{self.label} [{'#' * int(30 * frac):<30}] {count}{100 * frac:5.1f} %{stage}  {times} "
        self.stream.write(f"\r{line:<{self.width}}")  # spaces cover what a longer line left
        self.width = len(line)
        self.drawn = True
        self.stream.flush()

    def _announce(self, now: float) -> None:
        """Off a terminal: a line for the stage under way, if not told yet, once :attr:`DELAY` seconds have passed."""
        if self.terminal or self.told or not self.stage_name or now - self.start < self.DELAY:
            return
        self.stream.write(f"{self.label}: {self.stage_name} (elapsed {_clock(now - self.start)})\n")
        self.stream.flush()
        self.told = True


def _is_terminal(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _clock(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60:02d}:{s % 60:02d}"
