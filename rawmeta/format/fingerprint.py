"""A fingerprint of the JPEG's pixels, and what changed in a JPEG since its payload was written.

The image-data hash (``segments.image_data_hash``) tells whether the
JPEG's image bytes changed, not how. A lossless rewrite (``jpegtran
-optimize``), a re-encode, an edit and a 180-degree turn all change it, and
all but the turn keep the image's size. They matter very differently: the
samples decode against the JPEG's pixels (docs/FORMAT.md, "Filter 2"), so a
restore is as good as ever after a rewrite, slightly worse after a
re-encode, and wrong after an edit or a turn.

Version 4 payloads therefore also carry a fingerprint of the decoded
pixels (:func:`fingerprint`): a CRC-32 of them all, which tells a lossless
rewrite, and the mean of each channel over a grid of at most 8 x 8 cells,
rounded to whole sRGB levels, which tells a re-encode (means move by a
fraction of a level) from an edit or a turn (they move by many).
:func:`compare` measures a JPEG's pixels against it.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from rawmeta.format import orientation

#: Cells per side of the fingerprint grid (fewer for an image under 8 pixels on a side).
CELLS = 8
#: RMS difference of the cell means (sRGB levels) above which the pixels were edited, not re-encoded: a
#: re-encode moves the means by about a level, an edit or a turn by many more (docs/CONSTANTS.md).
EDITED_RMS = 2.0
# Same-size turns and mirrors a tool may have applied to the pixels, with the jpegtran call that undoes each.
_UNDO = {3: "jpegtran -copy all -rotate 180", 2: "jpegtran -copy all -flip horizontal",
         4: "jpegtran -copy all -flip vertical"}


def grid_shape(height: int, width: int) -> tuple[int, int]:
    """Rows and columns of the fingerprint grid of a ``height`` x ``width`` image."""
    return min(CELLS, height), min(CELLS, width)


@dataclass(frozen=True)
class Fingerprint:
    """A digest of a JPEG's decoded pixels.

    Attributes
    ----------
    pixels_crc : int
        CRC-32 (zlib's) of the H x W x 3 uint8 pixels, row by row.
    means : ndarray, uint8, shape (rows, cols, 3)
        Mean of each channel over each cell, rounded half up.
    """

    pixels_crc: int
    means: np.ndarray

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Fingerprint) and self.pixels_crc == other.pixels_crc
                and np.array_equal(self.means, other.means))


def fingerprint(srgb: np.ndarray) -> Fingerprint:
    """The fingerprint of decoded pixels (uint8 H x W x 3).

    Cell ``i`` of ``n`` along an axis of ``N`` pixels spans pixels
    ``floor(i N / n)`` to ``floor((i + 1) N / n) - 1``. The means are
    computed in integers, so every reader gets the same values.
    """
    sums, areas = _cell_sums(srgb)
    means = ((2 * sums + areas) // (2 * areas)).astype(np.uint8)
    return Fingerprint(zlib.crc32(np.ascontiguousarray(srgb, np.uint8)), means)


def _cell_sums(srgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-cell channel sums (rows, cols, 3) and pixel counts (rows, cols, 1), as int64."""
    h, w = srgb.shape[:2]
    rows, cols = grid_shape(h, w)
    r_edges = np.arange(rows + 1) * h // rows
    c_edges = np.arange(cols + 1) * w // cols
    # a sum per band of rows: np.add.reduceat casting uint8 to an int64 accumulator is far slower
    rows_summed = np.stack([srgb[a:b].sum(axis=0, dtype=np.int64) for a, b in zip(r_edges[:-1], r_edges[1:])])
    sums = np.add.reduceat(rows_summed, c_edges[:-1], axis=1)
    return sums, np.outer(np.diff(r_edges), np.diff(c_edges))[..., None]


def rms_difference(stored: Fingerprint, srgb: np.ndarray) -> float:
    """RMS difference in sRGB levels between a stored fingerprint's cell means and ``srgb``'s own."""
    sums, areas = _cell_sums(srgb)
    current = sums / areas
    if current.shape != stored.means.shape:
        return float("inf")
    return float(np.sqrt(np.mean((current - stored.means) ** 2)))


@dataclass(frozen=True)
class ImageChange:
    """How a JPEG's image changed since its payload was written.

    Attributes
    ----------
    bytes_match : bool
        The image data's bytes are unchanged (the hash matches).
    rms : float or None
        RMS difference of the fingerprint's cell means, in sRGB levels (0
        when the pixels are the same); None when the payload has no
        fingerprint (versions 1-3).
    undo : str or None
        When the pixels match the fingerprint turned or mirrored: the
        jpegtran call that undoes it.
    """

    bytes_match: bool
    rms: float | None = None
    undo: str | None = None

    @property
    def kind(self) -> str:
        """``unchanged``, ``rewritten`` (same pixels), ``re-encoded``, ``edited``, or ``changed`` (unknown how)."""
        if self.bytes_match:
            return "unchanged"
        if self.rms is None:
            return "changed"
        if self.rms == 0:
            return "rewritten"
        return "re-encoded" if self.rms <= EDITED_RMS else "edited"

    @property
    def pixels_kept(self) -> bool:
        """The pixels are known to be those the payload was made for (``unchanged`` or ``rewritten``)."""
        return self.kind in ("unchanged", "rewritten")

    def describe(self) -> str:
        """One sentence for the user; empty when unchanged."""
        kind = self.kind
        if kind == "rewritten":
            return "the JPEG was rewritten losslessly since embedding (same pixels); the restore is unaffected"
        if kind == "changed":
            return ("the JPEG's image data changed since embedding (re-encoded?); accuracy depends on how much "
                    "it changed")
        if kind == "re-encoded":
            return (f"the JPEG was re-encoded since embedding (pixels moved {self.rms:.2f} levels RMS); "
                    "the restore may be slightly less accurate")
        if kind == "edited":
            how = f"turned or mirrored (`{self.undo}` undoes it)" if self.undo else "edited, or is another image"
            return (f"the JPEG's pixels changed since embedding by {self.rms:.1f} levels RMS, more than a "
                    f"re-encode: it was {how}; a restore from it would be wrong")
        return ""


def compare(stored: Fingerprint | None, srgb: np.ndarray, bytes_match: bool) -> ImageChange:
    """How the JPEG with pixels ``srgb`` changed since a payload with fingerprint ``stored`` was written."""
    if bytes_match or stored is None:
        return ImageChange(bytes_match)
    if zlib.crc32(np.ascontiguousarray(srgb, np.uint8)) == stored.pixels_crc:
        return ImageChange(bytes_match, 0.0)
    rms = rms_difference(stored, srgb)
    undo = None
    if rms > EDITED_RMS:
        undo = next((cmd for code, cmd in _UNDO.items()
                     if rms_difference(stored, orientation.orient(srgb, code)) <= EDITED_RMS), None)
    return ImageChange(bytes_match, rms, undo)
