"""What a JPEG's rawmeta data says about itself: the `inspect` report."""
from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass

from rawmeta.errors import about
from rawmeta.format import container
from rawmeta.format import payload as pl
from rawmeta.format import segments as js
from rawmeta.format.alignment import Alignment
from rawmeta.format.camera import WB_SOURCE_WORDS
from rawmeta.format.fingerprint import ImageChange, compare
from rawmeta.format.shot import RATIONAL_TYPES, ShotTag
from rawmeta.io.jpeg_pixels import decode_jpeg
from rawmeta.io.userfiles import read_jpeg


@dataclass(frozen=True)
class Inspection:
    """A checked payload and facts about how it sits in its JPEG."""

    payload: pl.Payload
    payload_bytes: int
    segment_count: int
    file_bytes: int
    change: ImageChange

    @property
    def added_bytes(self) -> int:
        return container.carried_bytes(self.payload_bytes, self.segment_count)

    def as_dict(self) -> dict:
        """A JSON-ready summary (the `inspect --json` output)."""
        p = self.payload
        g = p.grid
        rows, cols = g.shape
        ref = p.refinement
        return {
            "format_version": p.version,
            "image": {"width": p.image_size[1], "height": p.image_size[0]},
            "grid": {
                "on": "jpeg" if p.jpeg_size is None else "raw",
                "width": g.width,
                "height": g.height,
                "stride": g.stride,
                "offset_x": g.offset_x,
                "offset_y": g.offset_y,
                "alternate": g.alternate,
                "rows": rows,
                "cols": cols,
                "samples": g.count,
                "rate_percent": round(100 * g.rate, 4),
            },
            "refinement": {
                "block": ref.block if ref else 0,
                "strides": list(ref.strides) if ref else [],
                "blocks_per_level": [int((ref.levels == k).sum()) for k in range(1, len(ref.strides) + 1)] if ref else [],
                "samples": p.sample_count - g.count,
            },
            "sample_bits": p.bits,
            "payload_bytes": self.payload_bytes,
            "segments": self.segment_count,
            "added_bytes": self.added_bytes,
            "bytes_per_sample": round(self.payload_bytes / p.sample_count, 4),
            "percent_of_jpeg": round(100 * self.added_bytes / (self.file_bytes - self.added_bytes), 3),
            "budget_percent": p.budget or None,
            "pixels_per_jpeg_pixel": round(p.pixels_per_jpeg_pixel, 4),
            "expected_restore_psnr": round(p.expected_psnr, 2) if math.isfinite(p.expected_psnr) else None,
            "highlights": p.highlights,
            "peak": None if p.peak is None else round(p.peak, 5),
            "alignment": _alignment_dict(p.alignment, *p.image_size),
            "camera": {**asdict(p.camera), "shot": _shot_dict(p.camera.shot)},
            "integrity": "ok",
            "image_data": "matches" if self.change.bytes_match else "changed",
            "image_change": {
                "kind": self.change.kind,
                "rms_levels": None if self.change.rms is None else round(self.change.rms, 3),
                "undo": self.change.undo,
            },
        }


def inspect_bytes(jpeg: bytes) -> Inspection:
    """Read and check the payload of a JPEG held in memory (raises on any problem)."""
    carried = container.extract(jpeg)
    srgb = decode_jpeg(jpeg)
    payload = pl.unpack(carried.payload, srgb)
    return Inspection(
        payload=payload,
        payload_bytes=len(carried.payload),
        segment_count=carried.segment_count,
        file_bytes=len(jpeg),
        change=compare(payload.fingerprint, srgb, payload.image_hash == js.image_data_hash(carried.layout)),
    )


def inspect_file(path: str | os.PathLike) -> Inspection:
    """Read and check the payload of a JPEG file."""
    with about(path):
        return inspect_bytes(read_jpeg(path))


def budget_text(budget: float | None, pixels_per_jpeg_pixel: float) -> str:
    """A payload's budget as the reports tell it, with what it counts where that is more than the JPEG's pixels.

    Examples
    --------
    >>> budget_text(5.0, 1.0)
    'budget 5 %'
    >>> budget_text(5.0, 12.84)
    "budget 5 %, counted on the RAW's pixels, 12.8 x the JPEG's, which the restore gives back"
    """
    if not budget:
        return "no budget"
    if pixels_per_jpeg_pixel == 1.0:
        return f"budget {budget:g} %"
    return (f"budget {budget:g} %, counted on the RAW's pixels, {pixels_per_jpeg_pixel:.1f} x the JPEG's, which the "
            "restore gives back")


