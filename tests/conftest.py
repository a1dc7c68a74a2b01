"""Shared fixtures: the real RAWs in ../shared/data/raw and JPEGs rendered from them."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from rawmeta.batch.pairing import is_raw

REPO = Path(__file__).resolve().parent.parent
RAW_DIR = Path(os.environ.get("RAWMETA_RAW_DIR", REPO.parent / "shared" / "data" / "raw"))


def shared_raws() -> list[Path]:
    """The RAW files of the shared data folder (set RAWMETA_RAW_DIR to move it)."""
    if not RAW_DIR.is_dir():
        return []
    return sorted(p for p in RAW_DIR.iterdir() if is_raw(p))


def raw_params():
    raws = shared_raws()
    if not raws:
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"no shared RAW files in {RAW_DIR} (set RAWMETA_RAW_DIR)"))]
    return [pytest.param(p, id=p.name) for p in raws]


def require_tool(name: str):
    return pytest.mark.skipif(shutil.which(name) is None, reason=f"{name} is not installed (.ci/run installs it)")


@pytest.fixture(scope="session")
def rendered(tmp_path_factory):
    """``rendered(raw_path) -> Path``: LibRaw's q95 render of a RAW, made once per session."""
    from rawmeta.benchmarks.render import write_render

    folder = tmp_path_factory.mktemp("renders")
    cache: dict[Path, Path] = {}

    def get(raw: Path) -> Path:
        if raw not in cache:
            out = folder / (raw.stem + ".jpg")
            write_render(raw, out)
            cache[raw] = out
        return cache[raw]

    return get


@pytest.fixture(scope="session")
def sample_pair() -> tuple[Path, Path]:
    """The project's own sample RAW (DNG) and its JPEG, from samples/."""
    return REPO / "samples" / "sample.dng", REPO / "samples" / "sample.jpg"


@pytest.fixture(scope="module")
def pair(tmp_path_factory) -> tuple[Path, Path]:
    """A small (128 x 96) synthetic DNG and its JPEG."""
    from rawmeta.benchmarks.synthetic import write_sample

    return write_sample(tmp_path_factory.mktemp("pair"), height=96, width=128)


@pytest.fixture
def work(tmp_path, pair):
    """``(folder, dng, jpg)``: a fresh folder holding only a copy of the pair's JPEG."""
    dng, jpg = pair
    shutil.copy(jpg, tmp_path / "shot.jpg")
    return tmp_path, dng, tmp_path / "shot.jpg"
