"""Colour spaces every layer shares: linear sRGB to CIE XYZ, the sRGB transfer curve, and the camera's
colour matrix turned into a map between balanced camera RGB and linear sRGB."""
from __future__ import annotations

import numpy as np

#: Linear sRGB (D65) to CIE XYZ, IEC 61966-2-1.
SRGB_TO_XYZ = np.array([[0.4124564, 0.3575761, 0.1804375],
                        [0.2126729, 0.7151522, 0.0721750],
                        [0.0193339, 0.1191920, 0.9503041]])
#: Luminance Y of linear sRGB R, G, B (the middle row of :data:`SRGB_TO_XYZ`).
SRGB_LUMINANCE = SRGB_TO_XYZ[1]


def srgb_to_linear(encoded: np.ndarray) -> np.ndarray:
    """Linear light of sRGB values in [0, 1] (the IEC 61966-2-1 curve inverted), float64.

    Examples
    --------
    >>> import numpy as np
    >>> srgb_to_linear(np.array([0.0, 0.5, 1.0])).round(4).tolist()
    [0.0, 0.214, 1.0]
    """
    s = np.asarray(encoded, np.float64)
    return np.where(s <= 0.04045, s / 12.92, ((s + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(linear: np.ndarray) -> np.ndarray:
    """sRGB values in [0, 1] of linear light, clipped to [0, 1] first (the IEC 61966-2-1 curve);
    keeps a float32 input float32.

    Examples
    --------
    >>> import numpy as np
    >>> linear_to_srgb(np.array([-0.1, 0.214, 2.0])).round(3).tolist()
    [0.0, 0.5, 1.0]
    """
    x = np.clip(linear, 0, 1)
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * x ** (1 / 2.4) - 0.055).astype(x.dtype, copy=False)


def camera_from_srgb(xyz_to_camera: tuple[float, ...] | None) -> np.ndarray:
    """The 3 x 3 matrix from linear sRGB to balanced camera RGB, rows summing to 1 so that white stays white
    (as LibRaw and DNG readers build it from a ColorMatrix); without a camera matrix, the identity.

    Examples
    --------
    >>> camera_from_srgb(None).tolist()
    [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
    """
    if xyz_to_camera is None:
        return np.eye(3)
    m = np.asarray(xyz_to_camera, np.float64).reshape(3, 3) @ SRGB_TO_XYZ
    return m / m.sum(axis=1, keepdims=True)


def srgb_from_camera(xyz_to_camera: tuple[float, ...] | None) -> np.ndarray:
    """The 3 x 3 matrix from balanced camera RGB to linear sRGB: :func:`camera_from_srgb` inverted, so the
    balanced camera's white (1, 1, 1) maps to D65 white, as DNG readers render; the identity without a matrix.

    Examples
    --------
    >>> import numpy as np
    >>> m = srgb_from_camera((0.9, -0.3, -0.1, -0.4, 1.2, 0.2, -0.1, 0.2, 0.7))
    >>> (m @ np.ones(3)).round(6).tolist()
    [1.0, 1.0, 1.0]
    """
    return np.linalg.inv(camera_from_srgb(xyz_to_camera))


#: Linear luminance below which :func:`visibility_weights` stops growing: between the knee of CIE L*
#: (``(6 / 29) ** 3``, below which lightness is linear in Y) and that knee after a +1.5 EV shadow lift, the
#: darkest a developed image's shadows are commonly looked at.
VISIBILITY_FLOOR = 0.005


def visibility_weights(srgb: np.ndarray, power: float) -> np.ndarray:
    """How much an error in linear light shows once developed, squared, at pixels of sRGB ``srgb`` (..., 3) in
    [0, 1]: their linear luminance Y, at least :data:`VISIBILITY_FLOOR`, to the power ``-power`` (float64).

    CIE lightness goes as the cube root of Y, so an error dY at Y shows as
    ``Y ** (-2 / 3)`` and weighs ``Y ** (-4 / 3)`` in a squared error: a
    ``power`` of 4/3 weighs errors as CIEDE2000 of a developed image about does.
    The JPEG's sRGB stands in for the developed image: both are renders of the same raw-RGB.

    Examples
    --------
    >>> import numpy as np
    >>> w = visibility_weights(np.array([[0.1, 0.1, 0.1], [1.0, 1.0, 1.0]]), 4 / 3)
    >>> bool(w[0] > 20 * w[1])
    True
    """
    luminance = srgb_to_linear(srgb) @ SRGB_LUMINANCE
    return np.maximum(luminance, VISIBILITY_FLOOR) ** -power
