"""Rate-distortion benchmark: rawmeta against a lossy JPEG XL copy of the raw-RGB, at equal added bytes.

What a photographer would keep instead of rawmeta's payload is the JPEG plus
a lossy RAW (DNG 1.7 allows JPEG XL). For each RAW, with LibRaw's render as
a quality-95 JPEG:

rawmeta
    ``embed --budget P`` for each budget, then the default restore.
JPEG XL
    raw-RGB as a 16-bit PPM through ``cjxl -e 3`` (libjxl's tools; cjxl reads
    the values as sRGB-encoded, so its perceptual quantization treats them
    as an image), decoded by ``djxl`` at 16 bits. The distance is chosen to
    match rawmeta's added bytes: a curve over ``CURVE_DISTANCES``, then one
    encode at the distance interpolated (log-log) for each budget, whose
    actual size is reported.

Both are scored by PSNR against the true raw-RGB; by the developed view, as
``rawmeta eval --jpeg`` develops a restore (:func:`rawmeta.metrics.restore_developed_error`
with the white balance the payload carries, for both): the mean CIEDE2000 as shot
and the render PSNR; and by the edit view: the restored (or decoded) and the
true raw-RGB are written as DNGs and rendered by LibRaw with the same +1 EV
exposure and a warmer white balance (``EDIT_WB``), and the renders compared
(sRGB PSNR).
"""
from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rawpy

from rawmeta import metrics
from rawmeta.benchmarks import plot
from rawmeta.benchmarks.harness import machine_line
from rawmeta.benchmarks.render import jpeg_bytes, render_srgb
from rawmeta.benchmarks.sections import BenchRun
from rawmeta.embed.jpeg import embed_bytes, make_payload
from rawmeta.errors import RawReadError, UsageError
from rawmeta.format.camera import CameraFacts
from rawmeta.io.dng import linear_dng_bytes
from rawmeta.io.rawfile import read_raw
from rawmeta.restore.jpeg import Restored, restore_bytes

BUDGETS = (3.0, 5.0, 8.0, 12.0, 20.0, 30.0, 40.0)
#: The budgets the issue's target (at least 2 dB over JPEG XL) covers.
TARGET_RANGE, TARGET_DB = (5.0, 30.0), 2.0
CURVE_DISTANCES = (0.15, 0.25, 0.4, 0.6, 1.0, 1.6, 2.5, 4.0, 6.5, 10.0, 16.0)
JXL_EFFORT = 3
#: The edit view: +1 EV, and the as-shot white balance made warmer (R and B multipliers scaled).
EDIT_EV, EDIT_WB = 1.0, (1.25, 1.0, 0.8)


@dataclass(frozen=True)
class Point:
    percent: float  # added bytes, % of the JPEG
    psnr: float
    edit_psnr: float
    delta_e: float  # mean CIEDE2000 of the developed image as shot
    render_psnr: float  # of the developed image as shot


@dataclass(frozen=True)
class RDRow:
    name: str
    budget: float
    rawmeta: Point
    jxl: Point
    jxl_distance: float
    embed_s: float
    restore_s: float

    @property
    def gain(self) -> float:
        """rawmeta's PSNR over JPEG XL's at (about) the same bytes."""
        return self.rawmeta.psnr - self.jxl.psnr


def require_jxl() -> None:
    """Raise UsageError unless libjxl's cjxl and djxl are installed."""
    missing = [tool for tool in ("cjxl", "djxl") if shutil.which(tool) is None]
    if missing:
        raise UsageError(f"{' and '.join(missing)} not installed (Debian: libjxl-tools)")


def _write_ppm16(path: Path, rgb: np.ndarray) -> None:
    h, w = rgb.shape[:2]
    data = np.round(np.clip(rgb, 0, 1) * 65535).astype(">u2").tobytes()
    path.write_bytes(f"P6\n{w} {h}\n65535\n".encode() + data)


def _read_ppm16(path: Path) -> np.ndarray:
    data = path.read_bytes()
    m = re.match(rb"P6\s+(\d+)\s+(\d+)\s+(\d+)\s", data)
    if m is None:
        raise ValueError(f"{path} is not a binary PPM")
    w, h, top = (int(v) for v in m.groups())
    dtype = ">u2" if top > 255 else np.uint8
    pixels = np.frombuffer(data, dtype, count=w * h * 3, offset=m.end()).reshape(h, w, 3)
    return (pixels.astype(np.float32) / top).astype(np.float32)


def jxl_round_trip(ppm: Path, distance: float) -> tuple[int, np.ndarray]:
    """Bytes of the JPEG XL of a 16-bit PPM at ``distance``, and its decoded raw-RGB."""
    jxl, back = ppm.with_suffix(".jxl"), ppm.with_name("decoded.ppm")
    subprocess.run(["cjxl", str(ppm), str(jxl), "-e", str(JXL_EFFORT), "-d", f"{distance:.4f}", "--quiet"],
                   check=True, capture_output=True)
    subprocess.run(["djxl", str(jxl), str(back), "--bits_per_sample=16", "--quiet"], check=True, capture_output=True)
    return jxl.stat().st_size, _read_ppm16(back)


