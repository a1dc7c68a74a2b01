"""Restore raw-RGB from an sRGB image and the payload's samples, patch by patch.

``reconstruct`` is the library entry point researchers call on arrays; the
``restore`` command runs it on a JPEG's own pixels and payload.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from rawmeta.format import refinement
from rawmeta.format.grid import Grid
from rawmeta.format.payload import Payload
from rawmeta.progress import Progress
from rawmeta.restore import fast as ridge_inf
from rawmeta.restore import highlights, rbf
from rawmeta.restore import paper as inf
from rawmeta.restore.patches import DEFAULT_PATCH, PatchGrid, grid_slices, normalised_xy

METHODS = ("inf", "rbf")
#: The INF preset solved in closed form (``ridge_inf``); the others are ``inf.PRESETS`` (the paper's).
DEFAULT_PRESET = "fast"
#: Memory the INF engine may use for one batch of patches during training.
DEFAULT_MEMORY_MB = 2048
# Peak training memory per sample and network for the paper preset: 36 KB
# measured (ru_maxrss, 2 x 9000 samples, float32 on CPU), with headroom.
_BYTES_PER_SAMPLE_PAPER = 40 * 1024

#: Fewest samples (a patch's and its neighbours') that a local model may be fitted to.
MIN_TRAINING_SAMPLES = 16


@dataclass(frozen=True)
class _PatchData:
    index: tuple[int, int]
    box: tuple[int, int, int, int]
    train_srgb: np.ndarray  # (N, 3)
    train_xy: np.ndarray  # (N, 2)
    train_raw: np.ndarray  # (N, 3)


def resolve_device(device: str) -> torch.device:
    """``auto`` -> CUDA when present, else CPU; ``cuda`` without CUDA raises ValueError."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda was asked for but PyTorch sees no CUDA device")
    if device not in ("cpu", "cuda"):
        raise ValueError(f"device must be auto, cpu or cuda, not {device!r}")
    return torch.device(device)


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
    seed: int = 0,
    memory_mb: int = DEFAULT_MEMORY_MB,
    progress: Progress | None = None,
    highlights_hint: bool | None = None,
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
        clipped highlights apart (``ridge_inf``, ``highlights``); ``"paper"``
        trains the paper's networks with Adam (``inf``).
    patch_size : (int, int)
        Approximate patch height and width.
    patches : iterable of (int, int), optional
        Restore only these patches of ``PatchGrid.for_image(H, W, patch_size)``;
        other pixels are NaN. Default: all.
    device : {"auto", "cpu", "cuda"}
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

    A payload's refinement blocks (``refinement``) correct the result of
    any method.

    Returns
    -------
    ndarray, float32, (H, W, 3)
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, not {method!r}")
    presets = (DEFAULT_PRESET, *inf.PRESETS)
    if method == "inf" and preset not in presets:
        raise ValueError(f"unknown INF preset {preset!r}; presets: {', '.join(presets)}")
    h, w = srgb.shape[:2]
    payload = samples if isinstance(samples, Payload) else None
    if payload is not None:
        grid, values = payload.grid, payload.values()
    else:
        grid = grid or Grid.centred(h, w)
        values = np.asarray(samples, dtype=np.float32)
    if (grid.height, grid.width) != (h, w):
        raise ValueError(f"samples are for a {grid.width} x {grid.height} image, the sRGB is {w} x {h}")
    srgb_f = as_unit_float(srgb)
    layout = PatchGrid.for_image(h, w, patch_size)
    chosen = sorted(set(patches)) if patches is not None else list(layout)
    rows, cols = layout.shape
    if not chosen or any(not (0 <= i < rows and 0 <= j < cols) for i, j in chosen):
        raise ValueError(f"patches must be a non-empty choice of (row, col) in a {rows} x {cols} patch grid")
    if min(_training_count(layout, grid, ij) for ij in chosen) < MIN_TRAINING_SAMPLES:
        raise ValueError(f"patches of {patch_size} pixels hold fewer than {MIN_TRAINING_SAMPLES} samples "
                         f"with their neighbours at stride {grid.stride}; use larger patches")
    out = np.full((h, w, 3), np.nan, dtype=np.float32)
    dev = resolve_device(device)
    if method == "inf" and preset == DEFAULT_PRESET:
        ridge_inf.restore(srgb_f, values, grid, layout, chosen, ridge_inf.preset_for(grid, layout), dev, seed, out,
                          progress)
        if highlights_hint is None:
            highlights_hint = payload is None or payload.highlights
        if highlights_hint:
            highlights.refine(out, srgb_f, values, grid, layout, chosen, dev)
    else:
        data = [_patch_data(layout, grid, srgb_f, values, ij) for ij in chosen]
        if method == "rbf":
            _run_rbf(data, srgb_f, out, dev, progress)
        else:
            _run_inf(data, srgb_f, out, inf.PRESETS[preset], dev, seed, memory_mb, progress)
    if payload is not None and payload.refinement is not None:
        rows, cols = payload.refinement.positions(h, w)
        refinement.apply(out, payload.refinement, rows, cols, payload.refined_values())
    return out


