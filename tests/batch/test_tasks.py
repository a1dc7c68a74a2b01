"""Archive mode: whole folders of RAW+JPEG pairs, resumable, in parallel and on a real Dask cluster."""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from rawmeta.batch.runner import run_batch
from rawmeta.batch.tasks import FAILED, Outcome, RestoreTask, restore_plan, run
from rawmeta.benchmarks.synthetic import write_sample
from rawmeta.embed.jpeg import embed_file
from rawmeta.embed.report import inspect_file
from rawmeta.format import container
from rawmeta.format import segments as js
from rawmeta.io.outputs import read_raw_rgb, write_raw_rgb
from rawmeta.io.restore_mark import read_mark

from ..conftest import RAW_DIR
from ..helpers import CAMERA, RAWMETA, assert_one_line_error, shrunk, snapshot
from ..helpers import run as rawmeta

FAST = {"stride": 8, "bits": 12, "budget": None}  # embed options that skip the budget search (seconds saved per file)


@pytest.fixture(scope="session")
def sample_pairs(tmp_path_factory) -> list[tuple[bytes, bytes]]:
    """Four small synthetic (DNG, JPEG) pairs, as bytes."""
    folder = tmp_path_factory.mktemp("pairs")
    pairs = []
    for seed in range(4):
        dng, jpg = write_sample(folder / str(seed), height=96, width=128, seed=seed)
        pairs.append((dng.read_bytes(), jpg.read_bytes()))
    return pairs


