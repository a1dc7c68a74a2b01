import dataclasses

import numpy as np
import pytest
import zstandard

from rawmeta import payload as pl
from rawmeta.errors import PayloadError

from .helpers import CAMERA, jpeg, patch_header, payload_for, reseal


def test_round_trip_keeps_everything():
    p = payload_for(jpeg(), bits=12)
    u = pl.unpack(pl.pack(p))
    assert u.grid == p.grid and u.bits == p.bits and u.camera == p.camera and u.image_hash == p.image_hash
    assert np.array_equal(u.samples, p.samples)
    assert u.values().dtype == np.float32 and u.values().max() <= 1.0


def test_round_trip_linear_source_without_matrix():
    cam = dataclasses.replace(CAMERA, cfa="", xyz_to_camera=None, white_balance_source="unity",
                              make="Ünïcode", model="x" * 300, orientation=6)
    p = dataclasses.replace(payload_for(jpeg(), bits=16), camera=cam)
    u = pl.unpack(pl.pack(p))
    assert u.camera.cfa == "" and u.camera.xyz_to_camera is None and u.camera.orientation == 6
    assert u.camera.make == "Ünïcode" and u.camera.model == "x" * 255


def test_any_flipped_byte_is_caught():
    packed = pl.pack(payload_for(jpeg()))
    for pos in (0, 5, 20, 70, len(packed) // 2, len(packed) - 1):
        bad = bytearray(packed)
        bad[pos] ^= 0x10
        with pytest.raises(PayloadError):
            pl.unpack(bytes(bad))


def test_sha_mismatch_message():
    packed = bytearray(pl.pack(payload_for(jpeg())))
    packed[100] ^= 1
    with pytest.raises(PayloadError, match="SHA-256"):
        pl.unpack(bytes(packed))


def test_unknown_version_is_named():
    packed = patch_header(pl.pack(payload_for(jpeg())), ">H", 4, 2)
    with pytest.raises(PayloadError, match="format version 2"):
        pl.unpack(packed)


def test_absurd_size_is_refused_before_decoding():
    packed = patch_header(pl.pack(payload_for(jpeg())), ">II", 8, 1_000_000, 1_000_000)
    with pytest.raises(PayloadError, match="impossible image size"):
        pl.unpack(packed)


def test_zstd_frame_declaring_gigabytes_is_refused():
    packed = pl.pack(payload_for(jpeg()))
    body = packed[:-32]
    cam_len = int.from_bytes(body[62:66], "big")
    start = 66 + cam_len
    bomb = zstandard.ZstdCompressor().compress(b"\0" * (64 * 1024**2))
    forged = reseal(body[:start] + len(bomb).to_bytes(4, "big") + bomb)
    with pytest.raises(PayloadError, match="declares"):
        pl.unpack(forged)


@pytest.mark.parametrize("data", [b"", b"RMPL", b"XXXX" + b"\0" * 200, b"RMPL\0\x01" + b"\0" * 60])
def test_truncated_or_foreign_data(data):
    with pytest.raises(PayloadError):
        pl.unpack(data)


def test_inconsistent_sample_count():
    packed = patch_header(pl.pack(payload_for(jpeg())), ">I", 24, 7)
    with pytest.raises(PayloadError, match="inconsistent"):
        pl.unpack(packed)
