"""Make, model and DNG version of a RAW file, read through LibRaw's C API.

rawpy exposes neither the camera make and model nor whether the file is a
DNG; both come from ``libraw_iparams_t``. We call the LibRaw library that
rawpy itself ships (``rawpy/libraw_r.so``) through ctypes, and check the
structure layout against what rawpy reports before trusting it.
"""
from __future__ import annotations

import ctypes
import functools
import os
from dataclasses import dataclass

import rawpy


class _IParams(ctypes.Structure):
    # Leading fields of libraw_iparams_t (libraw_types.h, LibRaw 0.20-0.22).
    _fields_ = [
        ("guard", ctypes.c_char * 4),
        ("make", ctypes.c_char * 64),
        ("model", ctypes.c_char * 64),
        ("software", ctypes.c_char * 64),
        ("normalized_make", ctypes.c_char * 64),
        ("normalized_model", ctypes.c_char * 64),
        ("maker_index", ctypes.c_uint),
        ("raw_count", ctypes.c_uint),
        ("dng_version", ctypes.c_uint),
        ("is_foveon", ctypes.c_uint),
        ("colors", ctypes.c_int),
        ("filters", ctypes.c_uint),
        ("xtrans", ctypes.c_char * 36),
        ("xtrans_abs", ctypes.c_char * 36),
        ("cdesc", ctypes.c_char * 5),
    ]


@dataclass(frozen=True)
class RawIdentity:
    """What LibRaw's identify step says about a file."""

    make: str
    model: str
    dng_version: int
    colors: int
    color_desc: str


@functools.cache
def _library() -> ctypes.CDLL | None:
    path = os.path.join(os.path.dirname(rawpy.__file__), "libraw_r.so")
    try:
        lib = ctypes.CDLL(path)
    except OSError:
        return None
    lib.libraw_init.restype = ctypes.c_void_p
    lib.libraw_init.argtypes = [ctypes.c_uint]
    lib.libraw_open_buffer.restype = ctypes.c_int
    lib.libraw_open_buffer.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t]
    lib.libraw_get_iparams.restype = ctypes.POINTER(_IParams)
    lib.libraw_get_iparams.argtypes = [ctypes.c_void_p]
    lib.libraw_close.restype = None
    lib.libraw_close.argtypes = [ctypes.c_void_p]
    return lib


def identify(data: bytes) -> RawIdentity | None:
    """Identify a RAW file held in memory; ``None`` if LibRaw cannot be reached or refuses it."""
    lib = _library()
    if lib is None:
        return None
    handle = lib.libraw_init(0)
    if not handle:
        return None
    try:
        if lib.libraw_open_buffer(handle, data, len(data)) != 0:
            return None
        p = lib.libraw_get_iparams(handle).contents
        return RawIdentity(
            make=p.make.decode("utf-8", "replace").strip(),
            model=p.model.decode("utf-8", "replace").strip(),
            dng_version=int(p.dng_version),
            colors=int(p.colors),
            color_desc=p.cdesc.decode("ascii", "replace"),
        )
    finally:
        lib.libraw_close(handle)
