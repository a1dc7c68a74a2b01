"""Where the fast preset's and the RBF's arithmetic runs: NumPy on a CPU, torch on a CUDA device.

The fast preset and the RBF are matrix products, sines and small dense
solves. On a CPU, NumPy does them without torch's start-up (about a second
of a small restore) and with threads this module sizes: the patches are
shared among a pool of Python threads (NumPy releases the interpreter lock
in its loops and in BLAS), and BLAS is kept to one thread inside them, so
nothing spins on a core that another program needs (docs/RESTORE.md,
"Threads on a busy computer"). On a CUDA device torch runs the same code.

An :class:`Engine` gives the few operations whose spelling differs between
NumPy and torch; the methods write everything else (``@``, ``+``, slices,
``reshape``) once, for either kind of array.
"""
from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import numpy as np

from rawmeta import threads

#: ``reconstruct``'s ``engine`` choices: ``auto`` is NumPy on a CPU and torch on a CUDA device.
ENGINES = ("auto", "numpy", "torch")

T = TypeVar("T")
R = TypeVar("R")


def cuda_present() -> bool:
    """Whether torch sees a CUDA device, asked only where an NVIDIA driver is installed, so that a computer
    without one never imports torch to find out."""
    if "torch" not in sys.modules and not _nvidia_driver():
        return False
    import torch

    return torch.cuda.is_available()


def _nvidia_driver() -> bool:
    """Whether an NVIDIA driver is loaded (Linux) or installed (Windows)."""
    if sys.platform.startswith("linux"):
        return os.path.exists("/proc/driver/nvidia/version")
    if sys.platform == "win32":
        import ctypes.util

        return ctypes.util.find_library("nvcuda") is not None
    return False  # macOS: no CUDA


def resolve_device(device: str) -> str:
    """``auto`` -> ``cuda`` when torch sees a CUDA device, else ``cpu``; ``cuda`` without one raises ValueError."""
    if device not in ("auto", "cpu", "cuda"):
        raise ValueError(f"device must be auto, cpu or cuda, not {device!r}")
    if device == "auto":
        return "cuda" if cuda_present() else "cpu"
    if device == "cuda" and not cuda_present():
        raise ValueError("--device cuda was asked for but PyTorch sees no CUDA device")
    return device


