"""Atomic replacement of a user's file: temp file in the same folder, fsync, rename."""
from __future__ import annotations

import contextlib
import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

TEMP_MARKER = ".rawmeta-tmp-"


def temp_path_for(path: Path) -> Path:
    """A fresh, hidden temp-file name next to ``path`` that rawmeta can recognise."""
    return path.with_name(f".{path.name}{TEMP_MARKER}{secrets.token_hex(6)}")


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """Write ``path`` so that it is either the old file or the complete new one.

    Yields a binary file object on a temp file in the target's folder. On normal
    exit the temp file is flushed, fsync'd and renamed over ``path`` (and the
    folder fsync'd); on an exception it is removed and ``path`` is untouched.
    An existing target keeps its permission bits.
    """
    path = Path(path)
    tmp = temp_path_for(path)
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Atomically replace ``path`` with ``data``."""
    with atomic_write(path) as fh:
        fh.write(data)


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
