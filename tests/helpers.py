"""Small builders shared by the tests."""
from __future__ import annotations

import hashlib
import io
import re
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from rawmeta.format import payload as pl
from rawmeta.format import segments as js
from rawmeta.format.camera import CameraFacts
from rawmeta.format.grid import Grid
from rawmeta.format.sample_coding import quantize

CAMERA = CameraFacts(
    make="Test", model="Cam", bits=12, black_levels=(256, 256, 256, 256), white_level=4095, cfa="RGGB",
    white_balance=(2.0, 1.0, 1.5), white_balance_source="camera",
    xyz_to_camera=(0.99, -0.277, -0.132, -0.707, 1.423, 0.314, -0.279, 0.334, 0.886),
    calibration_illuminant=21, orientation=1,
)


def smooth_image(h: int, w: int, seed: int = 0) -> np.ndarray:
    """A smooth colourful uint8 image (compresses like a photo)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w] / max(h, w)
    base = np.stack([np.sin(6 * x + 1), np.cos(5 * y), np.sin(4 * (x + y))], axis=-1) * 0.4 + 0.5
    return np.clip(base * 255 + rng.normal(0, 3, base.shape), 0, 255).astype(np.uint8)

def scene(h: int, w: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A smooth sRGB image and raw-RGB that is a global, spatially varying function of it."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w] / np.array([h, w]).reshape(2, 1, 1)
    srgb = np.stack([0.5 + 0.4 * np.sin(5 * x + 2 * y), 0.5 + 0.4 * np.cos(4 * y), 0.5 + 0.3 * np.sin(3 * (x - y))], -1)
    srgb = np.clip(srgb + rng.normal(0, 0.01, srgb.shape), 0, 1)
    raw = srgb ** 2.2 * np.array([0.5, 0.9, 0.7]) * (1 + 0.1 * x[..., None])
    return (srgb * 255).round().astype(np.uint8), raw.astype(np.float32)


def jpeg(h: int = 64, w: int = 96, seed: int = 0, **save) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(smooth_image(h, w, seed)).save(buf, "JPEG", **({"quality": 90} | save))
    return buf.getvalue()


def shrunk(jpg, *, turn: bool = False, orientation: int | None = None) -> bytes:
    """The pair's JPEG halved on each side (Lanczos), turned a quarter first with ``turn``, tagged with
    EXIF ``orientation``."""
    with Image.open(jpg) as im:
        im = im.transpose(Image.Transpose.ROTATE_90) if turn else im
        small = im.resize((im.width // 2, im.height // 2), Image.Resampling.LANCZOS)
        exif = Image.Exif()
        if orientation:
            exif[0x0112] = orientation
        buf = io.BytesIO()
        small.save(buf, "JPEG", quality=90, exif=exif.tobytes())
    return buf.getvalue()


def payload_for(jpeg_data: bytes, bits: int = 12, stride: int = 8, seed: int = 0) -> pl.Payload:
    layout = js.parse(jpeg_data)
    h, w, _ = layout.frame()
    rgb = np.random.default_rng(seed).random((h, w, 3), dtype=np.float32)
    grid = Grid.centred(h, w, stride)
    return pl.Payload(grid, bits, quantize(grid.sample(rgb), bits), CAMERA, js.image_data_hash(layout))


def reseal(body: bytes) -> bytes:
    """A payload body with a fresh, valid SHA-256 trailer."""
    return body + hashlib.sha256(body).digest()


def patch_header(packed: bytes, fmt: str, offset: int, *values) -> bytes:
    """``packed`` with header fields rewritten and the SHA-256 trailer recomputed."""
    body = bytearray(packed[:-32])
    struct.pack_into(fmt, body, offset, *values)
    return reseal(bytes(body))


RAWMETA = str(Path(sys.executable).with_name("rawmeta"))


def run(*args, check_rc=None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run the command line in this process with click's ``CliRunner``, as ``rawmeta ARGS`` would run;
    with ``check_rc``, assert its exit code. The result is shaped like a finished process."""
    from click.testing import CliRunner

    from rawmeta.cli.main import main

    result = CliRunner().invoke(main, [str(a) for a in args], prog_name="rawmeta", env=env)
    proc = subprocess.CompletedProcess(["rawmeta", *map(str, args)], result.exit_code, result.stdout, result.stderr)
    if check_rc is not None:
        assert proc.returncode == check_rc, proc.stderr
    return proc


def run_process(*args, check_rc=None) -> subprocess.CompletedProcess:
    """Run the installed ``rawmeta`` command in a process of its own (for what only a real process shows:
    start-up, signals, the script's installation); with ``check_rc``, assert its exit code."""
    proc = subprocess.run([RAWMETA, *map(str, args)], capture_output=True, text=True)
    if check_rc is not None:
        assert proc.returncode == check_rc, proc.stderr
    return proc


#: A stage line that a command off a terminal writes once it has run 2 s (cli/progress.py), as it may before
#: failing on a slow machine: "embed shot.jpg: aligning (elapsed 00:03)".
STAGE_LINE = re.compile(r"^[^:]+: [^:]+ \(elapsed \d\d:\d\d\)$")


def assert_one_line_error(proc, rc: int, words: str) -> None:
    """A failure told in exactly one ``rawmeta: error:`` line containing ``words``, no traceback; only stage
    lines of the work done before it may precede it."""
    assert proc.returncode == rc, (proc.returncode, proc.stderr)
    *before, last = proc.stderr.strip().splitlines() or [""]
    assert all(STAGE_LINE.match(line) for line in before), proc.stderr
    assert last.startswith("rawmeta: error: ") and words in last, last
    assert "Traceback" not in proc.stderr


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file in ``folder`` with its bytes."""
    return {p.name: p.read_bytes() for p in folder.iterdir()}
