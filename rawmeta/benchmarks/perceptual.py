"""The perceptual bench section (issue 33): restores judged on developed images, by budget and against a plain grid.

For each RAW, LibRaw's render at quality 95 is the JPEG. rawmeta embeds it at each budget (the planner:
stride, depth and refinement blocks chosen), and once as a plain grid (``--stride S --bits 8``, no
planning) with the stride whose added bytes come closest to the default budget's without passing them by
more than :data:`GRID_OVERSHOOT`. Each is restored in process (fast preset, on the grid the payload gives)
and measured against the true raw-RGB: raw-RGB PSNR, and the developed-image error
(:func:`rawmeta.metrics.restore_developed_error`, as ``rawmeta eval --jpeg`` measures it).
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from rawmeta import metrics
from rawmeta.alignment.matching import raw_on_jpeg_grid
from rawmeta.benchmarks.harness import machine_line
from rawmeta.benchmarks.render import jpeg_bytes, render_srgb
from rawmeta.benchmarks.sections import BenchRun
from rawmeta.embed.budget import BudgetError
from rawmeta.embed.jpeg import embed_bytes, make_payload
from rawmeta.embed.options import DEFAULT_BUDGET, EmbedOptions
from rawmeta.errors import RawReadError
from rawmeta.io.rawfile import RawImage, read_raw
from rawmeta.metrics import DevelopedError
from rawmeta.restore.jpeg import restore_bytes

#: Budgets embedded at (percent of the JPEG), unless ``--budgets`` names others; the default is always added.
BUDGETS = (3.0, 5.0, 10.0, 20.0, 30.0)
#: Sample depth of the plain grid.
GRID_BITS = 8
#: The plain grid's added bytes may pass the default budget's by at most this share.
GRID_OVERSHOOT = 0.10
#: Stride the plain grid's search starts from.
GRID_FIRST_STRIDE = 8


@dataclass(frozen=True)
class Measure:
    """One payload of one file, restored: what it added and took, and how close the restore is."""

    name: str
    payload: str  # "budget 5 %" or "grid stride 6, 8 bits"
    budget: float | None  # None: the plain grid
    stride: int
    jpeg_bytes: int
    added_bytes: int
    embed_s: float
    raw_psnr: float
    developed: DevelopedError

    @property
    def added_percent(self) -> float:
        return 100 * self.added_bytes / self.jpeg_bytes


@dataclass(frozen=True)
class Embedded:
    """A JPEG with rawmeta data: its bytes, what they add to the JPEG's, the base grid's stride, the seconds."""

    data: bytes
    added_bytes: int
    stride: int
    seconds: float


def embedded(raw: RawImage, jpeg: bytes, options: EmbedOptions) -> Embedded:
    """``jpeg`` with a payload of ``raw`` made with ``options``, timed."""
    start = time.perf_counter()
    payload = make_payload(raw.rgb, raw.camera, jpeg, options)
    out, _ = embed_bytes(jpeg, payload)
    return Embedded(out, len(out) - len(jpeg), payload.grid.stride, time.perf_counter() - start)


def measure(raw: RawImage, name: str, label: str, budget: float | None, jpeg: bytes, done: Embedded,
            device: str) -> Measure:
    """Restore ``done`` (fast preset) and measure it against ``raw`` on the restore's grid."""
    restored = restore_bytes(done.data, device=device, preset="fast")
    ref = raw_on_jpeg_grid(raw.rgb, restored.payload.alignment, *restored.rgb.shape[:2])
    developed = metrics.restore_developed_error(restored.rgb, ref, raw.camera, restored.payload.camera,
                                                jpeg=restored.shown)
    return Measure(name, label, budget, done.stride, len(jpeg), done.added_bytes, done.seconds,
                   metrics.psnr(restored.rgb, ref), developed)


