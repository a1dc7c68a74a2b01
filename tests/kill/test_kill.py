"""SIGKILL at random moments: a user's file is always the old or the complete new version.

``embed`` and ``strip`` are killed 100 times each while changing a JPEG in
place; ``restore`` 20 times while writing a new file. After every kill
the file must be byte-identical to the old or the complete new version (for
restore: absent or complete), and temp files must not pile up: a killed
write leaves at most one, which the next write of the same file removes.
"""
from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rawmeta.io.atomic import TEMP_MARKER

from ..conftest import REPO

pytestmark = pytest.mark.slow


def _kill_runs(args: list, watch: Path, reset: bytes | None, runs: int, seed: int = 0) -> dict:
    spec = {"args": [str(a) for a in args], "watch": str(watch), "reset": None if reset is None else reset.hex(),
            "runs": runs, "seed": seed}
    proc = subprocess.run([sys.executable, "-m", "tests.kill.harness"], input=json.dumps(spec), cwd=REPO,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, f"the kill harness failed (exit {proc.returncode}): {proc.stderr.strip()}"
    return json.loads(proc.stdout)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _check(result: dict, allowed: dict[str, str | None], finished: str) -> None:
    """Every kill left one of the ``allowed`` states (name -> sha256, None for absent) and at most one
    temp file, the full run ended in state ``finished``, and many kills found the command running."""
    assert result["complete"] == allowed[finished] is not None
    states = [r["state"] for r in result["runs"]]
    assert set(states) <= set(allowed.values()), "a kill left a file that is neither old nor complete"
    assert max(len(r["temps"]) for r in result["runs"]) <= 1, "temp files piled up"
    killed = sum(r["killed"] for r in result["runs"])
    assert killed >= len(states) // 4, f"only {killed} of {len(states)} kills found the command running"
    print(f"{len(states)} kills, {killed} while running; "
          + ", ".join(f"{name} {states.count(h)}" for name, h in allowed.items())
          + f"; a temp file left by {sum(bool(r['temps']) for r in result['runs'])}; "
          + f"write {1000 * result['write_seconds']:.1f} ms of {result['full_seconds']:.2f} s")


def _no_temps(folder: Path) -> bool:
    return not any(TEMP_MARKER in p.name for p in folder.iterdir())


@pytest.fixture
def pair(tmp_path, sample_pair):
    dng, jpg = sample_pair
    shutil.copy(dng, tmp_path / "shot.dng")
    shutil.copy(jpg, tmp_path / "shot.jpg")
    return tmp_path / "shot.dng", tmp_path / "shot.jpg"


def _embedded(dng: Path, jpg: Path, out: Path) -> bytes:
    from rawmeta.cli.main import main

    with pytest.raises(SystemExit) as done:
        main(["embed", str(dng), str(jpg), "-o", str(out), "--stride", "8", "--bits", "12"])
    assert done.value.code in (0, None)
    return out.read_bytes()


def test_embed_in_place_killed_100_times(pair, tmp_path):
    dng, jpg = pair
    old = jpg.read_bytes()
    new = _embedded(dng, jpg, tmp_path / "expected.jpg")
    result = _kill_runs(["embed", dng, jpg, "--stride", "8", "--bits", "12"], jpg, old, runs=100)
    _check(result, {"old": _sha(old), "new": _sha(new)}, "new")
    jpg.write_bytes(old)
    _embedded(dng, jpg, jpg)  # a complete write clears what killed ones left
    assert jpg.read_bytes() == new and _no_temps(tmp_path)


def test_strip_in_place_killed_100_times(pair, tmp_path):
    dng, jpg = pair
    original = jpg.read_bytes()
    embedded = _embedded(dng, jpg, jpg)
    result = _kill_runs(["strip", jpg], jpg, embedded, runs=100)
    _check(result, {"embedded": _sha(embedded), "stripped": _sha(original)}, "stripped")


def test_restore_killed_leaves_no_partial_output(tmp_path):
    from rawmeta.benchmarks.synthetic import write_sample

    dng, jpg = write_sample(tmp_path, height=240, width=320)  # small: a restore takes about a second
    _embedded(dng, jpg, jpg)
    out = tmp_path / "restored.npy"
    result = _kill_runs(["restore", jpg, out, "--quiet"], out, None, runs=20)
    _check(result, {"absent": None, "complete": result["complete"]}, "complete")
