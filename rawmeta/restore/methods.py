"""The one registry of restore methods.

Each method is a function ``run(job, out)`` that fills ``out``'s pixels of
``job.patches`` (:class:`rawmeta.restore.job.PatchJob`). To add a method,
write its module in this package and add a :class:`Method` to
:data:`REGISTRY`; ``reconstruct`` and ``rawmeta restore`` take it by name.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from rawmeta.restore import fast, rbf
from rawmeta.restore.job import PatchJob


@dataclass(frozen=True)
class Method:
    """A restore method.

    Attributes
    ----------
    name : str
        Its name: the ``preset`` of an INF method, ``"rbf"`` for the baseline.
    family : {"inf", "rbf"}
        The ``method`` of ``reconstruct`` (and ``rawmeta restore --method``) it belongs to.
    run : callable
        ``run(job, out)`` fills ``out``'s pixels of ``job.patches``.
    summary : str
    """

    name: str
    family: str
    run: Callable[[PatchJob, np.ndarray], None]
    summary: str


def _paper(job: PatchJob, out: np.ndarray) -> None:
    """The paper preset, which imports torch only when it runs."""
    from rawmeta.restore import paper

    paper.restore(job, out, config=paper.PAPER)


REGISTRY: dict[str, Method] = {m.name: m for m in (
    Method("fast", "inf", fast.restore,
           "sine networks whose output layers are solved in closed form, blended across patches, clipped "
           "highlights interpolated"),
    Method("paper", "inf", _paper,
           "the paper's two-branch SIREN networks, trained with Adam"),
    Method("rbf", "rbf", rbf.restore, "SAM's linear radial basis function interpolation (the paper's baseline)"),
)}
#: ``reconstruct``'s ``method`` choices.
FAMILIES = ("inf", "rbf")
#: The INF preset used unless another is asked for.
DEFAULT_PRESET = "fast"


def presets() -> tuple[str, ...]:
    """The INF presets: the registered methods of the ``inf`` family."""
    return tuple(name for name, m in REGISTRY.items() if m.family == "inf")


def resolve(method: str, preset: str = DEFAULT_PRESET) -> Method:
    """The registered method for ``reconstruct``'s ``method`` and ``preset`` (ValueError if none)."""
    if method not in FAMILIES:
        raise ValueError(f"method must be one of {FAMILIES}, not {method!r}")
    if method == "rbf":
        return REGISTRY["rbf"]
    if preset not in presets():
        raise ValueError(f"unknown INF preset {preset!r}; presets: {', '.join(presets())}")
    return REGISTRY[preset]
