"""Alignment benchmark: JPEGs of a RAW that are not on LibRaw's pixel grid.

For each RAW, the base JPEG is RawTherapee-cli's render (its crop differs
from LibRaw's), or LibRaw's own where RawTherapee cannot read the file.
RawTherapee crops whole pixels, so its map is the integer shift that best
matches LibRaw's render (``rawmeta.benchmarks.restore.common_area``, found independently
of ``alignment``). From the base come the cases with a known map: rotated
90/180/270 degrees in its pixels, shown rotated by an EXIF Orientation tag
only, resized to 50 % and 1/3 by Pillow (Lanczos), and cropped by 10 % on
the left and top. Then the camera's own JPEG where the RAW folder has one
(``<stem>.camera_jpg_from_raw.jpg``; its map is not known), and LibRaw's
render of another RAW, which embed must refuse.

Each JPEG (quality 95) is aligned (error: RMS distance, in RAW pixels, of
the found map from the known one over the JPEG's pixels), embedded with
the default budget and restored; PSNR is against the raw-RGB warped onto
the JPEG's grid with the known map (the found one for camera JPEGs), next
to the PSNR of the same-grid pair (LibRaw's render, the first row of each
RAW, which also times the same-grid fast path).
"""
from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from rawmeta import metrics
from rawmeta.alignment import matching as alignment
from rawmeta.benchmarks.harness import machine_line
from rawmeta.benchmarks.render import jpeg_bytes, render_rawtherapee, render_srgb
from rawmeta.benchmarks.restore import common_area
from rawmeta.benchmarks.sections import BenchRun
from rawmeta.embed.jpeg import embed_bytes, make_payload
from rawmeta.embed.options import DEFAULT_BUDGET
from rawmeta.errors import BudgetError, MismatchError, RawReadError
from rawmeta.format import orientation
from rawmeta.format.camera import CameraFacts
from rawmeta.io.jpeg_pixels import decode_jpeg
from rawmeta.io.rawfile import read_raw
from rawmeta.restore.jpeg import restore_bytes

#: Fraction cut from the left and the top in the crop case.
CROP = 0.1


@dataclass(frozen=True)
class AlignRow:
    name: str
    case: str
    width: int
    height: int
    known: bool
    error_px: float | None  # RMS, RAW pixels; None without a known map or when refused
    match: float | None
    found: str  # the map found, or why embed refused
    align_s: float
    psnr: float | None
    same_grid_psnr: float


def _homogeneous(matrix: np.ndarray) -> np.ndarray:
    return np.vstack([matrix, [0, 0, 1]])


def base_render(path: Path, libraw: np.ndarray) -> tuple[str, np.ndarray, np.ndarray]:
    """(label, sRGB uint8, map into the raw-RGB) of the base JPEG's pixels; ``libraw`` is LibRaw's render."""
    try:
        developed = render_rawtherapee(path)
    except RawReadError:
        return "LibRaw", libraw, np.array([[1.0, 0, 0], [0, 1, 0]])
    dy, dx = common_area(libraw, developed)
    return "RawTherapee", np.round(developed / 257.0).astype(np.uint8), np.array([[1.0, 0, dx], [0, 1, dy]])


def derived_cases(base: np.ndarray, base_map: np.ndarray) -> Iterator[tuple[str, np.ndarray, int, np.ndarray]]:
    """(case, stored sRGB, EXIF Orientation tag or 0, map of stored pixels into the raw-RGB) of each case."""
    h, w = base.shape[:2]
    yield "as rendered", base, 0, base_map
    for code, label in ((8, "rotated 90"), (3, "rotated 180"), (6, "rotated 270")):
        stored = np.ascontiguousarray(orientation.orient(base, code))  # stored = base shown by ``code``
        back = np.linalg.inv(orientation.oriented_matrix(code, h, w))
        yield label, stored, 0, (_homogeneous(base_map) @ back)[:2]
    yield "Orientation tag 6", base, 6, base_map
    for label, factor in (("50 %", 2), ("1/3", 3)):
        nw, nh = round(w / factor), round(h / factor)
        stored = np.asarray(Image.fromarray(base).resize((nw, nh), Image.Resampling.LANCZOS))
        sx, sy = w / nw, h / nh  # Pillow: output pixel u samples input (u + 0.5) * sx - 0.5
        yield label, stored, 0, (_homogeneous(base_map) @ [[sx, 0, 0.5 * sx - 0.5], [0, sy, 0.5 * sy - 0.5],
                                                             [0, 0, 1]])[:2]
    dx, dy = round(CROP * w), round(CROP * h)
    yield "cropped 10 % left and top", base[dy:, dx:], 0, (_homogeneous(base_map) @ [[1, 0, dx], [0, 1, dy],
                                                                                       [0, 0, 1]])[:2]


