"""`rawmeta restore` and `rawmeta eval` as a user runs them."""
from __future__ import annotations

import io
import json
import os
import signal
import subprocess

import numpy as np
import pytest
import rawpy
from PIL import Image

from rawmeta.format import container
from rawmeta.format import segments as js
from rawmeta.io.dng import mosaic
from rawmeta.io.outputs import read_raw_rgb
from rawmeta.io.rawfile import read_raw

from ..helpers import RAWMETA, assert_one_line_error, run, snapshot


@pytest.fixture
def embedded_pair(work):
    folder, dng, jpg = work
    run("embed", dng, jpg, "--budget", "40", check_rc=0)
    return folder, dng, jpg


def test_rbf_restore_to_every_format_and_eval(embedded_pair):
    folder, dng, jpg = embedded_pair
    truth = read_raw(dng).rgb
    for name, *layout in (("out.npy",), ("out.tiff",), ("out.dng", "--dng", "linear"), ("mosaic.dng",)):
        proc = run("restore", jpg, folder / name, "--method", "rbf", "--quiet", *layout, check_rc=0)
        assert "restored 128 x 96 raw-RGB" in proc.stdout and proc.stderr == ""
    npy = np.load(folder / "out.npy", allow_pickle=False)
    assert npy.shape == truth.shape and npy.dtype == np.float32
    assert np.abs(read_raw_rgb(folder / "out.tiff") - npy).max() <= 1 / 65535 + 1e-7
    with rawpy.imread(str(folder / "out.dng")) as r:
        assert np.abs(r.raw_image[..., :3].astype(np.float64) - np.round(npy * 65535)).max() <= 1
    with rawpy.imread(str(folder / "mosaic.dng")) as r:  # the default: the camera's mosaic of the same restore
        np.testing.assert_array_equal(r.raw_image, mosaic(npy, read_raw(dng).camera))
    info = json.loads(run("eval", folder / "out.npy", dng, "--jpeg", jpg, "--json", check_rc=0).stdout)
    assert info["psnr_db"] > 25 and 0 < info["ssim"] <= 1 and info["clipped_share"] is not None
    assert info["developed"]["brightness"] == "jpeg" and len(info["developed"]["renders"]) == 3
    text = run("eval", folder / "out.dng", dng, "--error-map", folder / "map.png", check_rc=0).stdout
    assert "PSNR (whole image)" in text and "per-patch" in text and "dE2000 shadows +1.5 EV" in text
    assert Image.open(folder / "map.png").format == "PNG"


def test_restore_with_reference_and_progress(embedded_pair):
    folder, dng, jpg = embedded_pair
    proc = run("restore", jpg, folder / "o.npy", "--method", "rbf", "--reference", dng,
               "--error-map", folder / "e.png", check_rc=0)
    assert "PSNR (whole image)" in proc.stdout
    assert "\r" not in proc.stderr  # off a terminal a progress bar is plain lines, and only after a while
    assert (folder / "e.png").exists()


@pytest.mark.parametrize("preset", ["fast", pytest.param("paper", marks=pytest.mark.slow)])  # paper: 2+ CPU-minutes
def test_inf_presets_run_end_to_end(embedded_pair, preset):
    folder, dng, jpg = embedded_pair
    options = ("--quiet", "--seed", "1") + (("--preset", preset) if preset == "paper" else ())  # fast: the default
    proc = run("restore", jpg, folder / "a.npy", "--reference", dng, *options, check_rc=0)
    psnr = float(proc.stdout.split("PSNR (whole image)")[1].split("dB")[0])
    assert psnr > 20
    first = np.load(folder / "a.npy")
    run("restore", jpg, folder / "again.npy", *options, check_rc=0)
    assert np.array_equal(first, np.load(folder / "again.npy"))


def test_restore_refusals_leave_nothing(embedded_pair):
    folder, dng, jpg = embedded_pair
    before = snapshot(folder)
    assert_one_line_error(run("restore", jpg, folder / "out.png"), 2, "unsupported extension '.png'")
    assert_one_line_error(run("restore", jpg, folder / "nodir" / "out.npy"), 8, "does not exist")
    assert_one_line_error(run("restore", jpg, folder / "o.npy", "--preset", "turbo"), 2, "'turbo' is not one of 'fast', 'paper'")
    plain = folder / "plain.jpg"
    plain.write_bytes(container.detach(jpg.read_bytes()))
    before = snapshot(folder)
    assert_one_line_error(run("restore", plain, folder / "o.npy"), 6, "no rawmeta data")
    assert snapshot(folder) == before
    assert_one_line_error(run("eval", folder / "missing.npy", dng), 4, "no such file")
    data = bytearray(jpg.read_bytes())
    seg = container.ours(js.parse(bytes(data)))[0]
    data[seg.end - 100] ^= 0x08
    corrupt = folder / "corrupt.jpg"
    corrupt.write_bytes(bytes(data))
    before = snapshot(folder)
    assert_one_line_error(run("restore", corrupt, folder / "o.npy"), 7, "corrupt.jpg's rawmeta data is corrupt")
    assert snapshot(folder) == before


def test_re_encoded_jpeg_warns_and_restores(embedded_pair):
    folder, dng, jpg = embedded_pair
    data = jpg.read_bytes()
    buf = io.BytesIO()
    Image.open(io.BytesIO(data)).save(buf, "JPEG", quality=85)
    moved = folder / "moved.jpg"
    moved.write_bytes(container.attach(buf.getvalue(), container.extract(data).payload))
    proc = run("restore", moved, folder / "o.npy", "--method", "rbf", "--quiet", check_rc=0)
    assert "warning: the JPEG was re-encoded since embedding (pixels moved" in proc.stderr
    assert (folder / "o.npy").exists()


