"""Round-trip benchmark: the restored DNG judged as photographers look at it, in LibRaw and darktable.

For every RAW: LibRaw's default render saved at quality 95 gets the RAW's
EXIF (exiftool), is embedded with the defaults and restored to a DNG. The
row then tells the raw-RGB PSNR of the restore, the DNG's size against the
RAW's, which EXIF tags the DNG kept, and how close each developer's render of
the DNG is to its render of the original RAW: as shot, +1 EV and -1 EV, each
beside the same figure for the JPEG itself edited in sRGB (what a
photographer who kept only the JPEG would get). Where darktable's default
white balance for the original differs from the DNG's, every edit is judged
again with the DNG's white balance for the original too.
"""
from __future__ import annotations

import json
import math
import shutil
import struct
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

import numpy as np
import rawpy

from rawmeta import metrics
from rawmeta.benchmarks.harness import machine_line
from rawmeta.benchmarks.render import (
    EXPOSURE_VERSION,
    TEMPERATURE_VERSION,
    darktable_history,
    jpeg_bytes,
    render_darktable,
    render_libraw,
    set_white_balance,
    shift_exposure,
    to_8bit,
    write_render,
)
from rawmeta.benchmarks.restore import MAX_OFFSET, common_area
from rawmeta.benchmarks.sections import BenchRun
from rawmeta.embed.jpeg import embed_file
from rawmeta.errors import RawmetaError, RawReadError
from rawmeta.io.jpeg_pixels import decode_jpeg
from rawmeta.io.rawfile import read_raw
from rawmeta.restore.jpeg import restore_file

#: EXIF tags whose survival is checked (exiftool names).
EXIF_TAGS = ("DateTimeOriginal", "SubSecTimeOriginal", "OffsetTimeOriginal", "CreateDate", "ExposureTime", "FNumber",
             "ISO", "FocalLength", "LensModel", "Flash", "Make", "Model", "Artist", "Copyright", "GPSLatitude",
             "Orientation")
#: The issue's targets.
TARGET_LIBRAW_DB = 38.0
TARGET_DARKTABLE_DB = 36.0
TARGET_EDIT_MARGIN_DB = 3.0
TARGET_SIZE_RATIO = 1.5
JPEG_QUALITY = 95
#: Linear luminance range (of the as-shot render) over which an edit's brightness gain is measured.
GAIN_RANGE = (0.05, 0.25)
#: How far (in stops) a measured gain may be from its edit before the edit counts as not applied.
GAIN_TOLERANCE_EV = 0.5
#: darktable's highlight reconstruction methods (``dt_iop_highlights_mode_t``, darktable 4.2).
DARKTABLE_HIGHLIGHT_MODES = {0: "clip highlights", 1: "reconstruct in LCh", 2: "reconstruct color",
                             3: "guided laplacians", 4: "segmentation based", 5: "inpaint opposed"}


@dataclass(frozen=True)
class Edit:
    """An exposure edit: ``ev`` stops (0 is the developer's as-shot render)."""

    label: str
    ev: float

    @property
    def gain(self) -> float:
        """The edit as a factor on linear light."""
        return 2.0 ** self.ev


EDITS = (Edit("as shot", 0.0), Edit("+1 EV", 1.0), Edit("-1 EV", -1.0))


@dataclass(frozen=True)
class ToneCurve:
    """A transfer curve of the sRGB kind: ``slope * x`` below ``knee``, ``(1 + offset) x^(1/power) - offset`` above."""

    power: float
    slope: float
    knee: float
    offset: float

    def decode(self, values: np.ndarray) -> np.ndarray:
        """8-bit coded values (uint8) to linear light in [0, 1] (float32)."""
        y = values.astype(np.float32) / 255
        return np.where(y < self.knee * self.slope, y / self.slope,
                        ((y + self.offset) / (1 + self.offset)) ** self.power).astype(np.float32)

    def encode(self, linear: np.ndarray) -> np.ndarray:
        """Linear light in [0, 1] to 8-bit coded values (uint8, rounded)."""
        x = np.clip(linear, 0, 1)
        y = np.where(x < self.knee, x * self.slope, (1 + self.offset) * x ** (1 / self.power) - self.offset)
        return np.round(np.clip(y, 0, 1) * 255).astype(np.uint8)