def place(folder: Path, sample_pairs, names=("IMG_0000.DNG", "IMG_0001.DNG", "IMG_0002.DNG"),
          jpeg_names=("img_0000.jpg", "IMG_0001.JPG", "img_0002.jpeg")) -> list[tuple[Path, Path]]:
    """Write pairs into ``folder`` under the given names; returns their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    placed = []
    for (dng, jpg), raw_name, jpeg_name in zip(sample_pairs, names, jpeg_names):
        (folder / raw_name).write_bytes(dng)
        (folder / jpeg_name).write_bytes(jpg)
        placed.append((folder / raw_name, folder / jpeg_name))
    return placed


def embedded(folder: Path, sample_pairs) -> list[tuple[Path, Path]]:
    placed = place(folder, sample_pairs)
    for raw, jpg in placed:
        embed_file(raw, jpg, **FAST)
    return placed


def table(stdout: str) -> dict[str, int]:
    return {line.split()[0]: int(line.split()[1]) for line in stdout.splitlines()
            if line.split()[:1] in (["done"], ["skipped"], ["failed"]) and len(line.split()) == 2}


def test_embed_folder_pairs_reports_the_unpaired_and_resumes(tmp_path, sample_pairs):
    placed = place(tmp_path, sample_pairs)
    (tmp_path / "lonely.nef").write_bytes(sample_pairs[3][0])
    (tmp_path / "jpeg-only.jpg").write_bytes(sample_pairs[3][1])
    proc = rawmeta("embed", tmp_path, "--stride", "8", "--bits", "12", "-q")
    assert_one_line_error(proc, 9, "1 of 4 files failed")
    assert table(proc.stdout) == {"done": 3, "skipped": 0, "failed": 1}
    assert "lonely.nef: not paired: no JPEG named lonely.jp*g beside it (exit 2)" in proc.stdout
    assert "JPEGs without a RAW (left alone):\n  jpeg-only.jpg" in proc.stdout
    assert (tmp_path / "jpeg-only.jpg").read_bytes() == sample_pairs[3][1]
    for _, jpg in placed:
        assert inspect_file(jpg).payload.grid.stride == 8

    (tmp_path / "lonely.nef").unlink()
    before = snapshot(tmp_path)
    proc = rawmeta("embed", tmp_path, "--quiet", check_rc=0)
    assert table(proc.stdout) == {"done": 0, "skipped": 3, "failed": 0} and "already carries valid" in proc.stdout
    assert snapshot(tmp_path) == before and proc.stderr == ""

    proc = rawmeta("embed", tmp_path, "--redo", "--budget", "20", "-j", "1", check_rc=0)
    assert table(proc.stdout) == {"done": 3, "skipped": 0, "failed": 0}
    assert inspect_file(placed[0][1]).payload.budget == 20


def test_embed_raw_files_with_a_pattern(tmp_path, sample_pairs):
    place(tmp_path / "raw", sample_pairs[:2], names=("A.CR2", "B.CR2"), jpeg_names=("x.jpg", "y.jpg"))
    for src, name in (("x.jpg", "a-edit.JPG"), ("y.jpg", "b-edit.jpg")):
        (tmp_path / "jpeg").mkdir(exist_ok=True)
        shutil.move(tmp_path / "raw" / src, tmp_path / "jpeg" / name)
    rawmeta("embed", tmp_path / "raw" / "A.CR2", tmp_path / "raw" / "B.CR2", "--pattern", "../jpeg/{stem}-edit.jpg",
            "--stride", "8", "--bits", "12", check_rc=0)
    for name in ("a-edit.JPG", "b-edit.jpg"):
        assert container.ours(js.parse((tmp_path / "jpeg" / name).read_bytes()))


def test_a_failing_file_never_stops_the_batch(tmp_path, sample_pairs):
    placed = place(tmp_path, sample_pairs)
    bad_raw, bad_jpg = placed[1]
    bad_raw.write_bytes(bad_raw.read_bytes()[:2000])  # truncated
    jpeg_before = bad_jpg.read_bytes()
    proc = rawmeta("embed", tmp_path, "--stride", "8", "--bits", "12", "--quiet")
    assert proc.returncode == 9 and table(proc.stdout) == {"done": 2, "skipped": 0, "failed": 1}
    failure = next(line for line in proc.stdout.splitlines() if "IMG_0001.DNG" in line)
    assert failure.startswith("  IMG_0001.DNG: cannot ") and failure.endswith("(exit 4)")
    assert bad_jpg.read_bytes() == jpeg_before
    assert not [p for p in os.listdir(tmp_path) if "rawmeta-tmp" in p]


def test_restore_folder_keeps_subfolders_skips_what_is_done_and_redoes_what_is_not(tmp_path, sample_pairs):
    src = tmp_path / "src"
    embedded(src / "2024", sample_pairs)
    (src / "plain.jpg").write_bytes(sample_pairs[3][1])
    out = tmp_path / "out"
    proc = rawmeta("restore", src, "-r", "--out-dir", out, "--format", "npy", "--quiet", check_rc=0)
    assert table(proc.stdout) == {"done": 3, "skipped": 1, "failed": 0}
    assert "plain.jpg: carries no rawmeta data" in proc.stdout
    outputs = sorted(out.rglob("*.npy"))
    assert [p.relative_to(out).as_posix() for p in outputs] == [f"2024/{n}" for n in
                                                                ("IMG_0001.npy", "img_0000.npy", "img_0002.npy")]
    first = {p: p.read_bytes() for p in outputs}
    assert all(read_raw_rgb(p).shape == (96, 128, 3) for p in outputs)

    half = outputs[0].read_bytes()[: len(first[outputs[0]]) // 2]
    outputs[0].write_bytes(half)  # a partial file someone else left: it lacks rawmeta's mark, so it is not ours
    proc = rawmeta("restore", src, "-r", "--out-dir", out, "--format", "npy", "--quiet", check_rc=9)
    assert table(proc.stdout) == {"done": 0, "skipped": 3, "failed": 1}
    assert "rawmeta did not write it; --overwrite replaces it" in proc.stdout and outputs[0].read_bytes() == half
    proc = rawmeta("restore", src, "-r", "--out-dir", out, "--format", "npy", "--quiet", "--overwrite", check_rc=0)
    assert table(proc.stdout) == {"done": 1, "skipped": 3, "failed": 0}
    assert {p: p.read_bytes() for p in outputs} == first

    proc = rawmeta("restore", src / "2024", "--out-dir", tmp_path / "tiff", "--format", "tiff", "-j", "1", check_rc=0)
    assert table(proc.stdout)["done"] == 3
    for p in outputs:
        tiff = read_raw_rgb(tmp_path / "tiff" / p.with_suffix(".tiff").name)
        assert np.abs(tiff - np.load(p)).max() <= 1 / 65535


@pytest.fixture(scope="module")
def smaller_pair(tmp_path_factory) -> tuple[bytes, bytes]:
    """A synthetic DNG (256 x 192) and its JPEG halved (128 x 96), carrying samples on the DNG's grid, as bytes."""
    dng, jpg = write_sample(tmp_path_factory.mktemp("smaller"), height=192, width=256)
    jpg.write_bytes(shrunk(jpg))
    embed_file(dng, jpg, **FAST)
    return dng.read_bytes(), jpg.read_bytes()


