"""Choosing a payload's settings to fit a size budget with the best restore (``embed --budget``).

What "best" means is ``EmbedOptions.objective``. For the error a developed
image shows (``"developed"``, the default) a plain grid is best: the densest
8-bit grid that fits (:func:`densest_grid`; refinement and a measured depth
did not lower that error, docs/RESTORE.md, "The developed objective"). For the
raw-RGB PSNR (``"raw"``) the planner below spends the budget where the
raw-RGB error is largest.

The writer has what the reader will not: the true raw-RGB. So the raw
objective's plan measures instead of guessing. Given a budget in percent of the JPEG's size (for
samples on the RAW's grid, of the JPEG's size times the RAW's pixels per
JPEG pixel: the budget counts the pixels restored, :attr:`PairFacts.pixels_per_jpeg_pixel`;
but the JPEG grows by at most ``EmbedOptions.max_growth`` percent,
:func:`growth_percent`):

1. **Bit depth.** A quick restore of every ``PROBE_STEP``-th row and column
   of a few patches from near-exact samples estimates the restore's PSNR;
   the depth is the smallest whose quantization noise lies
   ``QUANT_MARGIN_DB`` below it (more bits would buy nothing,
   docs/BENCHMARKS.md).
2. **Base grid.** The densest stride of ``BASE_STRIDES`` whose payload fits
   ``BASE_SHARE`` of the budget (fewer bits only if even the sparsest does
   not). Grids denser than 8 gain little for their bytes, and bytes left
   to refinement buy more than a denser base (docs/CONSTANTS.md).
3. **The restore the reader will run**, on exactly the samples it will
   decode, but predicted only where the plan looks (``block_restore``): a
   regular sample of the blocks, which estimates the whole image's error,
   and the blocks likeliest to be bad; the highlight interpolation
   (``highlights``) is kept if it makes the estimate better (a flag in the
   payload).
4. **Refinement.** The rest of the budget buys refinement blocks
   (``refinement``): among the blocks with the largest error (found by
   spreading from the bad blocks predicted, ``POOL_SHARE`` times as many
   as get refined), the error after each level's correction is computed
   exactly, and increments of level are taken greedily by error removed
   per estimated byte (the code length of the samples' prediction
   residuals, calibrated on the base grid), on each block's upper convex
   hull, until the budget is spent. The packed size is then checked, and
   the choice bisected until it fits.
5. **Expected PSNR.** The final restore's estimated PSNR: exact on the
   predicted blocks, the sample's error per pixel for the others. The
   payload records it.
"""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from rawmeta import metrics
from rawmeta.embed.block_restore import BlockRestore, candidate_errors, per_candidate
from rawmeta.embed.options import EmbedOptions
from rawmeta.errors import BudgetError
from rawmeta.format import container, prediction, refinement
from rawmeta.format import payload as pl
from rawmeta.format.alignment import Alignment
from rawmeta.format.camera import CameraFacts
from rawmeta.format.fingerprint import Fingerprint, fingerprint
from rawmeta.format.grid import DEFAULT_STRIDE, Grid
from rawmeta.format.refinement import BLOCK, Refinement, block_pixels
from rawmeta.format.sample_coding import dequantize, quantization_psnr, quantize
from rawmeta.progress import Progress, part, report, stage
from rawmeta.restore.patches import DEFAULT_PATCH, PatchGrid, restorable