def encode(srgb: np.ndarray, orientation: int = 0) -> bytes:
    """A quality-95 JPEG, with an EXIF Orientation tag unless ``orientation`` is 0."""
    if not orientation:
        return jpeg_bytes(srgb, 95)
    exif = Image.Exif()
    exif[0x0112] = orientation
    buf = io.BytesIO()
    Image.fromarray(srgb).save(buf, "JPEG", quality=95, exif=exif)
    return buf.getvalue()


def map_error(found: np.ndarray, known: np.ndarray, height: int, width: int) -> float:
    """RMS distance (raw pixels) between two maps over a 64 x 64 lattice of the JPEG's pixels."""
    v, u = np.mgrid[0 : height - 1 : 64j, 0 : width - 1 : 64j]
    d = (found - known) @ np.stack([u.ravel(), v.ravel(), np.ones(u.size)])
    return float(np.sqrt((d**2).sum(axis=0).mean()))


def restore_psnr(rgb: np.ndarray, camera: CameraFacts, jpeg: bytes, truth_map: np.ndarray | None,
                 device: str) -> float:
    """Embed ``jpeg`` with the default budget, restore it at the JPEG's size; PSNR against the raw-RGB seen
    through ``truth_map`` (the found map if None)."""
    payload = make_payload(rgb, camera, jpeg, device=device)
    restored = restore_bytes(embed_bytes(jpeg, payload)[0], device=device, size="jpeg").rgb
    truth_map = payload.alignment.matrix if truth_map is None else truth_map
    truth = alignment.warp(rgb, alignment.Alignment(truth_map, rgb.shape[:2]), *restored.shape[:2])
    return metrics.psnr(restored, truth)


def bench_file(path: Path, other: bytes | None, device: str, log: Callable[[str], None]) -> list[AlignRow]:
    raw = read_raw(path)
    rgb, camera = raw.rgb, raw.camera
    identity = np.array([[1.0, 0, 0], [0, 1, 0]])
    libraw = render_srgb(path)
    cases = [("LibRaw: same grid (fast path)", jpeg_bytes(libraw, 95), identity)]
    label, base, base_map = base_render(path, libraw)
    cases += [(f"{label}: {case}", encode(srgb, tag), known) for case, srgb, tag, known in derived_cases(base, base_map)
              if not (label == "LibRaw" and case == "as rendered")]
    camera_jpg = path.with_name(path.stem + ".camera_jpg_from_raw.jpg")
    if camera_jpg.exists():
        cases.append(("camera's own JPEG", camera_jpg.read_bytes(), None))
    if other is not None:
        cases.append(("another RAW's render (must be refused)", other, None))
    rows: list[AlignRow] = []
    for case, jpeg, known in cases:
        srgb = decode_jpeg(jpeg)
        h, w = srgb.shape[:2]
        same_grid = rows[0].psnr if rows else float("nan")
        t0 = time.perf_counter()
        try:
            found = alignment.align(rgb, camera.white_balance, srgb)
        except MismatchError as exc:
            rows.append(AlignRow(path.name, case, w, h, known is not None, None, None, f"refused: {exc}",
                                 time.perf_counter() - t0, None, same_grid))
            log(f"{path.name} {case}: refused: {exc}")
            continue
        seconds = time.perf_counter() - t0
        described = found.describe(h, w)
        try:
            psnr = restore_psnr(rgb, camera, jpeg, known, device)
        except BudgetError as exc:  # a small crop's 5 % can be less than the smallest payload
            psnr, described = None, f"{described}; embed refused: {exc}"
        error = None if known is None else map_error(found.matrix, known, h, w)
        rows.append(AlignRow(path.name, case, w, h, known is not None, error, found.match, described,
                             seconds, psnr, psnr if not rows else same_grid))
        log(f"{path.name} {case}: error {'-' if error is None else f'{error:.3f}'} px, match {found.match:.3f}, "
            f"{seconds:.2f} s, restore {'-' if psnr is None else f'{psnr:.2f}'} dB "
            f"(same grid {rows[-1].same_grid_psnr:.2f})")
    return rows