@pytest.mark.parametrize("size,shape", [([], (192, 256, 3)), (["--size", "jpeg"], (96, 128, 3))],
                         ids=["raw", "jpeg"])
def test_a_rerun_skips_a_finished_restore_of_a_smaller_jpeg_at_either_size(tmp_path, smaller_pair, size, shape):
    src, out = tmp_path / "src", tmp_path / "out"
    place(src, [smaller_pair], names=("IMG_0001.DNG",), jpeg_names=("IMG_0001.JPG",))
    restore = ("restore", src, "--out-dir", out, *size, "--quiet")
    assert table(rawmeta(*restore, check_rc=0).stdout) == {"done": 1, "skipped": 0, "failed": 0}
    output = out / "IMG_0001.dng"
    assert read_raw_rgb(output).shape == shape
    written = output.stat()
    again = rawmeta(*restore, check_rc=0)
    assert table(again.stdout) == {"done": 0, "skipped": 1, "failed": 0} and "already complete" in again.stdout
    assert (output.stat().st_ino, output.stat().st_mtime_ns) == (written.st_ino, written.st_mtime_ns)
    # a file with this restore's mark but not of its size is unfinished: restored again
    write_raw_rgb(output, np.zeros((48, 64, 3), np.float32), CAMERA, read_mark(output))
    assert table(rawmeta(*restore, check_rc=0).stdout) == {"done": 1, "skipped": 0, "failed": 0}
    assert read_raw_rgb(output).shape == shape


@pytest.mark.slow
def test_a_rerun_skips_a_finished_restore_of_the_d30_s_camera_jpeg(tmp_path):
    """The D30's own JPEG (1440 x 960) restores at its CRW's 2176 x 1448, which a rerun must see as finished."""
    raw = RAW_DIR / "canon_eos_d30.crw"
    if not raw.exists():
        pytest.skip(f"{raw.name} is not in {RAW_DIR}")
    src = tmp_path / "src"
    src.mkdir()
    (src / "IMG_0001.crw").symlink_to(raw)
    shutil.copy(RAW_DIR / "canon_eos_d30.camera_jpg_from_raw.jpg", src / "IMG_0001.jpg")
    rawmeta("embed", src, "--stride", "6", "--bits", "10", "--quiet", check_rc=0)
    for size, shape in (([], (1448, 2176, 3)), (["--size", "jpeg"], (960, 1440, 3))):
        out = tmp_path / (size or ["raw"])[-1]
        restore = ("restore", src, "--out-dir", out, *size, "--quiet")
        assert table(rawmeta(*restore, check_rc=0).stdout) == {"done": 1, "skipped": 0, "failed": 0}
        assert read_raw_rgb(out / "IMG_0001.dng").shape == shape
        assert table(rawmeta(*restore, check_rc=0).stdout) == {"done": 0, "skipped": 1, "failed": 0}


def test_restore_refuses_two_jpegs_that_would_share_an_output(tmp_path, sample_pairs):
    embedded(tmp_path / "src", sample_pairs)
    shutil.copy(tmp_path / "src" / "img_0000.jpg", tmp_path / "src" / "img_0000.jpeg")
    plan = restore_plan([tmp_path / "src"], tmp_path / "out", suffix=".npy")
    outcomes = run_batch(plan.tasks)
    assert [o.status for o in outcomes].count(FAILED) == 1
    assert "img_0000.npy is also img_0000.jpeg's" in next(o.detail for o in outcomes if o.status == FAILED)


