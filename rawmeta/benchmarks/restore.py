"""Restore benchmarks: the fast preset against the RBF baseline and the paper's INF on real RAWs.

Each RAW is restored from two JPEGs (regimes):

``libraw``
    LibRaw's sRGB render, on raw-RGB's pixel grid, saved as a quality-95 JPEG.
``rawtherapee``
    RawTherapee-cli's render with its default profile (16-bit TIFF). Its
    crop differs from LibRaw's by a few pixels; until ``embed`` aligns such
    JPEGs itself, the render and raw-RGB are both cut to their common area
    (the integer offset found by :func:`common_area`) and the render is
    saved by Pillow as a quality-95 JPEG.

The JPEG is embedded with a plain payload (stride 8 on the default
alternating grid, 12-bit, no budget and so no refinement blocks: the methods
are compared on the same samples) and
restored: the fast preset
over the whole image; the fast preset, the RBF baseline and the paper preset
(about 2 CPU-minutes a patch) on the same crop of a few patches along the
middle patch row, trained exactly as in a full run. RBF over the whole image
(about 12 s a patch) is optional.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rawmeta import metrics
from rawmeta.benchmarks import plot
from rawmeta.benchmarks.harness import machine_line
from rawmeta.benchmarks.render import jpeg_bytes, render_rawtherapee, render_srgb
from rawmeta.benchmarks.sections import BenchRun
from rawmeta.embed.jpeg import embed_bytes, make_payload
from rawmeta.errors import RawReadError
from rawmeta.io.rawfile import read_raw
from rawmeta.restore.engine import resolve_device
from rawmeta.restore.jpeg import restore_bytes
from rawmeta.restore.patches import DEFAULT_PATCH, PatchGrid

REGIMES = ("libraw", "rawtherapee")
#: Largest crop offset (pixels per side) between a RawTherapee render and raw-RGB that is searched.
MAX_OFFSET = 16


@dataclass(frozen=True)
class Score:
    psnr: float
    ssim: float
    seconds: float


@dataclass(frozen=True)
class RestoreRow:
    name: str
    regime: str
    width: int
    height: int
    offset: tuple[int, int]  # (dy, dx) of the JPEG's first pixel in LibRaw's raw-RGB
    patches: int
    crop: tuple[int, int, int, int]
    crop_patches: int
    fast_whole: Score
    rbf_whole: Score | None
    fast_crop: Score
    rbf_crop: Score
    paper_crop: Score


def crop_patches(layout: PatchGrid, count: int) -> list[tuple[int, int]]:
    """``count`` patches along the middle patch row, starting at the middle column."""
    rows, cols = layout.shape
    i, j0 = rows // 2, max(0, min(cols // 2, cols - count))
    return [(i, j) for j in range(j0, min(cols, j0 + count))]


def union_box(layout: PatchGrid, chosen: list[tuple[int, int]]) -> tuple[int, int, int, int]:
    boxes = [layout.box(*ij) for ij in chosen]
    return min(b[0] for b in boxes), max(b[1] for b in boxes), min(b[2] for b in boxes), max(b[3] for b in boxes)


def _high_pass(luma: np.ndarray) -> np.ndarray:
    """Luminance minus its 5 x 5 box mean, normalised: what aligns renders with different tone curves."""
    pad = np.pad(luma, 2, mode="edge")
    c = np.cumsum(np.cumsum(pad, 0), 1)
    c = np.pad(c, ((1, 0), (1, 0)))
    mean = (c[5:, 5:] - c[:-5, 5:] - c[5:, :-5] + c[:-5, :-5]) / 25
    hp = luma - mean
    return (hp - hp.mean()) / (hp.std() + 1e-12)


def common_area(reference: np.ndarray, other: np.ndarray, max_offset: int = MAX_OFFSET) -> tuple[int, int]:
    """The integer offset (dy, dx) of ``other``'s pixel (0, 0) in ``reference`` (both H x W x 3 sRGB).

    Found by maximising the correlation of high-passed luminance over a
    central window, for offsets up to ``max_offset`` beyond the sizes'
    difference on each side.
    """
    def luma(img: np.ndarray) -> np.ndarray:
        f = img.astype(np.float64) / np.iinfo(img.dtype).max
        return f @ np.array([0.2126, 0.7152, 0.0722])

    ref, oth = luma(reference), luma(other)
    h, w = oth.shape
    win = min(h, w, 512) // 2
    cy, cx = h // 2, w // 2
    patch = _high_pass(oth[cy - win : cy + win, cx - win : cx + win])
    best, best_score = (0, 0), -np.inf
    dh, dw = reference.shape[0] - h, reference.shape[1] - w
    for dy in range(min(0, dh) - max_offset, max(0, dh) + max_offset + 1):
        for dx in range(min(0, dw) - max_offset, max(0, dw) + max_offset + 1):
            y0, x0 = cy - win + dy, cx - win + dx
            if y0 < 0 or x0 < 0 or y0 + 2 * win > ref.shape[0] or x0 + 2 * win > ref.shape[1]:
                continue
            score = float((_high_pass(ref[y0 : y0 + 2 * win, x0 : x0 + 2 * win]) * patch).mean())
            if score > best_score:
                best, best_score = (dy, dx), score
    return best


def regime_pair(path: Path, regime: str):
    """(raw-RGB, camera facts, JPEG bytes, offset) of one RAW in one regime."""
    raw = read_raw(path)
    if regime == "libraw":
        return raw.rgb, raw.camera, jpeg_bytes(render_srgb(path), 95), (0, 0)
    developed = render_rawtherapee(path)
    dy, dx = common_area(render_srgb(path), developed)
    h, w = raw.rgb.shape[:2]
    y0, x0 = max(dy, 0), max(dx, 0)
    y1, x1 = min(h, dy + developed.shape[0]), min(w, dx + developed.shape[1])
    srgb = developed[y0 - dy : y1 - dy, x0 - dx : x1 - dx]
    srgb8 = np.round(srgb.astype(np.float64) / 257).astype(np.uint8)
    return np.ascontiguousarray(raw.rgb[y0:y1, x0:x1]), raw.camera, jpeg_bytes(srgb8, 95), (dy, dx)


def _score(pred: np.ndarray, ref: np.ndarray, box, seconds: float) -> Score:
    y0, y1, x0, x1 = box
    p, r = pred[y0:y1, x0:x1], ref[y0:y1, x0:x1]
    return Score(metrics.psnr(p, r), metrics.ssim(p, r), seconds)


def _timed_restore(jpeg: bytes, **options) -> tuple[np.ndarray, float]:
    t0 = time.perf_counter()
    rgb = restore_bytes(jpeg, **options).rgb
    return rgb, time.perf_counter() - t0


def bench_file(path: Path, regime: str, paper_patches: int, device: str, rbf_whole: bool) -> RestoreRow:
    rgb, camera, jpeg, offset = regime_pair(path, regime)
    h, w = rgb.shape[:2]
    embedded, _ = embed_bytes(jpeg, make_payload(rgb, camera, jpeg, budget=None, stride=8, bits=12))
    layout = PatchGrid.for_image(h, w, DEFAULT_PATCH)
    chosen = crop_patches(layout, paper_patches)
    box = union_box(layout, chosen)
    whole = (0, h, 0, w)

    def scored(region, **options) -> Score:
        pred, seconds = _timed_restore(embedded, device=device, **options)
        return _score(pred, rgb, region, seconds)

    return RestoreRow(
        name=path.name, regime=regime, width=w, height=h, offset=offset, patches=len(layout), crop=box,
        crop_patches=len(chosen),
        fast_whole=scored(whole),
        rbf_whole=scored(whole, method="rbf") if rbf_whole else None,
        fast_crop=scored(box, patches=chosen),
        rbf_crop=scored(box, method="rbf", patches=chosen),
        paper_crop=scored(box, preset="paper", patches=chosen),
    )


def run(raws: Iterable[Path], paper_patches: int = 2, device: str = "auto", rbf_whole: bool = False,
        regimes: Iterable[str] = REGIMES, log: Callable[[str], None] = print) -> tuple[list[RestoreRow], list[str]]:
    rows, skipped = [], []
    for regime in regimes:
        for path in raws:
            try:
                r = bench_file(path, regime, paper_patches, device, rbf_whole)
            except RawReadError as exc:
                skipped.append(f"{path.name} ({regime}): {exc}")
                log(f"skipped {path.name} ({regime}): {exc}")
                continue
            rows.append(r)
            log(f"{regime} {path.name}: fast {r.fast_whole.psnr:.2f} dB whole ({r.fast_whole.seconds:.1f} s); "
                f"crop fast {r.fast_crop.psnr:.2f}, rbf {r.rbf_crop.psnr:.2f}, paper {r.paper_crop.psnr:.2f} dB "
                f"({r.paper_crop.seconds:.0f} s)")
    return rows, skipped


def write_plot(path: Path, rows: list[RestoreRow]) -> None:
    """PSNR against seconds per patch on the crops, one series per method and regime, as a PNG."""
    series = {f"{m} ({g})": [(getattr(r, f"{m}_crop").seconds / r.crop_patches, getattr(r, f"{m}_crop").psnr)
                             for r in rows if r.regime == g]
              for m in ("fast", "rbf", "paper") for g in REGIMES if any(r.regime == g for r in rows)}
    plot.scatter_png(path, series, "Restore on the crops: PSNR against time", "seconds per patch (log)",
                     "PSNR (dB)")


def _cells(score: Score) -> str:
    """PSNR | SSIM | seconds, as table cells."""
    return f"{score.psnr:.2f} | {score.ssim:.4f} | {score.seconds:.2f}"


def _mean(rows: list[RestoreRow], f: Callable[[RestoreRow], float]) -> float:
    return float(np.mean([f(r) for r in rows]))


def markdown(rows: list[RestoreRow], skipped: list[str], command: str, device: str, plot: str | None) -> str:
    """The restore section of docs/BENCHMARKS.md."""
    dev = resolve_device(device)
    out = [
        "## Restore: fast preset, RBF baseline and the paper's INF",
        "",
        machine_line(command),
        "",
        (f"Device: {dev}. Each RAW is restored from two JPEGs: `libraw`, LibRaw's render at quality 95; "
         "`rawtherapee`, RawTherapee-cli's render (default profile) cut, with raw-RGB, to their common area "
         "(offset dy, dx of its first pixel in LibRaw's grid, found by correlation; cut rather than aligned "
         "by `embed`, so that the methods are compared on LibRaw's raw-RGB pixels as they are) and saved at "
         "quality 95 by Pillow. Plain payload (stride 8 on the alternating grid of payload version 5, 12-bit, no "
         "budget, so no refinement blocks). PSNR and SSIM "
         "are over the whole image or the whole crop (not the paper's mean of per-patch PSNRs), against "
         "LibRaw's raw-RGB. The paper preset is too slow on this CPU for whole images, so the three methods "
         "are compared on a crop: the patches named in the table, along the middle patch row, each trained "
         "on its own and its neighbours' samples as in a full run. Seconds are wall time of the whole "
         "restore call (payload and JPEG decoding, training, prediction); speed-up is paper seconds over "
         "fast seconds on the crop."),
        "",
        "### Same crop, three methods",
        "",
        ("| regime | file | crop (y0:y1, x0:x1) | fast PSNR | fast SSIM | fast s | RBF PSNR | RBF SSIM | RBF s "
         "| paper PSNR | paper SSIM | paper s | speed-up over paper |"),
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        y0, y1, x0, x1 = r.crop
        cells = [f"{y0}:{y1}, {x0}:{x1} ({r.crop_patches} patches)"]
        cells += [_cells(s) for s in (r.fast_crop, r.rbf_crop, r.paper_crop)]
        out.append(f"| {r.regime} | {r.name} | " + " | ".join(cells)
                   + f" | {r.paper_crop.seconds / r.fast_crop.seconds:.0f}x |")
    rbf = any(r.rbf_whole for r in rows)
    out += [
        "",
        "### Whole images, fast preset" + (" and RBF" if rbf else ""),
        "",
        "| regime | file | size (w x h) | offset (dy, dx) | patches | fast PSNR | fast SSIM | fast s |"
        + (" RBF PSNR | RBF SSIM | RBF s |" if rbf else ""),
        "|---|---|---|---|---|---|---|---|" + ("---|---|---|" if rbf else ""),
    ]
    for r in rows:
        out.append(f"| {r.regime} | {r.name} | {r.width} x {r.height} | {r.offset[0]}, {r.offset[1]} | {r.patches} "
                   f"| {_cells(r.fast_whole)} |" + (f" {_cells(r.rbf_whole)} |" if r.rbf_whole else ""))
    out.append("")
    for regime in REGIMES:
        sub = [r for r in rows if r.regime == regime]
        if not sub:
            continue
        worst = min(sub, key=lambda r: r.fast_crop.psnr - r.paper_crop.psnr)
        out.append(
            f"Means, {regime} ({len(sub)} files): fast whole {_mean(sub, lambda r: r.fast_whole.psnr):.2f} dB; "
            f"on the crops fast {_mean(sub, lambda r: r.fast_crop.psnr):.2f} dB, RBF "
            f"{_mean(sub, lambda r: r.rbf_crop.psnr):.2f} dB, paper {_mean(sub, lambda r: r.paper_crop.psnr):.2f} dB "
            f"(fast - paper: worst file {worst.name} {worst.fast_crop.psnr - worst.paper_crop.psnr:+.2f} dB); "
            f"speed-up over paper {_mean(sub, lambda r: r.paper_crop.seconds / r.fast_crop.seconds):.0f}x."
            + (f" RBF whole {_mean(sub, lambda r: r.rbf_whole.psnr):.2f} dB."
               if all(r.rbf_whole for r in sub) else "")
        )
        out.append("")
    if plot:
        out += [f"![PSNR against restore time on the crops]({plot})", ""]
    if skipped:
        out += ["Skipped: " + "; ".join(skipped), ""]
    return "\n".join(out)


def section(bench: BenchRun) -> str:
    """The restore section of ``rawmeta bench``: rows, and the figure ``restore_psnr_time.png`` next to the report."""
    o = bench.options
    regimes = REGIMES if o.regime == "both" else (o.regime,)
    rows, skipped = run(bench.raws, o.paper_patches, o.device, o.rbf_whole, regimes, log=bench.log)
    command = (f"rawmeta bench --section restore --paper-patches {o.paper_patches} --regime {o.regime}"
               + (" --rbf-whole" if o.rbf_whole else ""))
    figure = bench.output.with_name("restore_psnr_time.png") if rows else None
    if figure:
        write_plot(figure, rows)
    return markdown(rows, skipped, command, o.device, figure.name if figure else None)
