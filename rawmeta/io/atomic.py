"""Atomic replacement of a user's file: temp file in the same folder, fsync, rename.

A temp file is named ``.<target name>.rawmeta-tmp-<host>-<pid>-<random>``:
hidden, next to its target, and telling which process wrote it. A process
killed mid-write (SIGKILL, power loss) leaves its temp file behind but never
touches the target; the next write of the same target removes such files
once their process is gone (:func:`remove_stale_temps`).
"""
from __future__ import annotations

import contextlib
import errno
import os
import secrets
import socket
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

TEMP_MARKER = ".rawmeta-tmp-"
#: Characters of the target's name kept in its temp file's name (names are limited to 255 bytes).
_NAME_CHARS = 120


def temp_path_for(path: Path) -> Path:
    """A fresh, hidden temp-file name next to ``path``, naming this host and process."""
    host = socket.gethostname().replace("/", "_")
    return path.with_name(f"{_temp_prefix(path)}{host}-{os.getpid()}-{secrets.token_hex(6)}")


def remove_stale_temps(path: Path) -> list[Path]:
    """Remove temp files of ``path`` left by rawmeta processes of this host that no longer run.

    Temp files of live processes, of other hosts (a shared folder) and of
    unknown form are left alone. Returns the files removed.
    """
    prefix = _temp_prefix(path)
    host = socket.gethostname().replace("/", "_")
    removed = []
    with contextlib.suppress(OSError), os.scandir(path.parent) as entries:
        for entry in entries:
            if not entry.name.startswith(prefix):
                continue
            owner, _, rest = entry.name[len(prefix):].rpartition("-")[0].rpartition("-")
            if owner == host and rest.isdigit() and int(rest) > 0 and not _running(int(rest)):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.path)
                    removed.append(Path(entry.path))
    return removed


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, *, replace: bool = True) -> Iterator[BinaryIO]:
    """Write ``path`` so that it is either the old file or the complete new one.

    Yields a binary file object on a temp file in the target's folder. On normal
    exit the temp file is flushed, fsync'd and renamed over ``path`` (and the
    folder fsync'd); on an exception it is removed and ``path`` is untouched.
    An existing target keeps its permission bits and, where this process
    may set them, its owner and group. Stale temp files of the
    same target, left by killed processes, are removed first.

    With ``replace=False`` the complete file is published only if ``path``
    does not exist at that moment (a hard link, which never replaces), so a
    file another process created meanwhile is never overwritten:
    FileExistsError, and ``path`` is untouched. Where the file system has no
    hard links (FAT, exFAT) the check and the rename are two steps.
    """
    path = Path(path)
    remove_stale_temps(path)
    tmp = temp_path_for(path)
    try:
        old = path.stat()
    except FileNotFoundError:
        old = None
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        _take_attributes(tmp, old)
        if replace:
            os.replace(tmp, path)
        else:
            _publish_new(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def atomic_write_bytes(path: str | os.PathLike, data: bytes, *, replace: bool = True) -> None:
    """Atomically write ``data`` to ``path`` (see :func:`atomic_write` for ``replace``)."""
    with atomic_write(path, replace=replace) as fh:
        fh.write(data)


def _publish_new(tmp: Path, path: Path) -> None:
    """Give the finished ``tmp`` the name ``path`` unless that name exists; FileExistsError if it does."""
    try:
        os.link(tmp, path, follow_symlinks=False)
    except FileExistsError:
        raise
    except OSError:  # no hard links here: check, then rename
        if os.path.lexists(path):
            raise FileExistsError(errno.EEXIST, "file exists", os.fspath(path)) from None
        os.replace(tmp, path)
        return
    os.unlink(tmp)


def _take_attributes(tmp: Path, old: os.stat_result | None) -> None:
    """Give the temp file the replaced file's permissions and owner, or a new file's usual permissions."""
    if old is None:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        return
    with contextlib.suppress(PermissionError):  # only root may give a file away
        os.chown(tmp, old.st_uid, old.st_gid)
    os.chmod(tmp, stat.S_IMODE(old.st_mode))


def _temp_prefix(path: Path) -> str:
    return f".{path.name[:_NAME_CHARS]}{TEMP_MARKER}"


def _running(pid: int) -> bool:
    """Whether process ``pid`` exists on this host (it may belong to another user)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
