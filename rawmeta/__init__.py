"""rawmeta: keep only a JPEG and still get the RAW back.

The library works on arrays and bytes; the ``rawmeta`` command line is a thin
layer over it.
"""
import importlib

#: Public name -> the module that defines it. Modules load on first use, so
#: ``import rawmeta`` (and reading a payload) does not import torch.
_EXPORTS = {
    "alignment.matching": ("align", "warp"),
    "format.alignment": ("Alignment",),
    "embed.options": ("DEFAULT_BUDGET", "EmbedOptions"),
    "restore.options": ("RestoreOptions",),
    "format.camera": ("CameraFacts",),
    "format.container": ("attach", "detach", "extract"),
    "embed.jpeg": ("embed_bytes", "embed_file", "make_payload", "strip_file"),
    "errors": ("BudgetError", "RawmetaError"),
    "format.fingerprint": ("ImageChange",),
    "format.payload": ("Payload", "pack", "unpack"),
    "io.rawfile": ("RawImage", "read_raw"),
    "restore.patchwise": ("reconstruct",),
    "format.refinement": ("Refinement",),
    "restore.jpeg": ("restore_bytes", "restore_file"),
    "embed.report": ("inspect_bytes", "inspect_file"),
    "format.grid": ("Grid",),
    "embed.transfer": ("transfer_bytes", "transfer_file"),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = sorted(_MODULE_OF)  # noqa: PLE0605 (built from _EXPORTS, all strings)


def __getattr__(name: str):
    if name not in _MODULE_OF:
        raise AttributeError(f"module 'rawmeta' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_MODULE_OF[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