SRGB = ToneCurve(2.4, 12.92, 0.0031308, 0.055)
#: LibRaw's default output curve, ``gamma=(2.222, 4.5)`` (BT.709): knee and offset as LibRaw's ``gamma_curve``
#: solves them for that power and toe slope.
LIBRAW_GAMMA = ToneCurve(2.222, 4.5, 0.01805015569, 0.09925780616)


class Developer(Protocol):
    """A raw developer as the benchmark drives it: its name, its output transfer curve, its renders."""

    @property
    def name(self) -> str: ...

    @property
    def curve(self) -> ToneCurve: ...

    def render(self, path: Path, edit: Edit) -> np.ndarray:
        """8-bit sRGB render (H x W x 3 uint8) of ``path`` with ``edit``; RawReadError if it fails."""
        ...


@dataclass(frozen=True)
class LibRaw:
    """LibRaw through rawpy, at one white balance for every file (the payload's as-shot one)."""

    white_balance: tuple[float, float, float]
    name: str = "LibRaw"
    curve: ToneCurve = LIBRAW_GAMMA

    def params(self, edit: Edit) -> dict:
        """rawpy ``postprocess`` arguments for ``edit``: +EV clips highlights, -EV blends them (mode 2).

        LibRaw's highlight modes other than clip scale the channels to the largest white-balance multiplier
        instead of the smallest (dcraw's ``scale_colors``), which darkens the render by their ratio; ``bright``
        gives that back, so that the -EV render differs from the as-shot one by the exposure shift alone.
        """
        r, g, b = self.white_balance
        params: dict = dict(user_wb=[r, g, b, g], no_auto_bright=True, output_bps=16, user_flip=0)
        if edit.ev > 0:
            params.update(exp_shift=edit.gain, highlight_mode=rawpy.HighlightMode.Clip)
        elif edit.ev < 0:
            params.update(exp_shift=edit.gain, highlight_mode=rawpy.HighlightMode.Blend,
                          bright=max(self.white_balance) / min(self.white_balance))
        return params

    def render(self, path: Path, edit: Edit) -> np.ndarray:
        return to_8bit(render_libraw(path, **self.params(edit)))


@dataclass
class Darktable:
    """darktable-cli with its defaults; an edit is the file's default history with its exposure shifted.

    ``balances`` overrides the white balance of some files: their renders, as shot too, use their default
    history with the white balance module set to those R, G, B coefficients (:meth:`at_white_balance`).
    Renders are kept (by file and sidecar), so a developer made by :meth:`at_white_balance` reuses the
    renders of the files it does not override.
    """

    name: str = "darktable"
    curve: ToneCurve = SRGB
    defaults: dict[Path, str] = field(default_factory=dict)  # the default export's XMP, by file
    renders: dict[tuple[Path, str | None], np.ndarray] = field(default_factory=dict)  # by file and sidecar
    balances: dict[Path, tuple[float, ...]] = field(default_factory=dict)  # white balance overrides, by file

    def render(self, path: Path, edit: Edit) -> np.ndarray:
        if path not in self.defaults:  # the as-shot export at darktable's defaults gives the default history
            done = render_darktable(path)
            self.defaults[path], self.renders[path, None] = done.xmp, to_8bit(done.srgb)
        sidecar = self.sidecar(path, edit)
        if (path, sidecar) not in self.renders:  # darktable renders the same history the same
            self.renders[path, sidecar] = to_8bit(render_darktable(path, sidecar).srgb)
        return self.renders[path, sidecar]

    def sidecar(self, path: Path, edit: Edit) -> str | None:
        """The history ``path`` is rendered with for ``edit`` (after its default export): None for the defaults."""
        balance = self.balances.get(path)
        if balance is None and edit.ev == 0:
            return None
        xmp = self.defaults[path] if balance is None else set_white_balance(self.defaults[path], balance)
        return shift_exposure(xmp, edit.ev) if edit.ev else xmp

    def at_white_balance(self, path: Path, coefficients: tuple[float, ...]) -> Darktable:
        """This developer with ``path``'s white balance set to ``coefficients``; it shares the renders kept so far."""
        return replace(self, balances={**self.balances, path: tuple(coefficients)})

    def highlights(self, path: Path) -> str:
        """darktable's default highlight reconstruction for ``path`` (after it has been rendered)."""
        items = [i for i in darktable_history(self.defaults.get(path, "")) if i.operation == "highlights"]
        if not items:
            return "absent"
        if not items[-1].enabled:
            return "off"
        mode = int.from_bytes(items[-1].params[:4], "little") if items[-1].params else -1
        return f"on, {DARKTABLE_HIGHLIGHT_MODES.get(mode, f'mode {mode}')}"

    def white_balance(self, path: Path) -> tuple[float, ...] | None:
        """The R, G, B coefficients of the white balance module in darktable's default history for ``path``."""
        items = [i for i in darktable_history(self.defaults.get(path, "")) if i.operation == "temperature"]
        if not items or not items[-1].params or len(items[-1].params) < 12:
            return None
        return struct.unpack_from("<3f", items[-1].params)


