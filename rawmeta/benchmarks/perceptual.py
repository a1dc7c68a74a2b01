"""The perceptual bench section (issue 33): restores judged on developed images, by budget and by objective.

For each RAW, LibRaw's render at quality 95 is the JPEG. rawmeta embeds it at each budget with the default
(developed) objective, and at the default budget with the raw objective (the paper's measure: the planner
chooses depth and refinement blocks by raw-RGB error, and the restore fits raw-RGB unweighted). Each is
restored in process (fast preset, on the grid the payload gives, with the objective it was embedded for)
and measured against the true raw-RGB: raw-RGB PSNR, and the developed-image error
(:func:`rawmeta.metrics.restore_developed_error`, as ``rawmeta eval --jpeg`` measures it).
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from rawmeta import metrics
from rawmeta.alignment.matching import raw_on_jpeg_grid
from rawmeta.benchmarks.harness import machine_line
from rawmeta.benchmarks.render import jpeg_bytes, render_srgb
from rawmeta.benchmarks.sections import BenchRun
from rawmeta.embed.jpeg import embed_bytes, make_payload
from rawmeta.embed.options import DEFAULT_BUDGET, EmbedOptions
from rawmeta.errors import BudgetError, RawReadError
from rawmeta.io.rawfile import RawImage, read_raw
from rawmeta.metrics import DevelopedError
from rawmeta.restore.jpeg import restore_bytes

#: Budgets embedded at (percent of the JPEG), unless ``--budgets`` names others; the default is always added.
BUDGETS = (3.0, 5.0, 10.0, 20.0, 30.0)


@dataclass(frozen=True)
class Measure:
    """One payload of one file, restored: what it added and took, and how close the restore is."""

    name: str
    objective: str
    budget: float
    stride: int
    bits: int
    jpeg_bytes: int
    added_bytes: int
    embed_s: float
    decode_s: float  # reading the RAW (LibRaw) in the same process: what embed's time is compared with
    raw_psnr: float
    developed: DevelopedError

    @property
    def added_percent(self) -> float:
        return 100 * self.added_bytes / self.jpeg_bytes

    @property
    def payload(self) -> str:
        """``"developed 5 %: stride 9, 8 bits"``."""
        return f"{self.objective} {self.budget:g} %: stride {self.stride}, {self.bits} bits"


@dataclass(frozen=True)
class Embedded:
    """A JPEG with rawmeta data: its bytes, what they add to the JPEG's, the base grid's stride and depth, the
    seconds."""

    data: bytes
    added_bytes: int
    stride: int
    bits: int
    seconds: float


def embedded(raw: RawImage, jpeg: bytes, options: EmbedOptions) -> Embedded:
    """``jpeg`` with a payload of ``raw`` made with ``options``, timed."""
    start = time.perf_counter()
    payload = make_payload(raw.rgb, raw.camera, jpeg, options)
    out, _ = embed_bytes(jpeg, payload)
    return Embedded(out, len(out) - len(jpeg), payload.grid.stride, payload.bits, time.perf_counter() - start)


def measure(raw: RawImage, name: str, jpeg: bytes, options: EmbedOptions, decode_s: float) -> Measure:
    """Embed ``jpeg`` with ``options``, restore it (fast preset, for the same objective) and measure the restore
    against ``raw`` on the restore's grid."""
    done = embedded(raw, jpeg, options)
    restored = restore_bytes(done.data, device=options.device, preset="fast", objective=options.objective)
    ref = raw_on_jpeg_grid(raw.rgb, restored.payload.alignment, *restored.rgb.shape[:2])
    developed = metrics.restore_developed_error(restored.rgb, ref, raw.camera, restored.payload.camera,
                                                jpeg=restored.shown)
    return Measure(name, options.objective, options.budget, done.stride, done.bits, len(jpeg), done.added_bytes,
                   done.seconds, decode_s, metrics.psnr(restored.rgb, ref), developed)


