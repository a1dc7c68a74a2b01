"""The registry of benchmark sections, and the report (docs/BENCHMARKS.md) they are merged into.

Each section is a module of this package with a function
``section(run: BenchRun) -> str`` that measures and returns its Markdown
(drawing any figure next to ``run.output``). The registry names the module
only, so listing the sections imports nothing heavy. To add a section:
write its module and add a :class:`Section` to :data:`SECTIONS`.
"""
from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class BenchOptions:
    """The ``rawmeta bench`` options sections read (each reads its own)."""

    repeat: int = 3
    budgets: tuple[float, ...] | None = None  # rd, perceptual: None for the section's own
    paper_patches: int = 2
    regime: str = "both"
    rbf_whole: bool = False
    device: str = "auto"
    baseline: Path | None = None  # speed: another checkout to time against (A/B)
    speed_big: bool = True  # speed: also the 12 and 24 MP images


@dataclass(frozen=True)
class BenchRun:
    """One ``rawmeta bench`` run: the RAWs, where the report goes, the options, where progress is told."""

    raws: list[Path]
    output: Path
    options: BenchOptions = field(default_factory=BenchOptions)
    log: Callable[[str], None] = print


@dataclass(frozen=True)
class Section:
    """A benchmark section: its name in the report, its module, and what it measures (for ``--help``)."""

    name: str
    module: str
    summary: str

    def run(self, bench: BenchRun) -> str:
        """Measure, and return the section's Markdown."""
        return importlib.import_module(self.module).section(bench)


SECTIONS: dict[str, Section] = {s.name: s for s in (
    Section("embed", "rawmeta.benchmarks.embed", "payload size, sample coding and embed time"),
    Section("rd", "rawmeta.benchmarks.rate_distortion",
            "rate against distortion, against a JPEG XL copy (needs libjxl-tools; about half an hour on 2 cores)"),
    Section("restore", "rawmeta.benchmarks.restore",
            "PSNR, SSIM and time of the fast, paper and RBF restores (about an hour, mostly the paper preset)"),
    Section("align", "rawmeta.benchmarks.align", "JPEGs on other grids than the RAW's (about three quarters of an hour)"),
    Section("scale", "rawmeta.benchmarks.scale", "restore time and memory at 12 and 24 MP (a few minutes)"),
    Section("archive", "rawmeta.benchmarks.archive",
            "images per minute of folder work: 1 job, N jobs, Dask (about a quarter of an hour)"),
    Section("roundtrip", "rawmeta.benchmarks.roundtrip",
            "the restored DNG judged as photographers look: LibRaw and darktable renders as shot and at +/-1 EV "
            "against the edited JPEG, size, EXIF kept (needs exiftool, darktable-cli; about a quarter of an hour)"),
    Section("fullres", "rawmeta.benchmarks.fullres",
            "the RAW's full resolution from JPEGs smaller than it (reduced renders, cameras' JPEGs) against the "
            "binned restore enlarged and the RBF baseline (about half an hour)"),
    Section("perceptual", "rawmeta.benchmarks.perceptual",
            "restores judged on developed images (CIEDE2000 as shot and edited, at 100 % and screen size) by "
            "budget, and the developed objective against the raw one at the default budget (about 20 minutes)"),
    Section("speed", "rawmeta.benchmarks.speed",
            "embed and restore wall time as whole processes against LibRaw's decode, and A/B against a baseline "
            "checkout (--baseline; about half an hour with one; --no-speed-big leaves out the 12 and 24 MP images)"),
)}

_TITLE = "# Benchmarks\n\nEach section is rewritten by the `rawmeta bench` run named at its top.\n\n"


def is_report(text: str) -> bool:
    """Whether ``text`` is a report :func:`merge_report` wrote (it has a section of its own)."""
    return any(f"<!-- bench:{name} -->" in text for name in SECTIONS)


def merge_report(existing: str, name: str, section: str) -> str:
    """The report ``existing`` with section ``name`` replaced (the others kept as they were)."""
    parts = {}
    for other in SECTIONS:
        m = re.search(rf"<!-- bench:{other} -->\n(.*?)<!-- /bench:{other} -->", existing, re.S)
        if m:
            parts[other] = m.group(1)
    parts[name] = section
    return _TITLE + "".join(f"<!-- bench:{k} -->\n{parts[k]}<!-- /bench:{k} -->\n\n" for k in SECTIONS if k in parts)
