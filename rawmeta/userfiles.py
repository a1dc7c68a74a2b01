"""Reading and writing the user's files, with problems told in one line."""
from __future__ import annotations

import os
from pathlib import Path

from .atomic import atomic_write_bytes
from .errors import JpegError, OutputError, RawmetaError

#: Largest JPEG rawmeta reads (bytes).
MAX_JPEG_BYTES = 512 * 1024**2


def read_input(path: str | os.PathLike, what: str, error: type[RawmetaError], limit: int) -> bytes:
    """The bytes of an input file; file-system problems and files over ``limit`` bytes raise ``error``.

    ``what`` names the kind of file in the message (``"JPEG"``, ``"RAW"``).
    """
    name = os.fspath(path)
    try:
        size = os.path.getsize(path)
        if size > limit:
            raise error(f"cannot read {what} {name}: {size} bytes is larger than rawmeta's limit of {limit}")
        with open(path, "rb") as fh:
            return fh.read()
    except FileNotFoundError:
        raise error(f"cannot read {what} {name}: no such file") from None
    except IsADirectoryError:
        raise error(f"cannot read {what} {name}: it is a folder") from None
    except OSError as exc:
        raise error(f"cannot read {what} {name}: {exc.strerror}") from None


def read_jpeg(path: str | os.PathLike) -> bytes:
    """The bytes of a JPEG file, with file-system problems reported as JpegError."""
    return read_input(path, "JPEG", JpegError, MAX_JPEG_BYTES)


def target_path(path: str | os.PathLike, out: str | os.PathLike | None = None) -> Path:
    """Where a command writes: ``out`` if given, else ``path`` itself (in place).

    Raises OutputError when its folder does not exist, so a command can
    refuse before its long part.
    """
    target = Path(out if out is not None else path)
    if not target.parent.is_dir():
        raise OutputError(f"cannot write {target}: folder {target.parent} does not exist")
    return target


def write_output(path: Path, data: bytes) -> None:
    """Atomically write a user's file, reporting failures as OutputError."""
    try:
        atomic_write_bytes(path, data)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
