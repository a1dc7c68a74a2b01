"""A restored DNG as bright as its RAW in LibRaw, which takes the white point from the data (adjust_maximum)."""
import numpy as np
import pytest

from rawmeta.embed.jpeg import embed_file
from rawmeta.restore.jpeg import restore_file

from ..conftest import raw_params

rawpy = pytest.importorskip("rawpy")

#: LibRaw's render in camera space at unit white balance, with its default ``adjust_maximum_thr`` (0.75): where
#: the data's maximum lies between 0.75 and 1 of the white level, LibRaw scales the image by it.
PARAMS = dict(gamma=(1, 1), no_auto_bright=True, output_bps=16, user_wb=[1.0, 1.0, 1.0, 1.0], user_flip=0,
              output_color=rawpy.ColorSpace.raw)


def mean_level(path) -> np.ndarray:
    """Mean of each channel of LibRaw's linear camera-space render of ``path``."""
    with rawpy.imread(str(path)) as raw:
        return raw.postprocess(**PARAMS).reshape(-1, 3).mean(axis=0)


@pytest.mark.slow
@pytest.mark.parametrize("raw", raw_params())
def test_libraw_renders_the_restored_dng_as_bright_as_the_raw(raw, rendered, tmp_path):
    """Before the payload recorded the raw-RGB's peak, the Kodak DC50's default restore peaked at 0.78 of the
    white level (no sample on its few clipped pixels), and LibRaw rendered its DNG 1 / 0.78 brighter."""
    jpg, dng = tmp_path / "shot.jpg", tmp_path / "shot.dng"
    jpg.write_bytes(rendered(raw).read_bytes())
    embed_file(raw, jpg)
    restore_file(jpg, dng)
    ratio = mean_level(dng) / mean_level(raw)
    assert np.all(np.abs(ratio - 1) < 0.03), ratio