@dataclass(frozen=True)
class FrameMatch:
    """The DNG's render against the original's: PSNR over their common frame."""

    psnr: float
    original: tuple[int, int]  # (H, W) of the original's render
    dng: tuple[int, int]
    offset: tuple[int, int]  # (dy, dx) of the DNG render's first pixel in the original's

    @property
    def same_frame(self) -> bool:
        return self.original == self.dng


@dataclass(frozen=True)
class Fidelity:
    """One developer, one edit: the DNG's render and the edited JPEG, each against the original's render."""

    edit: Edit
    jpeg_psnr: float
    gain: float  # measured linear gain of the original's edited render over its as-shot render
    dng: FrameMatch | None = None
    failure: str = ""  # why the DNG has no render

    @property
    def edit_applied(self) -> bool:
        """Whether the measured gain is within :data:`GAIN_TOLERANCE_EV` of the edit."""
        return math.isfinite(self.gain) and abs(math.log2(max(self.gain, 1e-9)) - self.edit.ev) <= GAIN_TOLERANCE_EV


@dataclass(frozen=True)
class ExifCheck:
    """Which of :data:`EXIF_TAGS` the JPEG had, and which of those the DNG kept with the same value."""

    kept: tuple[str, ...]
    lost: tuple[str, ...]  # absent from the DNG
    changed: tuple[str, ...]  # in the DNG with another value

    @property
    def total(self) -> int:
        return len(self.kept) + len(self.lost) + len(self.changed)


@dataclass(frozen=True)
class RoundtripRow:
    """One RAW's round trip."""

    name: str
    seconds: float  # restore_file's wall time
    raw_psnr: float
    size_ratio: float  # DNG bytes / RAW bytes
    exif: ExifCheck | None  # None: exiftool is missing
    exif_copy: str  # "" when the RAW's EXIF was copied into the JPEG, else why not
    libraw: dict[str, Fidelity]  # by edit label
    darktable: dict[str, Fidelity] | None  # None: see darktable_note
    darktable_note: str = ""  # why darktable has no figures
    highlights: str = ""  # darktable's default highlight reconstruction for the original
    #: darktable's default white balance (R, G, B coefficients) for the original and for the DNG
    darktable_wb: tuple[tuple[float, ...] | None, tuple[float, ...] | None] = (None, None)
    #: darktable with the DNG's white balance for the original too, by edit (None: the same by default, or not run)
    darktable_same_wb: dict[str, Fidelity] | None = None


#: How the darktable figures judged at the DNG's white balance are marked and named.
SAME_WB_MARK = "‡"
SAME_WB_NAME = "darktable at the DNG's WB"


def white_balances_differ(balances: tuple[tuple[float, ...] | None, tuple[float, ...] | None]) -> bool:
    """Whether two white balances (R, G, B coefficients) are both known and differ by more than 1 %."""
    return bool(balances[0] and balances[1] and not np.allclose(balances[0], balances[1], rtol=0.01))


def judged(row: RoundtripRow) -> list[tuple[str, dict[str, Fidelity], float]]:
    """(name, cells, as-shot floor) of each developer that rendered ``row``'s original, with the cells its targets
    are judged on: darktable's at the DNG's white balance where it has them (:data:`SAME_WB_NAME`)."""
    out = [("LibRaw", row.libraw, TARGET_LIBRAW_DB)]
    if row.darktable_same_wb is not None:
        out.append((SAME_WB_NAME, row.darktable_same_wb, TARGET_DARKTABLE_DB))
    elif row.darktable is not None:
        out.append(("darktable", row.darktable, TARGET_DARKTABLE_DB))
    return out


