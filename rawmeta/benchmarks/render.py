"""sRGB renders of a RAW, by LibRaw, RawTherapee or darktable: the JPEGs that tests, benchmarks and the sample
pair with it, and the renders benchmarks compare."""
from __future__ import annotations

import io
import os
import re
import shutil
import struct
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import rawpy
import tifffile
from PIL import Image

from rawmeta.errors import RawReadError
from rawmeta.io.atomic import atomic_write_bytes
from rawmeta.io.rawfile import libraw_message


def render_srgb(path: str | os.PathLike) -> np.ndarray:
    """LibRaw's default sRGB render (camera white balance, 8 bit) on the raw-RGB pixel grid."""
    return render_libraw(path, use_camera_wb=True, user_flip=0)


def render_libraw(path: str | os.PathLike, **params) -> np.ndarray:
    """LibRaw's render of ``path`` with rawpy ``postprocess(**params)``; RawReadError if LibRaw fails."""
    try:
        with rawpy.imread(os.fspath(path)) as raw:
            return raw.postprocess(**params)
    except (rawpy.LibRawError, OSError) as exc:
        raise RawReadError(f"cannot render RAW {os.fspath(path)}: {libraw_message(exc)}") from None


def to_8bit(srgb16: np.ndarray) -> np.ndarray:
    """A 16-bit render (uint16) rounded to 8 bits (uint8), as an 8-bit export of it would be."""
    return np.round(srgb16.astype(np.float64) / 257).astype(np.uint8)


def jpeg_bytes(srgb: np.ndarray, quality: int = 95) -> bytes:
    """``srgb`` (H x W x 3 uint8) encoded by Pillow (libjpeg) as a baseline JPEG."""
    buf = io.BytesIO()
    Image.fromarray(srgb).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def write_render(raw_path: str | os.PathLike, jpeg_path: str | os.PathLike, quality: int = 95) -> None:
    """Render ``raw_path`` with LibRaw and save it, atomically, as a JPEG."""
    atomic_write_bytes(jpeg_path, jpeg_bytes(render_srgb(raw_path), quality))


def render_rawtherapee(path: str | os.PathLike) -> np.ndarray:
    """RawTherapee-cli's render with its built-in default profile, as 16-bit sRGB (H x W x 3 uint16).

    Its crop differs from LibRaw's by a few pixels. Raises RawReadError if
    rawtherapee-cli is missing or fails.
    """
    exe = shutil.which("rawtherapee-cli")
    if exe is None:
        raise RawReadError("rawtherapee-cli is not installed")
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "render.tif")
        # Its own config and cache, so no user profile changes the rendering.
        env = {**os.environ, "XDG_CONFIG_HOME": os.path.join(tmp, "config"),
               "XDG_CACHE_HOME": os.path.join(tmp, "cache")}
        proc = subprocess.run([exe, "-o", out, "-t", "-b16", "-Y", "-q", "-c", os.fspath(path)],
                              capture_output=True, text=True, env=env, check=False)
        if proc.returncode != 0 or not os.path.exists(out):
            raise RawReadError(f"rawtherapee-cli failed on {os.fspath(path)}: {proc.stderr.strip()[-200:]}")
        return tifffile.imread(out)


@dataclass(frozen=True)
class DarktableRender:
    """darktable-cli's render of a file: the image and the XMP packet its export carries (with its history)."""

    srgb: np.ndarray  # H x W x 3 uint16, sRGB
    xmp: str


def render_darktable(path: str | os.PathLike, sidecar: str | None = None) -> DarktableRender:
    """darktable-cli's render of ``path`` as 16-bit sRGB, with the history of ``sidecar`` (an XMP text) or, without
    one, darktable's defaults for the file (its own configuration, so no user preset applies).

    darktable-cli applies a sidecar beside the file (``path.xmp``) by itself, so a file that has one is
    refused when no ``sidecar`` is given. Raises RawReadError if darktable-cli is missing or fails (it
    fails on RAWs it does not support).
    """
    exe = shutil.which("darktable-cli")
    if exe is None:
        raise RawReadError("darktable-cli is not installed")
    source = os.path.realpath(path)  # darktable-cli 4.2 cannot export a symbolic link ("mipmap allocation failed")
    if sidecar is None and os.path.exists(source + ".xmp"):
        raise RawReadError(f"{source}.xmp would change darktable's default render of {os.fspath(path)}")
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "render.tif")
        args = [exe, source]
        if sidecar is not None:
            args.append(os.path.join(tmp, "edit.xmp"))
            with open(args[-1], "w", encoding="utf-8") as f:
                f.write(sidecar)
        args += [out, "--core", "--configdir", os.path.join(tmp, "config"), "--cachedir", os.path.join(tmp, "cache"),
                 "--library", ":memory:", "--conf", "plugins/imageio/format/tiff/bpp=16"]
        proc = subprocess.run(args, capture_output=True, text=True, check=False)
        if proc.returncode != 0 or not os.path.exists(out):
            raise RawReadError(f"darktable-cli failed on {os.path.basename(source)}: "
                               f"{_darktable_error(proc.stdout + proc.stderr)}")
        with tifffile.TiffFile(out) as tif:
            xmp = tif.pages.first.tags.get("XMP")
            return DarktableRender(tif.asarray(), xmp.value.decode("utf-8", "replace") if xmp else "")