def grid_stride(raw: RawImage, jpeg: bytes, target: int, device: str) -> Embedded:
    """The plain grid whose added bytes come closest to ``target`` without passing it by more than
    :data:`GRID_OVERSHOOT`: the stride is guessed from one at :data:`GRID_FIRST_STRIDE` (bytes go about as one
    over the stride squared), then the guess's neighbours are tried, and larger strides while all are over."""
    tried: dict[int, Embedded] = {}

    def grid(stride: int) -> Embedded:
        if stride not in tried:
            tried[stride] = embedded(raw, jpeg, EmbedOptions(budget=None, stride=stride, bits=GRID_BITS,
                                                             device=device))
        return tried[stride]

    guess = GRID_FIRST_STRIDE * math.sqrt(grid(GRID_FIRST_STRIDE).added_bytes / target)
    for stride in {max(2, math.floor(guess)), max(2, math.ceil(guess))}:
        grid(stride)
    limit = target * (1 + GRID_OVERSHOOT)
    while all(e.added_bytes > limit for e in tried.values()):
        grid(max(tried) + 1)
    return min((e for e in tried.values() if e.added_bytes <= limit), key=lambda e: abs(e.added_bytes - target))


def bench_file(path: Path, budgets: Sequence[float], device: str, log: Callable[[str], None]) -> list[Measure]:
    """Every budget's and the plain grid's measures for one RAW (a budget no payload fits is left out)."""
    raw = read_raw(path)
    jpeg = jpeg_bytes(render_srgb(path), 95)
    rows = []
    for budget in budgets:
        try:
            done = embedded(raw, jpeg, EmbedOptions(budget=budget, device=device))
        except BudgetError:
            log(f"{path.name}: no payload fits budget {budget:g}")
            continue
        rows.append(measure(raw, path.name, f"budget {budget:g} %", budget, jpeg, done, device))
        log(f"{path.name}: {describe(rows[-1])}")
    default = next((m for m in rows if m.budget == DEFAULT_BUDGET), None)
    if default is not None:
        grid = grid_stride(raw, jpeg, default.added_bytes, device)
        rows.append(measure(raw, path.name, f"grid stride {grid.stride}, {GRID_BITS} bits", None, jpeg, grid, device))
        log(f"{path.name}: {describe(rows[-1])}")
    return rows


def describe(m: Measure) -> str:
    """One progress line for a measure."""
    shot = m.developed.renders[0]
    return (f"{m.payload}: {m.added_bytes} bytes ({m.added_percent:.1f} %), raw {m.raw_psnr:.2f} dB, "
            f"dE as shot {shot.full.mean:.2f} (screen {shot.screen.mean:.2f}), embed {m.embed_s:.1f} s")


def run(raws: Iterable[Path], budgets: Sequence[float], device: str,
        log: Callable[[str], None]) -> tuple[list[Measure], list[str]]:
    """Measures of every RAW, and the RAWs LibRaw cannot read."""
    rows, skipped = [], []
    for path in raws:
        try:
            rows += bench_file(path, budgets, device, log)
        except RawReadError as exc:
            log(f"{path.name}: skipped ({exc})")
            skipped.append(path.name)
    return rows, skipped


def _method(screen: str) -> str:
    return (
        "For each RAW, LibRaw's render at quality 95 is the JPEG. It is embedded at each budget (today's planner: "
        "stride, depth and refinement blocks chosen) and as a plain grid (`--stride S --bits 8`, no planning) with "
        f"the stride whose added bytes come closest to the default {DEFAULT_BUDGET:g} % budget's without passing "
        f"them by more than {100 * GRID_OVERSHOOT:.0f} %. Each is restored in process (fast preset, on the grid the "
        "payload gives) and developed as `rawmeta eval --jpeg` does (`restore_developed_error`, docs/RESTORE.md "
        "\"Developed-image measure\"): the white balance the rawmeta data carries, the RAW's colour matrix, the "
        "JPEG's median brightness, sRGB; as shot, shadows +1.5 EV and highlights -1 EV. ΔE is CIEDE2000 against "
        "the true RAW developed alike: mean / 95th percentile / share over 2 (%) at 100 %, and the mean at screen "
        f"size (the long side box-filtered down to 2048; an image no larger stays at 100 %; sizes measured: {screen}). "
        "Render PSNR: the as-shot "
        "sRGB renders (dB); raw PSNR: whole-image raw-RGB PSNR (dB). Embed s: `make_payload` and `embed_bytes` in "
        "process, once (the RAW already read).")