def as_unit_float(srgb: np.ndarray) -> np.ndarray:
    """sRGB as float32 in [0, 1]: uint8 divided by 255, floats clipped."""
    if srgb.dtype == np.uint8:
        return srgb.astype(np.float32) / np.float32(255)
    return np.clip(srgb.astype(np.float32), 0.0, 1.0)


def restorable(grid: Grid, patch_size: tuple[int, int] = DEFAULT_PATCH) -> bool:
    """Whether every patch of the image has enough samples (with its neighbours') at ``grid`` to restore."""
    layout = PatchGrid.for_image(grid.height, grid.width, patch_size)
    return min(_training_count(layout, grid, ij) for ij in layout) >= MIN_TRAINING_SAMPLES


def _training_count(layout: PatchGrid, grid: Grid, ij: tuple[int, int]) -> int:
    """Samples in patch ``ij``'s 3 x 3 neighbourhood."""
    rs, cs = grid_slices(grid, layout.neighbourhood(*ij))
    return (rs.stop - rs.start) * (cs.stop - cs.start)


def _patch_data(layout: PatchGrid, grid: Grid, srgb: np.ndarray, values: np.ndarray, ij) -> _PatchData:
    rs, cs = grid_slices(grid, layout.neighbourhood(*ij))
    rows, cols = np.meshgrid(grid.rows()[rs], grid.cols()[cs], indexing="ij")
    return _PatchData(
        index=ij,
        box=layout.box(*ij),
        train_srgb=srgb[rows, cols].reshape(-1, 3),
        train_xy=normalised_xy(rows.ravel(), cols.ravel(), layout.height, layout.width),
        train_raw=values[rs, cs].reshape(-1, 3),
    )


def _box_inputs(srgb: np.ndarray, box) -> tuple[np.ndarray, np.ndarray]:
    y0, y1, x0, x1 = box
    rows, cols = np.mgrid[y0:y1, x0:x1]
    return srgb[y0:y1, x0:x1].reshape(-1, 3), normalised_xy(rows.ravel(), cols.ravel(), *srgb.shape[:2])


def _run_rbf(data: Sequence[_PatchData], srgb, out, dev, progress) -> None:
    for k, p in enumerate(data):
        keep = rbf.centre_subset(len(p.train_raw))
        centres = torch.from_numpy(np.concatenate([p.train_srgb[keep], p.train_xy[keep]], 1)).to(dev, torch.float64)
        weights, coeffs = rbf.fit(centres, torch.from_numpy(p.train_raw[keep]).to(dev, torch.float64))
        s, xy = _box_inputs(srgb, p.box)
        points = torch.from_numpy(np.concatenate([s, xy], 1)).to(dev, torch.float64)
        pred = rbf.evaluate(centres, weights, coeffs, points).clamp(0, 1)
        _place(out, p.box, pred.float().cpu().numpy())
        if progress:
            progress(k + 1, len(data))


def _place(out: np.ndarray, box, flat: np.ndarray) -> None:
    y0, y1, x0, x1 = box
    out[y0:y1, x0:x1] = flat.reshape(y1 - y0, x1 - x0, 3)


def _batches(data: Sequence[_PatchData], memory_mb: int) -> list[list[_PatchData]]:
    """Consecutive groups of patches whose training fits the memory budget."""
    n_max = max(len(p.train_raw) for p in data)
    per_patch = n_max * _BYTES_PER_SAMPLE_PAPER
    size = max(1, (memory_mb * 1024 * 1024) // per_patch)
    return [list(data[k : k + size]) for k in range(0, len(data), size)]


def _padded(arrays: list[np.ndarray], n: int, dev) -> torch.Tensor:
    out = np.zeros((len(arrays), n, arrays[0].shape[1]), dtype=np.float32)
    for k, a in enumerate(arrays):
        out[k, : len(a)] = a
    return torch.from_numpy(out).to(dev)


def _run_inf(data, srgb, out, config: inf.INFConfig, dev, seed, memory_mb, progress) -> None:
    total = len(data) * config.steps
    done = 0
    for batch in _batches(data, memory_mb):
        n = max(len(p.train_raw) for p in batch)
        weight = _padded([np.ones((len(p.train_raw), 1), np.float32) for p in batch], n, dev)[..., 0]
        seeds = [_patch_seed(seed, p.index) for p in batch]
        model = inf.BatchedINF(config, seeds, dev)
        base = done

        def on_step(step: int, base=base, count=len(batch)) -> None:
            if progress:
                progress(base + step * count, total)

        inf.train(model, _padded([p.train_srgb for p in batch], n, dev), _padded([p.train_xy for p in batch], n, dev),
                  _padded([p.train_raw for p in batch], n, dev), weight, on_step)
        done += config.steps * len(batch)
        inputs = [_box_inputs(srgb, p.box) for p in batch]
        m = max(len(s) for s, _ in inputs)
        pred = inf.predict(model, _padded([s for s, _ in inputs], m, dev), _padded([xy for _, xy in inputs], m, dev))
        pred = pred.cpu().numpy()
        for k, p in enumerate(batch):
            _place(out, p.box, pred[k, : len(inputs[k][0])])


def _patch_seed(seed: int, index: tuple[int, int]) -> int:
    """A patch's initialisation seed: depends on the run's seed and the patch, not on batching."""
    return (seed * 1_000_003 + index[0] * 65_537 + index[1]) % (2**63)