def copy_exif(raw: Path, jpeg: Path) -> str:
    """Copy ``raw``'s EXIF and XMP into ``jpeg`` (no thumbnails) with exiftool; "" if done, else why not."""
    exe = shutil.which("exiftool")
    if exe is None:
        return "exiftool is not installed"
    proc = subprocess.run([exe, "-q", "-q", "-overwrite_original", "-TagsFromFile", str(raw), "-exif:all<all",
                           "-xmp:all<xmp:all", "-ThumbnailImage=", "-PreviewImage=", str(jpeg)],
                          capture_output=True, text=True, check=False)
    return "" if proc.returncode == 0 else f"exiftool failed: {proc.stderr.strip()[-200:]}"


def read_tags(paths: Sequence[Path]) -> list[dict]:
    """:data:`EXIF_TAGS` of each file as ``exiftool -j -n`` reads them (absent tags left out)."""
    proc = subprocess.run(["exiftool", "-j", "-n", *(f"-{t}" for t in EXIF_TAGS), *map(str, paths)],
                          capture_output=True, text=True, check=False)
    found = {Path(d["SourceFile"]).name: d for d in json.loads(proc.stdout or "[]")}
    return [found.get(p.name, {}) for p in paths]


def _same_value(a: object, b: object) -> bool:
    if isinstance(a, int | float) and isinstance(b, int | float):
        return math.isclose(a, b, rel_tol=1e-4, abs_tol=1e-9)
    return str(a).strip() == str(b).strip()


def check_exif(jpeg_tags: dict, dng_tags: dict) -> ExifCheck:
    """Which of the JPEG's :data:`EXIF_TAGS` the DNG kept, lost or changed."""
    had = [t for t in EXIF_TAGS if t in jpeg_tags]
    return ExifCheck(kept=tuple(t for t in had if t in dng_tags and _same_value(jpeg_tags[t], dng_tags[t])),
                     lost=tuple(t for t in had if t not in dng_tags),
                     changed=tuple(t for t in had if t in dng_tags and not _same_value(jpeg_tags[t], dng_tags[t])))


def srgb_psnr(test: np.ndarray, reference: np.ndarray) -> float:
    """PSNR of two 8-bit sRGB images (peak 255), over every pixel and channel."""
    return metrics.psnr(test.astype(np.float32) / 255, reference.astype(np.float32) / 255)


def compare_frames(reference: np.ndarray, other: np.ndarray) -> FrameMatch:
    """PSNR of ``other`` against ``reference`` (8-bit sRGB), over their best-aligned overlap if their sizes differ.

    The offset is :func:`rawmeta.benchmarks.restore.common_area`'s (correlation of high-passed luminance,
    up to ``MAX_OFFSET`` pixels beyond the sizes' difference).
    """
    shapes = reference.shape[:2], other.shape[:2]
    if shapes[0] == shapes[1]:
        return FrameMatch(srgb_psnr(other, reference), *shapes, (0, 0))
    dy, dx = common_area(reference, other, MAX_OFFSET)
    y0, x0 = max(dy, 0), max(dx, 0)
    y1, x1 = min(shapes[0][0], dy + shapes[1][0]), min(shapes[0][1], dx + shapes[1][1])
    psnr = srgb_psnr(other[y0 - dy : y1 - dy, x0 - dx : x1 - dx], reference[y0:y1, x0:x1])
    return FrameMatch(psnr, *shapes, (dy, dx))


def edited_jpeg(pixels: np.ndarray, edit: Edit, curve: ToneCurve) -> np.ndarray:
    """A JPEG's pixels edited in sRGB: linearised by ``curve``, scaled by the edit's gain, clipped, re-encoded
    to 8 bits and saved again at :data:`JPEG_QUALITY`; the decoded result."""
    return decode_jpeg(jpeg_bytes(curve.encode(curve.decode(pixels) * edit.gain), JPEG_QUALITY))


def linear_gain(shot: np.ndarray, edited: np.ndarray, curve: ToneCurve) -> float:
    """Median gain in linear luminance from ``shot`` to ``edited`` where ``shot`` lies in :data:`GAIN_RANGE`."""
    weights = np.array([0.2126, 0.7152, 0.0722], np.float32)
    y0, y1 = curve.decode(shot) @ weights, curve.decode(edited) @ weights
    mid = (y0 >= GAIN_RANGE[0]) & (y0 <= GAIN_RANGE[1])
    return float(np.median(y1[mid] / y0[mid])) if mid.any() else math.nan


