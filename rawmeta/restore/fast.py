"""The fast INF preset: patch-wise sine networks whose output layer is solved in closed form.

Each patch has its own network with one hidden layer of sine units,
``sin(W_c s + W_u u + b)``, over a pixel's sRGB ``s`` (in [0, 1]) and its
position ``u`` in patch units, plus linear inputs: a constant, ``s``, the
linearised sRGB (the sRGB transfer function inverted) and the differences
between ``s`` and its 8 neighbours' sRGB, which let the network undo part of
the JPEG's noise and chroma subsampling. Where samples are dense
(:func:`preset_for`: the default stride 8 on payload version 5), the
configuration FAST_DENSE also takes the 8 pixels two away along the row,
column and diagonals, and draws higher colour frequencies. When every patch
has enough samples on each of the four pixels of 2 x 2 cells
(:func:`by_cell_position`, true for payload version 5's alternating grid),
each linear input is given once per cell position (row and column parity),
so the network can treat the pixels of a colour filter cell differently, as
demosaicing did. The hidden layer is drawn once per
image from the seed (:mod:`rawmeta.restore.seeded`, the draws of torch's
generator) and shared by all patches; each patch's output layer is
the ridge regression of the raw-RGB samples of the patch and its 8 neighbours
(theirs weighted down) on these features, solved exactly. Because the
features are shared, a patch's normal equations are a weighted sum of those
of its 3 x 3 cells, and each cell's are computed once.

Prediction blends the networks of the 2 x 2 patches around each pixel with
bilinear weights over the patch centres, so the result has no seams at patch
edges. The networks are linear in their features, so blending costs one
matrix product per quarter patch.
"""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from rawmeta.colour import visibility_weights
from rawmeta.format.grid import Grid
from rawmeta.progress import Progress, part, report, stage
from rawmeta.restore import highlights
from rawmeta.restore.engine import Engine
from rawmeta.restore.job import PatchJob
from rawmeta.restore.patches import PatchGrid, grid_slices
from rawmeta.restore.seeded import SeededDraws

#: Unpenalised linear inputs of one cell position: constant, sRGB, linear sRGB.
_UNPENALISED = 7
#: Fewest samples at each of the four 2 x 2 cell positions, in every patch's training neighbourhood,
#: for the linear inputs to be given per cell position: about 4 per linear input of a position. With
#: far fewer, the split inputs overfit and restore worse than unsplit ones (docs/CONSTANTS.md).
MIN_SAMPLES_PER_CELL_POSITION = 128
#: Fewest samples, counted the same way, for the dense configuration (FAST_DENSE): its extra inputs pay
#: only where samples are dense and lose where they are sparser, so the threshold lies between the
#: counts of strides 10 and 8 (docs/CONSTANTS.md, docs/RESTORE.md).
MIN_SAMPLES_FOR_DENSE = 768
#: Power of the luminance that weighs a sample's residual with the developed objective: 4/3 would weigh as
#: CIE lightness; less leaves the highlights, which a raw developer's edits pull down, more of the fit
#: (docs/CONSTANTS.md).
VISIBILITY_POWER = 2 / 3
#: Share of a restore's progress that fitting the networks takes (predicting the patches and their highlights
#: the rest), near its share of the time (docs/ARCHIVE.md, "Progress").
FIT_SHARE = 0.2


def neighbours(reach: int) -> tuple[tuple[int, int], ...]:
    """Offsets (dy, dx) of the neighbours whose sRGB differences are linear inputs.

    For each distance r = 1 .. ``reach``, the 8 pixels r away along the row,
    the column and the two diagonals: 8 for reach 1, 16 for reach 2.
    """
    return tuple((dy, dx) for r in range(1, reach + 1) for dy in (-r, 0, r) for dx in (-r, 0, r)
                 if (dy, dx) != (0, 0))


