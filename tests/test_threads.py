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


def test_otherwise_torch_gets_the_free_cores(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(threads, "free_cores", lambda: 1)
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    try:
        assert threads.fit_to_free_cores() == 1
        assert os.environ["OMP_NUM_THREADS"] == "1" and torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_allowed_threads_follow_a_chosen_count(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert threads.allowed_threads() == 1
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert threads.allowed_threads() == threads.usable_cores()


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
