"""Hostile inputs (issue #6, "Reliability"): every command on every case of ``tests/hostile/corpus.py``.

Each (case, command) is one test. A refusal must be one ``rawmeta: error:``
line naming the problem with the documented exit code (70, an internal
error, is a bug), and leave the folder as it was: inputs byte-identical, no
output, no temp files. A success must leave the inputs alone and write a
valid output. Commands run in-process through click's test runner (starting
the console script costs seconds), the cases that ask for absurd sizes in one
child process with bounded memory, and a few through the real console script.
"""
from __future__ import annotations

import io
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import zstandard
from click.testing import CliRunner

from rawmeta.cli.main import main
from rawmeta.embed.report import inspect_bytes
from rawmeta.format import container
from rawmeta.format import segments as js
from rawmeta.io.atomic import TEMP_MARKER

from ..conftest import REPO
from ..helpers import assert_one_line_error, run
from . import corpus
from .corpus import CASES, matrix

JPEG_NAME = "shot.jpg"
OUTPUTS = {"inspect": None, "restore": "out.npy", "strip": "out.jpg", "embed": "out.jpg"}


@dataclass(frozen=True)
class Outcome:
    """What a command did, shaped like ``subprocess.CompletedProcess`` for ``assert_one_line_error``."""

    returncode: int
    stdout: str
    stderr: str


@dataclass(frozen=True)
class Prepared:
    """A folder holding a case's inputs, the command line to run on them, and the folder's state before."""

    folder: Path
    argv: list[str]
    output: Path | None
    before: dict[str, bytes | None]


def state(folder: Path) -> dict[str, bytes | None]:
    """Every entry of ``folder``: a file's bytes, or None for a folder."""
    return {p.name: p.read_bytes() if p.is_file() else None for p in folder.iterdir()}


def place(path: Path, content: corpus.Input) -> None:
    if content is corpus.Special.FOLDER:
        path.mkdir()
    elif content is not corpus.Special.MISSING:
        path.write_bytes(content)


def prepare(folder: Path, base: corpus.Base, name: str, command: str) -> Prepared:
    """Write the case's inputs into ``folder`` and build the command line."""
    case = CASES[name]
    built = case.build(base)
    raw_name = "shot" + (case.raw_suffix or ".dng")
    inputs = {raw_name: built, JPEG_NAME: base.plain} if case.raw_suffix else {JPEG_NAME: built}
    if command == "embed":
        inputs.setdefault(raw_name, base.dng)
    for file, content in inputs.items():
        place(folder / file, content)
    jpg, output = str(folder / JPEG_NAME), OUTPUTS[command] and folder / OUTPUTS[command]
    argv = {
        "inspect": ["inspect", jpg],
        "restore": ["restore", jpg, str(output), "--quiet", "--method", "rbf"],  # 0.03 s here, the fast preset 1 s
        "strip": ["strip", jpg, "-o", str(output)],
        "embed": ["embed", str(folder / raw_name), jpg, "-o", str(output), "--stride", "8", "--bits", "12"],
    }[command] + ["--verbose"]  # the technical detail is what tells many cases apart
    return Prepared(folder, argv, output, state(folder))


def check_output(command: str, output: bytes, jpeg: bytes) -> None:
    """A successful command's output is what it should be."""
    if command == "restore":
        rgb = np.load(io.BytesIO(output), allow_pickle=False)
        assert rgb.shape == (96, 128, 3) and np.isfinite(rgb).all() and rgb.min() >= 0 and rgb.max() <= 1
    elif command == "strip":
        layout = js.parse(output)
        assert not container.ours(layout)
        assert js.image_data_hash(layout) == js.image_data_hash(js.parse(jpeg))
    elif command == "embed":
        assert inspect_bytes(output).payload.grid.stride == 8


