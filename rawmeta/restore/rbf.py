"""The SAM baseline: radial basis function interpolation with a linear kernel.

Punnappurath and Brown's SAM (the paper's main competitor) interpolates RAW
values from samples with an RBF over (sRGB, xy). Per patch, with the
samples of the patch and its neighbours as centres ``c_k``, the value at a
point ``u`` is ``sum_k w_k * phi(|u - c_k|) + a . [1, u]`` with the linear
kernel ``phi(r) = -r`` and a degree-1 polynomial, solved exactly (no
smoothing) as scipy's ``RBFInterpolator(kernel="linear")`` does.

The solve is dense: ``N`` centres take ``8 N^2`` bytes twice over (the
system and its factorisation). A patch with more than :data:`MAX_CENTRES`
samples around it (a payload sampled more densely than rawmeta's default
stride of 8) keeps an evenly spaced subset (:func:`centre_subset`), so a
patch never needs more than about 1.3 GB.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from rawmeta.progress import stage
from rawmeta.restore.engine import Engine
from rawmeta.restore.job import PatchJob
from rawmeta.restore.patches import box_inputs, patch_data, place

#: Most centres one patch's RBF gets; the default stride's largest neighbourhood has about 8,700.
MAX_CENTRES = 9000


#: Bytes of one chunk's distance matrix (float64) in ``interpolant_at``. The matrix is written, square-rooted and
#: multiplied in turn: while it stays in a CPU's cache the evaluation is several times faster than with
#: chunks that spill to memory, and the values are the same (docs/RESTORE.md).
CHUNK_BYTES = 2 << 20
#: Fewest and most points a chunk takes: fewer add per-call overhead, more gain nothing.
MIN_CHUNK, MAX_CHUNK = 128, 8192

#: Singular values of the polynomial block below this fraction of the largest count as zero (see ``fit``).
_RANK_TOLERANCE = 1e-9


def centre_subset(n: int) -> slice:
    """Which of ``n`` samples serve as centres: every one, or every k-th to keep within MAX_CENTRES."""
    return slice(None, None, -(-n // MAX_CENTRES))


def fit(engine: Engine, centres: Any, values: Any) -> tuple[Any, Any]:
    """Kernel weights ``w`` (N, C) and polynomial coefficients ``a`` (D + 1, C).

    Parameters
    ----------
    engine : Engine
        Whose arrays ``centres`` and ``values`` are.
    centres : array, float64, (N, D)
    values : array, float64, (N, C)
    """
    n = centres.shape[0]
    poly = engine.concat([engine.asarray(np.ones((n, 1))), centres], axis=1)
    # The polynomial side constrains the kernel weights through an orthonormal basis of poly's columns,
    # which keeps the system regular when the centres lie in a lower-dimensional affine subspace (all on
    # one sample row, or all with one channel clipped); poly's own columns would make it singular there.
    u, sv, vh = engine.svd(poly)
    keep = sv > sv[0] * _RANK_TOLERANCE
    basis = u[:, keep]
    r = basis.shape[1]
    system = engine.zeros((n + r, n + r), "float64")
    system[:n, :n] = -engine.cdist(centres, centres)
    system[:n, n:] = basis
    system[n:, :n] = basis.T
    rhs = engine.concat([values, engine.zeros((r, values.shape[1]), "float64")])
    sol = engine.solve(system, rhs)
    # poly @ coeffs == basis @ sol[n:], with the least-norm coefficients along the missing directions
    coeffs = vh[keep].T @ (sol[n:] / sv[keep, None])
    return sol[:n], coeffs


def interpolant_at(engine: Engine, centres: Any, weights: Any, coeffs: Any, points: Any, chunk: int | None = None) -> Any:
    """The interpolant at ``points`` (M, D), in chunks of ``chunk`` points (by default as many as keep a
    chunk's distance matrix within :data:`CHUNK_BYTES`)."""
    if chunk is None:
        chunk = min(max(CHUNK_BYTES // (8 * max(centres.shape[0], 1)), MIN_CHUNK), MAX_CHUNK)
    out = []
    for k in range(0, points.shape[0], chunk):
        p = points[k : k + chunk]
        # -(d @ w), not (-d) @ w: the same numbers (negation is exact) without negating the whole M x N matrix
        value = engine.addmm(coeffs[0], p, coeffs[1:])
        value -= engine.distance_product(p, centres, weights)
        out.append(value)
    return engine.concat(out)


def restore(job: PatchJob, out: np.ndarray) -> None:
    """Fill ``out``'s pixels of ``job.patches`` with each patch's RBF interpolant of its neighbourhood's samples."""
    stage(job.progress, "restoring")
    e = job.engine
    # One patch at a time, with BLAS's own threads: a patch's system takes up to about 1.3 GB (MAX_CENTRES), so
    # patches side by side in the engine's pool would each take that much.
    for k, ij in enumerate(job.patches):
        p = patch_data(job.layout, job.grid, job.srgb, job.values, ij)
        keep = centre_subset(len(p.train_raw))
        centres = e.asarray(np.concatenate([p.train_srgb[keep], p.train_xy[keep]], 1), "float64")
        weights, coeffs = fit(e, centres, e.asarray(p.train_raw[keep], "float64"))
        s, xy = box_inputs(job.srgb, p.box)
        points = e.asarray(np.concatenate([s, xy], 1), "float64")
        pred = e.clip_(interpolant_at(e, centres, weights, coeffs, points), 0.0, 1.0)
        place(out, p.box, e.numpy(pred).astype(np.float32))
        if job.progress:
            job.progress(k + 1, len(job.patches))
