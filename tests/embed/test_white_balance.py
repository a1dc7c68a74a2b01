import dataclasses

import numpy as np
import pytest

from rawmeta.embed.white_balance import camera_with_jpeg_balance, estimate_white_balance
from rawmeta.format.alignment import Alignment

from ..conftest import RAW_DIR
from ..helpers import CAMERA

#: Adobe's D65 ColorMatrix of the Nikon D1 (XYZ to camera), as LibRaw carries it.
D1_MATRIX = (0.7637, -0.2199, -0.0974, -0.0806, 0.8891, 0.2145, 0.0081, 0.1039, 0.4911)


def render(balanced: np.ndarray, matrix: tuple[float, ...]) -> np.ndarray:
    """An sRGB JPEG's pixels of white-balanced camera RGB, as a raw developer makes them: the camera matrix
    inverted (rows of XYZ->camera x sRGB->XYZ scaled to sum 1), an S-shaped tone curve, the sRGB curve."""
    xyz_rgb = np.array([[0.412453, 0.357580, 0.180423], [0.212671, 0.715160, 0.072169],
                        [0.019334, 0.119193, 0.950227]])
    cam_rgb = np.asarray(matrix).reshape(3, 3) @ xyz_rgb
    cam_rgb /= cam_rgb.sum(axis=1, keepdims=True)
    linear = np.clip(balanced @ np.linalg.inv(cam_rgb).T, 0, 1)
    toned = linear ** 0.9 * (1.4 - 0.4 * linear ** 0.9)  # steeper in the mid-tones, per channel
    encoded = np.where(toned <= 0.0031308, 12.92 * toned, 1.055 * toned ** (1 / 2.4) - 0.055)
    return np.rint(255 * encoded).astype(np.uint8)


def scene(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """White-balanced camera RGB: coloured surfaces, a third of them grey, at many brightnesses."""
    colours = rng.uniform(0.02, 0.6, (64, 3))
    colours[::3] = colours[::3, 1:2]
    patches = rng.integers(0, 64, (shape[0] // 8, shape[1] // 8))
    return np.kron(colours[patches], np.ones((8, 8, 1)))[: shape[0], : shape[1]]


@pytest.mark.parametrize("multipliers", [(2.1, 1.0, 1.06), (1.29, 1.0, 1.46), (1.0, 1.0, 1.0)])
def test_recovers_the_balance_a_jpeg_was_rendered_with(multipliers):
    rng = np.random.default_rng(5)
    balanced = scene(rng, (192, 256))
    srgb = render(balanced, D1_MATRIX)
    raw = balanced / np.asarray(multipliers) + rng.normal(0, 0.002, balanced.shape)
    raw[::17] = rng.uniform(0, 1, raw[::17].shape)  # rows the JPEG does not show as the raw has them
    found = estimate_white_balance(np.clip(raw, 0, 1).astype(np.float32), srgb, D1_MATRIX)
    assert found[1] == 1.0
    assert found == pytest.approx(multipliers, rel=0.01)


def test_a_jpeg_with_too_little_well_exposed_says_nothing():
    raw = np.full((32, 32, 3), 0.3, np.float32)
    assert estimate_white_balance(raw, np.full((32, 32, 3), 250, np.uint8), None) is None  # clipped
    assert estimate_white_balance(raw, np.full((32, 32, 3), 5, np.uint8), None) is None  # black
    with pytest.raises(ValueError, match="one grid"):
        estimate_white_balance(raw, np.zeros((16, 32, 3), np.uint8), None)


def test_only_a_raw_without_a_balance_takes_the_jpegs():
    rng = np.random.default_rng(6)
    balanced = scene(rng, (96, 128))
    srgb, raw = render(balanced, D1_MATRIX), (balanced / np.array([1.6, 1.0, 1.3])).astype(np.float32)
    here = Alignment.identity(96, 128)
    assert camera_with_jpeg_balance(CAMERA, raw, srgb, here) is CAMERA  # the camera's own stays
    for source in ("daylight", "unity"):
        camera = dataclasses.replace(CAMERA, xyz_to_camera=D1_MATRIX, white_balance_source=source)
        taken = camera_with_jpeg_balance(camera, raw, srgb, here)
        assert taken.white_balance_source == "jpeg"
        assert taken.white_balance == pytest.approx((1.6, 1.0, 1.3), rel=0.01)
    dark = dataclasses.replace(CAMERA, white_balance_source="daylight")
    assert camera_with_jpeg_balance(dark, raw, np.zeros_like(srgb), here) is dark


@pytest.mark.slow
@pytest.mark.parametrize("name", ["canon_powershot_g2.crw", "blackmagic_pocket_4k.dng"])
def test_a_libraw_render_gives_back_the_files_own_balance(name):
    """Cameras whose balance LibRaw reads: its render at that balance must give it back."""
    rawpy = pytest.importorskip("rawpy")
    from rawmeta.io.rawfile import postprocess_params, read_raw

    if not (RAW_DIR / name).exists():
        pytest.skip(f"{name} is not in {RAW_DIR}")
    raw = read_raw(RAW_DIR / name)
    with rawpy.imread(str(RAW_DIR / name)) as r:
        srgb = r.postprocess(**{**postprocess_params(), "gamma": (2.4, 12.92), "output_bps": 8, "user_wb": None,
                                "output_color": rawpy.ColorSpace.sRGB, "use_camera_wb": True})
    found = estimate_white_balance(raw.rgb, srgb, raw.camera.xyz_to_camera)
    assert raw.camera.white_balance_source == "camera"
    assert found == pytest.approx(raw.camera.white_balance, rel=0.01)
