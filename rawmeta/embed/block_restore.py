"""The reader's restore as the planner sees it: exact on the blocks it looks at, estimated elsewhere.

Refinement goes where the restore is worst, and only a few percent of the
blocks end up refined, so the planner needs the exact restore of those
blocks, not of the whole image (which costs as much as the reader's own
restore). :class:`BlockRestore` fits the fast preset's networks once, as
the reader will, and predicts only blocks asked for, with and without the
highlight interpolation:

- **A regular sample** of the blocks (every ``SAMPLE_STEP``-th block row and
  column, denser in small images) estimates the error of the blocks never predicted, so the
  choice of the highlight hint and the expected PSNR are estimates of the
  whole image's.
- **The worst blocks** (``seek``): a ranking of the blocks by how bad their
  restore is likely to be (the restore's residuals at the base samples of
  the block and its 8 neighbours, weighted up by the block's clipped sRGB
  pixels, where the JPEG says least) gives the first ones to predict;
  from every predicted block whose exact error is among the worst, the
  prediction spreads to its neighbours, since large errors come in
  regions. The planner takes its candidates for refinement among these, by
  their exact errors.
"""
from __future__ import annotations

import numpy as np

from rawmeta import metrics
from rawmeta.format.grid import Grid
from rawmeta.format.refinement import block_pixels
from rawmeta.progress import Progress, part, report

#: Every SAMPLE_STEP-th block row and column is predicted to estimate the rest of the image ...
SAMPLE_STEP = 6
#: ... or a denser regular sample, so that it holds at least MIN_SAMPLE_BLOCKS blocks (every block of a
#: small image).
MIN_SAMPLE_BLOCKS = 400
#: The fit's share of the progress of making a BlockRestore (predicting the sample takes the rest), near its
#: share of the time (docs/ARCHIVE.md, "Progress").
FIT_SHARE = 0.4


