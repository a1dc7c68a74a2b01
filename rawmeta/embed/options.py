"""How an embed chooses its payload: the options of ``rawmeta embed`` as one typed value."""
from __future__ import annotations

from dataclasses import dataclass

#: Default budget, percent of the JPEG's size (chosen from the rate-distortion curves in docs/BENCHMARKS.md).
DEFAULT_BUDGET = 5.0


@dataclass(frozen=True)
class EmbedOptions:
    """Options of an embed, as :func:`rawmeta.make_payload` and folder embeds take them.

    Attributes
    ----------
    budget : float or None
        Percent of the JPEG's size the payload may add; the settings are
        chosen to fit it with the best restore. None: no budget, just the
        base grid (``stride``, default 8, and ``bits``).
    stride, bits : int, optional
        Fix the base grid's stride or sample depth instead of choosing them.
    device : {"auto", "cpu", "cuda"}
        Where the measuring restores run.
    same_grid : bool
        Take the JPEG to be on the raw-RGB's own grid without checking (it
        must have the same size).
    """

    budget: float | None = DEFAULT_BUDGET
    stride: int | None = None
    bits: int | None = None
    device: str = "auto"
    same_grid: bool = False
