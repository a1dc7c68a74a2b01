"""Restoring the RAW from a JPEG that carries a rawmeta payload (file level)."""
from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from rawmeta.errors import MismatchError, UsageError, about
from rawmeta.format import container
from rawmeta.format import payload as pl
from rawmeta.format import segments as js
from rawmeta.format.camera import CameraFacts
from rawmeta.format.fingerprint import ImageChange, compare
from rawmeta.format.orientation import compose
from rawmeta.io.dng import BAYER_PATTERNS, assumptions
from rawmeta.io.jpeg_pixels import decode_jpeg
from rawmeta.io.outputs import check_suffix, write_raw_rgb
from rawmeta.io.restore_mark import RestoreMark, payload_id
from rawmeta.io.shot_metadata import ShotMetadata, read_shot_metadata, with_raw_tags
from rawmeta.io.userfiles import check_new_output, read_jpeg, target_path
from rawmeta.progress import Progress, part, report, stage
from rawmeta.resample import warp
from rawmeta.restore import guide
from rawmeta.restore.options import RestoreOptions
from rawmeta.restore.patchwise import reconstruct

#: Where the restore ends in a file restore's progress (writing the file takes the rest).
RESTORE_END = 0.97


@dataclass(frozen=True)
class Restored:
    """A restore's result and what it was made from.

    ``srgb`` is the JPEG's pixels, ``shown`` the sRGB on the restore's grid
    (the JPEG enlarged onto the RAW's grid for a full-resolution restore);
    ``mark`` is what a file written from it carries (:mod:`rawmeta.io.restore_mark`);
    ``shot`` the JPEG's EXIF and XMP, which a DNG written from it carries.
    """

    rgb: np.ndarray
    srgb: np.ndarray
    payload: pl.Payload
    change: ImageChange
    mark: RestoreMark
    shown: np.ndarray
    shot: ShotMetadata = ShotMetadata()

    @property
    def on_raw_grid(self) -> bool:
        """Whether the restore has the RAW's own pixel grid (not the JPEG's)."""
        return self.payload.on_raw_grid(self.rgb.shape)

    @property
    def camera(self) -> CameraFacts:
        """The payload's camera facts, with the orientation that shows the restore as the JPEG is shown."""
        camera = self.payload.camera
        if self.payload.jpeg_size is None or self.on_raw_grid:
            return camera
        return dataclasses.replace(camera, orientation=compose(camera.orientation,
                                                               self.payload.alignment.orientation))


def restore_bytes(jpeg: bytes, options: RestoreOptions | None = None, *, warn: Callable[[str], None] | None = None,
                  progress: Progress | None = None, **kwargs) -> Restored:
    """Restore raw-RGB from JPEG bytes.

    ``options`` (default :class:`RestoreOptions`), with any of its fields
    given as keyword arguments replaced, as rawpy's ``postprocess(params,
    **kw)`` does. A JPEG whose image changed since embedding
    (``fingerprint.compare``) is still restored after a call to ``warn``
    when it was re-encoded (or it is unknown how it changed); one whose
    pixels were edited or turned is refused with MismatchError, unless
    ``options.allow_edited``. A payload with samples on the RAW's grid is
    restored at the RAW's resolution, then averaged onto the JPEG's grid
    if ``options.size`` is ``"jpeg"``; ``warn`` is told when the RAW's
    resolution was asked for and the payload cannot give it.
    """
    options = dataclasses.replace(options or RestoreOptions(), **kwargs)
    stage(progress, "reading JPEG")
    carried = container.extract(jpeg)
    srgb = decode_jpeg(jpeg)
    payload = pl.unpack(carried.payload, srgb)
    change = compare(payload.fingerprint, srgb, payload.image_hash == js.image_data_hash(carried.layout))
    if change.kind == "edited" and not options.allow_edited:
        raise MismatchError(change.describe() + " (--force restores anyway)")
    if not change.pixels_kept and warn is not None:
        warn(change.describe())
    shown = srgb if payload.jpeg_size is None else guide.enlarged_on_raw_grid(srgb, payload.alignment)
    try:
        rgb = reconstruct(shown, payload, progress=progress, **options.reconstruct_kwargs())
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if payload.jpeg_size is not None and options.size == "jpeg":
        rgb, shown = warp(rgb, payload.alignment.matrix, *payload.jpeg_size), srgb
    elif options.size == "raw" and payload.jpeg_size is None and guide.smaller_than_raw(payload.alignment) \
            and warn is not None:
        raw_h, raw_w = payload.alignment.raw_size
        warn(f"this JPEG's rawmeta data (format version {payload.version}) holds samples on the JPEG's grid, "
             f"so the restore has the JPEG's {srgb.shape[1]} x {srgb.shape[0]} pixels, not the RAW's "
             f"{raw_w} x {raw_h}: embed again with this rawmeta for the RAW's resolution")
    return Restored(rgb=rgb, srgb=srgb, payload=payload, change=change,
                    mark=mark_for(carried.payload, options),
                    shot=with_raw_tags(read_shot_metadata(jpeg), payload.camera.shot), shown=shown)


