"""sRGB renders of a RAW, by LibRaw or RawTherapee: the JPEGs that tests, benchmarks and the sample pair with it."""
from __future__ import annotations

import io
import os
import shutil
import subprocess
import tempfile

import numpy as np
import rawpy
import tifffile
from PIL import Image

from rawmeta.errors import RawReadError
from rawmeta.io.atomic import atomic_write_bytes
from rawmeta.io.rawfile import libraw_message


def render_srgb(path: str | os.PathLike) -> np.ndarray:
    """LibRaw's default sRGB render (camera white balance, 8 bit) on the raw-RGB pixel grid."""
    try:
        with rawpy.imread(os.fspath(path)) as raw:
            return raw.postprocess(use_camera_wb=True, user_flip=0)
    except (rawpy.LibRawError, OSError) as exc:
        raise RawReadError(f"cannot render RAW {os.fspath(path)}: {libraw_message(exc)}") from None


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
