"""rawmeta: keep only a JPEG and still get the RAW back.

The library works on arrays and bytes; the ``rawmeta`` command line is a thin
layer over it.
"""
from .alignment import Alignment, align, warp
from .budget import DEFAULT_BUDGET, BudgetError
from .camera import CameraFacts
from .container import attach, detach, extract
from .embed import embed_bytes, embed_file, make_payload, strip_file
from .errors import RawmetaError
from .fingerprint import ImageChange
from .payload import Payload, pack, unpack
from .rawfile import RawImage, read_raw
from .reconstruct import reconstruct
from .refinement import Refinement
from .restore import restore_bytes, restore_file
from .report import inspect_bytes, inspect_file
from .sampling import Grid
from .transfer import transfer_bytes, transfer_file

__all__ = [
    "Alignment", "align", "warp", "BudgetError", "CameraFacts", "DEFAULT_BUDGET", "Grid", "Payload", "RawImage", "RawmetaError", "Refinement",
    "attach", "detach", "extract", "embed_bytes", "embed_file", "make_payload",
    "strip_file", "pack", "unpack", "read_raw", "inspect_bytes", "inspect_file",
    "reconstruct", "restore_bytes", "restore_file", "ImageChange", "transfer_bytes", "transfer_file",
]
