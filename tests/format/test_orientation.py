"""EXIF orientations as array operations."""
from __future__ import annotations

import numpy as np
import pytest

from rawmeta.format.orientation import NAMES, compose, inverse, orient


@pytest.mark.parametrize("code", sorted(NAMES))
def test_inverse_undoes_each_orientation(code):
    image = np.arange(6).reshape(2, 3)
    assert compose(inverse(code), code) == compose(code, inverse(code)) == 1
    assert np.array_equal(orient(orient(image, code), inverse(code)), image)
