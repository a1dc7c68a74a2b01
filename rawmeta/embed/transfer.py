"""Copying a payload from a JPEG onto another encoding of the same image (``rawmeta embed --from``).

For the user who re-encoded a JPEG by mistake (an editor's re-save, an
export) and lost its rawmeta data: the old file's samples are decoded and
coded again against the new file's pixels, since format 2 and later predict
samples from the JPEG's pixels (docs/FORMAT.md, "Filter 2"). The samples,
their grid and the alignment stay as they were, so the new JPEG must show
the same image on the same pixel grid; its pixels are compared with the old
ones to make sure, by the test restore uses (``fingerprint.compare``): cell
means within a re-encode's reach. The restore is then trained on the new pixels: its
accuracy depends on how much the re-encode changed them, and the old
file's measured restore estimate no longer applies.
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rawmeta.embed.jpeg import EmbedReport, embed_bytes
from rawmeta.errors import MismatchError, NoPayloadError, PayloadError, RawmetaError, UsageError, about
from rawmeta.format import container
from rawmeta.format import payload as pl
from rawmeta.format import segments as js
from rawmeta.format.fingerprint import compare, fingerprint
from rawmeta.io.jpeg_pixels import decode_jpeg
from rawmeta.io.userfiles import read_jpeg, rewrite_target, same_file, write_output
from rawmeta.metrics import psnr


@dataclass(frozen=True)
class Transfer:
    """What a transfer produced.

    Attributes
    ----------
    report : EmbedReport
        The payload written into the new JPEG and its size.
    pixel_psnr : float
        PSNR (dB, peak 255) of the new JPEG's pixels against the old one's;
        infinite when they are identical (a lossless rewrite).
    """

    report: EmbedReport
    pixel_psnr: float

    @property
    def pixels_identical(self) -> bool:
        return self.pixel_psnr == float("inf")


def transfer_bytes(old: bytes, new: bytes) -> tuple[bytes, Transfer]:
    """``new`` carrying the payload of ``old``, coded against ``new``'s pixels.

    Raises
    ------
    NoPayloadError, PayloadError
        If ``old`` carries no payload, or a damaged one.
    JpegError
        If either file is not a readable JPEG.
    MismatchError
        If the two JPEGs differ in size, or the new one's pixels moved more
        than a re-encode moves them (an edit, a turn, another image).
    """
    try:
        carried = container.extract(old)
    except NoPayloadError:
        swapped = container.carries_payload(new)
        raise NoPayloadError("{file} (given to --from) has no rawmeta data" + (
            " but the other JPEG does: the JPEG with the data comes after --from, the copy to write last"
            if swapped else "")) from None
    old_pixels = decode_jpeg(old)
    payload = pl.unpack(carried.payload, old_pixels)
    new_pixels = decode_jpeg(new)
    if new_pixels.shape != old_pixels.shape:
        raise MismatchError(f"the new JPEG is {new_pixels.shape[1]} x {new_pixels.shape[0]} pixels, the old one "
                            f"{old_pixels.shape[1]} x {old_pixels.shape[0]}: --from needs the same image on the "
                            "same pixel grid (embed from the RAW instead)")
    change = compare(fingerprint(old_pixels), new_pixels, bytes_match=False)
    if change.kind == "edited":
        raise MismatchError(f"the new JPEG's pixels moved {change.rms:.1f} levels RMS from the old one's, more "
                            "than a re-encode: not the same image, or edited or turned")
    similarity = psnr(new_pixels.astype(np.float32), old_pixels.astype(np.float32), peak=255.0)
    if similarity != float("inf"):  # the writer's measured restore was of the old pixels
        payload = dataclasses.replace(payload, expected_psnr=float("nan"))
    payload = dataclasses.replace(payload, image_hash=js.image_data_hash(js.parse(new)))
    out, report = embed_bytes(new, payload)
    return out, Transfer(report, similarity)


def transfer_file(old_path: str | os.PathLike, new_path: str | os.PathLike,
                  out: str | os.PathLike | None = None, *, overwrite: bool = False) -> Transfer:
    """Copy ``old_path``'s payload into ``new_path``, in place unless ``out`` is given; atomic.

    An existing ``out`` other than ``new_path`` is refused unless ``overwrite``;
    ``old_path`` never.
    """
    if same_file(old_path, new_path):
        raise UsageError(f"--from {old_path} and the JPEG to write are the same file: give the copy that lost "
                         "its rawmeta data as the JPEG")
    old, new = read_jpeg(old_path), read_jpeg(new_path)
    target, replace = rewrite_target(new_path, out, overwrite=overwrite, inputs=[("JPEG given to --from", old_path)])
    for path, data in ((old_path, old), (new_path, new)):
        with about(path):
            js.parse(data)
    with about(old_path, (NoPayloadError, PayloadError)):  # the rawmeta data read is the old JPEG's
        data, transfer = transfer_bytes(old, new)
    write_output(target, data, replace=replace)
    return dataclasses.replace(transfer, report=dataclasses.replace(transfer.report, output=target))


def likely_source(path: str | os.PathLike) -> Path | None:
    """A JPEG beside ``path`` whose rawmeta data ``embed --from`` could copy into ``path``, if there is one.

    For the user whose edit or re-save (``IMG_1-edit.jpg``) has no rawmeta
    data: a sibling whose name is the start of ``path``'s, or the other way
    round, up to a character that is not a letter or digit (``IMG_1.jpg``,
    not ``IMG_10.jpg``), that carries rawmeta data for the same image on the
    same pixel grid (:func:`rawmeta.format.fingerprint.compare` sees at most
    a re-encode). Unreadable files are passed over.

    Examples
    --------
    >>> likely_source("no-such-folder/IMG_1-edit.jpg") is None
    True
    """
    path = Path(path)
    try:
        candidates = [p for p in sorted(path.parent.iterdir()) if _related(p.stem, path.stem) and p.is_file()]
    except OSError:
        return None
    pixels = None
    for candidate in candidates:
        try:
            data = read_jpeg(candidate)
            if not container.carries_payload(data):
                continue
            if pixels is None:
                pixels = decode_jpeg(read_jpeg(path))
            stored = pl.unpack(container.extract(data).payload, decode_jpeg(data)).fingerprint
        except RawmetaError:
            continue
        if compare(stored, pixels, bytes_match=False).kind in ("rewritten", "re-encoded"):
            return candidate
    return None


def _related(stem: str, other: str) -> bool:
    """Whether one name stem extends the other past a separator (``IMG_1`` and ``IMG_1-edit``, not ``IMG_10``)."""
    short, long = sorted((stem.lower(), other.lower()), key=len)
    return short != long and long.startswith(short) and not long[len(short)].isalnum()
