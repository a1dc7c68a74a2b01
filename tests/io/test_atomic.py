import os
import socket
import stat

import pytest

from rawmeta.io.atomic import (
    TEMP_MARKER,
    atomic_write,
    atomic_write_bytes,
    remove_stale_temps,
    temp_path_for,
)


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


def _dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    return pid


def test_stale_temp_of_a_killed_writer_is_removed_by_the_next_write(tmp_path):
    target = tmp_path / "photo.jpg"
    target.write_bytes(b"old")
    host = socket.gethostname()
    stale = tmp_path / f".photo.jpg{TEMP_MARKER}{host}-{_dead_pid()}-0123456789ab"
    live = tmp_path / f".photo.jpg{TEMP_MARKER}{host}-{os.getpid()}-0123456789ab"
    other_host = tmp_path / f".photo.jpg{TEMP_MARKER}elsewhere-{_dead_pid()}-0123456789ab"
    other_file = tmp_path / f".other.jpg{TEMP_MARKER}{host}-{_dead_pid()}-0123456789ab"
    for p in (stale, live, other_host, other_file):
        p.write_bytes(b"half")
    atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"new"
    assert sorted(os.listdir(tmp_path)) == sorted(p.name for p in (target, live, other_host, other_file))


def test_temp_name_of_a_long_file_name_stays_within_limits(tmp_path):
    target = tmp_path / ("x" * 250 + ".jpg")
    atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"new"
    assert len(temp_path_for(target).name) < 255
    assert remove_stale_temps(target) == []


def test_replaces_and_keeps_owner_where_allowed(tmp_path):
    target = tmp_path / "photo.jpg"
    target.write_bytes(b"old")
    if os.geteuid() == 0:  # root may give files away: check that a user's file stays the user's
        os.chown(target, 1234, 5678)
    before = target.stat()
    atomic_write_bytes(target, b"new")
    after = target.stat()
    assert (after.st_uid, after.st_gid) == (before.st_uid, before.st_gid) and target.read_bytes() == b"new"