def judge(developer: Developer, original: Path, restored: Path) -> dict[str, Fidelity]:
    """Each edit's :class:`Fidelity` of ``developer``'s renders of ``restored`` against ``original``.

    The JPEG beside them is the developer's as-shot render of the original saved at :data:`JPEG_QUALITY`,
    edited in sRGB (:func:`edited_jpeg`). Raises RawReadError if the original cannot be rendered.
    """
    shot = developer.render(original, EDITS[0])
    jpeg = decode_jpeg(jpeg_bytes(shot, JPEG_QUALITY))
    cells = {}
    for edit in EDITS:
        reference = developer.render(original, edit) if edit.ev else shot
        baseline = edited_jpeg(jpeg, edit, developer.curve) if edit.ev else jpeg
        gain = linear_gain(shot, reference, developer.curve) if edit.ev else 1.0
        try:
            match, failure = compare_frames(reference, developer.render(restored, edit)), ""
        except RawReadError as exc:
            match, failure = None, str(exc)
        cells[edit.label] = Fidelity(edit, srgb_psnr(baseline, reference), gain, match, failure)
    return cells


def bench_file(raw: Path, work: Path, device: str = "cpu", darktable: bool = True) -> RoundtripRow:
    """One RAW's round trip, its files in ``work``; ``darktable=False`` leaves darktable out."""
    jpeg, dng = work / f"{raw.stem}.jpg", work / f"{raw.stem}.restored.dng"
    write_render(raw, jpeg, JPEG_QUALITY)
    exif_copy = copy_exif(raw, jpeg)
    embed_file(raw, jpeg, device=device)
    t0 = time.perf_counter()
    restored = restore_file(jpeg, dng, device=device)
    seconds = time.perf_counter() - t0
    raw_psnr = metrics.psnr(restored.rgb, read_raw(raw).rgb)
    exif = check_exif(*read_tags([jpeg, dng])) if shutil.which("exiftool") else None
    libraw = judge(LibRaw(restored.payload.camera.white_balance), raw, dng)
    cells, note, highlights = None, "darktable is not run", ""
    wb: tuple[tuple[float, ...] | None, tuple[float, ...] | None] = (None, None)
    same_wb = None
    if darktable:
        developer = Darktable()
        try:
            cells, note = judge(developer, raw, dng), ""
        except RawReadError as exc:
            note = f"cannot render the original: {exc}"
        else:
            highlights, wb = developer.highlights(raw), (developer.white_balance(raw), developer.white_balance(dng))
            if wb[1] is not None and white_balances_differ(wb):
                try:  # the same developer with the same settings: the DNG's white balance for the original too
                    same_wb = judge(developer.at_white_balance(raw, wb[1]), raw, dng)
                except RawReadError as exc:
                    note = f"cannot render the original at the DNG's white balance: {exc}"
    return RoundtripRow(raw.name, seconds, raw_psnr, dng.stat().st_size / raw.stat().st_size, exif, exif_copy,
                        libraw, cells, note, highlights, wb, same_wb)


def _meets(cell: Fidelity, floor: float) -> bool:
    return cell.dng is not None and cell.dng.same_frame and cell.dng.psnr >= floor


def missed_targets(row: RoundtripRow) -> list[str]:
    """The issue's targets ``row`` misses, briefly; darktable's judged as :func:`judged` says."""
    missed = []
    for name, cells, floor in judged(row):
        if not _meets(cells[EDITS[0].label], floor):
            missed.append(f"{name} same frame and >= {floor:g} dB")
        for edit in EDITS[1:]:
            cell = cells[edit.label]
            if not (cell.edit_applied and cell.dng is not None
                    and cell.dng.psnr >= cell.jpeg_psnr + TARGET_EDIT_MARGIN_DB):
                missed.append(f"{name} {edit.label} >= JPEG + {TARGET_EDIT_MARGIN_DB:g} dB")
    if row.size_ratio > TARGET_SIZE_RATIO:
        missed.append(f"size <= {TARGET_SIZE_RATIO:g}x")
    if row.exif is None or row.exif.lost or row.exif.changed:
        missed.append("all EXIF kept")
    return missed


