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

import torch

#: Most centres one patch's RBF gets; the default stride's largest neighbourhood has about 8,700.
MAX_CENTRES = 9000


def centre_subset(n: int) -> slice:
    """Which of ``n`` samples serve as centres: every one, or every k-th to keep within MAX_CENTRES."""
    return slice(None, None, -(-n // MAX_CENTRES))


def fit(centres: torch.Tensor, values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Kernel weights ``w`` (N, C) and polynomial coefficients ``a`` (D + 1, C).

    Parameters
    ----------
    centres : Tensor, float64, (N, D)
    values : Tensor, float64, (N, C)
    """
    n, d = centres.shape
    poly = torch.cat([torch.ones(n, 1, dtype=centres.dtype, device=centres.device), centres], dim=1)
    system = torch.zeros(n + d + 1, n + d + 1, dtype=centres.dtype, device=centres.device)
    system[:n, :n] = torch.cdist(centres, centres)
    system[:n, :n].neg_()
    system[:n, n:] = poly
    system[n:, :n] = poly.T
    rhs = torch.cat([values, values.new_zeros(d + 1, values.shape[1])])
    sol = torch.linalg.solve(system, rhs)
    return sol[:n], sol[n:]


def evaluate(centres: torch.Tensor, weights: torch.Tensor, coeffs: torch.Tensor, points: torch.Tensor,
             chunk: int = 8192) -> torch.Tensor:
    """The interpolant at ``points`` (M, D), in chunks of ``chunk`` points."""
    out = []
    for k in range(0, points.shape[0], chunk):
        p = points[k : k + chunk]
        dist = torch.cdist(p, centres)
        out.append(-dist @ weights + coeffs[0] + p @ coeffs[1:])
    return torch.cat(out)