def run(raws: Iterable[Path], device: str = "auto", log: Callable[[str], None] = print) -> tuple[list[AlignRow], list[str]]:
    raws = list(raws)
    rows, skipped = [], []
    for i, path in enumerate(raws):
        neighbour = raws[(i + 1) % len(raws)] if len(raws) > 1 else None
        try:
            other = jpeg_bytes(render_srgb(neighbour), 95) if neighbour is not None else None
            rows += bench_file(path, other, device, log)
        except RawReadError as exc:
            skipped.append(f"{path.name}: {exc}")
            log(f"skipped {path.name}: {exc}")
    return rows, skipped


def markdown(rows: list[AlignRow], skipped: list[str], command: str) -> str:
    """The alignment section of docs/BENCHMARKS.md."""
    known = [r for r in rows if r.error_px is not None]
    refused_wrong = [r for r in rows if "another RAW" in r.case and r.found.startswith("refused")]
    others = [r for r in rows if "another RAW" in r.case]
    out = [
        "## Alignment: JPEGs on other grids than LibRaw's",
        "",
        machine_line(command),
        "",
        ("Base JPEG: RawTherapee-cli's render (default profile; its whole-pixel offset from LibRaw's grid found by "
         "correlating it with LibRaw's render), or LibRaw's where RawTherapee cannot read the RAW. Cases with a "
         "known map are made from it: turned in its pixels, turned by an EXIF Orientation tag only, resized by "
         "Pillow (Lanczos) and cropped. Every JPEG is quality 95. Error: RMS distance in RAW pixels between the "
         "found map and the known one over the JPEG. Match: the correlation embed checks (it refuses below "
         f"{alignment.MIN_MATCH}). Seconds: `alignment.align` alone. Restore PSNR: `embed` with the default budget "
         f"({DEFAULT_BUDGET:g} %), then the default restore, against the raw-RGB warped onto the JPEG's grid with "
         "the known map (the found one for camera JPEGs); same grid: LibRaw's own render, embedded and "
         "restored the same way."),
        "",
        "| file | JPEG | size (w x h) | error (RAW px) | match | seconds | restore PSNR | same-grid PSNR | map found |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        error = "-" if r.error_px is None else f"{r.error_px:.3f}"
        match = "-" if r.match is None else f"{r.match:.3f}"
        psnr = "-" if r.psnr is None else f"{r.psnr:.2f}"
        out.append(f"| {r.name} | {r.case} | {r.width} x {r.height} | {error} | {match} | {r.align_s:.1f} | {psnr} "
                   f"| {r.same_grid_psnr:.2f} | {r.found} |")
    if known:
        errors = np.array([r.error_px for r in known])
        drops = np.array([r.same_grid_psnr - r.psnr for r in known
                          if r.case.endswith(": as rendered") and r.psnr is not None])
        out += ["", (f"Known maps: {len(known)} cases, RMS error median {np.median(errors):.3f} px, largest "
                     f"{errors.max():.3f} px; {int((errors <= 0.25).sum())} of {len(known)} within 0.25 px. "
                     f"Other shots refused: {len(refused_wrong)} of {len(others)}.")]
        if drops.size:
            out[-1] += (f" RawTherapee's render, aligned, restores {-drops.mean():+.2f} dB on average against LibRaw's "
                        "on the same grid (a different render as well as a different grid).")
    if skipped:
        out += ["", "Skipped: " + "; ".join(skipped)]
    return "\n".join(out) + "\n"


def section(bench: BenchRun) -> str:
    """The align section of ``rawmeta bench``."""
    rows, skipped = run(bench.raws, bench.options.device, log=bench.log)
    return markdown(rows, skipped, "rawmeta bench --section align")
