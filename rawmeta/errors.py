"""Errors rawmeta reports to users, and every exit code the command line returns, in one place."""
from __future__ import annotations

import contextlib
import enum
import os
from collections.abc import Iterator


class ExitCode(enum.IntEnum):
    """The command line's exit codes; each error class below names its own."""

    OK = 0
    ERROR = 1
    USAGE = 2
    JPEG = 3
    RAW = 4
    MISMATCH = 5
    NO_PAYLOAD = 6
    PAYLOAD = 7
    OUTPUT = 8
    BATCH_FAILED = 9
    SCHEDULER = 10
    INTERNAL = 70
    INTERRUPTED = 130


#: What each exit code means, as ``rawmeta --help`` lists them.
EXIT_CODE_MEANINGS: dict[ExitCode, str] = {
    ExitCode.OK: "success",
    ExitCode.USAGE: "bad usage",
    ExitCode.JPEG: "bad or unreadable JPEG",
    ExitCode.RAW: "bad or unreadable RAW",
    ExitCode.MISMATCH: "RAW and JPEG do not match",
    ExitCode.NO_PAYLOAD: "no rawmeta data in the JPEG",
    ExitCode.PAYLOAD: "rawmeta data corrupt, incomplete or of an unknown version",
    ExitCode.OUTPUT: "output cannot be written",
    ExitCode.BATCH_FAILED: "some files of a folder batch failed (the summary names them)",
    ExitCode.SCHEDULER: "the Dask scheduler cannot be reached",
    ExitCode.INTERNAL: "internal error (a bug: please report it)",
    ExitCode.INTERRUPTED: "interrupted",
}


class RawmetaError(Exception):
    """Base class: a problem with the user's input, told in one line.

    Parameters
    ----------
    message : str
        What went wrong, in the user's words. ``{file}`` stands for the file
        it is about: its name once :func:`about` has attached one, else the
        class's ``subject`` ("the JPEG").
    detail : str, optional
        The technical account (offsets, markers, field values), for
        ``--verbose`` and for ``str()``.

    Examples
    --------
    >>> err = JpegError("{file} is cut short", "the file ends before its EOI marker")
    >>> err.plain()
    'the JPEG is cut short'
    >>> err.file = "IMG_1.jpg"
    >>> str(err)
    'IMG_1.jpg is cut short [the file ends before its EOI marker]'
    """

    exit_code: int = ExitCode.ERROR
    #: What ``{file}`` reads as while no file is attached.
    subject = "the file"

    def __init__(self, message: str, detail: str | None = None) -> None:
        super().__init__(message, detail)
        self.message, self.detail = message, detail
        self.file: str | None = None

    def plain(self) -> str:
        """The message, naming the file (when attached) but without the technical detail."""
        if "{file}" in self.message:
            return self.message.replace("{file}", self.file or self.subject)
        if self.file is not None and self.file not in self.message:
            return f"{self.file}: {self.message}"
        return self.message

    def __str__(self) -> str:
        return self.plain() + (f" [{self.detail}]" if self.detail else "")


class UsageError(RawmetaError):
    """Bad arguments or options (exit 2, as click does)."""

    exit_code = ExitCode.USAGE


class BudgetError(UsageError):
    """A budget that no payload fits (exit 2: the user's ``--budget`` or ``--max-growth`` asks too little)."""


class JpegError(RawmetaError):
    """The JPEG file is not a JPEG, or is truncated or malformed (exit 3)."""

    exit_code = ExitCode.JPEG
    subject = "the JPEG"


class RawReadError(RawmetaError):
    """The RAW file cannot be read, or is of a kind rawmeta refuses (exit 4)."""

    exit_code = ExitCode.RAW
    subject = "the RAW"


class MismatchError(RawmetaError):
    """The RAW and the JPEG do not describe the same pixel grid (exit 5)."""

    exit_code = ExitCode.MISMATCH
    subject = "the JPEG"


class NoPayloadError(RawmetaError):
    """The JPEG carries no rawmeta data (exit 6)."""

    exit_code = ExitCode.NO_PAYLOAD
    subject = "the JPEG"


class PayloadError(RawmetaError):
    """The rawmeta data is corrupt, incomplete or of an unknown version (exit 7)."""

    exit_code = ExitCode.PAYLOAD
    subject = "the JPEG"

    @classmethod
    def damaged(cls, detail: str) -> PayloadError:
        """rawmeta data that does not read as rawmeta writes it; ``detail`` says where it fails.

        Examples
        --------
        >>> PayloadError.damaged("rawmeta payload has an unknown alignment kind 7").plain()
        "the JPEG's rawmeta data is damaged: it is not as rawmeta wrote it"
        """
        return cls("{file}'s rawmeta data is damaged: it is not as rawmeta wrote it", detail)

    @classmethod
    def corrupt(cls, detail: str) -> PayloadError:
        """rawmeta data that fails its checksum: bytes changed after embedding."""
        return cls("{file}'s rawmeta data is corrupt: its bytes changed after embedding (a backup copy may be "
                   "intact)", detail)

    @classmethod
    def unknown_version(cls, what: str, version: int, readable: int, detail: str) -> PayloadError:
        """rawmeta data of a ``what`` ("format", "container") ``version`` this rawmeta cannot read (it reads up to
        ``readable``)."""
        if version > readable:
            return cls(f"{{file}}'s rawmeta data was written by a newer rawmeta ({what} version {version}): "
                       "update rawmeta to read it", detail)
        return cls(f"{{file}}'s rawmeta data has an unknown {what} version ({version})", detail)


class OutputError(RawmetaError):
    """The output cannot be written (exit 8)."""

    exit_code = ExitCode.OUTPUT


class BatchFailed(RawmetaError):
    """Some files of a folder batch failed; the summary names them (exit 9)."""

    exit_code = ExitCode.BATCH_FAILED


class SchedulerError(RawmetaError):
    """The Dask scheduler cannot be reached or used (exit 10)."""

    exit_code = ExitCode.SCHEDULER


class Interrupted(RawmetaError):
    """Ctrl-C during a batch (exit 130, as for one file)."""

    exit_code = ExitCode.INTERRUPTED


class SampleCodingError(ValueError):
    """Coded samples that cannot be decoded; never shown to a user as it is (``format.payload`` tells it as a
    :class:`PayloadError`)."""


#: The errors about a JPEG file, which :func:`about` names: its bytes, its rawmeta data, and its pixels not
#: matching the RAW or the rawmeta data.
JPEG_ERRORS = (JpegError, NoPayloadError, PayloadError, MismatchError)


@contextlib.contextmanager
def about(path: str | os.PathLike, kinds: tuple[type[RawmetaError], ...] = JPEG_ERRORS) -> Iterator[None]:
    """Name ``path`` in the ``kinds`` of error raised inside, unless one already names a file.

    Examples
    --------
    >>> try:
    ...     with about("IMG_1.jpg"):
    ...         raise NoPayloadError("{file} has no rawmeta data")
    ... except NoPayloadError as exc:
    ...     print(exc)
    IMG_1.jpg has no rawmeta data
    """
    try:
        yield
    except kinds as exc:
        if exc.file is None:
            exc.file = os.fspath(path)
        raise
