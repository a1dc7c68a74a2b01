"""Reading and writing the user's files, with problems told in one line."""
from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from rawmeta.errors import JpegError, OutputError, RawmetaError
from rawmeta.io.atomic import atomic_write_bytes

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

    In place, a symbolic link is followed, so the file it points to is
    rewritten and the link stays a link. Raises OutputError when the
    folder does not exist, so a command can refuse before its long part.
    """
    target = Path(out) if out is not None else Path(os.path.realpath(path))
    if not target.parent.is_dir():
        raise OutputError(f"cannot write {target}: folder {target.parent} does not exist")
    return target


def rewrite_target(path: str | os.PathLike, out: str | os.PathLike | None, *, overwrite: bool,
                   inputs: Iterable[tuple[str, str | os.PathLike]] = ()) -> tuple[Path, bool]:
    """Where a command that rewrites ``path`` writes, checked before any work, and whether it may replace it.

    In place (no ``out``, or ``out`` is ``path`` itself) is what the user
    asked for; any other ``out`` must pass :func:`check_new_output` and is
    replaced only with ``overwrite``. Give the flag to :func:`write_output`.
    """
    target = target_path(path, out)
    if out is None or same_file(target, path):
        return target, True
    check_new_output(target, overwrite=overwrite, inputs=inputs)
    return target, overwrite


def check_new_output(target: Path, *, overwrite: bool, inputs: Iterable[tuple[str, str | os.PathLike]] = ()) -> None:
    """Refuse, before any work, to write ``target`` over a file the user did not give up.

    Parameters
    ----------
    target : Path
        The file a command is about to write.
    overwrite : bool
        The user asked for an existing ``target`` to be replaced (``--overwrite``).
    inputs : iterable of (str, path)
        The command's input files, each with the word that names it
        (``"RAW"``): ``target`` must never be one of them, whatever
        ``overwrite`` says. Compared as files (links and a case-insensitive
        file system's spellings are the same file).

    Raises
    ------
    OutputError
        If ``target`` is one of ``inputs``, or exists and ``overwrite`` is False.
    """
    for what, source in inputs:
        if same_file(target, source):
            raise OutputError(f"{target} is an input of this command (the {what}): refusing to write over it "
                              "(give another output name)")
    if not overwrite and os.path.lexists(target):
        raise OutputError(f"{target} already exists; rawmeta replaces a file only with --overwrite")


def same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """Whether ``a`` and ``b`` are the same existing file (through links, or in another spelling)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def write_output(path: Path, data: bytes, *, replace: bool = True) -> None:
    """Atomically write a user's file, reporting failures as OutputError.

    With ``replace=False`` an existing ``path``, even one that appears while
    the data is written, is left alone and OutputError raised.
    """
    try:
        atomic_write_bytes(path, data, replace=replace)
    except FileExistsError:
        raise OutputError(f"{path} already exists; rawmeta replaces a file only with --overwrite") from None
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
