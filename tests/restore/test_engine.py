"""Which engine a restore runs on: NumPy on a CPU, torch where asked or on CUDA."""
import numpy as np
import pytest

from rawmeta.restore.engine import Engine, TorchEngine, engine_for


def test_a_cpu_restore_runs_on_numpy_unless_torch_is_asked_for():
    assert engine_for("cpu").name == "numpy" and engine_for("cpu", "numpy").name == "numpy"
    assert isinstance(engine_for("cpu", "torch"), TorchEngine)
    with pytest.raises(ValueError, match="engine"):
        engine_for("cpu", "jax")


@pytest.mark.parametrize("engine", [Engine("cpu", 1), TorchEngine("cpu")], ids=["numpy", "torch"])
def test_engines_compute_the_same_numbers(engine):
    rng = np.random.default_rng(0)
    a, b = rng.random((40, 5)), rng.random((30, 5))
    distances = np.sqrt(((a[:, None] - b[None]) ** 2).sum(-1))
    np.testing.assert_allclose(engine.numpy(engine.cdist(engine.asarray(a), engine.asarray(b))), distances, atol=1e-7)
    spd = a.T @ a + np.eye(5)
    rhs = rng.random((5, 2))
    np.testing.assert_allclose(engine.numpy(engine.solve_spd(engine.asarray(spd), engine.asarray(rhs))),
                               np.linalg.solve(spd, rhs), atol=1e-10)
    x = engine.asarray(np.zeros((3, 3)))
    engine.add_diagonal_(x, engine.asarray(np.arange(3.0)))
    np.testing.assert_array_equal(engine.numpy(x), np.diag(np.arange(3.0)))


def test_work_shared_among_threads_keeps_its_order():
    assert list(Engine("cpu", 2).map(lambda k: k * k, range(10))) == [k * k for k in range(10)]
