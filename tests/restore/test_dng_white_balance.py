import shutil

import numpy as np
import pytest

from rawmeta.colour import srgb_to_linear
from rawmeta.embed.jpeg import embed_file
from rawmeta.io.jpeg_pixels import decode_jpeg
from rawmeta.io.rawfile import read_raw
from rawmeta.restore.jpeg import restore_file

from ..conftest import RAW_DIR

rawpy = pytest.importorskip("rawpy")

D30, D30_JPEG = RAW_DIR / "canon_eos_d30.crw", RAW_DIR / "canon_eos_d30.camera_jpg_from_raw.jpg"


def blocks(linear: np.ndarray, size: int) -> np.ndarray:
    """Means of ``size`` x ``size`` blocks."""
    h, w = linear.shape[0] // size * size, linear.shape[1] // size * size
    return linear[:h, :w].reshape(h // size, size, w // size, size, 3).mean(axis=(1, 3))


def cast(linear: np.ndarray, greys: np.ndarray) -> np.ndarray:
    """log R / G and log B / G (median) of a linear-light image's blocks ``greys``."""
    ratios = np.log(linear[greys]) - np.log(linear[greys][:, 1:2])
    return np.median(ratios, axis=0)[[0, 2]]


@pytest.mark.slow
@pytest.mark.skipif(not (D30.exists() and D30_JPEG.exists()), reason=f"canon_eos_d30 and its JPEG not in {RAW_DIR}")
def test_the_d30_dng_opens_with_the_balance_of_the_camera_jpeg(tmp_path):
    """The D30's CRW names no balance LibRaw reads; its DNG must open in LibRaw cast as the camera's JPEG is,
    where LibRaw's daylight balance (what the DNG had before) renders the tungsten-lit scene orange."""
    jpg, dng = tmp_path / "shot.jpg", tmp_path / "shot.dng"
    shutil.copy(D30_JPEG, jpg)
    embed_file(D30, jpg, budget=None, stride=8, bits=8)
    told: list[str] = []
    restore_file(jpg, dng, warn=told.append)
    said = [t for t in told if "white balance" in t]
    assert len(said) == 1 and "estimated from the JPEG at embed" in said[0], told
    jpeg = blocks(srgb_to_linear(decode_jpeg(D30_JPEG.read_bytes()) / 255.0), 16)  # 16 JPEG pixels are 24 raw ones
    chroma = (jpeg.max(axis=-1) - jpeg.min(axis=-1)) / jpeg.mean(axis=-1)
    exposed = (jpeg.min(axis=-1) > 0.02) & (jpeg.max(axis=-1) < 0.8)
    greys = exposed & (chroma <= np.quantile(chroma[exposed], 0.2))  # where the camera's JPEG is about grey
    params = dict(gamma=(1, 1), no_auto_bright=True, output_bps=16, user_flip=0)
    left, top, width, height = read_raw(D30).camera.crop  # the JPEG's frame in the DNG
    daylight = read_raw(D30).camera.white_balance
    with rawpy.imread(str(dng)) as r:
        as_shot = np.asarray(r.camera_whitebalance[:3]) / r.camera_whitebalance[1]
        shown, before = (blocks(r.postprocess(**balance, **params)[top : top + height, left : left + width]
                                .astype(np.float64), 24)
                         for balance in (dict(use_camera_wb=True), dict(user_wb=[*daylight, daylight[1]])))
    assert not np.allclose(as_shot, daylight, rtol=0.1)  # the DNG's balance is not the daylight one
    assert np.abs(cast(shown, greys) - cast(jpeg, greys)).max() < 0.05  # grey within 5 % where the JPEG's is
    assert np.abs(cast(before, greys) - cast(jpeg, greys)).min() > 0.3  # daylight: more than 35 % off, orange