def mark_for(payload: bytes, options: RestoreOptions) -> RestoreMark:
    """The mark of a restore of ``payload`` (as carried) made with ``options``: with the size asked for
    where the payload offers two (samples on the RAW's grid)."""
    size = options.size if pl.raw_grid_size(payload) is not None else ""
    return RestoreMark(payload=payload_id(payload), method=options.method, preset=options.preset,
                       patch=tuple(options.patch_size), seed=options.seed, size=size,
                       objective=options.objective)


def restored_size(payload: bytes, jpeg_size: tuple[int, int], size: str) -> tuple[int, int]:
    """The (height, width) that :func:`restore_bytes` gives for ``payload`` (as carried) in a JPEG of
    ``jpeg_size`` (its stored height and width) when ``size`` is asked for, read from the payload's header
    alone: the RAW's for samples on the RAW's grid and ``size`` ``"raw"``, else the JPEG's.

    Examples
    --------
    >>> restored_size(b"not a payload", (960, 1440), "raw")
    (960, 1440)
    """
    raw = pl.raw_grid_size(payload)
    return raw if raw is not None and size == "raw" else jpeg_size


def restore_file(jpeg_path: str | os.PathLike, out_path: str | os.PathLike, options: RestoreOptions | None = None,
                 *, overwrite: bool = False, warn: Callable[[str], None] | None = None,
                 progress: Progress | None = None, **kwargs) -> Restored:
    """Restore ``jpeg_path`` into ``out_path`` (.npy, .tif/.tiff or .dng by extension), atomically.

    ``options`` and ``kwargs`` as for :func:`restore_bytes`. An existing
    ``out_path`` is refused with OutputError before the restore starts,
    unless ``overwrite``; ``out_path`` is never the JPEG itself.
    """
    out_path = target_path(out_path)
    check_suffix(out_path)  # refuse before the long part
    check_new_output(out_path, overwrite=overwrite, inputs=[("JPEG", jpeg_path)])
    options = dataclasses.replace(options or RestoreOptions(), **kwargs)
    with about(jpeg_path):
        restored = restore_bytes(read_jpeg(jpeg_path), options, warn=warn, progress=part(progress, 0.0, RESTORE_END))
    stage(progress, f"writing {out_path.suffix.lstrip('.').upper()}")
    write_restored(out_path, restored, options.dng, replace=overwrite, warn=warn)
    report(progress, 1, 1)
    return restored


def write_restored(path: str | os.PathLike, restored: Restored, dng: str = "cfa", *, replace: bool = False,
                   warn: Callable[[str], None] | None = None) -> None:
    """Write a restore with its mark, and in a DNG the JPEG's EXIF, XMP and previews, in layout ``dng``
    where the payload allows it (:func:`dng_layout`; ``warn`` is told when it does not, and what the DNG
    assumes because the RAW did not say it, :func:`rawmeta.io.dng.assumptions`)."""
    layout, why = dng_layout(dng, restored.payload, restored.rgb.shape[:2])
    if warn is not None and str(path).lower().endswith(".dng"):
        for told in [why] + [f"the DNG says: {a}" for a in assumptions(restored.payload.camera)]:
            if told:
                warn(told)
    write_raw_rgb(path, restored.rgb, restored.camera, restored.mark, replace=replace, shot=restored.shot,
                  preview=restored.srgb, dng=layout)


def dng_layout(asked: str, payload: pl.Payload, shape: tuple[int, int]) -> tuple[str, str]:
    """The layout a restored DNG gets, and why it is not the one ``asked`` for (empty if it is).

    A mosaic needs the RAW's Bayer pattern and the restore on the RAW's own pixel grid (where the pattern's
    phase is known); otherwise the DNG is LinearRaw.
    """
    if asked != "cfa":
        return asked, ""
    if payload.camera.cfa not in BAYER_PATTERNS:
        return "linear", (f"the RAW was not a Bayer mosaic (CFA {payload.camera.cfa or 'none'}): "
                          "the DNG is LinearRaw")
    if payload.on_raw_grid(shape):
        return "cfa", ""
    if payload.alignment is not None and not payload.alignment.is_same_grid(*shape):
        return "linear", "the JPEG is not on the RAW's own pixel grid, so its mosaic is unknown: the DNG is LinearRaw"
    return "cfa", ""
