import numpy as np
import pytest
import rawpy

from rawmeta.errors import RawReadError
from rawmeta.io.rawfile import postprocess_params, read_raw

from ..conftest import RAW_DIR, raw_params

EXPECTED = {  # facts from the MANIFEST and LibRaw, per file
    "nikon_d1.nef": dict(cfa="BGGR", white_level=4095, make="Nikon", crop=None, linearization=None,
                         white_balance_source="daylight"),  # LibRaw reads its maker note's balance as 1, 1, 1
    "canon_eos_d30.crw": dict(cfa="RGGB", white_level=4095, black_levels=(126,) * 4, white_balance_source="daylight",
                              crop=(8, 6, 2160, 1440)),  # Canon's JPEG frame, the EXIF size
    "canon_powershot_g2.crw": dict(cfa="RGGB", white_level=1023, bits=10, white_balance_source="camera",
                                   crop=(20, 8, 2272, 1704)),
    # Its DefaultCrop is the whole ActiveArea: nothing to declare.
    "canon_550d_magiclantern_colorchart.dng": dict(cfa="RGGB", white_level=15000, black_levels=(2056,) * 4, bits=14,
                                                   crop=None, linearization=None),
    "blackmagic_pocket_4k.dng": dict(cfa="RGGB", black_levels=(512,) * 4, calibration_illuminant=21,
                                     crop=(16, 8, 4096, 2160)),
    "kodak_dc50.kdc": dict(cfa="GRBG", white_balance_source="unity", xyz_to_camera=None),
    "lg_h815_lossy_linear.dng": dict(cfa="", make="LG", model="LG-H815"),
}


@pytest.mark.parametrize("raw", raw_params())
def test_reads_every_shared_raw(raw):
    img = read_raw(raw)
    assert img.rgb.dtype == np.float32 and img.rgb.ndim == 3 and img.rgb.shape[2] == 3
    assert 0.0 <= img.rgb.min() and img.rgb.max() <= 1.0
    with rawpy.imread(str(raw)) as r:
        ref = r.postprocess(**postprocess_params())
        assert img.rgb.shape[:2] == (r.sizes.height, r.sizes.width)
    assert np.array_equal(np.round(img.rgb.astype(np.float64) * 65535), ref)
    cam = img.camera
    assert cam.make and cam.model and 1 <= cam.orientation <= 8
    assert cam.white_balance[1] == 1.0
    for key, value in EXPECTED.get(raw.name, {}).items():
        assert getattr(cam, key) == value, key


@pytest.mark.parametrize("raw", raw_params())
def test_a_linearization_table_is_the_one_the_raw_stores_its_codes_through(raw):
    """The Blackmagic DNG's LinearizationTable and the Kodak's curve: 4096 codes each, every value one of them."""
    cam = read_raw(raw).camera
    top = {"blackmagic_pocket_4k.dng": 65472, "kodak_dc50.kdc": 16383}.get(raw.name)
    if top is None:
        assert cam.linearization is None
        return
    assert len(cam.linearization) == 4096 and cam.linearization[-1] == top
    with rawpy.imread(str(raw)) as r:
        assert np.isin(np.unique(r.raw_image_visible), cam.linearization).all()


@pytest.mark.parametrize("raw", raw_params())
def test_raw_rgb_is_black_subtracted_and_scaled(raw):
    """At CFA sites, raw-RGB equals (raw - black) / (white - black) to within LibRaw's rounding."""
    with rawpy.imread(str(raw)) as r:
        if r.raw_pattern is None:
            pytest.skip("LinearRaw source: no CFA sites")
        mosaic = r.raw_image_visible.astype(np.float64)
        colours = r.raw_colors_visible.copy()
    img = read_raw(raw)
    cam = img.camera
    colours[colours == 3] = 1
    black = cam.black_levels[0]
    expect = (mosaic - black) / (cam.white_level - black)
    h, w = img.rgb.shape[:2]
    got = np.take_along_axis(img.rgb[:h, :w], colours[:h, :w, None], 2)[..., 0]
    mid = (expect > 0.05) & (expect < 0.9)
    assert np.median(got[mid] / expect[mid]) == pytest.approx(1.0, abs=2e-3)


def test_unreadable_inputs(tmp_path):
    text = tmp_path / "notes.nef"
    text.write_text("not a raw file\n" * 10)
    with pytest.raises(RawReadError, match="not a RAW format LibRaw knows"):
        read_raw(text)
    with pytest.raises(RawReadError, match="no such file"):
        read_raw(tmp_path / "missing.cr2")
    with pytest.raises(RawReadError, match="folder"):
        read_raw(tmp_path)


@pytest.mark.skipif(not (RAW_DIR / "nikon_d1.nef").exists(), reason="shared nikon_d1.nef not present")
def test_truncated_raw(tmp_path):
    cut = tmp_path / "cut.nef"
    cut.write_bytes((RAW_DIR / "nikon_d1.nef").read_bytes()[:5000])
    with pytest.raises(RawReadError):
        read_raw(cut)


@pytest.mark.parametrize("orientation", [1, 3, 6, 8])
def test_orientation_is_read_and_pixels_stay_in_sensor_orientation(tmp_path, orientation):
    import dataclasses

    from rawmeta.benchmarks.synthetic import make_scene, mosaic, sample_camera
    from rawmeta.io.dng import write_cfa_dng

    camera = dataclasses.replace(sample_camera(), orientation=orientation)
    path = tmp_path / "o.dng"
    write_cfa_dng(path, mosaic(make_scene(64, 96)), camera)
    img = read_raw(path)
    assert img.camera.orientation == orientation
    assert img.rgb.shape[:2] == (64, 96)