def bench_file(path: Path, budgets: Sequence[float], device: str, log: Callable[[str], None]) -> list[Measure]:
    """Every budget's measures for one RAW with the developed objective, and the default budget's with the raw
    objective (a budget no payload fits is left out)."""
    start = time.perf_counter()
    raw = read_raw(path)
    decode_s = time.perf_counter() - start
    jpeg = jpeg_bytes(render_srgb(path), 95)
    rows = []
    tries = [("developed", b) for b in budgets] + [("raw", DEFAULT_BUDGET)]
    for objective, budget in tries:
        try:
            rows.append(measure(raw, path.name, jpeg, EmbedOptions(budget=budget, device=device, objective=objective),
                                decode_s))
        except BudgetError:
            log(f"{path.name}: no payload fits budget {budget:g}")
            continue
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
        "For each RAW, LibRaw's render at quality 95 is the JPEG. It is embedded at each budget with the default "
        "objective (developed: the densest 8-bit grid that fits) and at the default budget with the raw objective "
        "(the paper's measure: depth and refinement blocks planned by raw-RGB error, as rawmeta's default was "
        "before). Each is restored in process (fast preset, on the grid the payload gives, fitted for the same "
        "objective) and developed as `rawmeta eval --jpeg` does (`restore_developed_error`, docs/RESTORE.md "
        "\"Developed-image measure\"): the white balance the rawmeta data carries, the RAW's colour matrix, the "
        "JPEG's median brightness, sRGB; as shot, shadows +1.5 EV and highlights -1 EV. ΔE is CIEDE2000 against "
        "the true RAW developed alike: mean / 95th percentile / share over 2 (%) at 100 %, and the mean at screen "
        f"size (the long side box-filtered down to 2048; an image no larger stays at 100 %; sizes measured: {screen}). "
        "Render PSNR: the as-shot sRGB renders (dB); raw PSNR: whole-image raw-RGB PSNR (dB). Embed s: "
        "`make_payload` and `embed_bytes` in process, once (the RAW already read); x decode: embed s over the "
        "seconds `read_raw` took to decode the RAW in the same process.")


def _de(m: Measure, k: int) -> str:
    r = m.developed.renders[k].full
    return f"{r.mean:.2f} / {r.p95:.2f} / {100 * r.share_over_2:.1f}"


def _mean(values: Iterable[float]) -> float:
    values = list(values)
    return sum(values) / len(values)


def markdown(rows: list[Measure], skipped: list[str], command: str) -> str:
    """The perceptual section of docs/BENCHMARKS.md."""
    screens = sorted({f"{m.developed.screen_size[1]} x {m.developed.screen_size[0]}" for m in rows})
    out = ["## What photographers see: developed ΔE by budget and objective", "",
           machine_line(command), "", _method(", ".join(screens) or "none"), "",
           f"Per file, the default budget ({DEFAULT_BUDGET:g} %) with the developed objective (the default) and the "
           "raw objective (the default before):", "",
           "| file | payload | added bytes (% of JPEG) | embed s (x decode) | raw PSNR | render PSNR as shot "
           "| ΔE as shot | ΔE shadows +1.5 EV | ΔE highlights -1 EV | screen ΔE mean: as shot / shadows / highlights |",
           "|---|---|---|---|---|---|---|---|---|---|"]
    for m in rows:
        if m.budget != DEFAULT_BUDGET:
            continue
        screen = " / ".join(f"{r.screen.mean:.2f}" for r in m.developed.renders)
        out.append(f"| {m.name} | {m.payload} | {m.added_bytes} ({m.added_percent:.1f}) | {m.embed_s:.1f} "
                   f"({m.embed_s / m.decode_s:.1f}) | {m.raw_psnr:.2f} | {m.developed.renders[0].psnr:.2f} | "
                   f"{_de(m, 0)} | {_de(m, 1)} | {_de(m, 2)} | {screen} |")
    out += ["", "The developed objective against the raw one at the default budget: change of the mean ΔE as shot, "
            "of the render PSNR and of the added bytes:", "", "| file | ΔE as shot | render PSNR | added bytes |",
            "|---|---|---|---|"]
    for name in dict.fromkeys(m.name for m in rows):
        pair = {m.objective: m for m in rows if m.name == name and m.budget == DEFAULT_BUDGET}
        if len(pair) == 2:
            new, old = pair["developed"], pair["raw"]
            out.append(f"| {name} | {100 * (new.developed.renders[0].full.mean / old.developed.renders[0].full.mean - 1):+.1f} % "
                       f"| {new.developed.renders[0].psnr - old.developed.renders[0].psnr:+.2f} dB "
                       f"| {100 * (new.added_bytes / old.added_bytes - 1):+.1f} % |")
    developed = [m for m in rows if m.objective == "developed"]
    out += ["", "For photographers: ΔE as shot by budget (developed objective), the mean over the files each budget "
            "fits (over 2: a difference most viewers see side by side):", "",
            "| budget % | files | added % of the JPEG | ΔE at 100 % | ΔE at screen size | share over 2 at 100 % |",
            "|---|---|---|---|---|---|"]
    for budget in sorted({m.budget for m in developed}):
        at = [m for m in developed if m.budget == budget]
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
