"""Restore raw-RGB from an sRGB image and the payload's samples, patch by patch.

``reconstruct`` is the library entry point researchers call on arrays; the
``restore`` command runs it on a JPEG's own pixels and payload. The methods
it runs are in :mod:`rawmeta.restore.methods`.
"""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from rawmeta.format import refinement
from rawmeta.format.grid import Grid
from rawmeta.format.payload import Payload
from rawmeta.progress import Progress
from rawmeta.restore import methods
from rawmeta.restore.engine import engine_for
from rawmeta.restore.highlights import reach_peak
from rawmeta.restore.job import PatchJob
from rawmeta.restore.methods import DEFAULT_PRESET
from rawmeta.restore.options import DEFAULT_MEMORY_MB
from rawmeta.restore.patches import DEFAULT_PATCH, MIN_TRAINING_SAMPLES, PatchGrid, training_count


def reconstruct(
    srgb: np.ndarray,
    samples: Payload | np.ndarray,
    grid: Grid | None = None,
    *,
    method: str = "inf",
    preset: str = DEFAULT_PRESET,
    patch_size: tuple[int, int] = DEFAULT_PATCH,
    patches: Iterable[tuple[int, int]] | None = None,
    device: str = "auto",
    engine: str = "auto",
    seed: int = 0,
    memory_mb: int = DEFAULT_MEMORY_MB,
    progress: Progress | None = None,
    highlights_hint: bool | None = None,
    enlarged: bool | None = None,
    objective: str = "developed",
) -> np.ndarray:
    """Restore raw-RGB on the sRGB image's pixel grid.

    Parameters
    ----------
    srgb : ndarray, (H, W, 3)
        The sRGB image: uint8, or float in [0, 1].
    samples : Payload or ndarray
        A payload, or raw-RGB sample values (rows, cols, 3) in [0, 1] at ``grid``.
    grid : Grid, optional
        Sample positions when ``samples`` is an array (default: the centred
        stride-8 grid of the image).
    method : {"inf", "rbf"}
        Patch-wise implicit neural functions, or SAM's linear RBF baseline.
    preset : {"fast", "paper"}
        INF preset: ``"fast"`` solves each patch's output layer in closed form
        over a shared sine layer, blends neighbouring patches and treats
        clipped highlights apart (``fast``, ``highlights``); ``"paper"``
        trains the paper's networks with Adam (``paper``). :mod:`rawmeta.restore.methods` lists them.
    patch_size : (int, int)
        Approximate patch height and width.
    patches : iterable of (int, int), optional
        Restore only these patches of ``PatchGrid.for_image(H, W, patch_size)``;
        other pixels are NaN. Default: all.
    device : {"auto", "cpu", "cuda"}
    engine : {"auto", "numpy", "torch"}
        What computes the fast preset and the RBF (:func:`rawmeta.restore.engine.engine_for`): ``auto``
        is NumPy on a CPU, without importing torch, and torch on CUDA.
    seed : int
        Network initialisation seed; results are deterministic for a seed on a device.
    memory_mb : int
        Memory budget for one batch of INF patches.
    progress : callable, optional
        ``progress(done, total)`` in units of work (paper preset: training
        steps x patches; otherwise patches).
    highlights_hint : bool, optional
        Whether the fast preset interpolates clipped highlights; default:
        the payload's hint (which its writer measured), True for arrays.
    enlarged : bool, optional
        Whether ``srgb`` is a smaller JPEG enlarged onto the raw-RGB's grid
        (:func:`rawmeta.restore.guide.enlarged_on_raw_grid`); default: whether the
        payload's samples are on the RAW's grid, False for arrays.
    objective : {"developed", "raw"}
        What the fast preset's fit makes small: the error as it shows in a
        developed image, or the raw-RGB error (:attr:`rawmeta.RestoreOptions.objective`).

    A payload restores as its format version says (the fast preset draws
    256 sine units before version 10, 128 from it, as arrays do); its
    refinement blocks (``refinement``) correct the result of any method;
    then, where the payload records the raw-RGB's peak and every patch is
    restored, the pixels the sRGB shows white reach it
    (:func:`rawmeta.restore.highlights.reach_peak`).

    Returns
    -------
    ndarray, float32, (H, W, 3)

    Examples
    --------
    A smooth sRGB image, and raw-RGB sampled from a stand-in for its RAW on
    the default grid (one pixel in 8 x 8):

    >>> from rawmeta import Grid
    >>> y, x = np.mgrid[0:96, 0:128] / 128.0
    >>> srgb = (np.stack([x, y, 0.5 + 0 * x], axis=-1) * 200).astype(np.uint8)
    >>> raw = (srgb / 255.0) ** 2.2 * [0.5, 1.0, 0.7]
    >>> grid = Grid.centred(96, 128)
    >>> restored = reconstruct(srgb, grid.sample(raw), grid, device="cpu")
    >>> restored.shape, restored.dtype
    ((96, 128, 3), dtype('float32'))
    >>> float(np.abs(restored - raw).max()) < 1e-3
    True
    """
    chosen_method = methods.resolve(method, preset)
    h, w = srgb.shape[:2]
    payload = samples if isinstance(samples, Payload) else None
    if payload is not None:
        grid, values = payload.grid, payload.values()
    else:
        grid = grid or Grid.centred(h, w)
        values = np.asarray(samples, dtype=np.float32)
    if (grid.height, grid.width) != (h, w):
        raise ValueError(f"samples are for a {grid.width} x {grid.height} image, the sRGB is {w} x {h}")
    if highlights_hint is None:
        highlights_hint = payload is None or payload.highlights
    if enlarged is None:
        enlarged = payload is not None and payload.jpeg_size is not None
    job = patch_job(srgb, values, grid, patch_size=patch_size, patches=patches, device=device, engine=engine,
                    seed=seed, memory_mb=memory_mb, highlights=highlights_hint, enlarged=enlarged, objective=objective,
                    version=payload.version if payload is not None else None, progress=progress)
    out = run(chosen_method, job)
    if payload is not None and payload.refinement is not None:
        rows, cols = payload.refinement.positions(h, w)
        refinement.apply(out, payload.refinement, rows, cols, payload.refined_values())
    if payload is not None and payload.peak is not None and patches is None:
        reach_peak(out, srgb, payload.peak)
    return out


