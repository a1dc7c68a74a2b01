"""Progress reports of long library calls: ``progress(done, total)`` callbacks, named stages, and parts of them.

A callback is any ``progress(done, total)``. One that also has a
``stage(name)`` method is told, through :func:`stage`, when each named
stage of the work starts ("reading RAW", "aligning", ...); a plain function
is simply not told.
"""
from __future__ import annotations

from collections.abc import Callable

#: Called with the work done and the work in all, in any unit, as the work goes on.
Progress = Callable[[int, int], None]

#: Steps a :func:`part` reports the whole in.
_STEPS = 1000


def report(progress: Progress | None, done: int, total: int) -> None:
    """``progress(done, total)``, unless ``progress`` is None.

    Examples
    --------
    >>> seen = []
    >>> report(lambda done, total: seen.append((done, total)), 3, 4)
    >>> report(None, 3, 4)
    >>> seen
    [(3, 4)]
    """
    if progress is not None:
        progress(done, total)


def stage(progress: Progress | None, name: str) -> None:
    """Tell ``progress`` that the stage ``name`` starts now, if it takes stage names (a ``stage`` method).

    Examples
    --------
    >>> class Shown:
    ...     def __call__(self, done, total): pass
    ...     def stage(self, name): print("now", name)
    >>> stage(Shown(), "aligning")
    now aligning
    >>> stage(print, "aligning")  # a plain callback is not told
    """
    named = getattr(progress, "stage", None)
    if named is not None:
        named(name)


class Part:
    """A Progress for one stage of a longer task, reported to ``whole`` as ``start`` to ``end`` of it.

    ``start`` and ``end`` are fractions of the whole (0 to 1). Stage names
    pass through to ``whole``.
    """

    def __init__(self, whole: Progress, start: float, end: float):
        self.whole, self.start, self.end = whole, start, end

    def __call__(self, done: int, total: int) -> None:
        fraction = self.start + (self.end - self.start) * (min(done / total, 1.0) if total else 1.0)
        self.whole(int(round(_STEPS * fraction)), _STEPS)

    def stage(self, name: str) -> None:
        stage(self.whole, name)


def part(progress: Progress | None, start: float, end: float) -> Part | None:
    """A Progress for one stage of a longer task, reported to ``progress`` as ``start`` to ``end`` of the whole.

    ``start`` and ``end`` are fractions of the whole (0 to 1); None stays None.

    Examples
    --------
    >>> seen = []
    >>> half = part(lambda done, total: seen.append(done / total), 0.5, 1.0)
    >>> half(1, 4)
    >>> seen
    [0.625]
    >>> part(None, 0.5, 1.0) is None
    True
    """
    return None if progress is None else Part(progress, start, end)
