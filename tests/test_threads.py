"""How many cores are free, read from a made-up /proc/loadavg, and the thread cap that follows."""
import os

import pytest

from rawmeta import threads


def loadavg(tmp_path, running: int):
    path = tmp_path / "loadavg"
    path.write_text(f"1.50 1.20 0.90 {running}/345 12345\n")
    return str(path)


@pytest.mark.parametrize("running,others", [(1, 0), (2, 1), (3, 2), (40, 39)])
def test_the_running_tasks_but_this_one_are_busy(tmp_path, running, others):
    assert threads.busy_cores(loadavg(tmp_path, running)) == others


def test_free_cores_are_the_usable_ones_less_the_busy_and_at_least_one(tmp_path, monkeypatch):
    monkeypatch.setattr(threads, "usable_cores", lambda: 4)
    assert threads.free_cores(loadavg(tmp_path, 1)) == 4
    assert threads.free_cores(loadavg(tmp_path, 2)) == 3
    assert threads.free_cores(loadavg(tmp_path, 5)) == 1
    assert threads.free_cores(loadavg(tmp_path, 60)) == 1


def test_without_proc_the_load_average_stands_in(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "getloadavg", lambda: (2.4, 1.0, 0.5))
    assert threads.busy_cores(str(tmp_path / "missing")) == 2.4


def test_a_count_the_user_chose_is_kept(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert threads.fit_to_free_cores() == 3 and os.environ["OMP_NUM_THREADS"] == "3"


def test_otherwise_torch_gets_the_free_cores(tmp_path, monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(threads, "usable_cores", lambda: 2)
    monkeypatch.setattr(threads, "_pool", None)
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    try:
        assert threads.fit_to_free_cores(loadavg(tmp_path, 3)) == 1
        assert os.environ["OMP_NUM_THREADS"] == "1" and torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize("usable,running,torch_threads,pool", [(2, 1, 2, 2), (2, 2, 1, 2), (2, 3, 1, 1), (8, 4, 5, 6),
                                                              (8, 9, 1, 1)])
def test_the_pool_takes_one_more_thread_while_a_core_is_free(tmp_path, monkeypatch, usable, running, torch_threads,
                                                             pool):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(threads, "usable_cores", lambda: usable)
    monkeypatch.setattr(threads, "_pool", None)
    monkeypatch.setattr(threads, "limit_threads", lambda count: None)  # this test process's torch keeps its threads
    assert threads.fit_to_free_cores(loadavg(tmp_path, running)) == torch_threads
    assert threads.pool_threads() == pool


def test_without_a_fitted_size_the_pool_follows_a_chosen_count(monkeypatch):
    monkeypatch.setattr(threads, "_pool", None)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert threads.pool_threads() == 1
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert threads.pool_threads() == threads.usable_cores()


def test_blas_is_limited_within_the_block_only():
    import numpy  # noqa: F401  (its OpenBLAS is the one limited)

    libraries = threads._openblas()
    if not libraries:
        pytest.skip("NumPy's BLAS is not an OpenBLAS this process can find")
    lib, _, getter = libraries[0]
    before = getattr(lib, getter)()
    with threads.blas_limited(1):
        assert getattr(lib, getter)() == 1
    assert getattr(lib, getter)() == before
