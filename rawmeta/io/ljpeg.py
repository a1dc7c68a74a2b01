"""Lossless JPEG (ITU-T T.81 process 14, "LJ92"): the compression cameras and Adobe use inside DNG.

One encoder, :func:`encode`, for an image of 1 to 4 components of up to 16
bits, with predictor 1 (the sample to the left; the first column is
predicted from the sample above, the first sample from ``2**(P-1)``) and one
Huffman table built from the image's own difference statistics (T.81 Annex
K.2, code lengths limited to 16 bits). DNG stores one such stream per tile
(Compression = 7).

The bit packing is vectorised with numpy: every sample's Huffman code and
difference bits are joined into one value of at most 31 bits and placed at
its bit offset in 32-bit words; ``0xFF`` bytes are followed by a stuffed
``0x00``.
"""
from __future__ import annotations

import struct

import numpy as np

#: Code lengths the JPEG Huffman tables allow.
_MAX_CODE_LENGTH = 16
#: Difference categories (SSSS) of 16-bit samples: 0 .. 16.
_CATEGORIES = 17
#: The category of each magnitude 0 .. 32768 of a difference: its bit length (a table: cheaper than log2).
_BIT_LENGTH = np.array([v.bit_length() for v in range(1 << 15 | 1)], np.uint8)
#: Difference bits written after each category's code: as many as the category, none for 16 (T.81 H.1.2.2).
_EXTRA_BITS = np.array([c if c < 16 else 0 for c in range(_CATEGORIES)], np.uint64)


def encode(image: np.ndarray, precision: int = 16) -> bytes:
    """One lossless JPEG stream of ``image``.

    Parameters
    ----------
    image : ndarray, uint16, (H, W) or (H, W, C) with C in 1..4
        Samples below ``2**precision``; the components are interleaved.
    precision : int
        Sample precision P (2..16) written in the frame header.

    Returns
    -------
    bytes
        SOI, DHT, SOF3, SOS, entropy-coded data, EOI.
    """
    data = np.asarray(image)
    if data.ndim == 2:
        data = data[:, :, None]
    if data.ndim != 3 or not 1 <= data.shape[2] <= 4 or data.dtype != np.uint16:
        raise ValueError(f"lossless JPEG takes H x W x C uint16 with C of 1 to 4, not {data.dtype} {data.shape}")
    if not 2 <= precision <= 16 or (precision < 16 and int(data.max(initial=0)) >> precision):
        raise ValueError(f"samples do not fit a precision of {precision} bits")
    height, width, components = data.shape
    diff = _differences(data, precision)
    category = _category(diff)
    lengths = _code_lengths(np.bincount(category.ravel(), minlength=_CATEGORIES))
    codes, bits = _canonical_codes(lengths)
    return (b"\xff\xd8" + _dht(bits, lengths) + _sof3(precision, height, width, components)
            + _sos(components) + _entropy_coded(diff.ravel(), category.ravel(), codes, lengths) + b"\xff\xd9")


def _differences(data: np.ndarray, precision: int) -> np.ndarray:
    """Prediction differences modulo 2**16 as int16, as T.81 H.1.2.1 defines them for predictor 1.

    T.81 reads them as -32767 .. 32768; int16 holds 32768 as -32768, which has the same category (16) and, as
    category 16 writes no difference bits, the same code.
    """
    pred = np.empty_like(data)
    pred[:, 1:] = data[:, :-1]
    pred[1:, 0] = data[:-1, 0]
    pred[0, 0] = 1 << (precision - 1)
    return (data - pred).view(np.int16)  # uint16 arithmetic wraps modulo 2**16


def _category(diff: np.ndarray) -> np.ndarray:
    """SSSS: the bits of |diff| (0 for 0, 16 for 32768, which int16 holds as -32768)."""
    return _BIT_LENGTH[np.abs(diff).view(np.uint16)]