@dataclass(frozen=True)
class RidgeINFConfig:
    """Shape and regularisation of the fast preset.

    Attributes
    ----------
    features : int
        Sine units in the hidden layer.
    colour_scale : float
        Standard deviation of the colour weights ``W_c`` (radians per unit of sRGB).
    coord_scale : float
        Standard deviation of the position weights ``W_u`` (radians per patch).
    ridge : float
        Penalty on the sine units' output weights, per training sample.
    ridge_neighbours : float
        Penalty on the neighbour differences' output weights, per training sample.
    neighbour_weight : float
        Weight of the samples of a neighbouring patch in a patch's regression,
        per step (a side neighbour weighs this, a corner neighbour its square).
    reach : int
        How far the neighbours whose sRGB differences are inputs reach (:func:`neighbours`).
    visibility_power : float
        With the ``developed`` objective, each sample's residual weighs
        :func:`rawmeta.colour.visibility_weights` of its sRGB to this power.
    """

    features: int = 128
    colour_scale: float = 3.0
    coord_scale: float = 1.0
    ridge: float = 1e-3
    ridge_neighbours: float = 3e-4
    neighbour_weight: float = 0.1
    reach: int = 1
    visibility_power: float = VISIBILITY_POWER


#: Sine units of the payloads before format version 10, which restore as they were written; version 10 halved
#: them: the same PSNR and developed-image error on the shared RAWs, a quarter less time (docs/RESTORE.md).
SINE_UNITS_BEFORE_10 = 256
#: The ``fast`` preset of ``rawmeta restore`` where samples are sparse (:func:`preset_for`).
FAST = RidgeINFConfig()
#: The ``fast`` preset where samples are dense: more neighbours, higher colour frequencies.
FAST_DENSE = RidgeINFConfig(colour_scale=4.0, reach=2)
#: Where the sRGB is a smaller JPEG enlarged onto the RAW's grid, neighbouring pixels nearly repeat each
#: other and the samples are fit less closely by the sRGB: a stronger ridge, neighbouring patches' samples
#: weighed more, and no inputs per 2 x 2 cell position (they overfit there; docs/RESTORE.md).
ENLARGED_RIDGE, ENLARGED_NEIGHBOUR_WEIGHT = 1e-2, 0.3