def check(prep: Prepared, outcome: Outcome, command: str, expected: tuple[int, str]) -> None:
    """The outcome is the expected one and the folder holds what it should."""
    code, words = expected
    folder = str(prep.folder)  # its name holds the test's: the words must not match it
    outcome = Outcome(outcome.returncode, outcome.stdout.replace(folder, "DIR"), outcome.stderr.replace(folder, "DIR"))
    assert outcome.returncode != 70, f"internal error (a bug): {outcome.stderr}"
    assert "Traceback" not in outcome.stderr, outcome.stderr
    after = state(prep.folder)
    assert not [name for name in after if TEMP_MARKER in name], after.keys()
    if code:
        assert_one_line_error(outcome, code, words)
        assert "shot." in outcome.stderr, f"the error names no file: {outcome.stderr}"
        assert after == prep.before, "a refused command changed the folder"
        return
    assert outcome.returncode == 0, outcome.stderr
    assert words in outcome.stdout + outcome.stderr, (outcome.stdout, outcome.stderr)
    assert "error" not in outcome.stderr, outcome.stderr
    assert {k: v for k, v in after.items() if prep.output is None or k != prep.output.name} == prep.before
    if prep.output is not None:
        check_output(command, after[prep.output.name], prep.before[JPEG_NAME])


@pytest.fixture(scope="module")
def base(pair) -> corpus.Base:
    return corpus.make_base(*pair)


@pytest.fixture(scope="module")
def limited(base, tmp_path_factory) -> dict[tuple[str, str], tuple[Prepared, Outcome]]:
    """The outcomes of the ``limited`` cases, all run in one child process with bounded memory."""
    runs = {(name, command): prepare(tmp_path_factory.mktemp("limited"), base, name, command)
            for name, command in matrix() if CASES[name].limited}
    argvs = json.dumps([p.argv for p in runs.values()])
    proc = subprocess.run([sys.executable, "-m", "tests.hostile.corpus"], input=argvs, capture_output=True, text=True,
                          cwd=REPO, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    return {key: (prep, Outcome(**result)) for (key, prep), result in zip(runs.items(), json.loads(proc.stdout))}


def test_the_corpus_is_large_enough():
    assert len(CASES) >= 50
    assert all(set(case.expect) <= set(OUTPUTS) for case in CASES.values())


def test_the_corpus_hits_the_fields_it_means(base):
    """The payload offsets follow docs/FORMAT.md, and the hand-made zstandard frames are what they claim."""
    at = corpus.body_offsets(base.payload)
    coded = int.from_bytes(base.payload[at["sample_length"] : at["samples"]], "big")
    assert at["samples"] + coded == len(base.payload) - 32
    assert base.payload[at["refinement"] : at["refinement"] + 2] == b"\0\x10"  # block size 16
    assert zstandard.frame_content_size(corpus.zstd_declaring(8 * 1024**3)) == 8 * 1024**3
    bomb = corpus.zstd_bomb(1024**2)
    assert zstandard.frame_content_size(bomb) == -1  # unknown
    assert zstandard.ZstdDecompressor().decompressobj().decompress(bomb) == bytes(1024**2)


@pytest.mark.parametrize(("name", "command"), matrix(), ids=[f"{n}-{c}" for n, c in matrix()])
def test_hostile_input(base, tmp_path, request, name, command):
    if CASES[name].limited:
        prep, outcome = request.getfixturevalue("limited")[name, command]
    else:
        prep = prepare(tmp_path, base, name, command)
        r = CliRunner().invoke(main, prep.argv)
        outcome = Outcome(r.exit_code, r.stdout, r.stderr)
    check(prep, outcome, command, CASES[name].expect[command])


#: Cases run through the real console script too: the same guarantees outside the test runner.
CONSOLE = [("empty file", "inspect"), ("truncated inside the scan", "restore"), ("bit flip in a chunk", "inspect"),
           ("segments reordered", "restore"), ("truncated DNG", "embed")]


@pytest.mark.parametrize(("name", "command"), CONSOLE, ids=[f"{n}-{c}" for n, c in CONSOLE])
def test_console_script(base, tmp_path, name, command):
    prep = prepare(tmp_path, base, name, command)
    proc = run(*prep.argv)
    check(prep, Outcome(proc.returncode, proc.stdout, proc.stderr), command, CASES[name].expect[command])