def test_interrupted_restore_leaves_no_output(embedded_pair):
    folder, dng, jpg = embedded_pair
    proc = subprocess.Popen([RAWMETA, "restore", str(jpg), str(folder / "slow.dng"), "--preset", "paper"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    seen = b""
    while b"restore (" not in seen:  # interrupt once training reports progress, however fast start-up was
        chunk = os.read(proc.stderr.fileno(), 256)
        assert chunk, "the restore ended before it reported progress"
        seen += chunk
    proc.send_signal(signal.SIGINT)
    _, rest = proc.communicate(timeout=60)
    err = (seen + rest).decode()
    assert proc.returncode == 130 and "interrupted" in err and "Traceback" not in err
    assert sorted(os.listdir(folder)) == ["shot.jpg"]


def test_edited_jpeg_is_refused_unless_forced(embedded_pair):
    folder, dng, jpg = embedded_pair
    data = jpg.read_bytes()
    buf = io.BytesIO()
    Image.fromarray(np.asarray(Image.open(io.BytesIO(data))) // 2).save(buf, "JPEG", quality=95)  # darkened
    edited = folder / "edited.jpg"
    edited.write_bytes(container.attach(buf.getvalue(), container.extract(data).payload))
    before = snapshot(folder)
    assert_one_line_error(run("restore", edited, folder / "o.npy", "--quiet"), 5,
                          "more than a re-encode: it was edited, or is another image")
    assert snapshot(folder) == before
    proc = run("restore", edited, folder / "o.npy", "--quiet", "--force", check_rc=0)
    assert "rawmeta: warning: the JPEG's pixels changed since embedding" in proc.stderr
    assert (folder / "o.npy").exists()


@pytest.mark.slow  # the sample's restore takes some 15 s
def test_eval_tells_the_developed_error_beside_raw_psnr(sample_pair, tmp_path):
    dng, sample_jpg = sample_pair
    jpg = tmp_path / "sample.jpg"
    jpg.write_bytes(sample_jpg.read_bytes())
    run("embed", dng, jpg, "--stride", "8", "--bits", "8", check_rc=0)  # a plain grid: no planning, quicker
    run("restore", jpg, tmp_path / "r.npy", "--quiet", check_rc=0)
    info = json.loads(run("eval", tmp_path / "r.npy", dng, "--jpeg", jpg, "--json", check_rc=0).stdout)
    developed = info["developed"]
    assert info["psnr_db"] > 25 and developed["brightness"] == "jpeg" and developed["screen_size"] == [768, 1024]
    assert list(developed["renders"]) == ["as shot", "shadows +1.5 EV", "highlights -1 EV"]
    for render in developed["renders"].values():
        assert 0 < render["delta_e_2000"]["mean"] < render["delta_e_2000"]["p95"] < 20
        assert render["delta_e_2000_screen"] == render["delta_e_2000"]  # 1024 wide: no smaller screen size
        assert 20 < render["psnr_db"] < 80
    text = run("eval", tmp_path / "r.npy", dng, check_rc=0).stdout
    assert "PSNR (whole image)" in text and "99th percentile at white" in text
    for name in ("as shot", "shadows +1.5 EV", "highlights -1 EV"):
        assert f"dE2000 {name}: mean / p95 / > 2, at 100 %" in text and f"render PSNR {name} (sRGB)" in text


def test_eval_develops_at_the_white_balance_the_rawmeta_data_carries(pair, tmp_path, monkeypatch):
    """With --jpeg, the renders take the balance of the rawmeta data (what the restored DNG carries, perhaps
    estimated from the JPEG at embed), not the one LibRaw reads from the RAW now."""
    import dataclasses

    from rawmeta.io import rawfile
    from rawmeta.metrics import developed

    dng, source_jpg = pair
    jpg = tmp_path / "shot.jpg"
    jpg.write_bytes(source_jpg.read_bytes())
    run("embed", dng, jpg, "--stride", "8", "--bits", "8", "--quiet", check_rc=0)
    raw = rawfile.read_raw(dng)
    np.save(tmp_path / "r.npy", raw.rgb)
    other = dataclasses.replace(raw.camera, white_balance=(2.5, 1.0, 1.25))
    monkeypatch.setattr(rawfile, "read_raw", lambda path: dataclasses.replace(raw, camera=other))
    seen, develop = [], developed.developed_error
    monkeypatch.setattr(developed, "developed_error",
                        lambda pred, ref, wb, *args, **kw: seen.append(wb) or develop(pred, ref, wb, *args, **kw))
    run("eval", tmp_path / "r.npy", dng, "--json", check_rc=0)
    run("eval", tmp_path / "r.npy", dng, "--jpeg", jpg, "--json", check_rc=0)
    assert seen[0] == (2.5, 1.0, 1.25)
    assert seen[1] == pytest.approx(raw.camera.white_balance, rel=1e-6) and seen[1] != seen[0]


def test_the_objective_changes_the_fit_and_is_marked(embedded_pair):
    from rawmeta.io.restore_mark import read_mark

    folder, dng, jpg = embedded_pair
    run("restore", jpg, folder / "developed.npy", "--quiet", check_rc=0)
    run("restore", jpg, folder / "raw.npy", "--objective", "raw", "--quiet", check_rc=0)
    developed, raw = np.load(folder / "developed.npy"), np.load(folder / "raw.npy")
    assert not np.array_equal(developed, raw)
    assert read_mark(folder / "developed.npy").objective == "developed"
    assert read_mark(folder / "raw.npy").objective == "raw"
    assert_one_line_error(run("restore", jpg, folder / "x.npy", "--objective", "linear"), 2, "--objective")
