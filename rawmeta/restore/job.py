"""What every restore method is given: the image, its samples and the patches to fill."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rawmeta.format.grid import Grid
from rawmeta.progress import Progress
from rawmeta.restore.engine import Engine
from rawmeta.restore.options import DEFAULT_MEMORY_MB
from rawmeta.restore.patches import PatchGrid


@dataclass(frozen=True)
class PatchJob:
    """A restore of some patches of one image.

    Attributes
    ----------
    srgb : ndarray, float32, (H, W, 3)
        The sRGB image in [0, 1].
    values : ndarray, float32, (rows, cols, 3)
        Raw-RGB samples in [0, 1] at ``grid``.
    grid : Grid
    layout : PatchGrid
        The image's patches.
    patches : list of (int, int)
        The patches to fill, sorted.
    engine : Engine
        Where the arithmetic runs (:func:`rawmeta.restore.engine.engine_for`); the paper preset trains on
        its ``device`` with torch.
    seed : int
        Seed of whatever a method draws at random; results are deterministic for a seed on a device.
    memory_mb : int
        Memory one batch of trained networks may use (paper preset).
    highlights : bool
        Whether clipped highlights are interpolated (fast preset).
    enlarged : bool
        Whether ``srgb`` is a smaller JPEG enlarged onto the raw-RGB's grid (a full-resolution restore,
        :mod:`rawmeta.restore.guide`); the fast preset regularises more there.
    objective : {"developed", "raw"}
        What the fast preset's fit makes small (:attr:`rawmeta.RestoreOptions.objective`).
    version : int, optional
        Format version of the payload the samples come from, whose restore hints the methods follow
        (docs/FORMAT.md, "Restore hints"); None for samples given as arrays, restored as the current
        version's.
    progress : callable, optional
        ``progress(done, total)``.
    """

    srgb: np.ndarray
    values: np.ndarray
    grid: Grid
    layout: PatchGrid
    patches: list[tuple[int, int]]
    engine: Engine
    seed: int = 0
    memory_mb: int = DEFAULT_MEMORY_MB
    highlights: bool = True
    enlarged: bool = False
    objective: str = "developed"
    version: int | None = None
    progress: Progress | None = None