class Engine:
    """Arrays and the operations on them of one kind: NumPy (``name`` "numpy") or torch (``name`` "torch").

    Attributes
    ----------
    name : {"numpy", "torch"}
    device : {"cpu", "cuda"}
        Where the arrays live (NumPy: always "cpu").
    workers : int
        Threads that share the patches of one restore (NumPy); torch runs
        the patches one after another and parallelises each operation itself.
    chunk_pixels : int
        About how many pixels one step of a prediction takes: on NumPy few
        enough that their sine units (1 KiB a pixel) stay in a core's cache
        between the passes over them; on torch as many as a step holds.
    """

    name = "numpy"
    chunk_pixels = 4096

    def __init__(self, device: str = "cpu", workers: int | None = None):
        self.device = device
        self.workers = workers or threads.pool_threads()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(device={self.device!r}, workers={self.workers})"

    # arrays in and out
    def asarray(self, a: np.ndarray, dtype: str | None = None) -> Any:
        """``a`` as this engine's array (a view where possible), of ``dtype`` ("float32", "float64") if given."""
        return a if dtype is None else a.astype(dtype, copy=False)

    def numpy(self, x: Any) -> np.ndarray:
        """``x`` as a NumPy array on the CPU."""
        return np.asarray(x)

    def astype(self, x: Any, dtype: str) -> Any:
        return x.astype(dtype, copy=False)

    def empty(self, shape: tuple[int, ...], dtype: str = "float32") -> Any:
        return np.empty(shape, dtype)

    def zeros(self, shape: tuple[int, ...], dtype: str = "float32") -> Any:
        return np.zeros(shape, dtype)

    def concat(self, arrays: list[Any], axis: int = 0) -> Any:
        return np.concatenate(arrays, axis=axis)

    # element-wise, in place where the name ends in an underscore
    def where(self, condition: Any, a: Any, b: Any) -> Any:
        return np.where(condition, a, b)

    def sin_(self, x: Any) -> Any:
        return np.sin(x, out=x)

    def clip_(self, x: Any, lo: float, hi: float) -> Any:
        return np.clip(x, lo, hi, out=x)

    def add_diagonal_(self, x: Any, values: Any) -> None:
        x[np.diag_indices(x.shape[0])] += values

    # linear algebra
    def addmm(self, c: Any, a: Any, b: Any) -> Any:
        """``c + a @ b`` (``c`` broadcast over the rows)."""
        out = a @ b
        out += c
        return out

    def einsum(self, spec: str, *operands: Any) -> Any:
        return np.einsum(spec, *operands, optimize=False)

    def solve_spd(self, a: Any, b: Any) -> Any:
        """``a^-1 b`` for a symmetric positive definite ``a``.

        By LU, twice Cholesky's work: NumPy has no Cholesky solve, and SciPy's, which the engine used
        before, costs an import of about 0.2 s, more than LU's extra work in a 12 MP restore's solves.
        """
        return self.solve(a, b)

    def solve(self, a: Any, b: Any) -> Any:
        return np.linalg.solve(a, b)

    def svd(self, a: Any) -> tuple[Any, Any, Any]:
        """Thin SVD ``u, s, vh``."""
        return np.linalg.svd(a, full_matrices=False)

    def cdist(self, a: Any, b: Any) -> Any:
        """Euclidean distances between the rows of ``a`` and of ``b``, as torch computes them for more than 25
        rows: ``|a|^2 - 2 a.b + |b|^2``, here as one matrix product of ``[a, |a|^2, 1]`` and ``[-2 b, 1, |b|^2]``."""
        d = _squared_distances(a, b)
        return np.sqrt(np.maximum(d, 0, out=d), out=d)

    def distance_product(self, a: Any, b: Any, weights: Any) -> Any:
        """``cdist(a, b) @ weights``, one pass fewer over the distances than that.

        Rounding leaves a few squared distances of coincident rows just below zero. Instead of clamping the
        whole matrix, their square roots are left NaN, which the product carries into their rows of the
        result, and only those rows are computed again with the clamp.
        """
        d = _squared_distances(a, b)
        with np.errstate(invalid="ignore"):
            np.sqrt(d, out=d)
        out = d @ weights
        rows = np.isnan(out).any(axis=1)
        if rows.any():
            out[rows] = self.cdist(a[rows], b) @ weights
        return out

    # work shared among threads
    def map(self, work: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        """``work`` of each of ``items``, in order; on NumPy shared among ``workers`` threads, with BLAS
        kept to one thread meanwhile: its own threads would oversubscribe the cores the pool already uses,
        and they wait for each other by spinning, which beside a busy program costs more than they gain."""
        items = list(items)
        with threads.blas_limited(1):
            if self.workers <= 1 or len(items) <= 1:
                yield from map(work, items)
                return
            with ThreadPoolExecutor(self.workers) as pool:
                yield from pool.map(work, items)


class TorchEngine(Engine):
    """The :class:`Engine` of torch tensors on ``device``; imports torch."""

    name = "torch"
    chunk_pixels = 1 << 20

    def __init__(self, device: str = "cpu", workers: int | None = None):
        import torch

        super().__init__(device, 1)
        self.torch = torch

    def _dtype(self, dtype: str) -> Any:
        return getattr(self.torch, dtype)

    def asarray(self, a: np.ndarray, dtype: str | None = None) -> Any:
        t = self.torch.from_numpy(np.ascontiguousarray(a))
        return t.to(self.device) if dtype is None else t.to(self.device, self._dtype(dtype))

    def numpy(self, x: Any) -> np.ndarray:
        return x.cpu().numpy()

    def astype(self, x: Any, dtype: str) -> Any:
        return x.to(self._dtype(dtype))

    def empty(self, shape: tuple[int, ...], dtype: str = "float32") -> Any:
        return self.torch.empty(shape, dtype=self._dtype(dtype), device=self.device)

    def zeros(self, shape: tuple[int, ...], dtype: str = "float32") -> Any:
        return self.torch.zeros(shape, dtype=self._dtype(dtype), device=self.device)

    def concat(self, arrays: list[Any], axis: int = 0) -> Any:
        return self.torch.cat(arrays, dim=axis)

    def where(self, condition: Any, a: Any, b: Any) -> Any:
        return self.torch.where(condition, a, b)

    def sin_(self, x: Any) -> Any:
        return x.sin_()

    def clip_(self, x: Any, lo: float, hi: float) -> Any:
        return x.clamp_(lo, hi)

    def add_diagonal_(self, x: Any, values: Any) -> None:
        x.diagonal().add_(values)

    def addmm(self, c: Any, a: Any, b: Any) -> Any:
        return self.torch.addmm(c, a, b)

    def einsum(self, spec: str, *operands: Any) -> Any:
        return self.torch.einsum(spec, *operands)

    def solve_spd(self, a: Any, b: Any) -> Any:
        return self.torch.cholesky_solve(b, self.torch.linalg.cholesky(a))

    def solve(self, a: Any, b: Any) -> Any:
        return self.torch.linalg.solve(a, b)

    def svd(self, a: Any) -> tuple[Any, Any, Any]:
        return self.torch.linalg.svd(a, full_matrices=False)

    def cdist(self, a: Any, b: Any) -> Any:
        return self.torch.cdist(a, b)

    def distance_product(self, a: Any, b: Any, weights: Any) -> Any:
        return self.torch.cdist(a, b) @ weights


def _squared_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``|a_i|^2 - 2 a_i.b_k + |b_k|^2`` for each row ``i`` of ``a`` and ``k`` of ``b``, as one matrix product."""
    left = np.concatenate([a, (a * a).sum(1)[:, None], np.ones((len(a), 1), a.dtype)], axis=1)
    right = np.concatenate([-2 * b, np.ones((len(b), 1), b.dtype), (b * b).sum(1)[:, None]], axis=1)
    return left @ right.T


def engine_for(device: str, engine: str = "auto", workers: int | None = None) -> Engine:
    """The engine of ``engine`` (:data:`ENGINES`) on the resolved ``device`` (:func:`resolve_device`).

    ``auto`` is NumPy on a CPU and torch on CUDA; NumPy cannot run on CUDA (ValueError).

    Examples
    --------
    >>> engine_for("cpu").name
    'numpy'
    """
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    where = resolve_device(device)
    if engine == "numpy" and where == "cuda":
        raise ValueError("the numpy engine runs on the CPU only; use engine 'torch' or 'auto' with CUDA")
    if engine == "torch" or (engine == "auto" and where == "cuda"):
        return TorchEngine(where)
    return Engine("cpu", workers)
