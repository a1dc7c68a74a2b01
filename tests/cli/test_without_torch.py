"""On a computer without CUDA, embed and restore run on NumPy and do not pay torch's start-up."""
import shutil
import subprocess
import sys

_COMMAND = """
import sys
from rawmeta.cli.main import main
sys.argv = ["rawmeta", *sys.argv[1:]]
try:
    main()
finally:
    print("torch" in sys.modules)
"""


def imports_torch(*args) -> bool:
    """Whether ``rawmeta ARGS``, in a process of its own, imports torch."""
    proc = subprocess.run([sys.executable, "-c", _COMMAND, *map(str, args)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split()[-1] == "True"


def test_embed_and_restore_on_a_cpu_import_no_torch(pair, tmp_path):
    dng, jpg = pair
    shot = tmp_path / "shot.jpg"
    shutil.copy(jpg, shot)
    assert not imports_torch("embed", dng, shot, "--budget", "40", "--objective", "raw", "--device", "cpu", "--quiet")
    assert not imports_torch("embed", dng, shot, "--budget", "40", "--device", "cpu", "--quiet")
    assert not imports_torch("restore", shot, tmp_path / "out.dng", "--device", "cpu", "--quiet")
    assert not imports_torch("restore", shot, tmp_path / "out.tif", "--method", "rbf", "--device", "cpu", "--quiet")

