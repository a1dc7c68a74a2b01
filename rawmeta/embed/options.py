"""How an embed chooses its payload: the options of ``rawmeta embed`` as one typed value."""
from __future__ import annotations

from dataclasses import dataclass

from rawmeta.restore.options import OBJECTIVES

#: Default budget, percent of the JPEG's size (chosen from the rate-distortion curves in docs/BENCHMARKS.md).
DEFAULT_BUDGET = 5.0
#: Default cap on a JPEG's growth, percent of its size: it binds only where the budget counts the RAW's pixels and
#: the JPEG is under half the RAW's width and height (5 % of 4 x the pixels is 20 %); what it costs: docs/CONSTANTS.md.
DEFAULT_MAX_GROWTH = 20.0


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
    max_growth : float or None
        Percent of the JPEG's own size the payload may add at most, or the
        budget if that is larger: it binds where the budget counts the RAW's
        pixels (samples on the RAW's grid, a JPEG smaller than the RAW).
        None: no cap.
    objective : {"developed", "raw"}
        What the samples are chosen for. ``"developed"``: the restore's error
        as it shows in a developed image; a plain grid of 8-bit samples, the
        densest that fits the budget (``plan``; planning further did not lower
        it, docs/RESTORE.md). ``"raw"``: the raw-RGB PSNR, as the paper measures;
        restores of the image measure the depth and buy refinement blocks
        where the raw-RGB error is largest.
    """

    budget: float | None = DEFAULT_BUDGET
    stride: int | None = None
    bits: int | None = None
    device: str = "auto"
    same_grid: bool = False
    max_growth: float | None = DEFAULT_MAX_GROWTH
    objective: str = "developed"

    def __post_init__(self) -> None:
        if self.objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {', '.join(OBJECTIVES)}, not {self.objective!r}")
