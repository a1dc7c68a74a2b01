"""Errors rawmeta reports to users, each with the exit code the CLI returns for it."""
from __future__ import annotations


class RawmetaError(Exception):
    """Base class: a problem with the user's input, told in one line."""

    exit_code = 1


class UsageError(RawmetaError):
    """Bad arguments or options (exit 2, as click does)."""

    exit_code = 2


class JpegError(RawmetaError):
    """The JPEG file is not a JPEG, or is truncated or malformed (exit 3)."""

    exit_code = 3


class RawReadError(RawmetaError):
    """The RAW file cannot be read, or is of a kind rawmeta refuses (exit 4)."""

    exit_code = 4


class MismatchError(RawmetaError):
    """The RAW and the JPEG do not describe the same pixel grid (exit 5)."""

    exit_code = 5


class NoPayloadError(RawmetaError):
    """The JPEG carries no rawmeta data (exit 6)."""

    exit_code = 6


class PayloadError(RawmetaError):
    """The rawmeta data is corrupt, incomplete or of an unknown version (exit 7)."""

    exit_code = 7


class OutputError(RawmetaError):
    """The output cannot be written (exit 8)."""

    exit_code = 8
