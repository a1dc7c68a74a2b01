"""Property-based fuzzing of rawmeta's readers, bounded and reproducible for CI (issue #6).

The properties live in tests/fuzz/targets.py, and tests/fuzz/long_run.py runs
them for longer. Here each runs a fixed number of derandomized examples
under a memory cap. The plain tests below pin the resource bounds and the
bugs the fuzzing found, each built from its minimal input.
"""
from __future__ import annotations

import json
import math
import struct
import time
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from rawmeta.embed import report
from rawmeta.errors import JpegError, PayloadError, RawmetaError
from rawmeta.format import container
from rawmeta.format import payload as pl
from rawmeta.format import segments as js
from rawmeta.format.grid import Grid
from rawmeta.format.payload import MAX_JPEG_PIXELS
from rawmeta.io.jpeg_pixels import decode_jpeg

from ..helpers import CAMERA, jpeg, payload_for
from . import targets as ft

#: Address space a forged input may take while it is refused, and the time it may take.
SMALL_HEADROOM, QUICK_S = 256 << 20, 2.0


@pytest.mark.parametrize("prop", ft.PROPERTIES.values(), ids=ft.PROPERTIES)
def test_property(prop: ft.Property):
    run = settings(max_examples=prop.ci_examples, deadline=None, derandomize=True, database=None,
                   suppress_health_check=list(HealthCheck))(given(prop.inputs())(prop.run))
    with ft.memory_cap():
        run()


def seed(name: str) -> ft.Seed:
    return next(s for s in ft.seeds() if s.name == name)


def assert_refused_quickly(call, *args, errors=RawmetaError) -> BaseException:
    """``call(*args)`` raises one of ``errors`` within QUICK_S, its address space capped at SMALL_HEADROOM."""
    start = time.monotonic()
    with ft.memory_cap(SMALL_HEADROOM), pytest.raises(errors) as info:
        call(*args)
    assert time.monotonic() - start < QUICK_S
    return info.value


def regrid(height: int, width: int, stride: int) -> dict[str, int]:
    """Header fields of a grid over a ``height`` x ``width`` image, with the sample count that matches."""
    return {"width": width, "height": height, "stride": stride, "offset x": 0, "offset y": 0,
            "count": Grid(height, width, stride, 0, 0).count}


def with_frame_size(jpeg_data: bytes, height: int, width: int) -> bytes:
    """``jpeg_data`` whose start-of-frame segment declares ``height`` x ``width`` pixels."""
    sof = next(s for s in js.parse(jpeg_data).segments if s.marker in js.SOF_MARKERS)
    out = bytearray(jpeg_data)
    struct.pack_into(">HH", out, sof.data_start + 1, height, width)
    return bytes(out)


# --- resource bounds: absurd sizes are refused before memory is taken -------------------------------------

def test_a_65535_square_image_is_refused_with_and_without_pixels():
    data = ft.forge(seed("rich"), regrid(65535, 65535, 1))
    assert_refused_quickly(pl.unpack, data, seed("rich").srgb, errors=PayloadError)
    assert_refused_quickly(pl.unpack, data, errors=PayloadError)


@pytest.mark.parametrize("section", ["samples", "block map"])
@pytest.mark.parametrize("declared", [2**32, 2**40, 2**64 - 2])
def test_a_zstd_frame_declaring_gigabytes_is_refused(section, declared):
    data = ft.forge(seed("rich"), frames={section: ft.zstd_frame([(0, 1 << 20)], declared)})
    assert_refused_quickly(pl.unpack, data, seed("rich").srgb, errors=PayloadError)


def test_a_zstd_frame_of_gigabytes_of_zeros_is_refused():
    """Gigabytes in a few kilobytes of RLE blocks, declaring its true size: not the size the header implies."""
    data = ft.forge(seed("rich"), frames={"samples": ft.zstd_frame([(0, 2**32)], 2**32)})
    assert_refused_quickly(pl.unpack, data, seed("rich").srgb, errors=PayloadError)


def test_a_frame_declaring_the_right_size_but_holding_less_is_refused():
    expected = next(s.expected for s in seed("rich").layout.sections if s.name == "samples")
    data = ft.forge(seed("rich"), frames={"samples": ft.zstd_frame([(0, 100)], expected)})
    assert_refused_quickly(pl.unpack, data, seed("rich").srgb, errors=PayloadError)


