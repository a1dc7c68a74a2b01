"""Scale benchmark: wall time and peak memory of ``rawmeta restore`` (fast preset) on 12 and 24 MP images.

No shared RAW is that large, so the images are made from the largest RAW file:
its raw-RGB tiled with mirroring to the wanted size, written as a LinearRaw
DNG with its camera facts, rendered by LibRaw, saved as a quality-95 JPEG and
embedded. ``rawmeta restore IMAGE.jpg OUT.dng`` then runs as its own process:
seconds are its wall time end to end (start-up, reading, restore, writing the
DNG) and memory its peak resident set size (``getrusage`` of that process).
"""
from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rawmeta import metrics
from rawmeta.benchmarks.harness import machine_line, timed
from rawmeta.benchmarks.render import jpeg_bytes, render_srgb
from rawmeta.benchmarks.sections import BenchRun
from rawmeta.embed.jpeg import embed_bytes, make_payload
from rawmeta.embed.options import DEFAULT_BUDGET
from rawmeta.io.dng import write_linear_dng
from rawmeta.io.outputs import read_raw_rgb
from rawmeta.io.rawfile import read_raw

#: Image sizes measured: label -> (width, height).
SIZES = {"12 MP": (4000, 3000), "24 MP": (6000, 4000)}


@dataclass(frozen=True)
class ScaleRow:
    label: str
    width: int
    height: int
    seconds: float
    peak_rss_mb: float
    psnr: float


def mirror_tile(rgb: np.ndarray, height: int, width: int) -> np.ndarray:
    """``rgb`` cropped or extended by mirror images of itself to ``height`` x ``width``."""
    h, w = rgb.shape[:2]
    grown = np.pad(rgb, ((0, max(0, height - h)), (0, max(0, width - w)), (0, 0)), mode="symmetric")
    return np.ascontiguousarray(grown[:height, :width])


def make_big_image(source: Path, label: str, width: int, height: int, work: Path) -> tuple[Path, Path]:
    """The scale section's image of ``width`` x ``height`` from ``source``: its raw-RGB tiled with mirroring,
    written as a LinearRaw DNG with its camera facts, and LibRaw's render of that DNG at quality 95."""
    raw = read_raw(source)
    dng, jpg = work / f"{label.replace(' ', '')}.dng", work / f"{label.replace(' ', '')}.jpg"
    write_linear_dng(dng, mirror_tile(raw.rgb, height, width), raw.camera)
    jpg.write_bytes(jpeg_bytes(render_srgb(dng), 95))
    return dng, jpg


def bench_size(source: Path, label: str, width: int, height: int, device: str, work: Path) -> ScaleRow:
    dng, render = make_big_image(source, label, width, height, work)
    # The DNG's own 16-bit values and facts, as LibRaw reads them: a LinearRaw source, so the restore is
    # LinearRaw too and read back as it was written (a CFA DNG would be demosaiced again on reading).
    raw = read_raw(dng)
    jpeg = render.read_bytes()
    embedded, _ = embed_bytes(jpeg, make_payload(raw.rgb, raw.camera, jpeg))
    jpg, out = render.with_suffix(".embedded.jpg"), render.with_suffix(".restored.dng")
    jpg.write_bytes(embedded)
    rawmeta = str(Path(sys.executable).with_name("rawmeta"))
    timing = timed([rawmeta, "restore", str(jpg), str(out), "--quiet", "--device", device], work / "restore.log",
                   f"rawmeta restore of the {label} image")
    return ScaleRow(label, width, height, timing.seconds, timing.peak_mb, metrics.psnr(read_raw_rgb(out), raw.rgb))


def run(source: Path, device: str = "auto", log: Callable[[str], None] = print) -> list[ScaleRow]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, (w, h) in SIZES.items():
            rows.append(bench_size(source, label, w, h, device, Path(tmp)))
            r = rows[-1]
            log(f"{label}: {r.seconds:.1f} s, peak RSS {r.peak_rss_mb:.0f} MB, {r.psnr:.2f} dB")
    return rows


def markdown(rows: list[ScaleRow], source: Path, command: str, device: str) -> str:
    """The scale section of docs/BENCHMARKS.md."""
    out = [
        "## Restore at 12 and 24 MP: time and memory",
        "",
        machine_line(command),
        "",
        (f"Images made from `{source.name}` (the largest RAW file benchmarked): its raw-RGB tiled with mirroring to the "
         "size below, written as a LinearRaw DNG, rendered by LibRaw and saved at quality 95, then embedded "
         f"with the default budget ({DEFAULT_BUDGET:g} % of the JPEG) and that DNG's facts (so the restore is a "
         f"LinearRaw DNG too). `rawmeta restore IMAGE.jpg OUT.dng --device {device}` (fast preset) runs as its "
         "own process, started from a small one so that the bench's memory is not counted as its own; seconds "
         "are its wall time end to end, memory its peak resident set size. PSNR is of the restored DNG "
         "against the tiled raw-RGB."),
        "",
        "| image | size (w x h) | seconds | peak RSS (MB) | PSNR (dB) |",
        "|---|---|---|---|---|",
    ]
    out += [f"| {r.label} | {r.width} x {r.height} | {r.seconds:.1f} | {r.peak_rss_mb:.0f} | {r.psnr:.2f} |"
            for r in rows]
    return "\n".join(out) + "\n"


def section(bench: BenchRun) -> str:
    """The scale section of ``rawmeta bench``: on the largest of the RAWs."""
    source = max(bench.raws, key=lambda p: p.stat().st_size)
    rows = run(source, bench.options.device, log=bench.log)
    return markdown(rows, source, "rawmeta bench --section scale", bench.options.device)