class BlockRestore:
    """The fast preset's restore of an image from samples, predicted block by block on demand.

    Parameters
    ----------
    rgb : ndarray, (H, W, 3)
        The true raw-RGB, which each predicted block's error is measured against.
    srgb : ndarray, uint8, (H, W, 3)
    values : ndarray, float32, (rows, cols, 3)
        The sample values the reader will decode, at ``grid``.
    grid : Grid
    block : int
        Block size in pixels (blocks tile the image from (0, 0)).
    device : str
    enlarged : bool
        Whether ``srgb`` is a smaller JPEG enlarged onto the raw-RGB's grid (as the reader's restore will
        know from the payload).
    progress : callable, optional
        ``progress(done, total)`` of the networks' fit and the sample's prediction.
    """

    def __init__(self, rgb: np.ndarray, srgb: np.ndarray, values: np.ndarray, grid: Grid, block: int, device: str,
                 enlarged: bool = False, progress: Progress | None = None):
        # the restore (and torch) is imported where a plan needs it, so that planning's module loads without it
        from rawmeta.restore.fast import FastModel
        from rawmeta.restore.highlights import Interpolation
        from rawmeta.restore.patchwise import patch_job

        h, w = srgb.shape[:2]
        self.rgb = rgb
        self.shape = (h, w)
        self.block = block
        self.blocks = (-(-h // block), -(-w // block))
        # the plan it serves makes the raw-RGB error small (``EmbedOptions.objective``), so it restores as for that
        job = patch_job(srgb, values, grid, device=device, highlights=True, enlarged=enlarged, objective="raw")
        self.model = FastModel.fitted(job, part(progress, 0.0, FIT_SHARE))
        self.interpolation: Interpolation | None = Interpolation(job)
        #: The restore without and with highlights interpolated, until the hint is chosen; then only ``pred``.
        #: Only the predicted blocks hold values, and only they are read: left uninitialised, the memory of
        #: the others is never touched.
        self.pred = np.empty((h, w, 3), np.float32)
        self.bright: np.ndarray | None = np.empty((h, w, 3), np.float32)
        #: Squared error of each predicted block, of ``pred`` and ``bright`` (NaN where not predicted).
        self.error = np.full(self.blocks, np.nan)
        self.bright_error: np.ndarray | None = np.full(self.blocks, np.nan)
        self.pixels = self._per_block(np.ones(self.shape))
        self.done = np.zeros(self.blocks, bool)
        #: Blocks predicted because they are likely bad (``seek``), not as part of the sample.
        self.sought = np.zeros(self.blocks, bool)
        self.sample = np.zeros(self.blocks, bool)
        step = sample_step(*self.blocks)
        self.sample[step // 2 :: step, step // 2 :: step] = True
        #: Clipped sRGB pixels of each block, where the JPEG says least.
        self.clipped = self._per_block(metrics.clipped_mask(srgb).astype(np.float64))
        self.rank = np.argsort(-self._likely_error(values, grid), axis=None, kind="stable")
        self.predict(self.sample, part(progress, FIT_SHARE, 1.0))

    def _likely_error(self, values: np.ndarray, grid: Grid) -> np.ndarray:
        """Per block: mean squared residual of the restore at the base samples of the block and its 8
        neighbours, times 1 + the block's clipped pixels."""
        rows, cols = (a.ravel() for a in np.meshgrid(grid.rows(), grid.cols(), indexing="ij"))
        residual = ((self.model.predict(rows, cols) - values.reshape(-1, 3)) ** 2).sum(axis=1)
        at = (rows // self.block, cols // self.block)
        sums, counts = (np.zeros(self.blocks) for _ in range(2))
        np.add.at(sums, at, residual)
        np.add.at(counts, at, 1)
        return _around(sums) / np.maximum(_around(counts), 1) * (1 + self.clipped)

    def _per_block(self, image: np.ndarray) -> np.ndarray:
        """Sum of an H x W image per block."""
        (h, w), b = self.shape, self.block
        padded = np.zeros((self.blocks[0] * b, self.blocks[1] * b))
        padded[:h, :w] = image
        return padded.reshape(self.blocks[0], b, self.blocks[1], b).sum(axis=(1, 3))

    def predict(self, blocks: np.ndarray, progress: Progress | None = None) -> None:
        """Predict the blocks of the block map ``blocks`` (bool) not predicted yet, and their errors: both
        variants while the highlight hint is open, the chosen one after. ``progress`` counts the pixels."""
        new = blocks & ~self.done
        if not new.any():
            report(progress, 1, 1)
            return
        rows, cols = block_pixels(*np.nonzero(new), self.block, *self.shape)
        self.pred[rows, cols] = self.model.predict(rows, cols, progress)
        if self.interpolation is not None:
            where = np.zeros(self.shape, bool)
            where[rows, cols] = True
            if self.bright is None:
                self.interpolation.apply(self.pred, where)
            else:
                self.bright[rows, cols] = self.pred[rows, cols]
                self.interpolation.apply(self.bright, where)
                self.bright_error[new] = self.errors(self.bright, new)
        self.error[new] = self.errors(self.pred, new)
        self.done |= new

    def errors(self, pred: np.ndarray, blocks: np.ndarray) -> np.ndarray:
        """Sum of squared errors of ``pred`` in each block of the block map ``blocks``, in row-major order."""
        return candidate_errors(pred, self.rgb, np.nonzero(blocks), self.block)

    def seek(self, count: int, spread: bool = True, progress: Progress | None = None) -> np.ndarray:
        """Predict blocks until the ``count`` worst of the image are very likely among the predicted ones;
        returns the block map of the ``count`` worst predicted blocks.

        The ``count`` best-ranked blocks and every block with clipped pixels
        are predicted first. With ``spread``, the sample says how large the
        ``count``-th largest error is, and from every predicted block at least
        that bad the prediction spreads to its neighbours until no new block
        is that bad: large errors come in regions, which this follows.
        ``progress`` counts the first blocks' pixels (half the whole with
        ``spread``), then those of each ring of the spread, in half of what
        is left each, as their number is not known ahead.
        """
        seeds = self.clipped > 0  # a speck of clipped pixels among good samples ranks low, but errs much
        seeds.flat[self.rank[:count]] = True
        self._predict_sought(seeds, part(progress, 0.0, 0.5 if spread else 1.0))
        errors = np.sort(self.error[self.sample])[::-1]
        threshold = errors[min(int(count * errors.size / self.error.size), errors.size - 1)]
        rings = 1
        while spread:
            ring = _around((self.done & (self.error >= threshold)).astype(np.float64)) > 0
            if not (ring & ~self.done).any():
                break
            self._predict_sought(ring, part(progress, 1 - 0.5 ** rings, 1 - 0.5 ** (rings + 1)))
            rings += 1
        report(progress, 1, 1)
        worst = np.zeros(self.blocks, bool)
        worst.flat[np.argsort(-np.where(self.done, self.error, -1.0), axis=None)[:count]] = True
        return worst & self.done

    def _predict_sought(self, blocks: np.ndarray, progress: Progress | None = None) -> None:
        self.predict(blocks, progress)
        self.sought |= blocks

    def total_error(self, block_errors: np.ndarray) -> float:
        """The whole image's estimated sum of squared errors from ``block_errors`` of the predicted blocks:
        the sampled blocks not sought stand, per pixel, for the blocks never predicted."""
        stand_in = self.sample & ~self.sought
        per_pixel = block_errors[stand_in].sum() / max(self.pixels[stand_in].sum(), 1.0)
        return float(block_errors[self.done].sum() + per_pixel * self.pixels[~self.done].sum())

    def psnr(self, block_errors: np.ndarray | None = None) -> float:
        """The whole image's estimated PSNR (peak 1, all pixels and channels) from ``block_errors`` (default:
        the restore's own)."""
        errors = self.error if block_errors is None else block_errors
        return metrics.psnr_from_mse(self.total_error(errors) / (self.shape[0] * self.shape[1] * 3), 1.0)

    def choose_highlights(self) -> bool:
        """Keep the variant with the smaller estimated whole-image error; True if it interpolates highlights.

        From then on only that variant is predicted, and ``pred`` is it.
        """
        use = self.total_error(self.bright_error) < self.total_error(self.error)
        if use:
            self.pred, self.error = self.bright, self.bright_error
        else:
            self.interpolation = None
        self.bright = self.bright_error = None
        return use


def candidate_errors(pred: np.ndarray, rgb: np.ndarray, candidates: tuple[np.ndarray, np.ndarray],
                     block: int) -> np.ndarray:
    """Sum of squared errors of ``pred`` against ``rgb`` in each of the ``candidates`` blocks (block rows and
    columns; blocks tile from (0, 0), edge blocks are cut), in their order."""
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


def sample_step(block_rows: int, block_cols: int) -> int:
    """The step of the regular sample of an image of ``block_rows`` x ``block_cols`` blocks."""
    return int(max(1, min(SAMPLE_STEP, np.sqrt(block_rows * block_cols / MIN_SAMPLE_BLOCKS))))


def _around(per_block: np.ndarray) -> np.ndarray:
    """Sum of each block's value and its 8 neighbours'."""
    h, w = per_block.shape
    padded = np.pad(per_block, 1)
    return sum(padded[1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w] for dy in (-1, 0, 1) for dx in (-1, 0, 1))
