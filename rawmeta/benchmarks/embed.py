"""Benchmarks behind docs/BENCHMARKS.md: payload size, sample coding and embed time on real RAWs.

Times are medians of ``repeat`` runs, and each embed time is given as a
ratio to LibRaw's own decode of the same file measured in the same run, so
the ratios stay meaningful on a busy machine.
"""
from __future__ import annotations

import math
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rawpy

from rawmeta.benchmarks.harness import machine_line, median_time
from rawmeta.benchmarks.render import write_render
from rawmeta.benchmarks.sections import BenchRun
from rawmeta.embed.jpeg import embed_file
from rawmeta.embed.options import DEFAULT_BUDGET
from rawmeta.errors import BudgetError, RawReadError
from rawmeta.format import prediction
from rawmeta.format import sample_coding as sc
from rawmeta.format.grid import Grid
from rawmeta.io.jpeg_pixels import decode_jpeg
from rawmeta.io.rawfile import postprocess_params, read_raw

BIT_DEPTHS = (12, 10, 8, 7, 6)
#: Depth of the filter and zstd-level comparisons (stride-8 grid).
COMPARE_BITS = 8
ZSTD_LEVELS = (9, 15, 17, 19, 22)


@dataclass(frozen=True)
class EmbedRow:
    name: str
    camera: str
    width: int
    height: int
    jpeg_bytes: int
    stride: int
    bits: int
    samples: int
    refined: int
    added_bytes: int
    expected_psnr: float
    decode_s: float
    embed_s: float
    sizes_by_bits: dict[int, int]
    sizes_by_filter: dict[str, int]
    zstd_by_level: dict[int, tuple[int, float]]

    @property
    def percent(self) -> float:
        return 100 * self.added_bytes / self.jpeg_bytes


def libraw_decode(path: Path) -> None:
    """LibRaw's own work for one file: open, unpack, demosaic to 16-bit raw-RGB."""
    with rawpy.imread(str(path)) as raw:
        raw.postprocess(**postprocess_params())


def predicted_stream(q: np.ndarray, srgb: np.ndarray, grid: Grid, bits: int) -> bytes:
    """Filter 2's stream (rawmeta's, before zstandard) for grid samples ``q`` (rows, cols, 3)."""
    terms = prediction.features(prediction.local_means(srgb, *grid.positions()))
    flat = q.reshape(-1, 3)
    return sc.residual_stream(flat, prediction.predict(terms, prediction.fit(terms, flat, bits), bits), bits)