def as_unit_float(srgb: np.ndarray) -> np.ndarray:
    """sRGB as float32 in [0, 1]: uint8 divided by 255, floats clipped."""
    if srgb.dtype == np.uint8:
        return srgb.astype(np.float32) / np.float32(255)
    return np.clip(srgb.astype(np.float32), 0.0, 1.0)


def patch_job(srgb: np.ndarray, values: np.ndarray, grid: Grid, *, patch_size: tuple[int, int] = DEFAULT_PATCH,
              patches: Iterable[tuple[int, int]] | None = None, device: str = "auto", engine: str = "auto",
              seed: int = 0, memory_mb: int = DEFAULT_MEMORY_MB, highlights: bool = True, enlarged: bool = False,
              objective: str = "developed", version: int | None = None, progress: Progress | None = None) -> PatchJob:
    """The job of restoring ``patches`` (default: all) of the image ``srgb`` from ``values`` at ``grid``.

    Raises ValueError for patches outside the grid or with too few samples to fit a model.
    """
    h, w = srgb.shape[:2]
    layout = PatchGrid.for_image(h, w, patch_size)
    chosen = sorted(set(patches)) if patches is not None else list(layout)
    rows, cols = layout.shape
    if not chosen or any(not (0 <= i < rows and 0 <= j < cols) for i, j in chosen):
        raise ValueError(f"patches must be a non-empty choice of (row, col) in a {rows} x {cols} patch grid")
    if min(training_count(layout, grid, ij) for ij in chosen) < MIN_TRAINING_SAMPLES:
        raise ValueError(f"patches of {patch_size} pixels hold fewer than {MIN_TRAINING_SAMPLES} samples "
                         f"with their neighbours at stride {grid.stride}; use larger patches")
    return PatchJob(srgb=as_unit_float(srgb), values=values, grid=grid, layout=layout, patches=chosen,
                    engine=engine_for(device, engine), seed=seed, memory_mb=memory_mb, highlights=highlights,
                    enlarged=enlarged, objective=objective, version=version, progress=progress)


def run(method: methods.Method, job: PatchJob) -> np.ndarray:
    """``method``'s restore of ``job``: float32 (H, W, 3), NaN outside ``job.patches``."""
    # Every method writes each pixel of its patches, so only the pixels outside them are set here: filling
    # the whole image first would touch each of its pages on this one thread before the pool's threads do.
    out = np.empty((job.layout.height, job.layout.width, 3), dtype=np.float32)
    outside = np.ones(out.shape[:2], dtype=bool)
    for ij in job.patches:
        y0, y1, x0, x1 = job.layout.box(*ij)
        outside[y0:y1, x0:x1] = False
    out[outside] = np.nan
    method.run(job, out)
    return out
