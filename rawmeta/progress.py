"""Progress reports of long library calls: ``progress(done, total)`` callbacks, and parts of them."""
from __future__ import annotations

from collections.abc import Callable

#: Called with the work done and the work in all, in any unit, as the work goes on.
Progress = Callable[[int, int], None]

#: Steps a :func:`part` reports the whole in.
_STEPS = 1000


def part(progress: Progress | None, start: float, end: float) -> Progress | None:
    """A Progress for one stage of a longer task, reported to ``progress`` as ``start`` to ``end`` of the whole.

    ``start`` and ``end`` are fractions of the whole (0 to 1); None stays None.
    """
    if progress is None:
        return None

    def report(done: int, total: int) -> None:
        fraction = start + (end - start) * (done / total if total else 1.0)
        progress(int(round(_STEPS * fraction)), _STEPS)

    return report