def test_a_failed_file_is_told_in_plain_words_without_the_technical_detail(tmp_path):
    cut = tmp_path / "IMG_1.jpg"
    cut.write_bytes((Path(__file__).parents[2] / "samples" / "sample.jpg").read_bytes()[:2000])
    outcome = run(RestoreTask(str(cut), str(tmp_path / "IMG_1.dng")))
    assert outcome.status == FAILED and outcome.code == 3
    assert "cut short" in outcome.detail and "[" not in outcome.detail, outcome.detail


def test_verify_passes_an_intact_archive_and_writes_nothing(tmp_path, sample_pairs):
    embedded(tmp_path, sample_pairs)
    before = snapshot(tmp_path)
    proc = rawmeta("verify", tmp_path, "--restore", "--json", check_rc=0)
    report = json.loads(proc.stdout)
    assert report["summary"] == {"done": 3, "skipped": 0, "failed": 0}
    assert proc.stderr.startswith("verify: 3 done, 0 skipped, 0 failed of 3")
    for entry in report["files"]:
        assert entry["status"] == "done" and "restores to" in entry["detail"] and "dB PSNR against IMG_" in entry["detail"]
        psnr = float(entry["detail"].split("restores to ")[1].split(" dB")[0])
        assert psnr > 20
    assert snapshot(tmp_path) == before