def _darktable_error(output: str) -> str:
    """What darktable-cli said went wrong: its RAW decoder's messages, else its last line."""
    decoder = re.findall(r"line \d+: ([^\n]*)", output)
    if decoder:
        return "rawspeed: " + " ".join(m.strip() for m in decoder)
    lines = [line for line in output.splitlines() if line.strip() and "user id" not in line]
    return lines[-1].strip() if lines else "no output"


#: One history item of a darktable XMP, as darktable writes it (one element, its fields as attributes).
_HISTORY_ITEM = re.compile(r"<rdf:li\b[^>]*darktable:operation=[^>]*>")
#: darktable's exposure module, params version 6 (darktable 3.6 to 4.x): little-endian ``int32 mode, float
#: black, float exposure (EV), float deflicker_percentile, float deflicker_target_level, int32
#: compensate_exposure_bias`` (``dt_iop_exposure_params_t`` in src/iop/exposure.c).
EXPOSURE_VERSION = 6
_EXPOSURE_EV = struct.Struct("<f")
_EXPOSURE_EV_OFFSET = 8
#: darktable's white balance module, params version 3 (darktable 3.0 to 4.x): little-endian ``float red, green,
#: blue, g2`` (``dt_iop_temperature_params_t`` in src/iop/temperature.c).
TEMPERATURE_VERSION = 3
_WHITE_BALANCE = struct.Struct("<3f")


def _attribute(item: str, name: str) -> str:
    m = re.search(rf'darktable:{name}="([^"]*)"', item)
    return m.group(1) if m else ""


@dataclass(frozen=True)
class HistoryItem:
    """One item of a darktable history: the module, whether it is on, its params version and its params."""

    operation: str
    enabled: bool
    version: int
    params: bytes | None  # None where darktable stored them compressed ("gz..."), which is not decoded here


def darktable_history(xmp: str) -> list[HistoryItem]:
    """The history items of a darktable XMP, in order."""
    items = []
    for m in _HISTORY_ITEM.finditer(xmp):
        params = _attribute(m.group(0), "params")
        items.append(HistoryItem(_attribute(m.group(0), "operation"), _attribute(m.group(0), "enabled") == "1",
                                 int(_attribute(m.group(0), "modversion") or 0),
                                 None if params.startswith("gz") else bytes.fromhex(params)))
    return items


def _edit_history(xmp: str, operation: str, version: int, change: Callable[[bytearray], None]) -> str:
    """The darktable history ``xmp`` with ``change`` applied to the params of each ``operation`` item.

    Raises RawReadError if the history has no such item or one in another params version (whose layout
    this module does not know).
    """
    count = 0

    def edited(m: re.Match) -> str:
        nonlocal count
        item = m.group(0)
        if _attribute(item, "operation") != operation:
            return item
        found, params = _attribute(item, "modversion"), _attribute(item, "params")
        if found != str(version) or params.startswith("gz"):
            raise RawReadError(f"darktable's {operation} module is version {found}, not {version}")
        raw = bytearray.fromhex(params)
        change(raw)
        count += 1
        return item.replace(f'darktable:params="{params}"', f'darktable:params="{raw.hex()}"')

    out = _HISTORY_ITEM.sub(edited, xmp)
    if count == 0:
        raise RawReadError(f"the darktable history has no {operation} module to edit")
    return out


def shift_exposure(xmp: str, ev: float) -> str:
    """The darktable history ``xmp`` with ``ev`` stops added to its exposure module's exposure."""

    def shift(raw: bytearray) -> None:
        (exposure,) = _EXPOSURE_EV.unpack_from(raw, _EXPOSURE_EV_OFFSET)
        _EXPOSURE_EV.pack_into(raw, _EXPOSURE_EV_OFFSET, exposure + ev)

    return _edit_history(xmp, "exposure", EXPOSURE_VERSION, shift)


def set_white_balance(xmp: str, coefficients: tuple[float, ...]) -> str:
    """The darktable history ``xmp`` with its white balance module's R, G, B coefficients set."""
    return _edit_history(xmp, "temperature", TEMPERATURE_VERSION,
                         lambda raw: _WHITE_BALANCE.pack_into(raw, 0, *coefficients[:3]))