def _de(m: Measure, k: int) -> str:
    r = m.developed.renders[k].full
    return f"{r.mean:.2f} / {r.p95:.2f} / {100 * r.share_over_2:.1f}"


def _mean(values: Iterable[float]) -> float:
    values = list(values)
    return sum(values) / len(values)


def markdown(rows: list[Measure], skipped: list[str], command: str) -> str:
    """The perceptual section of docs/BENCHMARKS.md."""
    names = list(dict.fromkeys(m.name for m in rows))
    screens = sorted({f"{m.developed.screen_size[1]} x {m.developed.screen_size[0]}" for m in rows})
    out = ["## What photographers see: developed ΔE by budget, planner against a plain grid", "",
           machine_line(command), "", _method(", ".join(screens) or "none"), "",
           f"Per file, the default budget ({DEFAULT_BUDGET:g} %) against the plain grid at about its bytes:", "",
           "| file | payload | added bytes (% of JPEG) | embed s | raw PSNR | render PSNR as shot "
           "| ΔE as shot | ΔE shadows +1.5 EV | ΔE highlights -1 EV | screen ΔE mean: as shot / shadows / highlights |",
           "|---|---|---|---|---|---|---|---|---|---|"]
    for m in rows:
        if m.budget is not None and m.budget != DEFAULT_BUDGET:
            continue
        screen = " / ".join(f"{r.screen.mean:.2f}" for r in m.developed.renders)
        out.append(f"| {m.name} | {m.payload} | {m.added_bytes} ({m.added_percent:.1f}) | {m.embed_s:.1f} | "
                   f"{m.raw_psnr:.2f} | {m.developed.renders[0].psnr:.2f} | {_de(m, 0)} | {_de(m, 1)} | {_de(m, 2)} "
                   f"| {screen} |")
    out += ["", f"For photographers: ΔE as shot by budget, the mean over the {len(names)} file(s) each budget fits "
            "(over 2: a difference most viewers see side by side):", "",
            "| budget % | files | added % of the JPEG | ΔE at 100 % | ΔE at screen size | share over 2 at 100 % |",
            "|---|---|---|---|---|---|"]
    for budget in sorted({m.budget for m in rows if m.budget is not None}):
        at = [m for m in rows if m.budget == budget]
        shot = [m.developed.renders[0] for m in at]
        out.append(f"| {budget:g} | {len(at)} | {_mean(m.added_percent for m in at):.1f} | "
                   f"{_mean(r.full.mean for r in shot):.2f} | {_mean(r.screen.mean for r in shot):.2f} | "
                   f"{100 * _mean(r.full.share_over_2 for r in shot):.1f} % |")
    if skipped:
        out += ["", f"Skipped (LibRaw cannot read them): {', '.join(skipped)}."]
    return "\n".join(out) + "\n"


def section(bench: BenchRun) -> str:
    """The perceptual section of ``rawmeta bench``."""
    budgets = bench.options.budgets or BUDGETS
    measured = sorted({*budgets, DEFAULT_BUDGET})
    rows, skipped = run(bench.raws, measured, bench.options.device, bench.log)
    command = "rawmeta bench --section perceptual" + (f" --budgets {','.join(f'{b:g}' for b in budgets)}"
                                                      if tuple(budgets) != BUDGETS else "")
    return markdown(rows, skipped, command)