class SharedFeatures:
    """The hidden layer shared by all patches of one image, and the linear inputs beside it.

    With ``phased``, each linear input is given once for each of the 4 pixel
    positions p = 2 (row % 2) + (column % 2) in a 2 x 2 cell, zero at the
    other three: input k at position p is column 4 k + p, the unpenalised
    inputs first, then the neighbour differences.
    """

    def __init__(self, config: RidgeINFConfig, layout: PatchGrid, seed: int, engine: Engine, phased: bool = False):
        draws = SeededDraws(seed)  # what torch.Generator().manual_seed(seed) draws, in the same order
        f = config.features
        colour = draws.normal((3, f)) * np.float32(config.colour_scale)  # W_c
        coords = draws.normal((2, f)) * np.float32(config.coord_scale)  # W_u, of (x, y)
        bias = draws.uniform(f) * np.float32(2 * math.pi)
        #: The phase's weights of (sRGB, row, column, 1): the sine units' phase is one product with them.
        self.phase_weights = engine.asarray(np.concatenate([colour, coords[1:], coords[:1], bias[None]], axis=0))
        rows, cols = layout.shape
        self.unit = (layout.width / cols, layout.height / rows)  # patch size (x, y) in pixels
        self.engine = engine
        self.phased = phased
        self.reach = config.reach
        self.neighbours = neighbours(config.reach)
        copies = 4 if phased else 1
        #: Linear inputs of one cell position.
        self.per_position = _UNPENALISED + 3 * len(self.neighbours)
        #: Unpenalised linear inputs, all linear inputs, and all inputs of the output layer.
        self.unpenalised = _UNPENALISED * copies
        self.linear_inputs = self.per_position * copies
        self.width = self.linear_inputs + f

    def at(self, srgb: np.ndarray, rows: np.ndarray, cols: np.ndarray, by_position: bool = True) -> tuple[Any, Any]:
        """Features of the pixels ``rows x cols`` (row-major): linear inputs and sine units.

        ``srgb`` is the whole image, float32 in [0, 1]; neighbours beyond
        the image edge repeat the edge pixel. Returns the engine's arrays of shapes
        (N, self.linear_inputs) and (N, features), N = len(rows) * len(cols); with
        ``by_position=False`` the linear inputs are not spread over the cell positions (``per_position``
        of them, as for unphased features).
        """
        h, w = srgb.shape[:2]
        r = self.reach
        rr = np.clip(np.concatenate([rows + d for d in range(-r, r + 1)]), 0, h - 1)
        cc = np.clip(np.concatenate([cols + d for d in range(-r, r + 1)]), 0, w - 1)
        window = self.engine.asarray(_planar(srgb[np.ix_(rr, cc)]))  # 3 x ((2r + 1) rows) x ((2r + 1) cols)
        nr, nc = len(rows), len(cols)
        shifted = window.reshape(3, 2 * r + 1, nr, 2 * r + 1, nc)
        linear, hidden = self._features([shifted[:, r + dy, :, r + dx] for dy, dx in self.neighbours],
                                        shifted[:, r, :, r], self._grid_units(rows, cols))
        if self.phased and by_position:
            linear = self._by_cell_position(linear, _grid_positions(rows, cols))
        return linear, hidden

    def points(self, srgb: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> tuple[Any, Any]:
        """Features of the pixels (rows[k], cols[k]), as ``box`` with ``by_position=False`` gives them: the
        linear inputs of one cell position (``per_position``) and the sine units."""
        h, w = srgb.shape[:2]
        # gathered from the flat image by flat index: several times faster than 2-D fancy indexing
        flat = srgb.reshape(h * w, 3)
        span = range(-self.reach, self.reach + 1)
        row_starts = {d: np.clip(rows + d, 0, h - 1) * w for d in span}
        columns = {d: np.clip(cols + d, 0, w - 1) for d in span}

        def shifted(dy: int, dx: int) -> Any:
            return self.engine.asarray(np.ascontiguousarray(flat.take(row_starts[dy] + columns[dx], axis=0).T))

        units = np.stack([rows / self.unit[1], cols / self.unit[0]], axis=1).astype(np.float32)
        return self._features([shifted(dy, dx) for dy, dx in self.neighbours], shifted(0, 0), self.engine.asarray(units))

    def box(self, srgb: np.ndarray, box: tuple[int, int, int, int], step: int = 1,
            by_position: bool = True) -> tuple[Any, Any]:
        """Features of the pixels of ``box`` (y0, y1, x0, x1), every ``step``-th row and column from (y0, x0), as
        ``at`` gives them; with ``by_position=False`` the linear inputs of one cell position only
        (``per_position`` of them), for pixels that all sit at one position (``step`` 2)."""
        y0, y1, x0, x1 = box
        h, w = srgb.shape[:2]
        r = self.reach
        window = srgb[max(y0 - r, 0) : y1 + r, max(x0 - r, 0) : x1 + r]
        pad = ((max(r - y0, 0), max(y1 + r - h, 0)), (max(r - x0, 0), max(x1 + r - w, 0)), (0, 0))
        window = self.engine.asarray(_planar(np.pad(window, pad, mode="edge") if any(map(any, pad[:2])) else window))
        rows, cols = np.arange(y0, y1, step), np.arange(x0, x1, step)
        span_y, span_x = (len(rows) - 1) * step + 1, (len(cols) - 1) * step + 1

        def shifted(dy: int, dx: int) -> Any:
            return window[:, r + dy : r + dy + span_y : step, r + dx : r + dx + span_x : step]

        linear, hidden = self._features([shifted(dy, dx) for dy, dx in self.neighbours], shifted(0, 0),
                                        self._grid_units(rows, cols))
        if self.phased and by_position:
            linear = self._by_cell_position(linear, _grid_positions(rows, cols))
        return linear, hidden

    def _grid_units(self, rows: np.ndarray, cols: np.ndarray) -> Any:
        """Row and column in patch units of the pixels ``rows x cols``, row-major: (N, 2)."""
        units = np.empty((len(rows), len(cols), 2), np.float32)
        units[..., 0] = (rows / self.unit[1]).astype(np.float32)[:, None]
        units[..., 1] = (cols / self.unit[0]).astype(np.float32)[None, :]
        return self.engine.asarray(units.reshape(-1, 2))

    def _features(self, neighbours: list[Any], centre: Any, units: Any) -> tuple[Any, Any]:
        """Linear inputs of one cell position (N, per_position) and sine units (N, features) of N pixels whose
        sRGB is ``centre``, whose neighbours' is ``neighbours`` (channels first: any shape of 3 x N) and whose
        row and column in patch units are ``units`` (N, 2).

        The linear inputs are built input by input, each a contiguous row of
        their transpose (returned as its view): on NumPy several times faster
        than writing three columns of a row-major array at a time. The sine
        units' phase ``W_c s + W_u u + b`` is one product of (sRGB, row,
        column, 1) with ``phase_weights``: one pass over the N x features
        array instead of four.
        """
        e = self.engine
        n = units.shape[0]
        inputs = e.empty((self.per_position, n))  # the linear inputs, transposed
        inputs[0] = 1.0
        s = inputs[1:4]
        s[:] = centre.reshape(3, n)
        inputs[4:7] = e.where(s <= 0.04045, s / 12.92, ((s + 0.055) / 1.055) ** 2.4)
        for k, nb in enumerate(neighbours):
            # copied, then the centre's contiguous copy taken away in place: half the time of a subtraction of
            # the two strided views into a new array
            difference = inputs[7 + 3 * k : 10 + 3 * k].reshape(nb.shape)
            difference[...] = nb
            difference -= s.reshape(nb.shape)
        # (sRGB, row, column, 1) as rows of its transpose, which the product reads as they lie
        phase_inputs = e.empty((6, n))
        phase_inputs[0:3] = s
        phase_inputs[3:5] = units.T
        phase_inputs[5] = 1.0
        return inputs.T, e.sin_(phase_inputs.T @ self.phase_weights)

    def _by_cell_position(self, linear: Any, positions: np.ndarray) -> Any:
        """``linear`` (N, per_position) spread over the 4 positions of a 2 x 2 cell: (N, 4 * per_position),
        for pixels at cell ``positions`` (N,)."""
        n = linear.shape[0]
        one_hot = self.engine.asarray(np.eye(4, dtype=np.float32)[positions])
        spread = [(part[:, :, None] * one_hot[:, None, :]).reshape(n, -1)
                  for part in (linear[:, :_UNPENALISED], linear[:, _UNPENALISED:])]
        return self.engine.concat(spread, axis=1)


def _planar(rgb: np.ndarray) -> np.ndarray:
    """An (..., 3) image with its channels first: (3, ...), contiguous."""
    return np.ascontiguousarray(np.moveaxis(rgb, -1, 0))


def _grid_positions(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Cell position 2 (row % 2) + (column % 2) of the pixels ``rows x cols``, row-major."""
    return ((rows[:, None] % 2) * 2 + cols[None, :] % 2).ravel()


def fewest_per_cell_position(grid: Grid, layout: PatchGrid) -> int:
    """Fewest samples at any one of the four 2 x 2 cell positions in any patch's training neighbourhood.

    A plain grid with an even stride (payload versions 1-4) puts every
    sample on the same position, so this is 0 for it.
    """
    def fewest(at: np.ndarray, part: slice) -> int:
        odd = at[part] % 2
        return min(int(odd.sum()), int(len(odd) - odd.sum()))

    rows, cols = grid.rows(), grid.cols()
    return min(fewest(rows, rs) * fewest(cols, cs)
               for rs, cs in (grid_slices(grid, layout.neighbourhood(*ij)) for ij in layout))


def by_cell_position(grid: Grid, layout: PatchGrid) -> bool:
    """Whether every patch neighbourhood holds MIN_SAMPLES_PER_CELL_POSITION samples at each 2 x 2 cell position."""
    return fewest_per_cell_position(grid, layout) >= MIN_SAMPLES_PER_CELL_POSITION


def preset_for(grid: Grid, layout: PatchGrid, enlarged: bool = False, version: int | None = None) -> RidgeINFConfig:
    """The fast preset's configuration for samples on ``grid``: FAST_DENSE where they are dense enough, else FAST;
    with :data:`ENLARGED_RIDGE` and :data:`ENLARGED_NEIGHBOUR_WEIGHT` where the sRGB is ``enlarged``, and
    :data:`SINE_UNITS_BEFORE_10` sine units for a payload of format ``version`` before 10 (None: samples
    given as arrays, restored as the current version's).

    Decided per image, so a restore of some patches equals the same patches of a whole restore.
    """
    config = FAST_DENSE if fewest_per_cell_position(grid, layout) >= MIN_SAMPLES_FOR_DENSE else FAST
    if version is not None and version < 10:
        config = dataclasses.replace(config, features=SINE_UNITS_BEFORE_10)
    if enlarged:
        return dataclasses.replace(config, ridge=ENLARGED_RIDGE, neighbour_weight=ENLARGED_NEIGHBOUR_WEIGHT)
    return config


def tent_weights(n: int, edges: tuple[int, ...]) -> np.ndarray:
    """Bilinear blending weights (n, K) of pixels 0..n-1 on the centres of K patches along one axis.

    Weights fall linearly from 1 at a patch's centre to 0 at the neighbouring
    centres; beyond the first and last centres the edge patch has weight 1.
    Every row sums to 1.
    """
    e = np.asarray(edges, dtype=np.float64)
    centres = (e[:-1] + e[1:] - 1) / 2
    pixels = np.arange(n, dtype=np.float64)
    if len(centres) == 1:
        return np.ones((n, 1), np.float32)
    k = np.clip(np.searchsorted(centres, pixels) - 1, 0, len(centres) - 2)
    t = np.clip((pixels - centres[k]) / (centres[k + 1] - centres[k]), 0.0, 1.0)
    out = np.zeros((n, len(centres)), np.float32)
    out[np.arange(n), k] = 1 - t
    out[np.arange(n), k + 1] += t
    return out


def _within(cells: Iterable[tuple[int, int]], shape: tuple[int, int], radius: int) -> list[tuple[int, int]]:
    """The cells of ``shape`` within ``radius`` (Chebyshev) of any of ``cells``, sorted."""
    rows, cols = shape
    near = {(a, b) for i, j in cells for a in range(i - radius, i + radius + 1)
            for b in range(j - radius, j + radius + 1) if 0 <= a < rows and 0 <= b < cols}
    return sorted(near)


def fit(features: SharedFeatures, config: RidgeINFConfig, layout: PatchGrid, grid: Grid, srgb: np.ndarray,
        values: np.ndarray, patches: list[tuple[int, int]], objective: str = "developed",
        progress: Progress | None = None) -> dict[tuple[int, int], Any]:
    """Output layers (width, 3) of ``patches``, each fitted to its 3 x 3 neighbourhood's (weighted) samples;
    with the ``developed`` objective each sample also weighs as much as its error would show developed
    (``config.visibility_power``). ``progress(done, total)`` counts the patches' normal equations, then their
    solves."""
    e = features.engine
    sampled = _within(patches, layout.shape, 1)
    steps = len(sampled) + len(patches)

    def normal_equations(ij: tuple[int, int]) -> tuple[Any, Any]:
        rs, cs = grid_slices(grid, layout.box(*ij))
        rows, cols = grid.rows()[rs], grid.cols()[cs]
        linear, hidden = features.at(srgb, rows, cols, by_position=False)
        x = e.astype(e.concat([linear, hidden], axis=1), "float64")
        y = e.asarray(np.ascontiguousarray(values[rs, cs]).reshape(-1, 3), "float64")
        weighted = x
        if objective == "developed":
            shown = srgb[np.ix_(rows, cols)].reshape(-1, 3)
            weighted = x * e.asarray(visibility_weights(shown, config.visibility_power))[:, None]
        if not features.phased:
            return weighted.T @ x, weighted.T @ y
        # A sample's spread inputs are zero but at its own cell position (input k at column 4 k + p): the Gram
        # is the sum over the four positions of their samples' Grams, each placed at its position's columns,
        # 2.3 times fewer products than the Gram of the spread inputs.
        positions = _grid_positions(rows, cols)
        order = np.argsort(positions, kind="stable")
        bounds = np.searchsorted(positions[order], np.arange(5))
        order = e.asarray(order)
        x, weighted, y = x[order], weighted[order], y[order]
        li, k = features.linear_inputs, features.per_position
        gram, rhs = e.zeros((features.width, features.width), "float64"), e.zeros((features.width, 3), "float64")
        for p in range(4):
            part = slice(int(bounds[p]), int(bounds[p + 1]))
            g, r = weighted[part].T @ x[part], weighted[part].T @ y[part]
            gram[p:li:4, p:li:4] += g[:k, :k]
            gram[p:li:4, li:] += g[:k, k:]
            gram[li:, p:li:4] += g[k:, :k]
            gram[li:, li:] += g[k:, k:]
            rhs[p:li:4] += r[:k]
            rhs[li:] += r[k:]
        return gram, rhs

    normal = {}
    for k, (ij, equations) in enumerate(zip(sampled, e.map(normal_equations, sampled))):
        normal[ij] = equations
        report(progress, k + 1, steps)
    penalty = np.zeros(features.width)
    penalty[: features.unpenalised] = 1e-9
    penalty[features.unpenalised : features.linear_inputs] = config.ridge_neighbours
    penalty[features.linear_inputs :] = config.ridge
    penalty = e.asarray(penalty)

    def solve(ij: tuple[int, int]) -> Any:
        i, j = ij
        gram, rhs = e.zeros(tuple(normal[ij][0].shape), "float64"), e.zeros(tuple(normal[ij][1].shape), "float64")
        for a, b in _within([ij], layout.shape, 1):
            share = config.neighbour_weight ** (abs(a - i) + abs(b - j))
            gram += normal[a, b][0] * share
            rhs += normal[a, b][1] * share
        count = float(gram[0, 0])  # the constant feature's square sums to the (weighted) number of samples
        e.add_diagonal_(gram, penalty * count)
        # The ridge-penalised Gram is symmetric positive definite (torch solves it by Cholesky, NumPy by LU).
        return e.astype(e.solve_spd(gram, rhs), "float32")

    weights = {}
    for k, (ij, solved) in enumerate(zip(patches, e.map(solve, patches))):
        weights[ij] = solved
        report(progress, len(sampled) + k + 1, steps)
    return weights


def _cut(lo: int | np.ndarray, hi: int | np.ndarray) -> int | np.ndarray:
    """Where pixels lo..hi-1 of a patch split at its centre (ints or arrays of them): the first pixel after it."""
    return np.minimum(np.maximum((lo + hi - 1) // 2 + 1, lo), hi)


def _halves(lo: int, hi: int, index: int, count: int) -> list[tuple[int, int, list[int]]]:
    """Split pixels lo..hi-1 of patch ``index`` at its centre (:func:`_cut`): (start, end, patches blended
    there)."""
    cut = int(_cut(lo, hi))
    parts = [(lo, cut, sorted({index, max(index - 1, 0)})), (cut, hi, sorted({index, min(index + 1, count - 1)}))]
    return [p for p in parts if p[0] < p[1]]


def predict_into(out: np.ndarray, features: SharedFeatures, layout: PatchGrid, srgb: np.ndarray, weights: dict,
                 ij: tuple[int, int], blend: tuple[np.ndarray, np.ndarray]) -> None:
    """Write patch ``ij``'s raw-RGB into ``out``, blending the networks of it and its neighbours.

    Each quarter of the patch (split at its centre) blends the 2 x 2 networks
    whose tent weights are non-zero there. ``blend`` holds the row and column
    tent weights of the whole image; ``weights`` must hold every neighbour of ``ij``.
    With linear inputs by cell position, each quarter is predicted as its four
    lattices of one position (every other row and column), each with that
    position's output weights: the same result as the spread inputs, without
    multiplying the three quarters of them that are zero.
    """
    i, j = ij
    y0, y1, x0, x1 = layout.box(i, j)
    rows, cols = layout.shape
    for ya, yb, near_rows in _halves(y0, y1, i, rows):
        for xa, xb, near_cols in _halves(x0, x1, j, cols):
            near = [(a, b) for a in near_rows for b in near_cols]
            stacked = features.engine.concat([weights[c] for c in near], axis=1)
            if not features.phased:
                _predict_lattice(out, features, srgb, stacked, near, blend, (ya, yb, xa, xb), 1)
                continue
            for ys in range(ya, min(ya + 2, yb)):
                for xs in range(xa, min(xa + 2, xb)):
                    _predict_lattice(out, features, srgb, stacked, near, blend, (ys, yb, xs, xb), 2)


def _predict_lattice(out: np.ndarray, features: SharedFeatures, srgb: np.ndarray, stacked: Any,
                     near: list[tuple[int, int]], blend: tuple[np.ndarray, np.ndarray],
                     box: tuple[int, int, int, int], step: int) -> None:
    """Write into ``out`` the pixels of ``box`` every ``step``-th row and column from its corner, blending the
    networks of the patches ``near`` (their output layers side by side in ``stacked``) by ``blend``; in bands of
    rows of at most about ``features.engine.chunk_pixels`` pixels."""
    ya, yb, xa, xb = box
    band = step * max(1, features.engine.chunk_pixels // len(range(xa, xb, step)))
    for y in range(ya, yb, band):
        _predict_band(out, features, srgb, stacked, near, blend, (y, min(y + band, yb), xa, xb), step)


def _predict_band(out: np.ndarray, features: SharedFeatures, srgb: np.ndarray, stacked: Any,
                  near: list[tuple[int, int]], blend: tuple[np.ndarray, np.ndarray],
                  box: tuple[int, int, int, int], step: int) -> None:
    """:func:`_predict_lattice` of one band of rows."""
    ya, yb, xa, xb = box
    if step == 1:
        linear, hidden = features.box(srgb, box)
        linear_weights = stacked[: features.linear_inputs]
    else:  # every pixel at one cell position p: input k's weight is row 4 k + p
        linear, hidden = features.box(srgb, box, step, by_position=False)
        linear_weights = stacked[2 * (ya % 2) + xa % 2 : features.linear_inputs : 4]
    wr, wc = blend[0][ya:yb:step], blend[1][xa:xb:step]
    mix = (wr[:, [a for a, _ in near]][:, None, :] * wc[:, [b for _, b in near]][None, :, :]).reshape(-1, len(near))
    pred = _blended(features, linear, linear_weights, hidden, stacked, mix)
    out[ya:yb:step, xa:xb:step] = features.engine.numpy(pred).reshape(len(wr), len(wc), 3)


def _blended(features: SharedFeatures, linear: Any, linear_weights: Any, hidden: Any, stacked: Any,
             mix: np.ndarray) -> Any:
    """The K networks side by side in ``stacked`` (their linear inputs' weights in ``linear_weights``) applied
    to N pixels' inputs, blended by ``mix`` (N, K) and clamped to [0, 1]: (N, 3)."""
    e = features.engine
    per_model = e.addmm(linear @ linear_weights, hidden, stacked[features.linear_inputs :])
    pred = e.einsum("nkc,nk->nc", per_model.reshape(len(linear), mix.shape[1], 3), e.asarray(mix))
    return e.clip_(pred, 0.0, 1.0)


@dataclass(frozen=True)
class FastModel:
    """The fast preset's fitted networks over some patches of one image, ready to predict there.

    Attributes
    ----------
    features : SharedFeatures
    layout : PatchGrid
    srgb : ndarray, float32, (H, W, 3)
    weights : dict
        Output layer (width, 3) of each fitted patch.
    blend : (ndarray, ndarray)
        Row and column tent weights of the whole image (:func:`tent_weights`).
    """

    features: SharedFeatures
    layout: PatchGrid
    srgb: np.ndarray
    weights: dict[tuple[int, int], Any]
    blend: tuple[np.ndarray, np.ndarray]

    @classmethod
    def fitted(cls, job: PatchJob, progress: Progress | None = None) -> FastModel:
        """The networks of ``job.patches`` and of their neighbours, which blend into their pixels; ``progress``
        as :func:`fit` reports it."""
        config = preset_for(job.grid, job.layout, job.enlarged, job.version)
        layout = job.layout
        phased = not job.enlarged and by_cell_position(job.grid, layout)
        features = SharedFeatures(config, layout, job.seed, job.engine, phased=phased)
        weights = fit(features, config, layout, job.grid, job.srgb, job.values, _within(job.patches, layout.shape, 1),
                      job.objective, progress)
        blend = (tent_weights(layout.height, layout.row_edges), tent_weights(layout.width, layout.col_edges))
        return cls(features, layout, job.srgb, weights, blend)

    def predict_patch(self, out: np.ndarray, ij: tuple[int, int]) -> None:
        """Write patch ``ij``'s prediction into ``out`` (H x W x 3)."""
        predict_into(out, self.features, self.layout, self.srgb, self.weights, ij, self.blend)

    def predict(self, rows: np.ndarray, cols: np.ndarray, progress: Progress | None = None) -> np.ndarray:
        """The prediction (N, 3) at pixels (rows[k], cols[k]), as :meth:`predict_patch` gives it there;
        ``progress`` counts the pixels.

        Pixels are grouped by the 2 x 2 networks that blend there (the quarter
        patch they lie in) and by cell position, and each group is one product,
        so scattered pixels cost about what a block of as many does.
        """
        n_rows, n_cols = self.layout.shape
        near_row = _pair_starts(rows, self.layout.row_edges)
        near_col = _pair_starts(cols, self.layout.col_edges)
        position = (rows % 2) * 2 + cols % 2 if self.features.phased else np.zeros_like(rows)
        key = ((near_row + 1) * (n_cols + 1) + near_col + 1) * 4 + position
        order = np.argsort(key, kind="stable")
        starts = np.flatnonzero(np.diff(key[order], prepend=-1))
        out = np.empty((len(rows), 3), np.float32)
        for group, end in zip(np.split(order, starts[1:]), [*starts[1:], len(rows)]):
            k = key[group[0]]
            a, b, p = k // 4 // (n_cols + 1) - 1, k // 4 % (n_cols + 1) - 1, k % 4
            out[group] = self._predict_group(rows[group], cols[group], _pair(a, n_rows), _pair(b, n_cols), p)
            report(progress, end, len(rows))
        return out

    def _predict_group(self, rows: np.ndarray, cols: np.ndarray, near_rows: list[int], near_cols: list[int],
                       position: int) -> np.ndarray:
        """Pixels blended from the networks ``near_rows x near_cols``, all at one cell ``position``."""
        features = self.features
        near = [(a, b) for a in near_rows for b in near_cols]
        stacked = features.engine.concat([self.weights[c] for c in near], axis=1)
        linear, hidden = features.points(self.srgb, rows, cols)
        step = 4 if features.phased else 1
        mix = np.stack([self.blend[0][rows, a] * self.blend[1][cols, b] for a, b in near], axis=1)
        return features.engine.numpy(_blended(features, linear, stacked[position : features.linear_inputs : step],
                                              hidden, stacked, mix))


def _pair_starts(pixels: np.ndarray, edges: tuple[int, ...]) -> np.ndarray:
    """For pixels along one axis, the first of the two patches that blend there (-1 before the first centre).

    As :func:`_halves` splits a patch: pixels before its cut blend it with the previous patch, the others
    with the next.
    """
    e = np.asarray(edges)
    index = np.clip(np.searchsorted(e, pixels, side="right") - 1, 0, len(e) - 2)
    return np.where(pixels < _cut(e[index], e[index + 1]), index - 1, index)


def _pair(start: int, count: int) -> list[int]:
    """The patches (one at the ends) that a pair starting at ``start`` blends, of ``count`` along an axis."""
    return sorted({max(start, 0), min(start + 1, count - 1)})


def restore(job: PatchJob, out: np.ndarray) -> None:
    """Fill ``out``'s pixels of ``job.patches`` with the fast preset's prediction, and interpolate clipped
    highlights if ``job.highlights``."""
    stage(job.progress, "fitting")
    model = FastModel.fitted(job, part(job.progress, 0.0, FIT_SHARE))
    stage(job.progress, "restoring")
    interpolation = highlights.Interpolation(job) if job.highlights else None

    def restore_patch(ij: tuple[int, int]) -> None:
        # a patch's highlights right after its prediction, on the same thread: one pass of the pool, whose
        # threads then never wait at the end of the prediction for the slowest patch
        model.predict_patch(out, ij)
        if interpolation is not None:
            interpolation.apply_patch(out, ij)

    restoring = part(job.progress, FIT_SHARE, 1.0)
    for k, _ in enumerate(job.engine.map(restore_patch, job.patches)):
        report(restoring, k + 1, len(job.patches))
