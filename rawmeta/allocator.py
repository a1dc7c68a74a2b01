"""glibc malloc settings for work on large arrays (Linux; elsewhere a no-op).

glibc hands a freed block above its mmap threshold straight back to the
kernel, and the next array of that size page-faults in afresh. A restore
makes and frees many arrays of tens of megabytes, so the threshold matters:
a restore is slower with glibc's own, self-adjusting threshold than with
:data:`MMAP_THRESHOLD`, and slower still in a Dask worker, whose nanny sets
``MALLOC_TRIM_THRESHOLD_=65536`` and so fixes the threshold at its 128 KiB
start (docs/CONSTANTS.md). :func:`tune_for_large_arrays`
sets the threshold explicitly, which also undoes Dask's setting.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import functools

#: glibc's mallopt parameters (malloc.h).
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
#: Blocks from this size up are mapped on their own: glibc's largest allowed value on 64-bit systems.
MMAP_THRESHOLD = 32 * 1024 * 1024
#: Free memory at the top of the heap kept for reuse before it is returned to the kernel.
TRIM_THRESHOLD = 128 * 1024 * 1024


@functools.cache
def tune_for_large_arrays() -> bool:
    """Set this process's malloc thresholds (once); True if the C library took them."""
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt
    except (OSError, AttributeError):  # no glibc
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
