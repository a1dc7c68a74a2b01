"""Embedding raw-RGB samples into a JPEG, and taking them out again.

The array-level functions (:func:`make_payload`, :func:`embed_bytes`) are
for researchers holding arrays; the file-level ones (:func:`embed_file`,
:func:`strip_file`) are what the command line runs.
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rawmeta.alignment.matching import align, display_orientation, raw_grid_orientation, warp
from rawmeta.embed.budget import PairFacts, plan
from rawmeta.embed.options import EmbedOptions
from rawmeta.embed.white_balance import camera_with_jpeg_balance
from rawmeta.errors import JpegError, MismatchError, about
from rawmeta.format import container
from rawmeta.format import payload as pl
from rawmeta.format import segments as js
from rawmeta.format.alignment import Alignment
from rawmeta.format.camera import CameraFacts
from rawmeta.format.grid import DEFAULT_STRIDE, Grid
from rawmeta.io.jpeg_pixels import check_frame, decode_jpeg, exif_orientation
from rawmeta.io.rawfile import read_raw
from rawmeta.io.userfiles import read_jpeg, rewrite_target, write_output
from rawmeta.progress import Progress, part, report, stage
from rawmeta.restore.guide import smaller_than_raw

#: Shares of an embed's progress, near their shares of the time (docs/ARCHIVE.md, "Progress"): reading the
#: RAW ends at READ_END, making the payload at PAYLOAD_END (writing the JPEG takes the rest); in making
#: the payload, aligning ends at ALIGN_END, or at SEARCH_END for a JPEG on another grid than the RAW's,
#: which is searched for (planning takes the rest).
READ_END, PAYLOAD_END, ALIGN_END, SEARCH_END = 0.01, 0.99, 0.03, 0.3


@dataclass(frozen=True)
class EmbedReport:
    """What an embed produced."""

    payload: pl.Payload
    payload_bytes: int
    segment_count: int
    jpeg_bytes: int
    output: Path | None = None

    @property
    def grid(self) -> Grid:
        return self.payload.grid

    @property
    def bits(self) -> int:
        return self.payload.bits

    @property
    def refined_count(self) -> int:
        """Samples in refinement blocks."""
        return self.payload.sample_count - self.grid.count

    @property
    def added_bytes(self) -> int:
        """Bytes the payload's segments add to the JPEG, segment headers included."""
        return container.carried_bytes(self.payload_bytes, self.segment_count)

    @property
    def bytes_per_sample(self) -> float:
        """Payload bytes per sampled pixel (three channels)."""
        return self.payload_bytes / self.payload.sample_count

    @property
    def percent_of_jpeg(self) -> float:
        """Added bytes as a percentage of the JPEG without rawmeta data (what ``--budget`` counts)."""
        return 100.0 * self.added_bytes / self.jpeg_bytes