BASE_STRIDES = (8, 10, 12, 16, 20, 24, 32)
#: Strides of the developed objective's grid, densest first (docs/RESTORE.md: denser grids still lower the
#: developed error a little, sparser ones raise it quickly).
GRID_STRIDES = (4, 5, 6, 7, 8, 9, 10, 11, 12, 14, 16, 20, 24, 32)
#: Sample depth of the developed objective's grid: 7 bits raise the developed error, 10 barely lower it for
#: their bytes (docs/RESTORE.md).
GRID_BITS = 8
MIN_BITS, MAX_BITS = 4, 12
#: Quantization noise is kept this far (dB) below the estimated restore error.
QUANT_MARGIN_DB = 5.0
#: Patches restored to estimate the restore's PSNR before choosing the bit depth.
PROBE_PATCHES = 12
#: The probe predicts every PROBE_STEP-th row and column of its patches (odd: every cell position).
PROBE_STEP = 3
#: Share of the budget the base grid may take when it can; the rest is left to refinement, which buys
#: more per byte where the error is than a denser base does everywhere (docs/CONSTANTS.md).
BASE_SHARE = 0.35
#: Refinement candidates are the worst blocks, at least POOL_SHARE times as many as are refined, and at
#: first 1 / POOL_SHARE of the blocks the room could refine at level 1 (docs/CONSTANTS.md).
POOL_SHARE = 3
#: Packings tried while fitting the refinement to the budget (a bisection).
_FIT_TRIES = 8
#: Ends of a plan's stages in its progress, near their shares of the time (docs/ARCHIVE.md, "Progress"):
#: measuring the sample depth, restoring the blocks the plan looks at, seeking the worst blocks; refining
#: takes the rest.
PROBE_END, RESTORE_END, SEEK_END = 0.17, 0.4, 0.6
#: ... in measuring, the networks' fit ends here, their prediction here (the highlights take the rest) ...
PROBE_FIT_END, PROBE_PREDICT_END = 0.5, 0.65
#: ... and in refining, choosing the candidate blocks ends here (the tries of their bytes take the rest).
CANDIDATES_END = 0.9
#: ... of which each doubling's seek of worst blocks takes this share (its refinement options the rest).
ROUND_SEEK_SHARE = 0.8


@dataclass(frozen=True)
class Base:
    grid: Grid
    bits: int
    samples: np.ndarray  # quantized, (rows, cols, 3)


def budget_bytes(percent: float, jpeg_bytes: float) -> int:
    """Added bytes allowed by a budget of ``percent`` of a JPEG of ``jpeg_bytes``."""
    return int(percent / 100 * jpeg_bytes)


@dataclass(frozen=True)
class Pixels:
    """A JPEG's decoded pixels ``jpeg`` as every payload of them packs them, computed once: their
    fingerprint, and the pixels on the samples' grid that the samples are predicted from (``srgb``: the
    JPEG's own, or carried onto the RAW's grid, :meth:`rawmeta.format.payload.Payload.coding_pixels`)."""

    jpeg: np.ndarray
    fingerprint: Fingerprint
    srgb: np.ndarray

    @classmethod
    def of(cls, srgb: np.ndarray, raw_grid: Alignment | None = None) -> Pixels:
        """Pixels of ``srgb`` for payloads on the JPEG's grid, or on the RAW's grid ``srgb`` is mapped into
        by ``raw_grid``."""
        coding = srgb if raw_grid is None else prediction.nearest_on_raw_grid(srgb, raw_grid)
        return cls(srgb, fingerprint(srgb), coding)


