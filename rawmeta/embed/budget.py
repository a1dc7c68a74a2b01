"""Choosing a payload's settings to fit a size budget with the best restore (``embed --budget``).

The writer has what the reader will not: the true raw-RGB. So it measures
instead of guessing. Given a budget in percent of the JPEG's size:

1. **Bit depth.** A quick restore of a few patches from near-exact samples
   estimates the restore's PSNR; the depth is the smallest whose
   quantization noise lies ``QUANT_MARGIN_DB`` below it (more bits would
   buy nothing, docs/BENCHMARKS.md).
2. **Base grid.** The densest stride of ``BASE_STRIDES`` whose payload fits
   ``BASE_SHARE`` of the budget (fewer bits only if even the sparsest does
   not). Grids denser than 8 gain little for their bytes, and bytes left
   to refinement buy more than a denser base (docs/CONSTANTS.md).
3. **The restore the reader will run**, on exactly the samples it will
   decode; with and without the highlight interpolation (``highlights``),
   keeping the better (a flag in the payload).
4. **Refinement.** The rest of the budget buys refinement blocks
   (``refinement``): for the blocks with the largest error, the error
   after each level's correction is computed exactly, and increments of
   level are taken greedily by error removed per estimated byte (the code
   length of the samples' prediction residuals, calibrated on the base
   grid), on each block's upper convex hull, until the budget is spent.
   The packed size is then checked, and the choice bisected until it fits.
5. **Expected PSNR.** The final restore's PSNR, which the payload records.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from rawmeta import metrics
from rawmeta.embed.options import EmbedOptions
from rawmeta.errors import UsageError
from rawmeta.format import container, prediction, refinement
from rawmeta.format import payload as pl
from rawmeta.format.alignment import Alignment
from rawmeta.format.camera import CameraFacts
from rawmeta.format.grid import DEFAULT_STRIDE, Grid
from rawmeta.format.refinement import Refinement, block_pixels
from rawmeta.format.sample_coding import dequantize, quantization_psnr, quantize
from rawmeta.progress import Progress, part
from rawmeta.restore.patches import DEFAULT_PATCH, PatchGrid

BASE_STRIDES = (8, 10, 12, 16, 20, 24, 32)
MIN_BITS, MAX_BITS = 4, 12
#: Quantization noise is kept this far (dB) below the estimated restore error.
QUANT_MARGIN_DB = 5.0
#: Patches restored to estimate the restore's PSNR before choosing the bit depth.
PROBE_PATCHES = 12
#: Share of the budget the base grid may take when it can; the rest is left to refinement, which buys
#: more per byte where the error is than a denser base does everywhere (docs/CONSTANTS.md).
BASE_SHARE = 0.35
#: Packings tried while fitting the refinement to the budget (a bisection).
_FIT_TRIES = 8


class BudgetError(UsageError):
    """A budget that no payload fits."""


@dataclass(frozen=True)
class Base:
    grid: Grid
    bits: int
    samples: np.ndarray  # quantized, (rows, cols, 3)


def budget_bytes(percent: float, jpeg_bytes: int) -> int:
    """Added bytes allowed by a budget of ``percent`` of a JPEG of ``jpeg_bytes``."""
    return int(percent / 100 * jpeg_bytes)


def added_bytes(payload: pl.Payload, srgb: np.ndarray) -> int:
    """Bytes a payload adds to its JPEG, segment headers included."""
    n = len(pl.pack(payload, srgb))
    return container.carried_bytes(n, -(-n // container.CHUNK_BYTES))


def probe_psnr(rgb: np.ndarray, srgb: np.ndarray, stride: int, device: str) -> float:
    """Fast-preset PSNR on up to ``PROBE_PATCHES`` patches spread over the image, from 16-bit samples.

    Only pixels whose sRGB is below the clipping threshold count: the base
    grid serves those, and clipped areas (where the error is largest, and
    quantization matters least) are left to refinement.
    """
    # reconstruct (and torch) is imported where a restore runs, so that planning's module loads without it
    from rawmeta.restore.patchwise import reconstruct

    h, w = rgb.shape[:2]
    grid = Grid.centred(h, w, stride)
    layout = PatchGrid.for_image(h, w, DEFAULT_PATCH)
    every = list(layout)
    chosen = [every[k] for k in np.linspace(0, len(every) - 1, min(PROBE_PATCHES, len(every))).round().astype(int)]
    values = dequantize(quantize(grid.sample(rgb), 16), 16)
    out = reconstruct(srgb, values, grid, patches=chosen, device=device)
    done = np.isfinite(out[..., 0])
    bulk = done & ~metrics.clipped_mask(srgb)
    return metrics.psnr(out, rgb, mask=bulk if bulk.any() else done)


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


def choose_base(rgb: np.ndarray, srgb: np.ndarray, make, limit: int | None, stride: int | None, bits: int,
                bits_fixed: bool = False) -> Base:
    """The densest base grid (or ``stride``) whose payload ``make(base)`` fits ``limit`` bytes.

    Fewer bits are tried only if no stride fits and ``bits_fixed`` is false.
    Raises BudgetError if nothing fits.
    """
    from rawmeta.restore.patchwise import restorable

    h, w = rgb.shape[:2]
    strides = [s for s in ((stride,) if stride is not None else BASE_STRIDES)
               if h > s // 2 and w > s // 2 and (s == stride or restorable(Grid.centred(h, w, s)))]
    depths = (bits,) if bits_fixed or limit is None else range(bits, MIN_BITS - 1, -1)
    for b in depths:
        for s in strides:
            base = _base(rgb, s, b)
            if limit is None or added_bytes(make(base), srgb) <= limit:
                return base
    s, b = strides[-1], depths[-1]
    smallest = added_bytes(make(_base(rgb, s, b)), srgb)
    raise BudgetError(f"no payload fits {limit} bytes; the smallest (stride {s}, {b}-bit) adds {smallest} bytes: "
                      f"give a larger --budget")


def block_errors(pred: np.ndarray, rgb: np.ndarray, block: int) -> np.ndarray:
    """Sum of squared errors per ``block`` x ``block`` block (blocks tile from (0, 0); edge blocks are cut)."""
    h, w = rgb.shape[:2]
    bh, bw = -(-h // block), -(-w // block)
    err = np.zeros((bh * block, bw * block), np.float64)
    err[:h, :w] = ((pred.astype(np.float64) - rgb) ** 2).sum(axis=-1)
    return err.reshape(bh, block, bw, block).sum(axis=(1, 3))


def code_bits(q: np.ndarray, p: np.ndarray) -> np.ndarray:
    """A rough code length (bits) per sample of filter 2: ``log2(1 + z) + 1`` per zigzagged residual ``z``."""
    z = 2 * np.abs(q.astype(np.int64) - p)
    return (np.log2(1 + z) + 1).sum(axis=1)


def candidate_errors(pred: np.ndarray, rgb: np.ndarray, candidates: tuple[np.ndarray, np.ndarray],
                     block: int) -> np.ndarray:
    """:func:`block_errors` of the ``candidates`` blocks only (block rows and columns), in their order."""
    h, w = rgb.shape[:2]
    rows, cols = block_pixels(*candidates, block, h, w)
    err = ((pred[rows, cols].astype(np.float64) - rgb[rows, cols]) ** 2).sum(axis=-1)
    return per_candidate(err, rows, cols, candidates, block, (-(-h // block), -(-w // block)))


def per_candidate(values: np.ndarray, rows: np.ndarray, cols: np.ndarray, candidates: tuple[np.ndarray, np.ndarray],
                  block: int, blocks: tuple[int, int]) -> np.ndarray:
    """``values`` of pixels (rows, cols) in the ``candidates`` blocks summed by candidate, in their order
    (``blocks``: the image's block rows and columns)."""
    index = np.full(blocks, -1)
    index[candidates] = np.arange(len(candidates[0]))
    return np.bincount(index[rows // block, cols // block], weights=values, minlength=len(candidates[0]))


@dataclass(frozen=True)
class CostModel:
    """Estimated coded bytes of samples: their residuals' code length, calibrated on the base grid's real size.

    ``sums`` holds the sums of each pixel's 3 x 3 sRGB neighbourhood (edge pixels repeated), so the local
    means of many samples are one gather, equal to :func:`rawmeta.format.prediction.local_means`'s.
    """

    sums: np.ndarray
    coef: np.ndarray
    bytes_per_bit: float

    @classmethod
    def calibrated(cls, srgb: np.ndarray, plain: pl.Payload, coded_bytes: int) -> CostModel:
        """Calibrated on a payload's grid samples, which take ``coded_bytes``."""
        terms = prediction.features(prediction.local_means(srgb, *plain.grid.positions()))
        q = plain.samples.reshape(-1, 3)
        coef = prediction.fit(terms, q, plain.bits)
        bits = code_bits(q, prediction.predict(terms, coef, plain.bits)).sum()
        return cls(neighbourhood_sums(srgb), coef, coded_bytes / bits)

    def bytes(self, q: np.ndarray, rows: np.ndarray, cols: np.ndarray, depths: np.ndarray) -> np.ndarray:
        """Estimated bytes of each sample ``q`` (N, 3) at (rows, cols) of depth ``depths`` (N, 1)."""
        terms = prediction.features(self.sums[rows, cols] / (9.0 * 255.0))
        return self.bytes_per_bit * code_bits(q, prediction.predict(terms, self.coef, depths))


def neighbourhood_sums(srgb: np.ndarray) -> np.ndarray:
    """The sum of each pixel's 3 x 3 neighbourhood of uint8 sRGB (edge pixels repeated), H x W x 3.

    uint16 holds the largest sum (9 x 255) in a quarter of int64's memory: at 24 MP the image of sums is
    144 MB.
    """
    padded = np.pad(srgb, ((1, 1), (1, 1), (0, 0)), mode="edge")
    rows = padded[:-2].astype(np.uint16)
    rows += padded[1:-1]
    rows += padded[2:]
    sums = rows[:, :-2].copy()
    sums += rows[:, 1:-1]
    sums += rows[:, 2:]
    return sums


def level_effects(pred: np.ndarray, rgb: np.ndarray, candidates: tuple[np.ndarray, np.ndarray], level: int,
                  template: Refinement, cost: CostModel) -> tuple[np.ndarray, np.ndarray]:
    """Squared error and estimated bytes of each candidate block if all of them were refined at ``level``.

    ``pred`` is corrected in place and given back as it was: the candidates are a small part of the image,
    and a copy of the whole would cost more than the correction.
    """
    h, w = rgb.shape[:2]
    levels = np.zeros_like(template.levels)
    levels[candidates] = level
    ref = template.with_levels(levels)
    rows, cols = ref.positions(h, w)
    depths = ref.depth_at(rows, cols)[:, None]
    q = quantize(rgb[rows, cols], depths)
    touched = block_pixels(*candidates, template.block, h, w)
    kept = pred[touched].copy()
    try:
        refinement.apply(pred, ref, rows, cols, dequantize(q, depths))
        errors = candidate_errors(pred, rgb, candidates, template.block)
    finally:
        pred[touched] = kept
    spent = per_candidate(cost.bytes(q, rows, cols, depths), rows, cols, candidates, template.block, levels.shape)
    return errors, spent


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


def refinement_options(pred: np.ndarray, rgb: np.ndarray, template: Refinement, size: float,
                       cost: CostModel, bytes_per_sample: float) -> RefinementOptions:
    """The increments worth considering for at most ``size`` bytes of refined samples.

    Candidates are the blocks with the largest error, as many as ``size``
    could refine at level 1 if their samples cost ``bytes_per_sample`` (the
    base grid's rate); their error at each level is computed exactly, their
    bytes estimated by ``cost``.
    """
    base_err = block_errors(pred, rgb, template.block)
    per_block = bytes_per_sample * (template.block // template.strides[0]) ** 2
    count = min(base_err.size, int(max(size, 0) // per_block))
    flat = np.argsort(base_err.ravel(), kind="stable")[::-1][:count]
    candidates = np.unravel_index(flat, base_err.shape)
    e0 = base_err[candidates]
    effects = [level_effects(pred, rgb, candidates, level, template, cost)
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
        Where the JPEG's grid lies in the RAW (the raw-RGB is already on the JPEG's grid).
    """

    camera: CameraFacts
    image_hash: bytes
    jpeg_bytes: int
    alignment: Alignment | None = None


def plan(rgb: np.ndarray, srgb: np.ndarray, pair: PairFacts, options: EmbedOptions,
         progress: Progress | None = None) -> pl.Payload:
    """The payload for raw-RGB ``rgb`` and its JPEG's decoded pixels ``srgb``.

    Parameters
    ----------
    pair : PairFacts
        What the payload records about the RAW and the JPEG.
    options : EmbedOptions
        The budget (None: the base grid only, as ``stride`` and ``bits`` say,
        default 8 and the measured depth, and nothing is restored), a fixed
        stride or depth, the device of the measuring restores.
    progress : callable, optional
        ``progress(done, total)`` as the work goes on.

    Raises
    ------
    BudgetError
        If no payload fits the budget.
    """
    from rawmeta.restore.patchwise import resolve_device

    budget, stride, bits, device = options.budget, options.stride, options.bits, options.device

    def make(base: Base, **extra) -> pl.Payload:
        return pl.Payload(grid=base.grid, bits=base.bits, samples=base.samples, camera=pair.camera,
                          image_hash=pair.image_hash, budget=budget or 0.0, alignment=pair.alignment, **extra)

    resolve_device(device)
    bits_fixed = bits is not None
    if bits is None:
        bits = bits_for(probe_psnr(rgb, srgb, stride or DEFAULT_STRIDE, device))
    if budget is None:
        return make(choose_base(rgb, srgb, make, None, stride or DEFAULT_STRIDE, bits))
    limit = budget_bytes(budget, pair.jpeg_bytes)
    fixed = pl.fingerprint_bytes(*rgb.shape[:2])  # a cost of every payload, not of its samples
    try:  # leave most of the budget to refinement when the base can do with less
        base = choose_base(rgb, srgb, make, fixed + int((limit - fixed) * BASE_SHARE), stride, bits, bits_fixed)
    except BudgetError:
        base = choose_base(rgb, srgb, make, limit, stride, bits, bits_fixed)
    if progress is not None:
        progress(1, 10)  # the restore below is most of the work
    pred, use_highlights = reader_restore(rgb, srgb, base, device, part(progress, 0.1, 0.9))
    plain = make(base, highlights=use_highlights, expected_psnr=metrics.psnr(pred, rgb))
    return fit_refinement(plain, pred, rgb, srgb, limit)


def reader_restore(rgb: np.ndarray, srgb: np.ndarray, base: Base, device: str,
                   progress: Progress | None = None) -> tuple[np.ndarray, bool]:
    """The fast preset's restore from the base samples as the reader will run it, and whether the
    highlight interpolation (kept in the result if so) makes it better."""
    from rawmeta.restore.patchwise import fast_with_and_without_highlights, patch_job

    values = dequantize(base.samples, base.bits)
    job = patch_job(srgb, values, base.grid, device=device, progress=progress)
    pred, with_highlights = fast_with_and_without_highlights(job)
    if metrics.psnr(with_highlights, rgb) > metrics.psnr(pred, rgb):
        return with_highlights, True
    return pred, False


def fit_refinement(plain: pl.Payload, pred: np.ndarray, rgb: np.ndarray, srgb: np.ndarray,
                   limit: int) -> pl.Payload:
    """``plain`` (a payload without refinement, whose restore is ``pred``) with the refinement blocks that
    restore best within ``limit`` added bytes.

    The byte estimates are rough, so the whole room is tried first, then
    the amount taken is bisected, keeping the largest choice that fits.
    """
    h, w = rgb.shape[:2]
    base_size = added_bytes(plain, srgb)
    room = limit - base_size
    cost = CostModel.calibrated(srgb, plain, base_size)
    options = refinement_options(pred, rgb, Refinement.empty(h, w, plain.bits), room, cost,
                                 base_size / plain.grid.count)
    best, low, high = plain, 0.0, room
    for trial in range(_FIT_TRIES):
        allowed = room if trial == 0 else (low + high) / 2
        refine = options.select(allowed)
        if not refine.levels.any():
            low = allowed
            continue
        rows, cols = refine.positions(h, w)
        depths = refine.depth_at(rows, cols)[:, None]
        refined = quantize(rgb[rows, cols], depths)
        out = pred.copy()
        refinement.apply(out, refine, rows, cols, dequantize(refined, depths))
        candidate = dataclasses.replace(plain, refinement=refine, refined=refined,
                                        expected_psnr=metrics.psnr(out, rgb))
        if added_bytes(candidate, srgb) > limit:
            high = allowed
            continue
        best, low = candidate, allowed
        if trial == 0:
            break
    return best