def distance_for(curve: list[tuple[float, int]], size: float) -> float:
    """The distance whose size interpolates (log-log) to ``size`` on ``curve`` [(distance, bytes), ...]."""
    d = np.log([c[0] for c in curve])
    s = np.log([c[1] for c in curve])
    order = np.argsort(s)
    return float(np.exp(np.interp(np.log(size), s[order], d[order])))


def edit_render(rgb: np.ndarray, camera: CameraFacts, work: Path) -> np.ndarray:
    """``rgb`` as a DNG, rendered by LibRaw at +EDIT_EV with the white balance scaled by EDIT_WB, in [0, 1]."""
    dng = work / "edit.dng"
    dng.write_bytes(linear_dng_bytes(rgb, camera))
    wb = [m * k for m, k in zip(camera.white_balance, EDIT_WB)]
    with rawpy.imread(str(dng)) as raw:
        out = raw.postprocess(user_wb=[wb[0], wb[1], wb[2], wb[1]], exp_shift=2.0**EDIT_EV, no_auto_bright=True,
                              user_flip=0, output_bps=16)
    return out.astype(np.float32) / 65535


def bench_file(path: Path, budgets: Iterable[float], device: str, log: Callable[[str], None]) -> list[RDRow]:
    raw = read_raw(path)
    rgb, camera = raw.rgb, raw.camera
    jpeg = jpeg_bytes(render_srgb(path), 95)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        ppm = work / "raw.ppm"
        _write_ppm16(ppm, rgb)
        curve = [(d, jxl_round_trip(ppm, d)[0]) for d in CURVE_DISTANCES]
        truth = edit_render(rgb, camera, work)

        def score(image: np.ndarray, size: int, restored: Restored) -> Point:
            shot = metrics.restore_developed_error(image, rgb, camera, restored.payload.camera,
                                                   jpeg=restored.shown).renders[0]
            return Point(100 * size / len(jpeg), metrics.psnr(image, rgb),
                         metrics.psnr(edit_render(image, camera, work), truth), shot.full.mean, shot.psnr)

        for budget in budgets:
            t0 = time.perf_counter()
            payload = make_payload(rgb, camera, jpeg, budget=budget, device=device)
            embedded, report = embed_bytes(jpeg, payload)
            t1 = time.perf_counter()
            restored = restore_bytes(embedded, device=device)
            t2 = time.perf_counter()
            distance = distance_for(curve, report.added_bytes)
            size, decoded = jxl_round_trip(ppm, distance)
            row = RDRow(path.name, budget, score(restored.rgb, report.added_bytes, restored),
                        score(decoded, size, restored), distance, t1 - t0, t2 - t1)
            rows.append(row)
            log(f"{path.name} {budget:g} %: rawmeta {row.rawmeta.percent:.2f} % {row.rawmeta.psnr:.2f} dB "
                f"dE {row.rawmeta.delta_e:.2f}, JPEG XL {row.jxl.percent:.2f} % {row.jxl.psnr:.2f} dB "
                f"dE {row.jxl.delta_e:.2f} ({row.gain:+.2f})")
    return rows


def run(raws: Iterable[Path], budgets: Iterable[float] = BUDGETS, device: str = "auto",
        log: Callable[[str], None] = print) -> tuple[list[RDRow], list[str]]:
    require_jxl()
    rows, skipped = [], []
    for path in raws:
        try:
            rows += bench_file(path, tuple(budgets), device, log)
        except RawReadError as exc:
            skipped.append(f"{path.name}: {exc}")
            log(f"skipped {path.name}: {exc}")
    return rows, skipped


def write_plot(path: Path, rows: list[RDRow]) -> None:
    """rawmeta's PSNR minus JPEG XL's at equal bytes, against the budget, one series per file."""
    names = sorted({r.name for r in rows})
    series = {n.rsplit(".", 1)[0][:22]: [(r.rawmeta.percent, r.gain) for r in rows if r.name == n] for n in names}
    plot.scatter_png(path, series, "rawmeta minus JPEG XL at equal added bytes", "added bytes, % of the JPEG (log)",
                     "PSNR difference (dB)", lines=True, hline=TARGET_DB)