def test_verify_fails_what_an_archivist_must_not_trust(tmp_path, sample_pairs):
    placed = embedded(tmp_path, sample_pairs)
    (_, damaged), (_, edited), (_, fine) = placed
    data = bytearray(damaged.read_bytes())
    seg = container.ours(js.parse(bytes(data)))[0]
    data[(seg.start + seg.end) // 2] ^= 0xFF
    damaged.write_bytes(bytes(data))
    pixels = np.asarray(Image.open(edited)).astype(np.float32) * 1.1
    tmp = tmp_path / "edit.tmp"
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(tmp, "JPEG", quality=95)
    edited.write_bytes(container.attach(tmp.read_bytes(), container.extract(edited.read_bytes()).payload))
    tmp.unlink()
    (tmp_path / "plain.jpg").write_bytes(sample_pairs[3][1])
    (tmp_path / "orphan.dng").write_bytes(sample_pairs[3][0])
    before = snapshot(tmp_path)
    proc = rawmeta("verify", tmp_path, "--json")
    assert_one_line_error(proc, 9, "4 of 5 files failed")
    by_name = {Path(e["path"]).name: e for e in json.loads(proc.stdout)["files"]}
    assert by_name[fine.name]["status"] == "done"
    assert by_name[damaged.name]["status"] == FAILED and by_name[damaged.name]["code"] == 7
    assert by_name[edited.name]["status"] == FAILED and "edited" in by_name[edited.name]["detail"]
    assert by_name["plain.jpg"]["code"] == 6
    assert by_name["orphan.dng"]["detail"].startswith("not paired")
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("argv, words", [
    (["restore", "{dir}", "x.npy"], "is a directory: restoring folders needs --out-dir DIR"),
    (["embed", "{dir}", "-o", "x.jpg"], "-o takes one JPEG to write"),
    (["restore", "{dir}", "--out-dir", "o", "--reference", "r.dng"], "--reference takes one JPEG"),
    (["verify", "{dir}", "--pattern", "{name}.jpg"], "only the placeholder"),
    (["embed", "{dir}/IMG_0000.DNG", "{dir}/img_0000.jpg", "--jobs", "2"], "--jobs applies to files or folders of several"),
    (["restore", "{dir}/img_0000.jpg", "o.npy", "--redo"], "--redo applies"),
    (["verify", "{dir}/missing.jpg"], "no such file"),
])
def test_usage_errors_are_one_line(tmp_path, sample_pairs, argv, words):
    place(tmp_path, sample_pairs)
    before = snapshot(tmp_path)
    assert_one_line_error(rawmeta(*(a.format(dir=tmp_path) if "{dir}" in a else a for a in argv)), 2, words)
    assert snapshot(tmp_path) == before


# Worker processes


@dataclass(frozen=True)
class Crash:
    """A task that kills its worker process, as the kernel's OOM killer would."""

    path: str

    def run(self) -> Outcome:
        os._exit(9)


def test_parallel_jobs_give_the_outcomes_of_one_job(tmp_path, sample_pairs):
    embedded(tmp_path / "src", sample_pairs)
    one = run_batch(restore_plan([tmp_path / "src"], tmp_path / "one", suffix=".npy").tasks)
    two = run_batch(restore_plan([tmp_path / "src"], tmp_path / "two", suffix=".npy").tasks, jobs=2)
    assert [(o.status, Path(o.path).name) for o in one] == [(o.status, Path(o.path).name) for o in two]
    assert {o.where for o in two}.isdisjoint({o.where for o in one})  # ran in other processes
    for o in one:  # a worker's fewer torch threads may sum in another order: the last bit may differ
        np.testing.assert_allclose(np.load(o.output), np.load(o.output.replace("/one/", "/two/")), rtol=0, atol=1e-6)


def test_a_dead_worker_fails_only_its_own_task(tmp_path, sample_pairs):
    embedded(tmp_path / "src", sample_pairs)
    tasks = restore_plan([tmp_path / "src"], tmp_path / "out", suffix=".npy").tasks
    tasks.insert(1, Crash(str(tmp_path / "crash.jpg")))
    outcomes = run_batch(tasks, jobs=2)
    assert [o.status for o in outcomes] == ["done", FAILED, "done", "done"]
    assert outcomes[1].detail == "its worker process died (killed, or out of memory)"


def test_run_never_raises_for_a_bad_file(tmp_path):
    outcome = run(RestoreTask(str(tmp_path / "none.jpg"), str(tmp_path / "o.npy")))
    assert outcome.status == FAILED and outcome.code == 3 and "no such file" in outcome.detail


@pytest.mark.slow
def test_ctrl_c_keeps_finished_outputs_and_a_rerun_finishes(tmp_path, sample_pairs):
    src = tmp_path / "src"
    for i in range(3):
        embedded(src / str(i), sample_pairs)
    out = tmp_path / "out"
    argv = [RAWMETA, "restore", src, "-r", "--out-dir", out, "--format", "npy", "-j", "1", "--quiet",
            "--preset", "paper"]  # slow enough to be caught in flight
    child = subprocess.Popen(list(map(str, argv)), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while not list(out.rglob("*.npy")) and time.monotonic() < deadline:
        time.sleep(0.2)
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=60)
    assert child.returncode == 130 and err.startswith("rawmeta: error: interrupted after 1 of 9 files")
    finished = list(out.rglob("*.npy"))
    assert all(read_raw_rgb(p).shape == (96, 128, 3) for p in finished)
    # A rerun with the quick RBF baseline restores what is missing and, by the restore marks, refuses to replace
    # the finished paper-preset outputs (other settings, --redo would); a second one skips all of its own.
    again = ["restore", src, "-r", "--out-dir", out, "--format", "npy", "--quiet", "--method", "rbf"]
    proc = rawmeta(*again, check_rc=9)
    assert table(proc.stdout) == {"done": 9 - len(finished), "skipped": 0, "failed": len(finished)}
    assert proc.stdout.count("was restored from other settings (inf paper") == len(finished)
    proc = rawmeta(*again, check_rc=9)
    assert table(proc.stdout) == {"done": 0, "skipped": 9 - len(finished), "failed": len(finished)}
    assert all(read_raw_rgb(p).shape == (96, 128, 3) for p in out.rglob("*.npy"))
    assert not [p for p in out.rglob("*") if "rawmeta-tmp" in p.name]


# A real Dask cluster: `dask scheduler` and two `dask worker` processes on 127.0.0.1


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory):
    """The address of a local Dask scheduler with two one-thread workers; torn down after the module."""
    pytest.importorskip("distributed", reason="Dask distributed is not installed (pip install -e '.[test]')")
    folder = tmp_path_factory.mktemp("dask")
    dask = str(Path(sys.executable).with_name("dask"))
    env = os.environ | {"OMP_NUM_THREADS": "1"}
    scheduler_file = folder / "scheduler.json"
    procs = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                               "--scheduler-file", str(scheduler_file)], cwd=folder, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        _wait_for(scheduler_file.exists, "the scheduler file")
        for name in ("w1", "w2"):
            procs.append(subprocess.Popen([dask, "worker", "--scheduler-file", str(scheduler_file), "--nthreads", "1",
                                           "--no-dashboard", "--name", name, "--local-directory", str(folder / name)],
                                          cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        address = json.loads(scheduler_file.read_text())["address"]
        from distributed import Client

        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=120)
            workers = client.scheduler_info()["workers"].values()
        yield address, {w["host"] for w in workers}, {w["id"] for w in workers}
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


def _wait_for(condition, what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not appear in {seconds} s")
        time.sleep(0.2)


@pytest.mark.slow
def test_embed_verify_restore_on_a_dask_cluster(tmp_path, sample_pairs, dask_cluster):
    address, hosts, _ = dask_cluster
    assert hosts == {"127.0.0.1"}
    place(tmp_path / "src", sample_pairs)
    (tmp_path / "src" / "broken.dng").write_bytes(b"II*\0 not a raw")
    (tmp_path / "src" / "broken.jpg").write_bytes(sample_pairs[3][1])
    proc = rawmeta("embed", tmp_path / "src", "--stride", "8", "--bits", "12", "--scheduler", address, "--quiet")
    assert proc.returncode == 9 and table(proc.stdout) == {"done": 3, "skipped": 0, "failed": 1}
    assert f"(on {address})" in proc.stdout and "broken.dng: cannot " in proc.stdout

    (tmp_path / "src" / "broken.dng").unlink()
    (tmp_path / "src" / "broken.jpg").unlink()
    report = json.loads(rawmeta("verify", tmp_path / "src", "--restore", "--json", "--scheduler", address,
                                check_rc=0).stdout)
    assert report["summary"]["done"] == 3
    pids = {e["where"] for e in report["files"]}
    assert all(w.startswith(socket.gethostname() + ":") for w in pids)
    assert len(pids) <= 2 and not any(w.endswith(f":{os.getpid()}") for w in pids)

    proc = rawmeta("restore", tmp_path / "src", "--out-dir", tmp_path / "out", "--format", "npy", "--scheduler", address,
                   "--quiet", check_rc=0)
    local = rawmeta("restore", tmp_path / "src", "--out-dir", tmp_path / "local", "--format", "npy", "-j", "1",
                    "--quiet", check_rc=0)
    assert table(proc.stdout) == table(local.stdout) == {"done": 3, "skipped": 0, "failed": 0}
    for p in (tmp_path / "out").iterdir():
        assert np.array_equal(np.load(p), np.load(tmp_path / "local" / p.name))


def test_an_unreachable_or_bad_scheduler_is_one_line(tmp_path, sample_pairs):
    place(tmp_path, sample_pairs)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again when the block ends: nothing listens there
    for address, words in ((f"tcp://127.0.0.1:{port}", f"cannot reach the Dask scheduler at tcp://127.0.0.1:{port}"),
                           ("127.0.0.1:8786", "not an address like tcp://HOST:PORT"),
                           ("tls://127.0.0.1:8786", "not an address like tcp://HOST:PORT")):
        assert_one_line_error(rawmeta("verify", tmp_path, "--scheduler", address), 10, words)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt is Linux's")
def test_malloc_thresholds_are_taken_even_where_dask_fixed_them():
    # Dask's nanny starts workers with MALLOC_TRIM_THRESHOLD_=65536; mallopt must still take ours
    code = "from rawmeta.allocator import tune_for_large_arrays as t; print(t(), t())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env=os.environ | {"MALLOC_TRIM_THRESHOLD_": "65536"}).stdout
    assert out.split() == ["True", "True"]