def added_bytes(payload: pl.Payload, pixels: Pixels) -> int:
    """Bytes a payload adds to its JPEG, segment headers included."""
    n = len(pl.pack(payload, pixels.jpeg, pixels.fingerprint, pixels.srgb))
    return container.carried_bytes(n, -(-n // container.CHUNK_BYTES))


def probe_psnr(rgb: np.ndarray, srgb: np.ndarray, stride: int, device: str, enlarged: bool = False,
               progress: Progress | None = None) -> float:
    """Fast-preset PSNR on up to ``PROBE_PATCHES`` patches spread over the image, from 16-bit samples.

    Only every ``PROBE_STEP``-th row and column of those patches is predicted (every cell position
    among them), and only pixels whose sRGB is below the clipping threshold count: the base grid serves
    those, and clipped areas (where the error is largest, and quantization matters least) are left to
    refinement. ``progress`` is told of the networks' fit, of the prediction, then of the end.
    """
    # the restore (and torch) is imported where a restore runs, so that planning's module loads without it
    from rawmeta.restore import highlights
    from rawmeta.restore.fast import FastModel
    from rawmeta.restore.patchwise import patch_job

    h, w = rgb.shape[:2]
    grid = Grid.centred(h, w, stride)
    layout = PatchGrid.for_image(h, w, DEFAULT_PATCH)
    every = list(layout)
    chosen = [every[k] for k in np.linspace(0, len(every) - 1, min(PROBE_PATCHES, len(every))).round().astype(int)]
    job = patch_job(srgb, dequantize(quantize(grid.sample(rgb), 16), 16), grid, patches=chosen, device=device,
                    enlarged=enlarged, objective="raw")
    where = np.zeros((h, w), bool)
    for ij in chosen:
        y0, y1, x0, x1 = layout.box(*ij)
        where[y0:y1:PROBE_STEP, x0:x1:PROBE_STEP] = True
    rows, cols = np.nonzero(where)
    out = np.full((h, w, 3), np.nan, np.float32)
    out[rows, cols] = FastModel.fitted(job, part(progress, 0.0, PROBE_FIT_END)).predict(
        rows, cols, part(progress, PROBE_FIT_END, PROBE_PREDICT_END))
    highlights.refine(out, job, where)
    report(progress, 1, 1)
    bulk = where & ~metrics.clipped_mask(srgb)
    return metrics.psnr(out, rgb, mask=bulk if bulk.any() else where)


def bits_for(psnr: float) -> int:
    """Smallest depth whose quantization noise is ``QUANT_MARGIN_DB`` below a restore of ``psnr`` dB."""
    for bits in range(MIN_BITS, MAX_BITS + 1):
        if quantization_psnr(bits) >= psnr + QUANT_MARGIN_DB:
            return bits
    return MAX_BITS


def _base(rgb: np.ndarray, stride: int, bits: int) -> Base:
    h, w = rgb.shape[:2]
    grid = Grid.centred(h, w, stride)
    return Base(grid, bits, quantize(grid.sample(rgb), bits))


def choose_base(rgb: np.ndarray, pixels: Pixels, make, limit: int | None, stride: int | None, bits: int,
                bits_fixed: bool = False) -> Base:
    """The densest base grid (or ``stride``) whose payload ``make(base)`` fits ``limit`` bytes.

    Fewer bits are tried only if no stride fits and ``bits_fixed`` is false.
    Raises BudgetError if nothing fits.
    """
    h, w = rgb.shape[:2]
    strides = [s for s in ((stride,) if stride is not None else BASE_STRIDES)
               if h > s // 2 and w > s // 2 and (s == stride or restorable(Grid.centred(h, w, s)))]
    depths = (bits,) if bits_fixed or limit is None else range(bits, MIN_BITS - 1, -1)
    for b in depths:
        for s in strides:
            base = _base(rgb, s, b)
            if limit is None or added_bytes(make(base), pixels) <= limit:
                return base
    s, b = strides[-1], depths[-1]
    smallest = added_bytes(make(_base(rgb, s, b)), pixels)
    raise BudgetError(f"no payload fits {limit} bytes; the smallest (stride {s}, {b}-bit) adds {smallest} bytes: "
                      f"give a larger --budget")


def code_bits(q: np.ndarray, p: np.ndarray) -> np.ndarray:
    """A rough code length (bits) per sample of filter 2: ``log2(1 + z) + 1`` per zigzagged residual ``z``."""
    z = 2 * np.abs(q.astype(np.int64) - p)
    return (np.log2(1 + z) + 1).sum(axis=1)


@dataclass(frozen=True)
class CostModel:
    """Estimated coded bytes of samples: their residuals' code length, calibrated on the base grid's real size.

    The local means are gathered from the JPEG's pixels ``srgb`` at the samples asked for: an image of
    precomputed 3 x 3 sums would gather faster, but at the planner's peak of memory (144 MB at 24 MP).
    """

    srgb: np.ndarray
    coef: np.ndarray
    bytes_per_bit: float

    @classmethod
    def calibrated(cls, srgb: np.ndarray, plain: pl.Payload, coded_bytes: int) -> CostModel:
        """Calibrated on a payload's grid samples, which take ``coded_bytes``."""
        terms = prediction.features(prediction.local_means(srgb, *plain.grid.positions()))
        q = plain.samples.reshape(-1, 3)
        coef = prediction.fit(terms, q, plain.bits)
        bits = code_bits(q, prediction.predict(terms, coef, plain.bits)).sum()
        return cls(srgb, coef, coded_bytes / bits)

    def bytes(self, q: np.ndarray, rows: np.ndarray, cols: np.ndarray, depths: np.ndarray) -> np.ndarray:
        """Estimated bytes of each sample ``q`` (N, 3) at (rows, cols) of depth ``depths`` (N, 1)."""
        terms = prediction.features(prediction.local_means(self.srgb, rows, cols))
        return self.bytes_per_bit * code_bits(q, prediction.predict(terms, self.coef, depths))


def level_effects(pred: np.ndarray, rgb: np.ndarray, candidates: tuple[np.ndarray, np.ndarray], level: int,
                  template: Refinement, cost: CostModel) -> tuple[np.ndarray, np.ndarray]:
    """Squared error and estimated bytes of each candidate block if all of them were refined at ``level``."""
    h, w = rgb.shape[:2]
    levels = np.zeros_like(template.levels)
    levels[candidates] = level
    ref = template.with_levels(levels)
    rows, cols = ref.positions(h, w)
    depths = ref.depth_at(rows, cols)[:, None]
    q = quantize(rgb[rows, cols], depths)
    errors = corrected_errors(pred, rgb, ref, candidates, dequantize(q, depths))
    spent = per_candidate(cost.bytes(q, rows, cols, depths), rows, cols, candidates, template.block, levels.shape)
    return errors, spent


def corrected_errors(pred: np.ndarray, rgb: np.ndarray, ref: Refinement, candidates: tuple[np.ndarray, np.ndarray],
                     values: np.ndarray) -> np.ndarray:
    """Squared error of each ``candidates`` block once ``ref``'s samples ``values`` (its positions' order)
    correct ``pred``; every refined block must be a candidate.

    ``pred`` is corrected in place and given back as it was: the candidates are a small part of the image,
    and a copy of the whole would cost more than the correction.
    """
    h, w = rgb.shape[:2]
    rows, cols = ref.positions(h, w)
    touched = block_pixels(*candidates, ref.block, h, w)
    kept = pred[touched].copy()
    try:
        refinement.apply(pred, ref, rows, cols, values)
        return candidate_errors(pred, rgb, candidates, ref.block)
    finally:
        pred[touched] = kept


def hull_increments(gains: np.ndarray, costs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each block's level increments along the upper convex hull of (cost, gain).

    ``gains`` and ``costs`` are (K, L + 1) with column 0 (level 0) zero.
    Returns (block, level reached, gain per cost, cost) of every increment;
    along a block's hull the gain per cost falls, so taking increments in
    order of falling gain per cost never skips one of a block's earlier
    increments.
    """
    k, n = gains.shape
    current = np.zeros(k, int)
    out = []
    idx = np.arange(k)
    for _ in range(n - 1):
        dg = gains - gains[idx, current][:, None]
        dc = costs - costs[idx, current][:, None]
        ratio = np.where((np.arange(n)[None] > current[:, None]) & (dc > 0), dg / np.where(dc > 0, dc, 1), -np.inf)
        best = ratio.argmax(axis=1)
        step = ratio[idx, best] > 0
        out.append((idx[step], best[step], ratio[idx, best][step], dc[idx, best][step]))
        current = np.where(step, best, current)
    blocks, levels, ratios, step_costs = (np.concatenate(parts) for parts in zip(*out))
    return blocks, levels, ratios, step_costs


@dataclass(frozen=True)
class RefinementOptions:
    """Level increments of candidate blocks, most error removed per byte first."""

    template: Refinement
    candidates: tuple[np.ndarray, np.ndarray]  # block rows and columns
    blocks: np.ndarray  # candidate index of each increment, in order
    levels: np.ndarray  # level it reaches
    cumulative_bytes: np.ndarray  # estimated bytes to take it and all before it

    def select(self, size: float) -> Refinement:
        """The refinement that takes every increment that fits in ``size`` estimated bytes."""
        taken = self.cumulative_bytes <= size
        reached = np.zeros(len(self.candidates[0]), np.uint8)
        np.maximum.at(reached, self.blocks[taken], self.levels[taken].astype(np.uint8))
        levels = np.zeros_like(self.template.levels)
        levels[self.candidates] = reached
        return self.template.with_levels(levels)


def refinement_options(restored: BlockRestore, rgb: np.ndarray, template: Refinement, cost: CostModel,
                       candidates: tuple[np.ndarray, np.ndarray]) -> RefinementOptions:
    """The increments of refinement of the ``candidates`` blocks (predicted in ``restored``): their error at
    each level is computed exactly, their bytes estimated by ``cost``."""
    e0 = restored.error[candidates]
    effects = [level_effects(restored.pred, rgb, candidates, level, template, cost)
               for level in range(1, len(template.strides) + 1)]
    gains = np.stack([np.zeros_like(e0)] + [e0 - err for err, _ in effects], axis=1)
    costs = np.stack([np.zeros_like(e0)] + [spent for _, spent in effects], axis=1)
    blocks, levels, ratios, step_costs = hull_increments(gains, costs)
    order = np.lexsort((levels, -ratios))
    return RefinementOptions(template, candidates, blocks[order], levels[order], np.cumsum(step_costs[order]))


@dataclass(frozen=True)
class PairFacts:
    """What a payload records about its RAW and JPEG besides the samples.

    Attributes
    ----------
    camera : CameraFacts
    image_hash : bytes
        SHA-256 of the JPEG's image data.
    jpeg_bytes : int
        The JPEG's size without rawmeta's segments: what the budget is a percentage of.
    alignment : Alignment, optional
        Where the JPEG's grid lies in the RAW.
    jpeg_size : (int, int), optional
        The JPEG's (height, width) when the samples are taken on the RAW's own grid (the raw-RGB is the
        RAW's); None when the raw-RGB is already on the JPEG's grid.
    """

    camera: CameraFacts
    image_hash: bytes
    jpeg_bytes: int
    alignment: Alignment | None = None
    jpeg_size: tuple[int, int] | None = None

    @property
    def pixels_per_jpeg_pixel(self) -> float:
        """What a budget counts beyond the JPEG's bytes: the raw-RGB pixels per JPEG pixel when the samples
        are on the RAW's grid, else 1 (a JPEG much smaller than the RAW would otherwise leave too few
        samples for the pixels the restore gives back)."""
        return pl.pixels_per_jpeg_pixel(self.alignment, self.jpeg_size)


def growth_percent(budget: float, pixels_per_jpeg_pixel: float, max_growth: float | None) -> float:
    """Percent of the JPEG's own size a payload may add: ``budget`` counted on the samples' grid's pixels
    (``pixels_per_jpeg_pixel`` of them per JPEG pixel), but at most the larger of ``max_growth`` and
    ``budget`` (so the cap never lowers a budget on the JPEG's own grid).

    Examples
    --------
    >>> growth_percent(5.0, 12.8, 20.0)  # a 640 x 480 JPEG of a 4 MP RAW
    20.0
    >>> growth_percent(5.0, 1.0, 20.0)
    5.0
    """
    asked = budget * pixels_per_jpeg_pixel
    return asked if max_growth is None else min(asked, max(max_growth, budget))


def plan(rgb: np.ndarray, srgb: np.ndarray, pair: PairFacts, options: EmbedOptions,
         progress: Progress | None = None) -> pl.Payload:
    """The payload for raw-RGB ``rgb`` and its JPEG's decoded pixels ``srgb``.

    ``rgb`` is on the JPEG's grid, or the RAW's own when ``pair.jpeg_size`` is set; the restores
    measured then learn from the JPEG enlarged onto it (:func:`rawmeta.restore.guide.enlarged_on_raw_grid`).

    Parameters
    ----------
    pair : PairFacts
        What the payload records about the RAW and the JPEG.
    options : EmbedOptions
        The objective (``"developed"``: the densest grid of 8-bit samples that
        fits, :func:`densest_grid`; ``"raw"``: the plan above), the budget
        (None: the base grid only, as ``stride`` and ``bits`` say, default 8
        and 8 bits, or with the raw objective the measured depth; nothing is
        restored), a fixed stride or depth, the device of the measuring restores (the raw objective's; the
        developed objective restores nothing and does not import torch).
    progress : callable, optional
        ``progress(done, total)`` as the work goes on.

    Raises
    ------
    BudgetError
        If no payload fits the budget.
    """
    from rawmeta.restore.guide import enlarged_on_raw_grid

    budget, stride, bits, device = options.budget, options.stride, options.bits, options.device

    def make(base: Base, **extra) -> pl.Payload:
        return pl.Payload(grid=base.grid, bits=base.bits, samples=base.samples, camera=pair.camera,
                          image_hash=pair.image_hash, budget=budget or 0.0, alignment=pair.alignment,
                          jpeg_size=pair.jpeg_size, peak=peak, **extra)

    if options.objective == "raw":  # only its restores run on the device; the developed objective restores nothing
        from rawmeta.restore.engine import resolve_device

        resolve_device(device)
    peak = float(np.clip(rgb.max(), 0.0, 1.0))
    pixels = Pixels.of(srgb, None if pair.jpeg_size is None else pair.alignment)
    fixed = pl.fingerprint_bytes(*srgb.shape[:2])  # a cost of every payload, not of its samples
    enlarged = pair.jpeg_size is not None
    if enlarged and options.objective == "raw":  # only the raw objective's restores learn from the enlarged JPEG
        srgb = enlarged_on_raw_grid(srgb, pair.alignment)
    bits_fixed = bits is not None
    if bits is None and options.objective == "developed":
        bits = GRID_BITS
    elif bits is None:
        stage(progress, "measuring")
        bits = bits_for(probe_psnr(rgb, srgb, stride or DEFAULT_STRIDE, device, enlarged,
                                   part(progress, 0.0, PROBE_END)))
    if budget is None:
        return make(choose_base(rgb, pixels, make, None, stride or DEFAULT_STRIDE, bits))
    growth = growth_percent(budget, pair.pixels_per_jpeg_pixel, options.max_growth)
    limit = budget_bytes(growth, pair.jpeg_bytes)
    if options.objective == "developed":
        with capped(growth < budget * pair.pixels_per_jpeg_pixel, growth):
            if stride is not None:
                return make(choose_base(rgb, pixels, make, limit, stride, bits, bits_fixed))
            return make(densest_grid(rgb, pixels, make, limit, bits, bits_fixed))
    with capped(growth < budget * pair.pixels_per_jpeg_pixel, growth):
        try:  # leave most of the budget to refinement when the base can do with less
            base = choose_base(rgb, pixels, make, fixed + int((limit - fixed) * BASE_SHARE), stride, bits, bits_fixed)
        except BudgetError:
            base = choose_base(rgb, pixels, make, limit, stride, bits, bits_fixed)
    stage(progress, "restoring blocks")
    restored = BlockRestore(rgb, srgb, dequantize(base.samples, base.bits), base.grid, BLOCK, device, enlarged,
                            part(progress, PROBE_END, RESTORE_END))
    plain = make(base)
    base_size = added_bytes(plain, pixels)
    affordable = affordable_blocks(limit - base_size, base_size / base.grid.count,
                                   Refinement.empty(*rgb.shape[:2], base.bits))
    # the hint is chosen on the sample and the likeliest bad blocks (clipped ones first), before the spread
    stage(progress, "seeking worst blocks")
    restored.seek(max(affordable // POOL_SHARE, 1), spread=False, progress=part(progress, RESTORE_END, SEEK_END))
    plain = dataclasses.replace(plain, highlights=restored.choose_highlights())
    plain = dataclasses.replace(plain, expected_psnr=restored.psnr())
    stage(progress, "refining")
    return fit_refinement(plain, restored, rgb, pixels, limit, base_size, part(progress, SEEK_END, 1.0))


@contextmanager
def capped(by_growth: bool, growth: float) -> Iterator[None]:
    """Adds to a BudgetError raised inside that ``--max-growth`` may be what left too little, when ``by_growth``
    (the cap of ``growth`` percent, not the budget, set the limit)."""
    try:
        yield
    except BudgetError as exc:
        if by_growth:
            raise BudgetError(f"{exc} (or --max-growth: the JPEG may grow by {growth:g} % now)") from None
        raise


def densest_grid(rgb: np.ndarray, pixels: Pixels, make, limit: int, bits: int, bits_fixed: bool = False) -> Base:
    """The densest grid of :data:`GRID_STRIDES` whose payload ``make(base)`` of ``bits``-bit samples fits ``limit``
    added bytes (the developed objective's plan).

    A payload's bytes are modelled once per image as a part per sample, from
    one packing at ``DEFAULT_STRIDE``, above the fingerprint's fixed part; the
    model's stride is packed, then its neighbours only as far as the packed size
    says (two or three packings in all, where trying the strides in turn took
    up to five). If not even the sparsest fits, :func:`choose_base` tries fewer
    bits unless ``bits_fixed``, or raises BudgetError.
    """
    h, w = rgb.shape[:2]
    strides = [s for s in GRID_STRIDES if h > s // 2 and w > s // 2 and restorable(Grid.centred(h, w, s))]
    if not strides:  # too small for any: choose_base says so
        return choose_base(rgb, pixels, make, limit, GRID_STRIDES[-1], bits, bits_fixed)
    packed: dict[int, tuple[Base, int]] = {}

    def fits(k: int) -> bool:
        s = strides[k]
        if s not in packed:
            base = _base(rgb, s, bits)
            packed[s] = base, added_bytes(make(base), pixels)
        return packed[s][1] <= limit

    calibration = strides.index(DEFAULT_STRIDE) if DEFAULT_STRIDE in strides else len(strides) - 1
    fits(calibration)
    fixed = pl.fingerprint_bytes(*pixels.jpeg.shape[:2])
    base, size = packed[strides[calibration]]
    per_sample = (size - fixed) / base.grid.count
    k = next((k for k, s in enumerate(strides) if fixed + per_sample * Grid.centred(h, w, s).count <= limit),
             len(strides) - 1)
    while k < len(strides) - 1 and not fits(k):
        k += 1
    while k > 0 and fits(k - 1):
        k -= 1
    if fits(k):
        return packed[strides[k]][0]
    return choose_base(rgb, pixels, make, limit, strides[-1], bits, bits_fixed)


def affordable_blocks(room: float, bytes_per_sample: float, template: Refinement) -> int:
    """Blocks that ``room`` bytes could refine at level 1 if their samples cost ``bytes_per_sample`` each."""
    per_block = bytes_per_sample * (template.block // template.strides[0]) ** 2
    return min(template.levels.size, int(max(room, 0) // per_block))


def choose_candidates(restored: BlockRestore, rgb: np.ndarray, template: Refinement, cost: CostModel, room: float,
                      affordable: int, progress: Progress | None = None) -> RefinementOptions:
    """Refinement options over the worst blocks, as many as ``POOL_SHARE`` times those the full ``room``
    refines (doubled until they are), at most ``affordable``; ``progress`` counts the doublings that may come,
    and the seek of each."""
    count = max(affordable // POOL_SHARE, 1)
    rounds = 1 + max(math.ceil(math.log2(max(affordable, 1) / count)), 0)  # the most it can take
    done = 0
    while True:
        candidates = np.nonzero(restored.seek(count, progress=part(progress, done / rounds, (done + ROUND_SEEK_SHARE) / rounds)))
        options = refinement_options(restored, rgb, template, cost, candidates)
        taken = len(np.unique(options.blocks[options.cumulative_bytes <= room]))
        if taken * POOL_SHARE <= count or count >= affordable:
            report(progress, 1, 1)
            return options
        done += 1
        report(progress, done, rounds)
        count = min(2 * count, affordable)


def fit_refinement(plain: pl.Payload, restored: BlockRestore, rgb: np.ndarray, pixels: Pixels,
                   limit: int, base_size: int, progress: Progress | None = None) -> pl.Payload:
    """``plain`` (a payload without refinement, restored as ``restored``, adding ``base_size`` bytes) with
    the refinement blocks that restore best within ``limit`` added bytes.

    The byte estimates are rough, so the whole room is tried first, then
    the amount taken is bisected, keeping the largest choice that fits.
    ``progress`` is told of the candidates' choice, then of each try.
    """
    h, w = rgb.shape[:2]
    room = limit - base_size
    template = Refinement.empty(h, w, plain.bits)
    cost = CostModel.calibrated(pixels.srgb, plain, base_size)
    options = choose_candidates(restored, rgb, template, cost, room,
                                affordable_blocks(room, base_size / plain.grid.count, template),
                                part(progress, 0.0, CANDIDATES_END))
    unrefined = restored.error
    best, low, high = plain, 0.0, room
    trying = part(progress, CANDIDATES_END, 1.0)
    for trial in range(_FIT_TRIES):
        report(trying, trial, _FIT_TRIES)
        allowed = room if trial == 0 else (low + high) / 2
        refine = options.select(allowed)
        if not refine.levels.any():
            low = allowed
            continue
        rows, cols = refine.positions(h, w)
        depths = refine.depth_at(rows, cols)[:, None]
        refined = quantize(rgb[rows, cols], depths)
        errors = unrefined.copy()
        errors[options.candidates] = corrected_errors(restored.pred, rgb, refine, options.candidates,
                                                      dequantize(refined, depths))
        candidate = dataclasses.replace(plain, refinement=refine, refined=refined,
                                        expected_psnr=restored.psnr(errors))
        if added_bytes(candidate, pixels) > limit:
            high = allowed
            continue
        best, low = candidate, allowed
        if trial == 0:
            break
    report(progress, 1, 1)
    return best
