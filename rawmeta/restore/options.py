"""How a restore runs: the options of ``rawmeta restore`` as one typed value (no torch needed to make one)."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rawmeta.restore.engine import ENGINES
from rawmeta.restore.patches import DEFAULT_PATCH

#: The resolutions a restore can have (``RestoreOptions.size``).
SIZES = ("raw", "jpeg")
#: What a restore's fit, and an embed's choice of samples, make small (``RestoreOptions.objective``,
#: ``EmbedOptions.objective``): the error of the developed image, or of the linear raw-RGB (the paper's measure).
OBJECTIVES = ("developed", "raw")
#: Memory the paper preset may use for one batch of patches during training.
DEFAULT_MEMORY_MB = 2048


@dataclass(frozen=True)
class RestoreOptions:
    """Options of a restore, as :func:`rawmeta.restore_bytes` and folder restores take them.

    Attributes
    ----------
    method : {"inf", "rbf"}
        Patch-wise implicit neural functions, or SAM's RBF baseline.
    preset : str
        INF preset (:func:`rawmeta.restore.methods.presets`): ``"fast"`` or ``"paper"``.
    patch_size : (int, int)
        Approximate patch height and width.
    device : {"auto", "cpu", "cuda"}
    engine : {"auto", "numpy", "torch"}
        What computes the fast preset and the RBF: ``auto`` is NumPy on a CPU (without importing torch)
        and torch on CUDA; ``torch`` on a CPU gives the restore as torch computes it (within float32
        rounding of NumPy's). The paper preset always trains with torch.
    seed : int
        Seed of the networks' initialisation.
    memory_mb : int
        Memory budget for one batch of paper-preset patches.
    patches : sequence of (int, int), optional
        Restore only these patches (row, col) of the patch grid; other pixels are NaN. Default: all.
    allow_edited : bool
        Restore a JPEG whose pixels were edited since embedding (refused otherwise).
    size : {"raw", "jpeg"}
        The restore's resolution when the JPEG is smaller than the RAW and its payload holds samples on the
        RAW's own grid (format version 7): the RAW's (its size and orientation), or the JPEG's (the
        full-resolution restore averaged over each JPEG pixel's footprint). Other payloads restore at
        the JPEG's.
    dng : {"cfa", "linear"}
        Layout of a DNG output: the camera's Bayer mosaic where the payload's RAW had one and the JPEG is on its
        pixel grid (LinearRaw otherwise, with a warning), or LinearRaw raw-RGB. The mosaic renders closer to
        the original RAW in LibRaw and darktable and is several times smaller (docs/RESTORE.md).
    """

    method: str = "inf"
    preset: str = "fast"
    patch_size: tuple[int, int] = DEFAULT_PATCH
    device: str = "auto"
    engine: str = "auto"
    seed: int = 0
    memory_mb: int = DEFAULT_MEMORY_MB
    patches: Sequence[tuple[int, int]] | None = None
    allow_edited: bool = False
    size: str = "raw"
    dng: str = "cfa"
    objective: str = "developed"

    def __post_init__(self) -> None:
        if self.size not in SIZES:
            raise ValueError(f"size must be one of {', '.join(SIZES)}, not {self.size!r}")
        if self.objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {', '.join(OBJECTIVES)}, not {self.objective!r}")
        if self.engine not in ENGINES:
            raise ValueError(f"engine must be one of {', '.join(ENGINES)}, not {self.engine!r}")

    def reconstruct_kwargs(self) -> dict[str, object]:
        """The keyword arguments of :func:`rawmeta.reconstruct` these options set."""
        return {"method": self.method, "preset": self.preset, "patch_size": tuple(self.patch_size),
                "device": self.device, "engine": self.engine, "seed": self.seed, "memory_mb": self.memory_mb,
                "patches": self.patches, "objective": self.objective}