def run(raws: Iterable[Path], device: str = "cpu", darktable: bool = True,
        log: Callable[[str], None] = print) -> tuple[list[RoundtripRow], list[str]]:
    """:func:`bench_file` for each RAW; RAWs rawmeta cannot take are listed as skipped, with why."""
    rows, skipped = [], []
    for raw in raws:
        with tempfile.TemporaryDirectory() as tmp:
            try:
                row = bench_file(raw, Path(tmp), device, darktable)
            except RawmetaError as exc:
                skipped.append(f"{raw.name}: {exc}")
                log(f"skipped {raw.name}: {exc}")
                continue
        rows.append(row)
        log(f"{row.name}: restore {row.seconds:.1f} s, {row.raw_psnr:.2f} dB raw-RGB, size {row.size_ratio:.2f}x; "
            + "; ".join(f"{name} " + ", ".join(_cell(c) for c in cells.values()) for name, cells, _ in judged(row))
            + (f"; darktable: {row.darktable_note}" if row.darktable_note else ""))
    return rows, skipped


def _cell(cell: Fidelity) -> str:
    """'DNG dB (JPEG dB)', † where the frames differ."""
    if not cell.edit_applied:
        return f"edit check failed (gain x{cell.gain:.2f})"
    if cell.dng is None:
        return f"DNG not rendered ({cell.jpeg_psnr:.2f})"
    mark = "" if cell.dng.same_frame else " †"
    return f"{cell.dng.psnr:.2f}{mark} ({cell.jpeg_psnr:.2f})"


def _developer_cells(cells: dict[str, Fidelity] | None, same_wb: dict[str, Fidelity] | None = None) -> list[str]:
    """The table cells of one developer, by edit; with ``same_wb`` its figures marked :data:`SAME_WB_MARK`, after
    the default figure as shot."""
    if cells is None:
        return ["original not rendered (below)", *["-"] * (len(EDITS) - 1)]
    if same_wb is None:
        return [_cell(cells[e.label]) for e in EDITS]
    marked = [f"{_cell(same_wb[e.label])} {SAME_WB_MARK}" for e in EDITS]
    return [f"{_cell(cells[EDITS[0].label])}; {marked[0]}", *marked[1:]]


def _size(shape: tuple[int, int]) -> str:
    return f"{shape[0]}x{shape[1]}"


def _notes(rows: list[RoundtripRow], darktable: bool) -> list[str]:
    """The lists under the table: frames, lost tags, edit gains, darktable's highlight reconstruction."""
    out = []
    for r in rows:
        for name, cells in (("LibRaw", r.libraw), ("darktable", r.darktable)):
            match = cells[EDITS[0].label].dng if cells else None
            if match is not None and not match.same_frame:
                out.append(f"- † `{r.name}`, {name}: frame {_size(match.original)} vs {_size(match.dng)} (HxW, "
                           f"original vs DNG); PSNR over the best-aligned overlap (DNG offset dy, dx = "
                           f"{match.offset[0]}, {match.offset[1]}).")
        if r.exif is not None and (r.exif.lost or r.exif.changed):
            out.append(f"- `{r.name}`: EXIF lost: " + ", ".join([*r.exif.lost, *(f"{t} (changed)" for t in
                                                                                 r.exif.changed)]) + ".")
        if r.exif_copy:
            out.append(f"- `{r.name}`: the RAW's EXIF was not copied into the JPEG ({r.exif_copy}).")
        for name, cells, _ in judged(r):
            for e in EDITS:
                if cells[e.label].dng is None and cells[e.label].edit_applied:
                    out.append(f"- `{r.name}`, {name} {e.label}: the DNG did not render: "
                               f"{cells[e.label].failure.rstrip('.')}.")
        if darktable and r.darktable_note:
            out.append(f"- `{r.name}`, darktable: {r.darktable_note.rstrip('.')}.")
        original, restored = r.darktable_wb
        if original and restored and white_balances_differ(r.darktable_wb):
            out.append(f"- {SAME_WB_MARK + ' ' if r.darktable_same_wb else ''}`{r.name}`, darktable: its default "
                       f"white balance differs, original ({', '.join(f'{v:.2f}' for v in original)}) vs DNG "
                       f"({', '.join(f'{v:.2f}' for v in restored)}) (white balance module coefficients R, G, B; the "
                       "DNG's come from its AsShotNeutral)"
                       + (f", so every edit is judged at the DNG's white balance ({SAME_WB_MARK}), and so are "
                          "darktable's targets; the first figure as shot is at darktable's defaults"
                          if r.darktable_same_wb else "") + ".")
    gains = [f"`{r.name}` " + ", ".join(f"{name} " + " / ".join(f"x{cells[e.label].gain:.2f}" for e in EDITS[1:])
                                       for name, cells, _ in judged(r))
             for r in rows]
    out.append("- Edit check, median linear-luminance gain of the original's " + " / ".join(e.label for e in EDITS[1:])
               + f" render over its as-shot render where that is {GAIN_RANGE[0]:g} to {GAIN_RANGE[1]:g}: "
               + "; ".join(gains) + ".")
    if darktable:
        modes: dict[str, list[str]] = {}
        for r in rows:
            if r.highlights:
                modes.setdefault(r.highlights, []).append(f"`{r.name}`")
        if modes:
            out.append("- darktable's highlight reconstruction in the default history of each original it rendered: "
                       + "; ".join(f"{mode} ({', '.join(names)})" for mode, names in modes.items()) + ".")
    return out