def markdown(rows: list[RDRow], skipped: list[str], command: str, figure: str | None) -> str:
    lo, hi = TARGET_RANGE
    out = [
        "## Rate-distortion: rawmeta against a lossy JPEG XL raw-RGB at equal added bytes",
        "",
        machine_line(command) + f" libjxl's cjxl/djxl {_jxl_version()}, effort {JXL_EFFORT}.",
        "",
        "Each RAW's JPEG is LibRaw's render at quality 95. rawmeta: `embed --budget P`, then the default "
        "restore. JPEG XL: raw-RGB as 16-bit PPM, distance chosen to match rawmeta's added bytes (the JPEG XL "
        "column gives its actual size). PSNR is against the true raw-RGB. Edit PSNR compares LibRaw renders "
        f"of the restored (or decoded) and true raw-RGB, both as DNGs, at +{EDIT_EV:g} EV with the as-shot "
        f"white balance times {EDIT_WB} (warmer). Developed view: both developed as `rawmeta eval --jpeg` "
        "develops a restore (the white balance the rawmeta data carries, the RAW's colour matrix, the JPEG's "
        "median brightness, sRGB), as shot: mean CIEDE2000 against the true RAW developed alike, and the render's "
        f"PSNR. Target: rawmeta >= {TARGET_DB:g} dB over JPEG XL at every budget from {lo:g} to {hi:g} %.",
        "",
        "| file | budget % | rawmeta % | rawmeta PSNR | JPEG XL % | JPEG XL PSNR | difference dB | target "
        "| ΔE as shot: rawmeta / JPEG XL | render PSNR: rawmeta / JPEG XL "
        "| rawmeta edit PSNR | JPEG XL edit PSNR | embed s | restore s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        out.append(
            f"| {r.name} | {r.budget:g} | {r.rawmeta.percent:.2f} | {r.rawmeta.psnr:.2f} | {r.jxl.percent:.2f} | "
            f"{r.jxl.psnr:.2f} | {r.gain:+.2f} | {_verdict(r)} | {r.rawmeta.delta_e:.2f} / {r.jxl.delta_e:.2f} | "
            f"{r.rawmeta.render_psnr:.2f} / {r.jxl.render_psnr:.2f} | {r.rawmeta.edit_psnr:.2f} | "
            f"{r.jxl.edit_psnr:.2f} | {r.embed_s:.1f} | {r.restore_s:.1f} |"
        )
    in_range = [r for r in rows if lo <= r.budget <= hi]
    if in_range:
        met = [r for r in in_range if r.gain >= TARGET_DB]
        out += ["", f"Target met at {len(met)} of {len(in_range)} (file, budget) points from {lo:g} to {hi:g} %; "
                f"mean difference {np.mean([r.gain for r in in_range]):+.2f} dB, edit view "
                f"{np.mean([r.rawmeta.edit_psnr - r.jxl.edit_psnr for r in in_range]):+.2f} dB."]
        missed = [f"{r.name} at {r.budget:g} % ({r.gain:+.2f} dB)" for r in in_range if r.gain < TARGET_DB]
        if missed:
            out += ["", "Where it is not met: " + "; ".join(missed) + "."]
    if rows:
        ahead = [r for r in rows if r.rawmeta.delta_e < r.jxl.delta_e]
        behind = [f"{r.name} at {r.budget:g} % ({r.rawmeta.delta_e:.2f} against {r.jxl.delta_e:.2f})"
                  for r in rows if r.rawmeta.delta_e >= r.jxl.delta_e]
        out += ["", f"Developed view: rawmeta's ΔE as shot is lower at {len(ahead)} of {len(rows)} points; render PSNR "
                f"difference {np.mean([r.rawmeta.render_psnr - r.jxl.render_psnr for r in rows]):+.2f} dB on average."
                + (" Not lower: " + "; ".join(behind) + "." if behind else "")]
    if figure:
        out += ["", f"![rawmeta minus JPEG XL]({figure})"]
    if skipped:
        out += ["", "Skipped:", ""] + [f"- {s}" for s in skipped]
    return "\n".join(out) + "\n"


def _verdict(row: RDRow) -> str:
    lo, hi = TARGET_RANGE
    if not lo <= row.budget <= hi:
        return "-"
    return "met" if row.gain >= TARGET_DB else "missed"


def _jxl_version() -> str:
    proc = subprocess.run(["cjxl", "--version"], capture_output=True, text=True, check=False)
    m = re.search(r"v(\d+\.\d+\.\d+)", proc.stdout + proc.stderr)
    return m.group(1) if m else "(version unknown)"


def section(bench: BenchRun) -> str:
    """The rd section of ``rawmeta bench``: rows, and the figure ``rate_distortion.png`` next to the report."""
    budgets = bench.options.budgets or BUDGETS
    rows, skipped = run(bench.raws, budgets, bench.options.device, log=bench.log)
    command = "rawmeta bench --section rd" + (f" --budgets {','.join(f'{b:g}' for b in budgets)}"
                                              if budgets != BUDGETS else "")
    figure = bench.output.with_name("rate_distortion.png") if rows else None
    if figure:
        write_plot(figure, rows)
    return markdown(rows, skipped, command, figure.name if figure else None)
