"""rawmeta: keep only a JPEG and still get the RAW back.

The library works on arrays and bytes; the ``rawmeta`` command line is a thin
layer over it.
"""
import importlib
import sys
import types

#: Public name -> the module that defines it. Modules load on first use, so
#: ``import rawmeta`` (and reading a payload) does not import torch.
_EXPORTS = {
    "alignment": ("Alignment", "align", "warp"),
    "budget": ("DEFAULT_BUDGET", "BudgetError"),
    "camera": ("CameraFacts",),
    "container": ("attach", "detach", "extract"),
    "embed": ("embed_bytes", "embed_file", "make_payload", "strip_file"),
    "errors": ("RawmetaError",),
    "fingerprint": ("ImageChange",),
    "payload": ("Payload", "pack", "unpack"),
    "rawfile": ("RawImage", "read_raw"),
    "reconstruct": ("reconstruct",),
    "refinement": ("Refinement",),
    "restore": ("restore_bytes", "restore_file"),
    "report": ("inspect_bytes", "inspect_file"),
    "sampling": ("Grid",),
    "transfer": ("transfer_bytes", "transfer_file"),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = sorted(_MODULE_OF)  # noqa: PLE0605 (built from _EXPORTS, all strings)


class _Package(types.ModuleType):
    """This package, keeping a public name that is also a submodule's (``reconstruct``) bound to the
    function: importing the submodule would otherwise rebind it to the module."""

    def __setattr__(self, name: str, value) -> None:
        if name in _MODULE_OF and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def __getattr__(name: str):
    if name not in _MODULE_OF:
        raise AttributeError(f"module 'rawmeta' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_MODULE_OF[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