def _tool_version(args: list[str]) -> str:
    """The first line a tool prints about its version, or "" if it is missing."""
    if shutil.which(args[0]) is None:
        return ""
    proc = subprocess.run(args, capture_output=True, text=True, check=False)
    return (proc.stdout.strip().splitlines() or [""])[0]


def _method(device: str, darktable: bool) -> list[str]:
    """The paragraphs saying how the section measures (settings only, from this module's constants)."""
    plus, minus = EDITS[1], EDITS[2]
    exiftool = _tool_version(["exiftool", "-ver"])
    copy = ("the RAW's EXIF and XMP are copied in by `exiftool -q -q -overwrite_original -TagsFromFile RAW "
            f'"-exif:all<all" "-xmp:all<xmp:all" -ThumbnailImage= -PreviewImage= JPEG` (ExifTool {exiftool})'
            if exiftool else "exiftool is not installed, so no EXIF is copied into the JPEG and none is checked")
    pipeline = (
        "Each RAW is rendered by LibRaw (`render_srgb`: camera white balance, auto-brightness, 8 bits, the raw-RGB "
        f"pixel grid) and saved by Pillow at quality {JPEG_QUALITY}; {copy}. The JPEG is embedded with the defaults "
        "(`embed_file`) and restored by `restore_file(JPEG, DNG)` (fast preset, default DNG layout, device "
        f"{device}); seconds are that call's wall time, reading the JPEG and writing the DNG included. raw-RGB PSNR "
        "is the restore's raw-RGB against LibRaw's raw-RGB of the RAW (whole image, peak 1). Size is the DNG's bytes "
        f"over the RAW file's. EXIF kept: of {', '.join(EXIF_TAGS)} as `exiftool -j -n` reads them, the tags the "
        "JPEG has that the DNG has with the same value.")
    cells = (
        "Render cells are 'DNG dB (JPEG dB)': the sRGB PSNR (8 bits, peak 255, every pixel and channel) of the "
        "developer's render of the DNG against its render of the original RAW with the same settings, and in "
        "brackets the same for the JPEG itself edited in sRGB: the developer's as-shot render of the original saved "
        f"at quality {JPEG_QUALITY}, as it is for '{EDITS[0].label}'; for an edit that JPEG linearised by the "
        f"developer's transfer curve, multiplied by {plus.gain:g} ({plus.label}) or {minus.gain:g} ({minus.label}), "
        f"clipped, re-encoded to 8 bits and saved at quality {JPEG_QUALITY} again. Renders are made at 16 bits and "
        "rounded to 8. An edit counts only if the original's edited render is within "
        f"{GAIN_TOLERANCE_EV:g} stop of the edit's gain in linear luminance (measured, list below); otherwise its "
        "cell says 'edit check failed'. Renders of different sizes (†) are compared over their best-aligned overlap "
        f"(integer offset by correlation of high-passed luminance, up to {MAX_OFFSET} px beyond the sizes' "
        "difference).")
    libraw = (
        "LibRaw (rawpy `postprocess`): `user_wb=[R, G, B, G]` with the payload's as-shot white balance (the one the "
        "DNG carries) for both files, `no_auto_bright=True, output_bps=16, user_flip=0`; "
        f"{plus.label} adds `exp_shift={plus.gain:g}` (highlight_mode Clip), {minus.label} "
        f"`exp_shift={minus.gain:g}, highlight_mode=rawpy.HighlightMode.Blend` and `bright` = largest over smallest "
        "white-balance multiplier (LibRaw's highlight modes other than clip scale to the largest multiplier, which "
        "darkens the render by that ratio; `bright` gives it back). Transfer curve: LibRaw's default gamma "
        f"({LIBRAW_GAMMA.power:g}, toe slope {LIBRAW_GAMMA.slope:g}). LibRaw's as-shot render with these settings "
        "is not the embedded JPEG (camera white balance, auto-brightness), so the bracketed JPEG is that render "
        f"saved at quality {JPEG_QUALITY}.")
    if darktable:
        version = _tool_version(["darktable-cli", "--version"]).removeprefix("this is ")
        dt = (
            f"darktable ({version}): `darktable-cli SRC [EDIT.xmp] OUT.tif --core --configdir TMP --cachedir TMP "
            "--library :memory: --conf plugins/imageio/format/tiff/bpp=16` with a fresh configuration (darktable's "
            "defaults for the file); sRGB transfer curve. An edit is the history darktable wrote into the XMP of "
            "the file's own as-shot export (each file its own: the DNG's from the DNG's export) with the exposure "
            f"module's exposure shifted by the edit's stops (`dt_iop_exposure_params_t` version {EXPOSURE_VERSION}: "
            "int32 mode, float black, float exposure, ...), passed as the sidecar; highlight reconstruction stays "
            "as the default history has it (list below). Where darktable's default white balance for the "
            "original differs from the DNG's (list below), the original is judged at the DNG's too, the same "
            "developer with the same settings: its default history with the white balance module's R, G, B "
            f"coefficients set to the DNG's (`dt_iop_temperature_params_t` version {TEMPERATURE_VERSION}) and, for "
            f"an edit, the exposure shifted as above; those figures are marked {SAME_WB_MARK}, the JPEG in "
            "brackets being that as-shot render saved at quality "
            f"{JPEG_QUALITY}, and as shot the figure at darktable's defaults comes first.")
    else:
        dt = "darktable-cli is not installed, so darktable is left out."
    targets = (
        f"Targets: LibRaw {EDITS[0].label} >= {TARGET_LIBRAW_DB:g} dB; "
        + (f"darktable {EDITS[0].label} on the same frame and >= {TARGET_DARKTABLE_DB:g} dB; " if darktable else "")
        + f"at {plus.label} and {minus.label} the DNG at least {TARGET_EDIT_MARGIN_DB:g} dB above the edited JPEG, "
        f"in each developer; size <= {TARGET_SIZE_RATIO:g}x; every EXIF tag the JPEG has kept. 'targets missed' "
        "lists the ones a RAW misses (LibRaw's frame is required to match too)"
        + (f"; darktable's are judged on its {SAME_WB_MARK} figures where a row has them ('{SAME_WB_NAME}')"
           if darktable else "") + ".")
    return [pipeline, "", cells, "", f"{libraw} {dt}", "", targets]