def make_payload(rgb: np.ndarray, camera: CameraFacts, jpeg: bytes, options: EmbedOptions | None = None, *,
                 progress: Progress | None = None, **kwargs) -> pl.Payload:
    """Sample raw-RGB and build its payload for ``jpeg``.

    The JPEG may be a render of the RAW on another grid (cropped, rotated,
    resized): its map into the raw-RGB is found by matching content
    (:func:`rawmeta.alignment.matching.align`) and goes into the payload's
    header. A JPEG smaller than the RAW (:func:`rawmeta.restore.guide.smaller_than_raw`)
    has its samples taken on the RAW's own grid, so that restore gives the
    RAW's resolution; otherwise the raw-RGB is resampled onto the JPEG's grid.
    Where the RAW names no as-shot white balance, the payload carries one
    estimated from the JPEG (:func:`rawmeta.embed.white_balance.camera_with_jpeg_balance`).
    The payload's orientation (for the restored DNG) is the JPEG's EXIF
    Orientation tag if it has one, else the RAW's, as seen through the map
    from the grid the samples are on.

    Parameters
    ----------
    rgb : ndarray, shape (H, W, 3)
        raw-RGB in [0, 1].
    camera : CameraFacts
        Facts about the RAW, kept for writing a DNG at restore.
    jpeg : bytes
        The JPEG file the payload is for (its image data is hashed).
    options : EmbedOptions, optional
        Budget, fixed stride or depth, device, same grid (default
        :class:`EmbedOptions`); any of its fields given as keyword arguments
        replace the value in ``options``, as rawpy's ``postprocess(params,
        **kw)`` does.
    progress : callable, optional
        ``progress(done, total)`` as the work goes on.

    Raises
    ------
    JpegError
        If ``jpeg`` is not a usable colour JPEG.
    MismatchError
        If the JPEG's content does not match the RAW's, or it is too small for the grid.
    BudgetError
        If no payload fits ``budget``.
    """
    options = dataclasses.replace(options or EmbedOptions(), **kwargs)
    layout = js.parse(jpeg)
    height, width, components = check_frame(layout)
    if components != 3:
        raise JpegError(f"{{file}} is not a colour JPEG (it has {components} colour component"
                        f"{'' if components == 1 else 's'}): rawmeta needs one in colour")
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"raw-RGB must be H x W x 3, not {rgb.shape}")
    try:
        Grid.centred(height, width, options.stride or DEFAULT_STRIDE)
    except ValueError as exc:
        raise MismatchError(str(exc)) from None
    stage(progress, "aligning")
    srgb = decode_jpeg(jpeg)
    aligned = ALIGN_END if rgb.shape[:2] == srgb.shape[:2] else SEARCH_END  # only other grids are searched for
    found = align(rgb, camera.white_balance, srgb, same_grid=options.same_grid, progress=part(progress, 0.0, aligned))
    # The restored RAW is shown as the JPEG is: by its own tag, else as the RAW is.
    if smaller_than_raw(found):
        camera = camera_with_jpeg_balance(camera, rgb, srgb, found)
        shown, jpeg_size = raw_grid_orientation(exif_orientation(jpeg), camera.orientation, found), (height, width)
    else:
        rgb = warp(rgb, found, height, width)
        camera = camera_with_jpeg_balance(camera, rgb, srgb, Alignment.identity(height, width))  # warped once
        shown, jpeg_size = exif_orientation(jpeg) or display_orientation(camera.orientation, found), None
    camera = dataclasses.replace(camera, orientation=shown)
    report(part(progress, 0.0, aligned), 1, 1)
    pair = PairFacts(camera, js.image_data_hash(layout), container.size_without_ours(layout), found, jpeg_size)
    return plan(rgb, srgb, pair, options, progress=part(progress, aligned, 1.0))


def embed_bytes(jpeg: bytes, payload: pl.Payload) -> tuple[bytes, EmbedReport]:
    """``jpeg`` with ``payload`` in it (replacing any earlier one), and a report."""
    packed = pl.pack(payload, decode_jpeg(jpeg))
    out = container.attach(jpeg, packed)
    count = -(-len(packed) // container.CHUNK_BYTES)
    made = EmbedReport(payload, len(packed), count, jpeg_bytes=0)
    return out, dataclasses.replace(made, jpeg_bytes=len(out) - made.added_bytes)


def embed_file(
    raw_path: str | os.PathLike,
    jpeg_path: str | os.PathLike,
    out: str | os.PathLike | None = None,
    *,
    overwrite: bool = False,
    options: EmbedOptions | None = None,
    progress: Progress | None = None,
    **kwargs,
) -> EmbedReport:
    """Embed ``raw_path``'s samples into ``jpeg_path``, in place unless ``out`` is given.

    ``options`` and ``kwargs`` go to :func:`make_payload`. The write is atomic: the target
    is either untouched or complete. An existing ``out`` other than the
    JPEG is refused before any work unless ``overwrite``; the RAW never.
    ``progress(done, total)`` is called as the work goes on.
    """
    jpeg = read_jpeg(jpeg_path)
    with about(jpeg_path):
        js.parse(jpeg)  # refuse a bad JPEG, and a target that cannot be written, before spending time on the RAW
    target, replace = rewrite_target(jpeg_path, out, overwrite=overwrite, inputs=[("RAW", raw_path)])
    stage(progress, "reading RAW")
    raw = read_raw(raw_path)
    report(part(progress, 0.0, READ_END), 1, 1)
    with about(jpeg_path):
        payload = make_payload(raw.rgb, raw.camera, jpeg, options, progress=part(progress, READ_END, PAYLOAD_END),
                               **kwargs)
    stage(progress, "writing JPEG")
    new, made = embed_bytes(jpeg, payload)
    write_output(target, new, replace=replace)
    report(progress, 1, 1)
    return dataclasses.replace(made, output=target)


def strip_file(jpeg_path: str | os.PathLike, out: str | os.PathLike | None = None, *,
               overwrite: bool = False) -> Path:
    """Remove rawmeta's segments, in place unless ``out`` is given; returns the path written.

    An existing ``out`` other than the JPEG is refused unless ``overwrite``.
    """
    with about(jpeg_path):
        stripped = container.detach(read_jpeg(jpeg_path))
    target, replace = rewrite_target(jpeg_path, out, overwrite=overwrite)
    write_output(target, stripped, replace=replace)
    return target