def format_text(info: dict) -> str:
    """The human-readable `inspect` report."""
    g, cam = info["grid"], info["camera"]
    matrix = "yes" if cam["xyz_to_camera"] else "none"
    lines = [
        f"image        {info['image']['width']} x {info['image']['height']} (width x height, stored grid)",
        f"grid         on the {'RAW' if g['on'] == 'raw' else 'JPEG'}'s pixels ({g['width']} x {g['height']}), "
        f"stride {g['stride']}, offset ({g['offset_x']}, {g['offset_y']}) x/y"
        + (", alternating rows and columns, " if g["alternate"] else ", ") +
        f"{g['cols']} x {g['rows']} samples = {g['samples']} ({g['rate_percent']:.4f} % of pixels)",
        f"refinement   {_refinement_text(info['refinement'])}",
        f"samples      {info['sample_bits']}-bit, {info['bytes_per_sample']:.3f} payload bytes per sample",
        f"payload      {info['payload_bytes']} bytes in {info['segments']} APP9 segment(s): "
        f"{info['added_bytes']} bytes added, {info['percent_of_jpeg']:.2f} % of the JPEG"
        + f" ({budget_text(info['budget_percent'], info['pixels_per_jpeg_pixel'])})",
        "restore      expected "
        + (f"{info['expected_restore_psnr']:.2f} dB PSNR (fast preset, measured at embed)"
           if info["expected_restore_psnr"] is not None else "PSNR not measured at embed")
        + f"; highlight interpolation {'on' if info['highlights'] else 'off'}; "
        + ("peak not recorded" if info["peak"] is None
           else f"peak {info['peak']:.4f} of white, reached where the JPEG is white"),
        f"alignment    {_alignment_text(info['alignment'])}",
        f"camera       {cam['make']} {cam['model']}".rstrip(),
        f"raw data     {cam['bits']}-bit, black {list(cam['black_levels'])}, white {cam['white_level']}, "
        f"CFA {cam['cfa'] or 'none (linear)'}",
        f"colour       white balance {[round(v, 4) for v in cam['white_balance']]} "
        f"({WB_SOURCE_WORDS[cam['white_balance_source']]}), XYZ->camera matrix: {matrix}, "
        f"orientation {cam['orientation']}",
        f"shot         {_shot_text(cam['shot'])}",
        f"integrity    {info['integrity']} (CRC-32 per segment, SHA-256 of payload)",
        f"image data   {_change_text(info['image_change'])}",
        f"format       version {info['format_version']}",
    ]
    return "\n".join(lines)


def _shot_dict(tags: tuple[ShotTag, ...]) -> dict[str, object]:
    """The shot's tags by name, as JSON can hold them: texts without their NULs, rationals as "n/d",
    other bytes (a maker note) as their count."""
    def shown(t: ShotTag) -> object:
        if t.dtype == 2:
            return t.value.rstrip(b"\0").decode("latin-1")
        if isinstance(t.value, bytes):
            return f"{len(t.value)} bytes"
        if t.dtype in RATIONAL_TYPES:
            pairs = t.value if isinstance(t.value[0], tuple) else (t.value,)
            return " ".join(f"{n}/{d}" for n, d in pairs)
        return list(t.value) if isinstance(t.value, tuple) else t.value
    return {t.name: shown(t) for t in tags}


def _shot_text(shot: dict[str, object]) -> str:
    if not shot:
        return "none kept from the RAW"
    return f"{len(shot)} tags kept from the RAW: " + ", ".join(f"{name} {value}" for name, value in shot.items())


def _change_text(change: dict) -> str:
    kind, rms = change["kind"], change["rms_levels"]
    if kind == "unchanged":
        return "matches"
    if kind == "changed":
        return "changed since embedding (how is unknown: this format version has no pixel fingerprint)"
    text = {"rewritten": "rewritten losslessly since embedding (same pixels)",
            "re-encoded": f"re-encoded since embedding (pixels moved {rms:.2f} levels RMS)",
            "edited": f"EDITED since embedding (pixels moved {rms:.1f} levels RMS); restore refuses it"}[kind]
    return text + (f"; `{change['undo']}` undoes it" if change["undo"] else "")


def _alignment_dict(alignment: Alignment | None, height: int, width: int) -> dict | None:
    if alignment is None:
        return None
    sx, sy = alignment.scale
    same = alignment.is_same_grid(height, width)
    return {
        "kind": "same grid" if same else "mapped",
        "matrix": alignment.matrix.tolist(),
        "orientation": alignment.orientation,
        "scale": [round(sx, 6), round(sy, 6)],
        "raw_size": {"width": alignment.raw_size[1], "height": alignment.raw_size[0]},
        "match": None if math.isnan(alignment.match) else round(alignment.match, 4),
        "text": alignment.describe(height, width),
    }


def _alignment_text(info: dict | None) -> str:
    return "the RAW's own grid (format version 1 or 2)" if info is None else info["text"]


def _refinement_text(ref: dict) -> str:
    if not ref["samples"]:
        return "none"
    levels = ", ".join(f"{n} at stride {s}" for n, s in zip(ref["blocks_per_level"], ref["strides"]) if n)
    return f"{ref['samples']} extra samples in {ref['block']} x {ref['block']} blocks ({levels})"