def _code_lengths(frequency: np.ndarray) -> np.ndarray:
    """Huffman code length of each category (0 where unused), at most 16 bits (T.81 Annex K.2).

    A reserved symbol of frequency 1 takes the all-ones code, which JPEG forbids for a real symbol.
    """
    freq = [int(f) for f in frequency] + [1]
    size = [0] * len(freq)
    others = [-1] * len(freq)
    while True:
        live = [i for i, f in enumerate(freq) if f > 0]
        if len(live) < 2:
            break
        v1 = min(live, key=lambda i: (freq[i], -i))
        v2 = min((i for i in live if i != v1), key=lambda i: (freq[i], -i))
        freq[v1] += freq[v2]
        freq[v2] = 0
        size[v1] += 1
        while others[v1] >= 0:
            v1 = others[v1]
            size[v1] += 1
        others[v1] = v2
        size[v2] += 1
        while others[v2] >= 0:
            v2 = others[v2]
            size[v2] += 1
    counts = [0] * 33
    for s in size:
        if s:
            counts[s] += 1
    for i in range(32, _MAX_CODE_LENGTH, -1):  # K.2 "Adjust_BITS": move codes to at most 16 bits
        while counts[i] > 0:
            j = i - 2
            while counts[j] == 0:
                j -= 1
            counts[i] -= 2
            counts[i - 1] += 1
            counts[j + 1] += 2
            counts[j] -= 1
    longest = max(i for i in range(_MAX_CODE_LENGTH + 1) if counts[i] > 0)
    counts[longest] -= 1  # the reserved symbol's code
    order = sorted((i for i in range(_CATEGORIES) if frequency[i] > 0), key=lambda i: (size[i], i))
    lengths = np.zeros(_CATEGORIES, np.int64)
    k = 0
    for length in range(1, _MAX_CODE_LENGTH + 1):
        for _ in range(counts[length]):
            lengths[order[k]] = length
            k += 1
    return lengths


def _canonical_codes(lengths: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """Codes of each category, assigned in order of length then category, and BITS (codes per length)."""
    codes = np.zeros(_CATEGORIES, np.int64)
    bits = [int((lengths == n).sum()) for n in range(1, _MAX_CODE_LENGTH + 1)]
    code = 0
    for length in range(1, _MAX_CODE_LENGTH + 1):
        for symbol in np.nonzero(lengths == length)[0]:
            codes[symbol] = code
            code += 1
        code <<= 1
    return codes, bits


def _dht(bits: list[int], lengths: np.ndarray) -> bytes:
    values = [int(s) for n in range(1, _MAX_CODE_LENGTH + 1) for s in np.nonzero(lengths == n)[0]]
    body = bytes([0x00]) + bytes(bits) + bytes(values)
    return b"\xff\xc4" + struct.pack(">H", 2 + len(body)) + body


def _sof3(precision: int, height: int, width: int, components: int) -> bytes:
    body = struct.pack(">BHHB", precision, height, width, components)
    body += b"".join(bytes([c + 1, 0x11, 0]) for c in range(components))
    return b"\xff\xc3" + struct.pack(">H", 2 + len(body)) + body


def _sos(components: int) -> bytes:
    body = bytes([components]) + b"".join(bytes([c + 1, 0x00]) for c in range(components))
    body += bytes([1, 0, 0])  # predictor 1, Se 0, no point transform
    return b"\xff\xda" + struct.pack(">H", 2 + len(body)) + body


def _entropy_coded(diff: np.ndarray, category: np.ndarray, codes: np.ndarray, lengths: np.ndarray) -> bytes:
    """The scan's bytes: each sample's code then its SSSS difference bits, padded with 1s, 0xFF stuffed."""
    # per category: the code shifted over its difference bits, the mask of those bits, and the total length
    extra_bits = _EXTRA_BITS.astype(np.uint32)
    shifted_code = codes.astype(np.uint32) << extra_bits
    mask = (np.uint32(1) << extra_bits) - np.uint32(1)
    # a negative difference is written as diff - 1 in its low bits (ones' complement); 32768 has no bits
    extra = diff.astype(np.int32)
    extra -= diff < 0
    value = extra.view(np.uint32)
    value &= mask[category]
    value |= shifted_code[category]  # at most 16 + 15 bits
    length = (lengths.astype(np.uint64) + _EXTRA_BITS)[category]
    end = np.cumsum(length)
    total = int(end[-1]) if len(end) else 0
    start = end - length
    # Each value lands in a 64-bit window over the 32-bit words start // 32 and the next. Bits never overlap,
    # so summing the windows of each word (they are consecutive: start only grows) is the same as OR-ing.
    shift = start & np.uint64(31)
    shift += length
    np.subtract(np.uint64(64), shift, out=shift)
    window = value.astype(np.uint64)
    window <<= shift
    word = start >> np.uint64(5)
    starts_word = np.empty(len(word), bool)
    starts_word[:1] = True
    np.not_equal(word[1:], word[:-1], out=starts_word[1:])
    first = np.flatnonzero(starts_word)
    summed = np.add.reduceat(window, first) if len(first) else window
    at = word[first].astype(np.int64)
    words = np.zeros((total >> 5) + 2, np.uint64)
    words[at] += summed >> np.uint64(32)
    words[at + 1] += summed & np.uint64(0xFFFFFFFF)
    packed = np.frombuffer(words.astype(">u4").tobytes(), np.uint8)[: (total + 7) // 8].copy()
    if total % 8:
        packed[-1] |= (1 << (8 - total % 8)) - 1  # pad the last byte with 1-bits
    stuffed = np.insert(packed, np.nonzero(packed == 0xFF)[0] + 1, 0)
    return stuffed.tobytes()
