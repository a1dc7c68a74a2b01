import os
import stat

import pytest

from rawmeta.atomic import TEMP_MARKER, atomic_write, atomic_write_bytes


def test_replaces_and_keeps_permissions(tmp_path):
    target = tmp_path / "photo.jpg"
    target.write_bytes(b"old")
    os.chmod(target, 0o640)
    atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert os.listdir(tmp_path) == ["photo.jpg"]


def test_failure_leaves_old_file_and_no_temp(tmp_path):
    target = tmp_path / "photo.jpg"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with atomic_write(target) as fh:
            fh.write(b"half")
            raise RuntimeError("boom")
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["photo.jpg"]


def test_temp_file_lives_next_to_target(tmp_path):
    target = tmp_path / "new.jpg"
    with atomic_write(target) as fh:
        names = os.listdir(tmp_path)
        assert len(names) == 1 and TEMP_MARKER in names[0] and names[0].startswith(".new.jpg")
        fh.write(b"x")
    assert target.read_bytes() == b"x"


def test_missing_folder_raises_oserror(tmp_path):
    with pytest.raises(OSError):
        atomic_write_bytes(tmp_path / "nope" / "x.jpg", b"x")
