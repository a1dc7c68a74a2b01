"""The fast preset's seeded draws against torch's CPU generator, which first made them."""
from pathlib import Path

import numpy as np
import pytest
import torch

from rawmeta.restore.seeded import SeededDraws

DATA = Path(__file__).parent.parent / "data"
#: torch computes log, cos and sin with its own vector code: a few float32 steps apart at most.
ULPS = 4 * np.finfo(np.float32).eps


@pytest.mark.parametrize("seed", [0, 1, 12345, 2**32 - 1, 2**40 + 7])
def test_the_draws_of_the_fast_preset_are_torchs(seed):
    """The draws of fast.SharedFeatures, in its order: randn(3, f), randn(2, f), rand(f); then more, of
    counts that are no multiple of 16."""
    gen = torch.Generator().manual_seed(seed)
    draws = SeededDraws(seed)
    for kind, shape in [("normal", (3, 256)), ("normal", (2, 256)), ("uniform", (256,)), ("normal", (3, 100)),
                        ("uniform", (7,)), ("normal", (17,)), ("normal", (2, 128))]:
        expected = (torch.randn if kind == "normal" else torch.rand)(*shape, generator=gen).numpy()
        got = getattr(draws, kind)(shape)
        assert got.dtype == np.float32 and got.shape == shape
        if kind == "uniform":
            assert np.array_equal(got, expected)  # integer arithmetic: exact
        else:
            assert np.abs(got - expected).max() <= ULPS * max(1.0, np.abs(expected).max())


def test_fewer_normals_than_torch_draws_by_blocks_are_refused():
    with pytest.raises(ValueError, match="fewer than 16"):
        SeededDraws(0).normal(15)


class TorchDraws:
    """The draws as torch's generator makes them, which the fast preset used before :class:`SeededDraws`."""

    def __init__(self, seed: int):
        self.gen = torch.Generator().manual_seed(seed)

    def normal(self, shape) -> np.ndarray:
        return torch.randn(shape, generator=self.gen).numpy()

    def uniform(self, shape) -> np.ndarray:
        return torch.rand(shape, generator=self.gen).numpy()


@pytest.mark.parametrize("golden", sorted(p.name for p in DATA.glob("v*_payload.jpg")))
def test_golden_payloads_restore_as_with_torch(golden, monkeypatch):
    """What a payload restores to does not depend on the engine: NumPy's draws and arithmetic give what
    torch's draws and arithmetic gave, as before the NumPy engine."""
    from rawmeta.restore import fast
    from rawmeta.restore.jpeg import restore_bytes
    from rawmeta.restore.options import RestoreOptions

    data = (DATA / golden).read_bytes()
    ours = restore_bytes(data, RestoreOptions(device="cpu", engine="numpy")).rgb
    monkeypatch.setattr(fast, "SeededDraws", TorchDraws)
    theirs = restore_bytes(data, RestoreOptions(device="cpu", engine="torch")).rgb
    assert np.abs(ours - theirs).max() < 1e-5
