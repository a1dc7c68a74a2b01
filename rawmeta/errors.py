"""Errors rawmeta reports to users, and every exit code the command line returns, in one place."""
from __future__ import annotations

import enum


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
    """Base class: a problem with the user's input, told in one line."""

    exit_code: int = ExitCode.ERROR


class UsageError(RawmetaError):
    """Bad arguments or options (exit 2, as click does)."""

    exit_code = ExitCode.USAGE


class JpegError(RawmetaError):
    """The JPEG file is not a JPEG, or is truncated or malformed (exit 3)."""

    exit_code = ExitCode.JPEG


class RawReadError(RawmetaError):
    """The RAW file cannot be read, or is of a kind rawmeta refuses (exit 4)."""

    exit_code = ExitCode.RAW


class MismatchError(RawmetaError):
    """The RAW and the JPEG do not describe the same pixel grid (exit 5)."""

    exit_code = ExitCode.MISMATCH


class NoPayloadError(RawmetaError):
    """The JPEG carries no rawmeta data (exit 6)."""

    exit_code = ExitCode.NO_PAYLOAD


class PayloadError(RawmetaError):
    """The rawmeta data is corrupt, incomplete or of an unknown version (exit 7)."""

    exit_code = ExitCode.PAYLOAD


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