def _row(r: RoundtripRow, darktable: bool) -> str:
    """One table row."""
    exif = f"{len(r.exif.kept)} / {r.exif.total}" if r.exif is not None else "not checked"
    cells = _developer_cells(r.libraw) + (_developer_cells(r.darktable, r.darktable_same_wb) if darktable else [])
    missed = missed_targets(r)
    return (f"| {r.name} | {r.seconds:.1f} | {r.raw_psnr:.2f} | {r.size_ratio:.2f}x | {exif} | " + " | ".join(cells)
            + f" | {'; '.join(missed) if missed else 'none'} |")


def markdown(rows: list[RoundtripRow], skipped: list[str], command: str, device: str, darktable: bool) -> str:
    """The roundtrip section of docs/BENCHMARKS.md."""
    developers = ["LibRaw", *(["darktable"] if darktable else [])]
    head = ["RAW", "restore s", "raw-RGB PSNR dB", "DNG / RAW size", "EXIF kept",
            *(f"{d} {e.label}" for d in developers for e in EDITS), "targets missed"]
    out = ["## Round trip: the restored DNG in LibRaw and darktable", "", machine_line(command), "",
           *_method(device, darktable), "",
           "| " + " | ".join(head) + " |", "|" + "---|" * len(head), *(_row(r, darktable) for r in rows),
           "", *_notes(rows, darktable), ""]
    if skipped:
        out += ["Skipped: " + "; ".join(skipped), ""]
    return "\n".join(out)


def section(bench: BenchRun) -> str:
    """The roundtrip section of ``rawmeta bench``."""
    device = bench.options.device
    darktable = shutil.which("darktable-cli") is not None
    rows, skipped = run(bench.raws, device, darktable, log=bench.log)
    command = "rawmeta bench --section roundtrip" + (f" --device {device}" if device != "auto" else "")
    return markdown(rows, skipped, command, device, darktable)
