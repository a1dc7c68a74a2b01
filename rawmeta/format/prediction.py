"""Prediction of raw-RGB samples from the decoded JPEG, so that only the (small) prediction error is coded.

The reader has the JPEG, so a sample's raw-RGB is largely known before any
payload byte is read: it is a smooth function of the sRGB around it. The
writer fits one global polynomial per channel from the 3 x 3 mean sRGB
``m`` around each sample to its quantized raw-RGB value, stores its
coefficients (float32), and codes ``q - round(prediction)``. The residuals
are smaller than version 1's row deltas, so the coded samples are too
(docs/CONSTANTS.md, docs/BENCHMARKS.md).

Decoders of one JPEG do not agree to the bit: libjpeg-turbo's fast integer
IDCT without fancy upsampling differs from Pillow's decode most at chroma
edges (docs/CONSTANTS.md). The 3 x 3 mean damps that, and a sample decoded
with such a decoder is off by exactly its prediction's change, which
docs/FORMAT.md bounds and docs/BENCHMARKS.md measures.

The arithmetic is specified exactly (docs/FORMAT.md, "Filter 2") so that
another reader computes the same predictions: float64 throughout, features
summed in their listed order.
"""
from __future__ import annotations

import numpy as np

from rawmeta.format.alignment import Alignment
from rawmeta.format.sample_coding import Bits, tops

#: Number of polynomial terms per channel (see :func:`features`).
TERMS = 13


def local_means(srgb: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Mean of the 3 x 3 uint8 sRGB pixels around each (row, col), in [0, 1]: shape (N, 3), float64.

    Neighbours beyond the image edge repeat the edge pixel.
    """
    if srgb.dtype != np.uint8:
        raise ValueError("prediction works on the JPEG's decoded uint8 pixels")
    h, w = srgb.shape[:2]
    # gathered from the flat image by flat index (several times faster than 2-D fancy indexing), summed
    # in uint16, which holds 9 x 255
    flat = srgb.reshape(h * w, 3)
    row_starts = [np.clip(rows + d, 0, h - 1) * w for d in (-1, 0, 1)]
    columns = [np.clip(cols + d, 0, w - 1) for d in (-1, 0, 1)]
    total = np.zeros((len(rows), 3), np.uint16)
    for starts in row_starts:
        for column in columns:
            total += flat.take(starts + column, axis=0)
    return total / (9.0 * 255.0)


def nearest_on_raw_grid(srgb: np.ndarray, alignment: Alignment) -> np.ndarray:
    """The JPEG's pixels carried onto the RAW's grid, each raw-RGB pixel taking the JPEG pixel nearest to
    it: what the samples of a payload on the RAW's grid are predicted from (docs/FORMAT.md).

    Nearest is ``floor(c + 0.5)`` of the coordinate :meth:`Alignment.source_axes` gives, kept inside the
    JPEG. Returns uint8 of the raw-RGB's size.
    """
    source, along_rows, along_cols = alignment.source_axes(srgb)
    rows = np.clip(np.floor(along_rows + 0.5), 0, source.shape[0] - 1).astype(np.intp)
    cols = np.clip(np.floor(along_cols + 0.5), 0, source.shape[1] - 1).astype(np.intp)
    return source[np.ix_(rows, cols)]


def features(means: np.ndarray) -> np.ndarray:
    """The 13 polynomial terms of each mean sRGB ``m`` (N, 3): shape (N, 13), float64.

    In order: 1; ``m_R, m_G, m_B``; ``l_R, l_G, l_B`` where ``l`` is ``m``
    linearised by the sRGB transfer function; ``l_R l_R, l_R l_G, l_R l_B,
    l_G l_G, l_G l_B, l_B l_B``.
    """
    lin = np.where(means <= 0.04045, means / 12.92, ((means + 0.055) / 1.055) ** 2.4)
    products = [lin[:, a] * lin[:, b] for a in range(3) for b in range(a, 3)]
    return np.column_stack([np.ones(len(means)), means, lin, *products])


def fit(terms: np.ndarray, q: np.ndarray, bits: Bits) -> np.ndarray:
    """Least-squares coefficients (13, 3), float32, predicting ``q / (2**bits - 1)`` (N, 3) from ``terms``.

    ``bits`` is one depth or one per sample, shape (N, 1).
    """
    coef, *_ = np.linalg.lstsq(terms, q.astype(np.float64) / tops(bits), rcond=None)
    return coef.astype(np.float32)


def predict(terms: np.ndarray, coef: np.ndarray, bits: Bits) -> np.ndarray:
    """Quantized predictions (N, 3), int64 in [0, 2**bits - 1].

    ``floor(top * sum_k terms[:, k] * coef[k] + 0.5)``, summed over k in
    order in float64, clipped; ``top = 2**bits - 1`` per sample.
    """
    top = tops(bits)
    c = coef.astype(np.float64)
    acc = np.zeros((len(terms), 3))
    for k in range(TERMS):
        acc += terms[:, k : k + 1] * c[k]
    return np.clip(np.floor(acc * top + 0.5), 0, top).astype(np.int64)
