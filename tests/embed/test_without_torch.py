"""An embed with the developed objective restores nothing, so it does not pay torch's start-up."""
import shutil
import subprocess
import sys

_EMBED = """
import sys
from rawmeta.cli.main import main
sys.argv = ["rawmeta", "embed", *sys.argv[1:]]
try:
    main()
finally:
    print("torch" in sys.modules)
"""


def embed_imports_torch(*args) -> bool:
    proc = subprocess.run([sys.executable, "-c", _EMBED, *map(str, args)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split()[-1] == "True"


def test_a_developed_embed_imports_no_torch_and_a_raw_one_does(pair, tmp_path):
    dng, jpg = pair
    shutil.copy(jpg, tmp_path / "shot.jpg")
    assert not embed_imports_torch(dng, tmp_path / "shot.jpg", "--budget", "40", "--quiet")
    assert embed_imports_torch(dng, tmp_path / "shot.jpg", "--budget", "40", "--objective", "raw", "--quiet")
