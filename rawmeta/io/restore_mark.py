"""The mark every restored file carries: rawmeta wrote it, from which payload, with which settings.

A folder restore must never take a user's file for its own output (a
camera's ``IMG_0001.dng`` beside ``IMG_0001.jpg``), and a rerun must skip
only what an earlier run finished. So every file ``rawmeta restore`` writes
says who wrote it, and a file without that mark is never skipped as done nor
replaced without ``--overwrite``.

The mark is the bytes ``rawmeta\\0`` followed by a UTF-8 JSON object (see
:meth:`RestoreMark.to_bytes`). It is stored

- in a ``.dng``, ``.tif`` or ``.tiff`` as TIFF tag 50740 (DNGPrivateData,
  type BYTE) of the first IFD: DNG's place for an application's own data;
- in a ``.npy`` after the array's data, where NumPy and other ``.npy``
  readers, which read exactly the header's shape, never look.

docs/FORMAT.md ("Marks on restored files") specifies it for other readers.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
from dataclasses import asdict, dataclass
from importlib import metadata

import numpy as np

from rawmeta.io.dng import PRIVATE_DATA_TAG

#: The mark's first bytes: who wrote it, NUL-terminated as DNGPrivateData asks.
MARK_PREFIX = b"rawmeta\0"
#: Largest mark a reader accepts (bytes).
MAX_MARK_BYTES = 4096
_PAYLOAD_ID_BYTES = 16


@dataclass(frozen=True)
class RestoreMark:
    """Where a restored file came from.

    Attributes
    ----------
    payload : str
        :func:`payload_id` of the rawmeta data restored from.
    method, preset : str
        Restore method (``"inf"``, ``"rbf"``) and INF preset (``"fast"``, ``"paper"``).
    patch : tuple of 2 int
        Patch height and width asked for.
    seed : int
        Network initialisation seed.
    size : str
        For rawmeta data with samples on the RAW's grid (a JPEG smaller than the RAW), the resolution
        asked for: ``"raw"`` or ``"jpeg"``; empty (and not written) for other data, which have one.
    objective : str
        What the fit made small: ``"developed"`` or ``"raw"``; a mark without it (rawmeta before the developed
        objective) reads as ``"raw"``, as those restores fitted.
    software : str
        ``rawmeta`` and its version; not compared by :meth:`same_restore`.
    """

    payload: str
    method: str
    preset: str
    patch: tuple[int, int]
    seed: int
    size: str = ""
    objective: str = "raw"
    software: str = ""

    def __post_init__(self) -> None:
        if not self.software:
            object.__setattr__(self, "software", f"rawmeta {_version()}")
        object.__setattr__(self, "patch", tuple(self.patch))

    def to_bytes(self) -> bytes:
        """``rawmeta\\0`` and the mark as compact JSON with sorted keys."""
        fields = asdict(self) | {"patch": list(self.patch)}
        if not self.size:
            del fields["size"]
        return MARK_PREFIX + json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> RestoreMark | None:
        """The mark ``data`` holds, or None if it is not a rawmeta mark."""
        if not data.startswith(MARK_PREFIX) or len(data) > MAX_MARK_BYTES:
            return None
        try:
            fields = json.loads(data[len(MARK_PREFIX):].rstrip(b"\0").decode())
            mark = cls(payload=str(fields["payload"]), method=str(fields["method"]), preset=str(fields["preset"]),
                       patch=(int(fields["patch"][0]), int(fields["patch"][1])), seed=int(fields["seed"]),
                       size=str(fields.get("size", "")), objective=str(fields.get("objective", "raw")),
                       software=str(fields["software"]))
        except (ValueError, KeyError, TypeError, IndexError, UnicodeDecodeError):
            return None
        return mark

    def same_restore(self, other: RestoreMark) -> bool:
        """Whether both restore the same rawmeta data with the same settings (the software may differ)."""
        return self.settings() == other.settings() and self.payload == other.payload

    def settings(self) -> str:
        """The settings in a few words: ``inf fast, patch 228x272, seed 0, developed objective``."""
        what = f"{self.method} {self.preset}" if self.method == "inf" else self.method
        size = f", {self.size} size" if self.size else ""
        return f"{what}, patch {self.patch[0]}x{self.patch[1]}, seed {self.seed}{size}, {self.objective} objective"


def payload_id(carried: bytes) -> str:
    """The payload's identity: the first 16 bytes of SHA-256 over it as the JPEG carries it, in hex."""
    return hashlib.sha256(carried).digest()[:_PAYLOAD_ID_BYTES].hex()


def read_mark(path: str | os.PathLike) -> RestoreMark | None:
    """The mark of the file at ``path``, or None (no such file, not marked, not readable). Never raises."""
    suffix = os.path.splitext(os.fspath(path))[1].lower()
    reader = {".npy": _npy_mark, ".dng": _tiff_mark, ".tif": _tiff_mark, ".tiff": _tiff_mark}.get(suffix)
    if reader is None:
        return None
    try:
        data = reader(path)
    except Exception:  # noqa: BLE001 (any unreadable file is simply not ours)
        return None
    return None if data is None else RestoreMark.from_bytes(data)


def _tiff_mark(path: str | os.PathLike) -> bytes | None:
    import tifffile

    with contextlib.ExitStack() as stack:
        tif = stack.enter_context(tifffile.TiffFile(path))
        tag = tif.pages[0].tags.get(PRIVATE_DATA_TAG)
        if tag is None:
            return None
        value = tag.value
        return bytes(value) if not isinstance(value, str) else value.encode("latin-1")


def _npy_mark(path: str | os.PathLike) -> bytes | None:
    with open(path, "rb") as fh:
        version = np.lib.format.read_magic(fh)
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else \
            np.lib.format.read_array_header_2_0
        shape, _, dtype = read_header(fh)
        data_end = fh.tell() + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        fh.seek(data_end)
        trailer = fh.read(MAX_MARK_BYTES + 1)
    return trailer or None


def _version() -> str:
    try:
        return metadata.version("rawmeta")
    except metadata.PackageNotFoundError:
        return "unknown"