def filter_sizes(q: np.ndarray, srgb: np.ndarray, grid: Grid, bits: int) -> dict[str, int]:
    """Compressed bytes of the samples under simpler filters and rawmeta's, for comparison."""
    planes = np.moveaxis(q.astype(np.int32), 2, 0)
    d = np.diff(planes, axis=2, prepend=0)
    nb = sc.plane_bytes(bits)
    return {
        "none (interleaved, 2 bytes a value)": len(sc.compress(q.astype(">u2").tobytes())),
        "byte planes": len(sc.compress(sc.byte_planes(planes.astype(np.uint32), -(-bits // 8)))),
        "row delta + byte planes": len(sc.compress(sc.byte_planes(sc.zigzag(d), nb))),
        "filter 1: row delta, green ref. (format version 1)": len(sc.compress(sc.row_delta_stream(q, bits))),
        "filter 2: prediction from the JPEG (rawmeta, version 2)": len(sc.compress(predicted_stream(q, srgb, grid,
                                                                                                    bits))),
    }


def bench_file(raw_path: Path, work: Path, repeat: int) -> EmbedRow:
    jpeg = work / (raw_path.stem + ".jpg")
    write_render(raw_path, jpeg)
    out = work / (raw_path.stem + ".embedded.jpg")
    decode_s = median_time(lambda: libraw_decode(raw_path), repeat)
    embed_s = median_time(lambda: embed_file(raw_path, jpeg, out, overwrite=True), repeat)
    report = embed_file(raw_path, jpeg, out, overwrite=True)
    raw = read_raw(raw_path)
    srgb = decode_jpeg(jpeg.read_bytes())
    h, w = raw.rgb.shape[:2]
    grid = Grid.centred(h, w)
    values = grid.sample(raw.rgb)
    quantized = {b: sc.quantize(values, b) for b in BIT_DEPTHS}
    return EmbedRow(
        name=raw_path.name,
        camera=f"{raw.camera.make} {raw.camera.model}",
        width=w,
        height=h,
        jpeg_bytes=jpeg.stat().st_size,
        stride=report.grid.stride,
        bits=report.bits,
        samples=report.payload.sample_count,
        refined=report.refined_count,
        added_bytes=report.added_bytes,
        expected_psnr=report.payload.expected_psnr,
        decode_s=decode_s,
        embed_s=embed_s,
        sizes_by_bits={b: len(sc.compress(predicted_stream(q, srgb, grid, b))) for b, q in quantized.items()},
        sizes_by_filter=filter_sizes(quantized[COMPARE_BITS], srgb, grid, COMPARE_BITS),
        zstd_by_level=zstd_levels(predicted_stream(quantized[COMPARE_BITS], srgb, grid, COMPARE_BITS), repeat),
    )


def zstd_levels(stream: bytes, repeat: int) -> dict[int, tuple[int, float]]:
    """Compressed size and median time of ``stream`` at each of ZSTD_LEVELS."""
    return {
        level: (len(sc.compress(stream, level)), median_time(lambda level=level: sc.compress(stream, level), repeat))
        for level in ZSTD_LEVELS
    }


def run_bench(raws: Iterable[Path], repeat: int = 3, log: Callable[[str], None] = print) -> tuple[list[EmbedRow], list[str]]:
    """Benchmark each RAW LibRaw opens; returns the rows and the files skipped (with reasons)."""
    rows, skipped = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for path in raws:
            try:
                rows.append(bench_file(path, Path(tmp), repeat))
                log(f"benchmarked {path.name}")
            except (RawReadError, BudgetError) as exc:
                skipped.append(f"{path.name}: {exc}")
                log(f"skipped {path.name}: {exc}")
    return rows, skipped


def embed_markdown(rows: list[EmbedRow], skipped: list[str], command: str, repeat: int) -> str:
    """The embed section of docs/BENCHMARKS.md."""
    out = [
        f"## Embed: payload size and time (default budget, {DEFAULT_BUDGET:g} % of the JPEG)",
        "",
        machine_line(command) + f" Times are medians of {repeat} runs. JPEGs are LibRaw's sRGB renders of "
        "each RAW (camera white balance, same pixel grid) saved by Pillow at quality 95.",
        "",
        "`embed` is the whole command's work with the default objective (read the RAW with LibRaw, align, take "
        "the densest 8-bit grid that fits the budget, code, write the JPEG atomically; no restore); `decode` is "
        "LibRaw alone (open, unpack, demosaic to 16-bit raw-RGB). % of JPEG is added bytes (segments included) "
        "over the JPEG's own size. Expected PSNR is the restore's PSNR as embed measured it, which only the raw "
        "objective's plan does (\"-\" otherwise).",
        "",
        "| file | camera | raw-RGB (w x h) | JPEG bytes | stride | bits | samples (refined) | added bytes "
        "| % of JPEG | expected PSNR dB | LibRaw decode s | embed s | embed / decode |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        out.append(
            f"| {r.name} | {r.camera} | {r.width} x {r.height} | {r.jpeg_bytes} | {r.stride} | {r.bits} | "
            f"{r.samples} ({r.refined}) | {r.added_bytes} | {r.percent:.2f} | {_psnr(r.expected_psnr)} | "
            f"{r.decode_s:.3f} | {r.embed_s:.3f} | {r.embed_s / r.decode_s:.2f} |"
        )
    if rows:
        ratios = [r.embed_s / r.decode_s for r in rows]
        out += ["", f"Mean embed / LibRaw decode: {np.mean(ratios):.2f} (min {min(ratios):.2f}, max {max(ratios):.2f}); "
                f"mean payload {np.mean([r.percent for r in rows]):.2f} % of the JPEG."]
    out += [
        "",
        "## Sample bit depth",
        "",
        "Coded stride-8 grid samples (filter 2), as % of the JPEG, by bit depth. Quantization PSNR is the "
        "PSNR (peak 1) of the rounding noise alone (step^2 / 12). embed picks the least depth whose noise "
        "is 5 dB under the restore's error, measured on a few patches.",
        "",
        *_percent_header(["bits", "quantization PSNR dB"], rows),
    ]
    for b in BIT_DEPTHS:
        out.append(_percent_row([str(b), f"{sc.quantization_psnr(b):.1f}"], [r.sizes_by_bits[b] for r in rows], rows))
    out += [
        "",
        f"## Sample filter ({COMPARE_BITS}-bit stride-8 samples, zstd level {sc.ZSTD_LEVEL})",
        "",
        "Coded samples as % of the JPEG for simpler filters, format version 1's and rawmeta's "
        "(docs/FORMAT.md).",
        "",
        *_percent_header(["filter"], rows),
    ]
    for f in rows[0].sizes_by_filter if rows else []:
        out.append(_percent_row([f], [r.sizes_by_filter[f] for r in rows], rows))
    out += [
        "",
        "## zstandard level",
        "",
        f"All files' filtered {COMPARE_BITS}-bit samples together: coded bytes and compression time by level "
        f"(rawmeta uses {sc.ZSTD_LEVEL}).",
        "",
        "| level | bytes | vs level 19 | seconds |",
        "|---|---|---|---|",
    ]
    if rows:
        ref = sum(r.zstd_by_level[19][0] for r in rows)
        for level in ZSTD_LEVELS:
            size = sum(r.zstd_by_level[level][0] for r in rows)
            secs = sum(r.zstd_by_level[level][1] for r in rows)
            out.append(f"| {level} | {size} | {100 * (size / ref - 1):+.2f} % | {secs:.3f} |")
    if skipped:
        out += ["", "## Skipped", ""] + [f"- {s}" for s in skipped]
    return "\n".join(out) + "\n"


def _percent_header(first: list[str], rows: list[EmbedRow]) -> list[str]:
    cols = first + [r.name for r in rows] + ["mean"]
    return ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]


def _percent_row(first: list[str], sizes: list[int], rows: list[EmbedRow]) -> str:
    """Table cells: ``first``, then each size as % of its row's JPEG, then the mean."""
    pct = [100 * size / r.jpeg_bytes for size, r in zip(sizes, rows)]
    mean = f"{np.mean(pct):.2f}" if pct else "n/a"
    return "| " + " | ".join(first + [f"{p:.2f}" for p in pct] + [mean]) + " |"


def section(bench: BenchRun) -> str:
    """The embed section of ``rawmeta bench``."""
    repeat = bench.options.repeat
    rows, skipped = run_bench(bench.raws, repeat, log=bench.log)
    command = "rawmeta bench --section embed" + (f" --repeat {repeat}" if repeat != 3 else "")
    return embed_markdown(rows, skipped, command, repeat)


def _psnr(value: float) -> str:
    """A PSNR cell: two decimals, or "-" where none was measured."""
    return f"{value:.2f}" if math.isfinite(value) else "-"
