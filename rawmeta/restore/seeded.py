"""The fast preset's seeded draws: torch's CPU generator reproduced in NumPy.

A payload is restored with hidden layers drawn from a seed
(:class:`rawmeta.restore.fast.SharedFeatures`), so the draws are part of what
a restore means and must not change with the engine that makes them. They
were first made by ``torch.Generator().manual_seed(seed)``; this module
draws the same numbers without torch:

- the generator is MT19937 seeded with the seed's low 32 bits (torch's
  ``mt19937(seed)``, the reference ``init_genrand``), which NumPy's legacy
  ``RandomState`` is, with its stream fixed for good (NEP 19);
- ``torch.rand`` of float32 takes one 32-bit output per value and keeps its
  low 24 bits: ``(x & (2**24 - 1)) / 2**24``;
- ``torch.randn`` of 16 float32 values or more fills the tensor with such
  uniforms, then turns each block of 16 into normals by Box-Muller, the first
  8 paired with the next 8 (``u1 = 1 - d[j]``, ``u2 = d[j + 8]``,
  ``r = sqrt(-2 log u1)``, ``d[j] = r cos(2 pi u2)``, ``d[j + 8] = r sin(2 pi u2)``);
  where the count is not a multiple of 16, the last 16 values are drawn
  again and transformed the same way.

torch computes the logarithm and the sines with its own vector code, so the
two agree to a few float32 rounding steps, not bit for bit
(``tests/restore/test_seeded.py`` checks them against torch).
"""
from __future__ import annotations

import math

import numpy as np

#: torch.rand's float32 keeps this many low bits of each 32-bit output.
UNIFORM_BITS = 24
#: torch.randn transforms uniforms into normals in blocks of this many (from this many values up).
NORMAL_BLOCK = 16


class SeededDraws:
    """Uniform and normal float32 draws as ``torch.Generator().manual_seed(seed)`` makes them on a CPU.

    Each call continues the stream, as successive calls to ``torch.rand``
    and ``torch.randn`` with one generator do.

    Examples
    --------
    >>> draws = SeededDraws(0)
    >>> [round(float(v), 4) for v in draws.uniform(3)]  # torch.rand(3, generator=torch.Generator().manual_seed(0))
    [0.4963, 0.7682, 0.0885]
    """

    def __init__(self, seed: int):
        self._state = np.random.RandomState(seed & 0xFFFFFFFF)

    def uniform(self, shape: int | tuple[int, ...]) -> np.ndarray:
        """Uniform float32 in [0, 1), as ``torch.rand(shape)``."""
        n = math.prod(shape) if isinstance(shape, tuple) else shape
        raw = self._state.randint(0, 2**32, size=n, dtype=np.uint32)
        low = (raw & np.uint32((1 << UNIFORM_BITS) - 1)).astype(np.float64) * 2.0**-UNIFORM_BITS
        return low.astype(np.float32).reshape(shape)

    def normal(self, shape: int | tuple[int, ...]) -> np.ndarray:
        """Standard normal float32, as ``torch.randn(shape)`` for 16 values or more."""
        n = math.prod(shape) if isinstance(shape, tuple) else shape
        if n < NORMAL_BLOCK:
            raise ValueError(f"torch draws fewer than {NORMAL_BLOCK} normals another way; asked for {n}")
        data = self.uniform(n)
        whole = n - n % NORMAL_BLOCK
        data[:whole] = _box_muller(data[:whole])
        if whole < n:
            data[n - NORMAL_BLOCK :] = _box_muller(self.uniform(NORMAL_BLOCK))
        return data.reshape(shape)


def _box_muller(uniforms: np.ndarray) -> np.ndarray:
    """Normals from float32 uniforms, by blocks of 16 as torch pairs them (the module's docstring)."""
    blocks = uniforms.reshape(-1, 2, NORMAL_BLOCK // 2)
    radius = np.sqrt(np.float32(-2) * np.log(np.float32(1) - blocks[:, 0]))
    theta = np.float32(2 * math.pi) * blocks[:, 1]
    return np.stack([radius * np.cos(theta), radius * np.sin(theta)], axis=1).reshape(-1)
