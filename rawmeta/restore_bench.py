"""Restore benchmarks: accuracy and time of the RBF baseline and the paper's INF on real RAWs.

For each RAW, LibRaw's sRGB render saved as a quality-95 JPEG is embedded
with the default payload and restored. RBF restores the whole image; the
paper preset (about 2 CPU-minutes a patch) restores a fixed crop of a few
patches in the middle of the image, and RBF is also scored on that crop so
the two can be compared like with like.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import metrics
from .bench import machine_line
from .embed import embed_bytes, make_payload
from .errors import RawReadError
from .patches import DEFAULT_PATCH, PatchGrid
from .rawfile import read_raw
from .reconstruct import resolve_device
from .render import jpeg_bytes, render_srgb
from .restore import restore_bytes


@dataclass(frozen=True)
class Score:
    psnr: float
    ssim: float
    seconds: float


@dataclass(frozen=True)
class RestoreRow:
    name: str
    width: int
    height: int
    patches: int
    crop: tuple[int, int, int, int]
    crop_patches: int
    rbf_whole: Score
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


def _score(pred: np.ndarray, ref: np.ndarray, box, seconds: float) -> Score:
    y0, y1, x0, x1 = box
    p, r = pred[y0:y1, x0:x1], ref[y0:y1, x0:x1]
    return Score(metrics.psnr(p, r), metrics.ssim(p, r), seconds)


def _timed_restore(jpeg: bytes, **options) -> tuple[np.ndarray, float]:
    t0 = time.perf_counter()
    rgb = restore_bytes(jpeg, **options).rgb
    return rgb, time.perf_counter() - t0


def bench_file(path: Path, paper_patches: int, device: str) -> RestoreRow:
    raw = read_raw(path)
    h, w = raw.rgb.shape[:2]
    jpeg = jpeg_bytes(render_srgb(path), 95)
    embedded, _ = embed_bytes(jpeg, make_payload(raw.rgb, raw.camera, jpeg))
    layout = PatchGrid.for_image(h, w, DEFAULT_PATCH)
    chosen = crop_patches(layout, paper_patches)
    box = union_box(layout, chosen)
    whole, t_whole = _timed_restore(embedded, method="rbf", device=device)
    crop_rbf, t_crop_rbf = _timed_restore(embedded, method="rbf", patches=chosen, device=device)
    crop_inf, t_crop_inf = _timed_restore(embedded, method="inf", preset="paper", patches=chosen, device=device)
    return RestoreRow(
        name=path.name, width=w, height=h, patches=len(layout), crop=box, crop_patches=len(chosen),
        rbf_whole=_score(whole, raw.rgb, (0, h, 0, w), t_whole),
        rbf_crop=_score(crop_rbf, raw.rgb, box, t_crop_rbf),
        paper_crop=_score(crop_inf, raw.rgb, box, t_crop_inf),
    )


def run(raws: Iterable[Path], paper_patches: int = 2, device: str = "auto",
        log: Callable[[str], None] = print) -> tuple[list[RestoreRow], list[str]]:
    rows, skipped = [], []
    for path in raws:
        try:
            rows.append(bench_file(path, paper_patches, device))
            r = rows[-1]
            log(f"restored {path.name}: rbf {r.rbf_whole.psnr:.2f} dB whole; crop rbf {r.rbf_crop.psnr:.2f} dB, "
                f"paper {r.paper_crop.psnr:.2f} dB ({r.paper_crop.seconds:.0f} s)")
        except RawReadError as exc:
            skipped.append(f"{path.name}: {exc}")
            log(f"skipped {path.name}: {exc}")
    return rows, skipped


def markdown(rows: list[RestoreRow], skipped: list[str], command: str, device: str) -> str:
    """The restore section of docs/BENCHMARKS.md."""
    dev = resolve_device(device)
    out = [
        "## Restore: RBF baseline and the paper's INF",
        "",
        machine_line(command),
        "",
        f"Device: {dev.type}. JPEG: LibRaw's render at quality 95 with the default payload (stride 8, "
        "12-bit). PSNR and SSIM are over the whole image or the whole crop (not the paper's mean of "
        "per-patch PSNRs), against LibRaw's raw-RGB. The paper preset is too slow on this CPU for whole "
        "images (about 2 minutes a patch), so it is measured on a crop: the patches named in the table, "
        "along the middle patch row, each trained on its own and its neighbours' samples as in a full "
        "run; RBF is scored on the same crop and on the whole image. Seconds are wall time of the whole "
        "restore call (payload decoding, JPEG decoding, training, prediction).",
        "",
        "| file | size (w x h) | patches | RBF whole PSNR | RBF whole SSIM | RBF whole s | crop (y0:y1, x0:x1) "
        "| RBF crop PSNR | RBF crop SSIM | RBF crop s | paper crop PSNR | paper crop SSIM | paper crop s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        y0, y1, x0, x1 = r.crop
        out.append(
            f"| {r.name} | {r.width} x {r.height} | {r.patches} | {r.rbf_whole.psnr:.2f} | {r.rbf_whole.ssim:.4f} "
            f"| {r.rbf_whole.seconds:.0f} | {y0}:{y1}, {x0}:{x1} ({r.crop_patches} patches) "
            f"| {r.rbf_crop.psnr:.2f} | {r.rbf_crop.ssim:.4f} | {r.rbf_crop.seconds:.0f} "
            f"| {r.paper_crop.psnr:.2f} | {r.paper_crop.ssim:.4f} | {r.paper_crop.seconds:.0f} |"
        )
    if rows:
        mean = lambda f: np.mean([f(r) for r in rows])  # noqa: E731
        out += ["", f"Means: RBF whole {mean(lambda r: r.rbf_whole.psnr):.2f} dB; on the crops RBF "
                f"{mean(lambda r: r.rbf_crop.psnr):.2f} dB and paper INF {mean(lambda r: r.paper_crop.psnr):.2f} dB, "
                f"paper INF {mean(lambda r: r.paper_crop.seconds / r.crop_patches):.0f} s a patch."]
    if skipped:
        out += ["", "Skipped: " + "; ".join(skipped)]
    return "\n".join(out) + "\n"