@pytest.mark.parametrize(("height", "width"), [(65535, 65535), (MAX_JPEG_PIXELS // 60000 + 1, 60000)])
def test_a_jpeg_declaring_too_many_pixels_is_refused_by_inspect(height, width):
    """inspect decodes the JPEG: a frame over rawmeta's pixel limit is refused before decoding."""
    assert_refused_quickly(report.inspect_bytes, with_frame_size(seed("rich").jpeg, height, width), errors=JpegError)


# --- bugs the fuzzing found ----------------------------------------------------------------------------

@pytest.mark.parametrize("size", [0, 1, 28, 31])
def test_a_payload_shorter_than_32_bytes_is_refused_by_attach(size):
    """Found by the "attach" property: the payload id is bytes ``len-32 .. len-29``, which a payload under 32
    bytes lacks, so attach wrote one id and extract computed another and refused the file. Every payload
    ends with its 32-byte SHA-256, so attach now refuses such bytes."""
    with pytest.raises(ValueError, match="32-byte SHA-256"):
        container.attach(jpeg(), bytes(range(size)))


def test_a_long_multibyte_camera_name_is_cut_between_characters():
    """Found by the "pack" property: names are cut to 255 bytes, here inside the 128th "é", so the payload
    rawmeta wrote could not be read back ("camera block is invalid: 'utf-8' codec can't decode")."""
    j = jpeg()
    srgb = decode_jpeg(j)
    p = replace(payload_for(j), camera=replace(CAMERA, make="é" * 200))
    assert pl.unpack(pl.pack(p, srgb), srgb).camera.make == "é" * 127


def test_a_nan_prediction_coefficient_is_refused():
    """Found by the "unpack" and "inspect" properties: a NaN coefficient (or +inf and -inf ones, or inf
    times a zero term) makes predictions NaN, cast to int64 (the platform decides the result), so the
    samples decoded silently to garbage."""
    data = ft.forge(seed("rich"), {"coefficient": math.nan})
    with np.errstate(invalid="raise"), pytest.raises(PayloadError):
        pl.unpack(data, seed("rich").srgb)


@pytest.mark.parametrize(("field", "value"), [("budget", math.nan), ("expected psnr", math.inf),
                                               ("white balance", math.nan), ("matrix", math.inf),
                                               ("match", math.inf)])
def test_inspect_json_holds_no_nan_or_infinity(field, value):
    """Found by the "inspect" property: non-finite floats in a (resealed) payload reached `inspect --json`
    as NaN or Infinity, which JSON does not have. Refusing them is as good as showing null."""
    s = seed("rich")
    try:
        info = report.inspect_bytes(container.attach(s.bare, ft.forge(s, {field: value})))
    except PayloadError:
        return
    json.dumps(info.as_dict(), allow_nan=False)


def test_unpack_without_pixels_does_not_expand_a_forged_refinement_map():
    """Found while writing the resource checks above (the random search did not reach it): without the
    JPEG's pixels, a version 3 payload declaring a 12000 x 13000 image whose 16-pixel blocks are all
    refined at stride 1 (a 610 kB map in a 100-byte frame) made unpack list 156 M refined positions
    (gigabytes) before saying it needs the pixels."""
    s = seed("mpo")
    height, width = 12000, 13000
    blocks = -(-height // 16) * -(-width // 16)
    data = ft.forge(s, regrid(height, width, 255), {"block map": ft.zstd_frame([(4, blocks)], blocks)})
    error = assert_refused_quickly(pl.unpack, data, errors=(PayloadError, ValueError))
    assert isinstance(error, PayloadError) or "decoded pixels" in str(error)


def test_unpack_without_pixels_does_not_reserve_what_a_frame_declares():
    """Found while writing the resource checks above: a 1 kB version 1 payload declaring a 160 MP grid at
    stride 1, whose samples frame declares the 960 MB that implies but holds 100 bytes, made zstandard
    reserve the 960 MB before finding the frame short (MemoryError under a cap)."""
    height = width = 12649
    data = ft.forge(seed("v1"), regrid(height, width, 1),
                    {"samples": ft.zstd_frame([(0, 100)], 3 * 2 * height * width)})
    assert_refused_quickly(pl.unpack, data, errors=PayloadError)
