import dataclasses
import struct
from pathlib import Path

import numpy as np
import pytest
import zstandard

from rawmeta.errors import MismatchError, PayloadError
from rawmeta.format import payload as pl
from rawmeta.format.alignment import Alignment
from rawmeta.format.camera import WB_SOURCES
from rawmeta.format.fingerprint import fingerprint
from rawmeta.format.grid import Grid
from rawmeta.format.refinement import Refinement
from rawmeta.format.shot import EXIF, IFD0, ShotTag
from rawmeta.io.jpeg_pixels import decode_jpeg

from ..helpers import CAMERA, jpeg, patch_header, payload_for, reseal

J = jpeg()
SRGB = decode_jpeg(J)
DATA = Path(__file__).parent.parent / "data"


def packed(p: pl.Payload | None = None) -> bytes:
    return pl.pack(p or payload_for(J), SRGB)


def refined_payload() -> pl.Payload:
    p = payload_for(J, bits=10)
    levels = np.zeros((4, 6), np.uint8)
    levels[0, 0], levels[1, 2], levels[3, 5], levels[2, 2] = 1, 2, 3, 4
    ref = Refinement(16, (4, 2, 1, 1), (10, 10, 10, 14), levels)
    rows, cols = ref.positions(p.grid.height, p.grid.width)
    top = (1 << ref.depth_at(rows, cols)) - 1
    refined = (np.random.default_rng(1).random((len(rows), 3)) * top[:, None]).astype(np.uint16)
    return dataclasses.replace(p, refinement=ref, refined=refined, highlights=False, expected_psnr=41.5, budget=6.0)


def refinement_offset(body: bytes) -> int:
    """Offset of the refinement block in a version 9 body of a same-grid payload of an image at least 8 x 8
    (docs/FORMAT.md, section 3): after the fixed header, the camera block, the estimates, the peak, a 5-byte
    alignment block, a fingerprint block of 8 x 8 cells and 39 coefficients."""
    return 66 + int.from_bytes(body[62:66], "big") + 8 + 2 + 5 + 6 + 3 * 64 + 156


def sample_length_offset(body: bytes) -> int:
    """Offset of the u32 coded-sample length in a version 9 body of a same-grid payload."""
    pos = refinement_offset(body)
    levels = body[pos + 2]
    pos += 3 + 2 * levels
    pos += 4 + int.from_bytes(body[pos : pos + 4], "big")
    return pos + 4


def test_round_trip_keeps_everything():
    p = payload_for(J, bits=12)
    u = pl.unpack(packed(p), SRGB)
    assert u.grid == p.grid and u.bits == p.bits and u.camera == p.camera and u.image_hash == p.image_hash
    assert np.array_equal(u.samples, p.samples) and u.version == pl.FORMAT_VERSION == 10
    assert u.values().dtype == np.float32 and u.values().max() <= 1.0
    assert u.highlights and np.isnan(u.expected_psnr) and u.budget == 0 and u.peak == 0.0
    assert u.refinement is not None and not u.refinement.levels.any() and len(u.refined) == 0
    assert u.alignment.is_identity and u.alignment.raw_size == (64, 96) and np.isnan(u.alignment.match)


def aligned_payload() -> pl.Payload:
    """A payload for J (96 x 64), a RAW of 150 x 100 turned 90 degrees counter-clockwise and shrunk 1.5x."""
    matrix = np.array([[0.0, -1.5, 98.25], [1.5, 0.0, 2.0]])
    return dataclasses.replace(payload_for(J), alignment=Alignment(matrix, (150, 100), 0.987))


def test_round_trip_keeps_the_alignment():
    u = pl.unpack(packed(aligned_payload()), SRGB)
    assert np.array_equal(u.alignment.matrix, aligned_payload().alignment.matrix)
    assert u.alignment.raw_size == (150, 100) and u.alignment.match == pytest.approx(0.987)
    assert u.alignment.orientation == 6 and u.alignment.scale == (1.5, 1.5)


@pytest.mark.parametrize("matrix", [
    [[1.5, 0.1, 0], [0, 1.5, 0]],  # shear
    [[1.5, 0, 0], [1.5, 0, 0]],  # both axes from one JPEG axis
    [[0.01, 0, 0], [0, 1.5, 0]],  # absurd scale
    [[np.nan, 0, 0], [0, 1.5, 0]],
])
def test_an_alignment_that_is_no_orientation_times_scales_is_refused(matrix):
    data = packed(aligned_payload())
    body = data[:-32]
    pos = 66 + int.from_bytes(body[62:66], "big") + 10 + 5 + 4  # the matrix, after kind, match, raw size
    forged = reseal(body[:pos] + struct.pack(">6d", *np.ravel(matrix)) + body[pos + 48 :])
    with pytest.raises(PayloadError, match="invalid alignment"):
        pl.unpack(forged, SRGB)


def test_unknown_alignment_kind_is_refused():
    body = packed()[:-32]
    pos = 66 + int.from_bytes(body[62:66], "big") + 10  # after the estimates and the peak
    with pytest.raises(PayloadError, match="alignment kind 7"):
        pl.unpack(reseal(body[:pos] + b"\x07" + body[pos + 1 :]), SRGB)


def test_round_trip_with_refinement_and_hints():
    p = refined_payload()
    u = pl.unpack(packed(p), SRGB)
    assert np.array_equal(u.refinement.levels, p.refinement.levels)
    assert u.refinement.strides == (4, 2, 1, 1) and u.refinement.depths == (10, 10, 10, 14)
    assert np.array_equal(u.refined, p.refined) and np.array_equal(u.samples, p.samples)
    assert not u.highlights and u.expected_psnr == pytest.approx(41.5) and u.budget == pytest.approx(6.0)
    assert u.sample_count == p.grid.count + 16 + 64 + 256 + 256
    assert u.refined.max() > 1023  # the 14-bit level kept its depth
    values = u.refined_values()
    assert values.dtype == np.float32 and 0 <= values.min() and values.max() <= 1


def test_round_trip_linear_source_without_matrix():
    cam = dataclasses.replace(CAMERA, cfa="", xyz_to_camera=None, white_balance_source="unity",
                              make="Ünïcode", model="x" * 300, orientation=6)
    p = dataclasses.replace(payload_for(J, bits=16), camera=cam)
    u = pl.unpack(packed(p), SRGB)
    assert u.camera.cfa == "" and u.camera.xyz_to_camera is None and u.camera.orientation == 6
    assert u.camera.make == "Ünïcode" and u.camera.model == "x" * 255


def test_payload_needs_the_pixels_and_checks_their_size():
    with pytest.raises(ValueError, match="decoded pixels"):
        pl.unpack(packed())
    with pytest.raises(MismatchError, match=r"^the JPEG is 96 x 32 pixels but its rawmeta data is for a 96 x 64 image"):
        pl.unpack(packed(), SRGB[:32])
    with pytest.raises(MismatchError, match="turned a quarter since embedding"):
        pl.unpack(packed(), SRGB.swapaxes(0, 1))


def test_fingerprint_is_carried_and_checked():
    data = packed()
    u = pl.unpack(data, SRGB)
    assert u.fingerprint == fingerprint(SRGB) and u.fingerprint.means.shape == (8, 8, 3)
    block = data.index(struct.pack(">IBB", u.fingerprint.pixels_crc, 8, 8) + u.fingerprint.means.tobytes())
    with pytest.raises(PayloadError, match="fingerprint of 7 x 8 cells"):
        pl.unpack(patch_header(data, ">B", block + 4, 7), SRGB)


def test_version_3_payloads_still_read():
    """A file written by rawmeta's version 3 writer (tests/data, made before version 4 existed): a JPEG
    resized to half the RAW, so its alignment is a map."""
    from rawmeta.format import container

    data = (DATA / "v3_payload.jpg").read_bytes()
    u = pl.unpack(container.extract(data).payload, decode_jpeg(data))
    assert u.version == 3 and u.fingerprint is None and u.bits == 4 and u.budget == pytest.approx(40.0)
    assert u.alignment.raw_size == (240, 320) and u.alignment.scale == pytest.approx((2.0, 2.0), abs=0.01)
    assert np.array_equal(u.samples, np.load(DATA / "v3_samples.npy", allow_pickle=False))
    assert np.array_equal(u.refined, np.load(DATA / "v3_refined.npy", allow_pickle=False))


def test_version_1_payloads_still_read():
    """A file written by rawmeta's version 1 writer (tests/data, made before version 2 existed)."""
    from rawmeta.format import container

    data = (DATA / "v1_payload.jpg").read_bytes()
    u = pl.unpack(container.extract(data).payload)  # version 1 needs no pixels
    assert u.version == 1 and u.bits == 12 and u.highlights and u.refinement is None
    assert np.array_equal(u.samples, np.load(DATA / "v1_samples.npy", allow_pickle=False))
    assert u.alignment is None


def test_version_2_payloads_still_read():
    """A file written by rawmeta's version 2 writer (tests/data, made before version 3 existed)."""
    from rawmeta.format import container

    data = (DATA / "v2_payload.jpg").read_bytes()
    u = pl.unpack(container.extract(data).payload, decode_jpeg(data))
    assert u.version == 2 and u.bits == 10 and not u.highlights and u.alignment is None
    assert u.expected_psnr == pytest.approx(41.5) and u.budget == pytest.approx(6.0)
    assert np.array_equal(u.samples, np.load(DATA / "v2_samples.npy", allow_pickle=False))
    assert np.array_equal(u.refined, np.load(DATA / "v2_refined.npy", allow_pickle=False))


def test_version_5_payloads_still_read():
    """A file written by rawmeta's version 5 writer (tests/data, made before version 6 existed): its camera
    block ends after the orientation, so it declares no crop and no linearization table."""
    from rawmeta.format import container

    data = (DATA / "v5_payload.jpg").read_bytes()
    u = pl.unpack(container.extract(data).payload, decode_jpeg(data))
    assert u.version == 5 and u.bits == 12 and u.camera == CAMERA
    assert u.camera.crop is None and u.camera.linearization is None
    assert np.array_equal(u.samples, np.load(DATA / "v5_samples.npy", allow_pickle=False))


def test_version_6_payloads_still_read():
    """A file written by rawmeta's version 6 writer (tests/data, made before version 7 existed): a mapped
    alignment (kind 1, samples on the JPEG's grid), refinement, a crop and a linearization table."""
    from rawmeta.format import container

    data = (DATA / "v6_payload.jpg").read_bytes()
    u = pl.unpack(container.extract(data).payload, decode_jpeg(data))
    assert u.version == 6 and u.jpeg_size is None and u.image_size == (64, 96)
    assert u.alignment.raw_size == (150, 100) and u.alignment.orientation == 6
    assert u.camera.crop == (8, 6, 80, 50) and u.camera.linearization == (0, 1000, 4095)
    assert np.array_equal(u.samples, np.load(DATA / "v6_samples.npy", allow_pickle=False))
    assert np.array_equal(u.refined, np.load(DATA / "v6_refined.npy", allow_pickle=False))


@pytest.mark.parametrize("peak,kept", [(1.0, 1.0), (0.7500001, 49151 / 65535), (1 / 3, 21845 / 65535)])
def test_version_9_keeps_the_peak_to_a_65535th(peak, kept):
    p = dataclasses.replace(payload_for(J), peak=peak)
    assert p.peak == kept and pl.unpack(packed(p), SRGB).peak == kept


def test_a_peak_outside_0_to_1_is_refused():
    with pytest.raises(ValueError, match="peak must lie in"):
        dataclasses.replace(payload_for(J), peak=1.5)


def raw_grid_payload() -> pl.Payload:
    """Samples on the grid of a 150 x 100 RAW that J (96 x 64) shows turned and shrunk 1.5x (kind 2)."""
    grid = Grid.centred(150, 100)
    samples = (np.random.default_rng(3).random((*grid.shape, 3)) * 4095).astype(np.uint16)
    return pl.Payload(grid, 12, samples, CAMERA, payload_for(J).image_hash, alignment=aligned_payload().alignment,
                      jpeg_size=(64, 96))


def test_version_7_payloads_still_read():
    """A file written by rawmeta's version 7 writer (tests/data, made before version 8 existed, by the test
    module's raw_grid_payload with refinement, a crop and a linearization table): samples on the RAW's grid,
    and a camera block that ends after its table, so no shot tags."""
    from rawmeta.format import container

    data = (DATA / "v7_payload.jpg").read_bytes()
    u = pl.unpack(container.extract(data).payload, decode_jpeg(data))
    assert u.version == 7 and u.jpeg_size == (64, 96) and u.alignment.raw_size == (150, 100)
    assert u.camera.crop == (4, 6, 90, 140) and u.camera.linearization == (0, 2000, 4095) and u.camera.shot == ()
    assert u.refinement.strides == (4, 2, 1) and u.refinement.depths == (12, 12, 14)
    assert np.array_equal(u.samples, np.load(DATA / "v7_samples.npy", allow_pickle=False))
    assert np.array_equal(u.refined, np.load(DATA / "v7_refined.npy", allow_pickle=False))


def test_version_8_payloads_still_read():
    """A file written by rawmeta's version 8 writer (tests/data, made before version 9 existed, by
    raw_grid_payload with refinement, a crop, shot tags and white balance source "jpeg"): no peak, and
    ``raw_grid_size`` finds its alignment kind where version 8 has it."""
    from rawmeta.format import container

    data = (DATA / "v8_payload.jpg").read_bytes()
    carried = container.extract(data).payload
    u = pl.unpack(carried, decode_jpeg(data))
    assert u.version == 8 and u.peak is None and u.jpeg_size == (64, 96) and pl.raw_grid_size(carried) == (150, 100)
    assert u.camera.crop == (2, 4, 96, 144) and set(u.camera.shot) == set(SHOT) and u.camera.white_balance_source == "jpeg"
    assert u.refinement.strides == (4, 2) and u.budget == 5.0
    assert np.array_equal(u.samples, np.load(DATA / "v8_samples.npy", allow_pickle=False))
    assert np.array_equal(u.refined, np.load(DATA / "v8_refined.npy", allow_pickle=False))


def test_version_9_payloads_still_read_and_restore_as_they_did():
    """A file written by rawmeta's version 9 writer (tests/data, made before version 10 existed: the 128 x 96
    synthetic sample embedded at budget 40) and its restore then (256 sine units): version 10 changed only
    what a restore does, so the payload reads, and restores as before."""
    from rawmeta.format import container
    from rawmeta.restore.jpeg import restore_bytes
    from rawmeta.restore.options import RestoreOptions

    data = (DATA / "v9_payload.jpg").read_bytes()
    u = pl.unpack(container.extract(data).payload, decode_jpeg(data))
    assert u.version == 9 and u.peak == 1.0 and u.grid.stride == 4
    restored = restore_bytes(data, RestoreOptions(device="cpu")).rgb
    assert np.abs(restored - np.load(DATA / "v9_restored.npy", allow_pickle=False)).max() < 1e-5


def test_raw_grid_round_trip():
    p = raw_grid_payload()
    u = pl.unpack(pl.pack(p, SRGB), SRGB)
    assert u.jpeg_size == (64, 96) and u.image_size == (64, 96) and (u.grid.height, u.grid.width) == (150, 100)
    assert np.array_equal(u.samples, p.samples) and np.array_equal(u.alignment.matrix, p.alignment.matrix)
    assert u.alignment.raw_size == (150, 100) and u.fingerprint == fingerprint(SRGB)
    assert pl.raw_grid_size(pl.pack(p, SRGB)) == (150, 100)


def test_raw_grid_payload_checks_the_jpeg_size():
    data = pl.pack(raw_grid_payload(), SRGB)
    with pytest.raises(MismatchError, match="the JPEG is 100 x 150 pixels but its rawmeta data is for a 96 x 64 image"):
        pl.unpack(data, np.zeros((150, 100, 3), np.uint8))
    with pytest.raises(ValueError, match="the payload's JPEG 96 x 64"):
        pl.pack(raw_grid_payload(), np.zeros((150, 100, 3), np.uint8))


def as_version_7(data: bytes, version: int = 7) -> bytes:
    """A packed payload without shot tags, its camera block without the version 8 end (a u32 0) and its
    coding block without the version 9 peak (2 bytes after the 8 of the estimates), labelled ``version`` (6 or 7)."""
    body = data[:-32]
    size = int.from_bytes(body[62:66], "big")
    assert body[62 + size : 66 + size] == b"\0" * 4
    estimates = 66 + size
    return reseal(body[:4] + struct.pack(">H", version) + body[6:62] + struct.pack(">I", size - 4)
                  + body[66 : 62 + size] + body[estimates : estimates + 8] + body[estimates + 10 :])


def test_raw_grid_kind_is_refused_before_version_7():
    data = as_version_7(pl.pack(raw_grid_payload(), SRGB), version=6)
    with pytest.raises(PayloadError, match="unknown alignment kind 2"):  # the header's size is the JPEG's in v6
        pl.unpack(data, np.zeros((150, 100, 3), np.uint8))


@pytest.mark.parametrize("source", WB_SOURCES)
def test_every_white_balance_source_round_trips(source):
    camera = dataclasses.replace(CAMERA, white_balance=(1.25, 1.0, 1.75), white_balance_source=source)
    u = pl.unpack(packed(dataclasses.replace(payload_for(J), camera=camera)), SRGB)
    assert u.camera.white_balance_source == source and u.camera.white_balance == (1.25, 1.0, 1.75)


@pytest.mark.parametrize(("source", "refused"), [("daylight", False), ("jpeg", True)])
def test_the_jpeg_white_balance_source_is_refused_before_version_8(source, refused):
    camera = dataclasses.replace(CAMERA, white_balance_source=source)
    data = as_version_7(packed(dataclasses.replace(payload_for(J), camera=camera)))
    if refused:
        with pytest.raises(PayloadError, match="version 7 has no white balance source 3"):
            pl.unpack(data, SRGB)
    else:
        assert pl.unpack(data, SRGB).camera.white_balance_source == source


def test_an_unknown_white_balance_source_is_refused():
    body = bytearray(packed()[:-32])
    source_at = 66 + 2 + len(CAMERA.make.encode()) + len(CAMERA.model.encode()) + 1 + 16 + 4 + 4 + 12
    assert body[source_at] == 0  # CAMERA's balance is the camera's
    body[source_at] = 4
    with pytest.raises(PayloadError, match="no white balance source 4"):
        pl.unpack(reseal(bytes(body)), SRGB)


def test_raw_grid_needs_a_matching_alignment():
    with pytest.raises(ValueError, match="raw size is the grid's"):
        dataclasses.replace(payload_for(J), jpeg_size=(32, 48))


def with_levels(crop=(8, 6, 80, 50), table=tuple(range(0, 8192, 2)) + (8191,) * 4) -> pl.Payload:
    p = payload_for(J, bits=12)
    return dataclasses.replace(p, camera=dataclasses.replace(p.camera, crop=crop, linearization=table))


@pytest.mark.parametrize("crop,table", [((8, 6, 80, 50), None), (None, (0, 65535)),
                                        ((0, 0, 96, 64), tuple(range(0, 8192, 2)) + (8191,) * 4)])
def test_version_6_keeps_the_crop_and_the_linearization_table(crop, table):
    p = with_levels(crop, table)
    u = pl.unpack(packed(p), SRGB)
    assert u.camera == p.camera and u.camera.crop == crop and u.camera.linearization == table


def test_a_long_table_costs_little():
    """A 12-bit camera's table is 4096 values; their steps compress well."""
    curve = tuple(int(v) for v in np.round(65535 * (np.arange(4096) / 4095) ** 2.2))
    assert len(packed(with_levels(None, curve))) - len(packed()) < 3000


def with_camera_end(p: pl.Payload, end: bytes) -> bytes:
    """``p`` packed with the end of its camera block (crop, table and shot tags) replaced by ``end``."""
    body = packed(p)[:-32]
    size = int.from_bytes(body[62:66], "big")
    block = body[66 : 66 + size]
    block = block[: len(block) - len(pl._pack_levels(p.camera)) - len(pl._pack_shot(p.camera.shot))] + end
    return reseal(body[:62] + struct.pack(">I", len(block)) + block + body[66 + size :])


def coded_table(count: int, steps: bytes) -> bytes:
    coded = zstandard.ZstdCompressor().compress(steps)
    return struct.pack(">4HII", 0, 0, 0, 0, count, len(coded)) + coded


def shot_end(entries: bytes, size: int | None = None) -> bytes:
    """The version 8 end of a camera block after its table: the shot tags ``entries``, declared ``size``."""
    coded = zstandard.ZstdCompressor().compress(entries)
    return struct.pack(">II", len(entries) if size is None else size, len(coded)) + coded


def test_a_table_beyond_16_bits_is_refused():
    with pytest.raises(PayloadError, match="exceeds 65535"):
        pl.unpack(with_camera_end(payload_for(J), coded_table(2, struct.pack(">HH", 2, 65535))), SRGB)


@pytest.mark.parametrize("count", [1, 65537])
def test_a_table_of_absurd_length_is_refused(count):
    with pytest.raises(PayloadError, match=f"linearization table of {count} entries"):
        pl.unpack(with_camera_end(payload_for(J), coded_table(count, b"\0\1" * count)), SRGB)


@pytest.mark.parametrize("end", [b"", b"\0" * 11, b"\0" * 13, b"\0" * 17, coded_table(2, b"\0\1\0\1") + b"\0",
                                 coded_table(3, b"\0\1\0\1"), b"\0" * 12 + shot_end(b"\0\0") + b"\0"])
def test_a_camera_block_of_the_wrong_length_is_refused(end):
    with pytest.raises(PayloadError, match="camera block|linearization table"):
        pl.unpack(with_camera_end(payload_for(J), end), SRGB)


def test_any_flipped_byte_is_caught():
    data = packed()
    for pos in (0, 5, 20, 70, len(data) // 2, len(data) - 1):
        bad = bytearray(data)
        bad[pos] ^= 0x10
        with pytest.raises(PayloadError):
            pl.unpack(bytes(bad), SRGB)


def test_sha_mismatch_message():
    data = bytearray(packed())
    data[100] ^= 1
    with pytest.raises(PayloadError, match="SHA-256"):
        pl.unpack(bytes(data), SRGB)


def test_unknown_version_is_named():
    with pytest.raises(PayloadError, match="format version 11; this rawmeta reads versions 1, 2, 3, 4, 5, 6, 7, 8, 9, 10"):
        pl.unpack(patch_header(packed(), ">H", 4, 11), SRGB)


def test_unknown_flags_are_refused():
    with pytest.raises(PayloadError, match="flags 4"):
        pl.unpack(patch_header(packed(), ">H", 6, 4), SRGB)


def test_the_alternating_grid_is_flag_bit_1_of_version_5():
    for alternate in (False, True):
        p = dataclasses.replace(payload_for(J), grid=dataclasses.replace(payload_for(J).grid, alternate=alternate))
        p = dataclasses.replace(p, samples=np.zeros((*p.grid.shape, 3), np.uint16))
        data = packed(p)
        assert struct.unpack_from(">H", data, 6)[0] & pl.FLAG_ALTERNATE == (pl.FLAG_ALTERNATE if alternate else 0)
        assert pl.unpack(data, SRGB).grid == p.grid
    with pytest.raises(PayloadError, match="flags 3"):  # version 4 had no such flag
        pl.unpack(patch_header(data, ">HH", 4, 4, 3), SRGB)
    with pytest.raises(PayloadError, match="invalid grid: an alternating grid needs an even stride"):
        pl.unpack(patch_header(data, ">H", 16, 7), SRGB)


def test_absurd_size_is_refused_before_decoding():
    with pytest.raises(PayloadError, match="impossible image size"):
        pl.unpack(patch_header(packed(), ">II", 8, 1_000_000, 1_000_000), SRGB)


def test_zstd_frame_declaring_gigabytes_is_refused():
    body = packed()[:-32]
    start = sample_length_offset(body)
    bomb = zstandard.ZstdCompressor().compress(b"\0" * (64 * 1024**2))
    forged = reseal(body[:start] + len(bomb).to_bytes(4, "big") + bomb)
    with pytest.raises(PayloadError, match="declares"):
        pl.unpack(forged, SRGB)


def test_refinement_map_of_the_wrong_size_is_refused():
    body = packed()[:-32]
    pos = refinement_offset(body)
    pos += 3 + 2 * body[pos + 2]  # block size, level count, level table
    old = int.from_bytes(body[pos : pos + 4], "big")
    bigger = zstandard.ZstdCompressor().compress(b"\0" * 10_000_000)
    forged = reseal(body[:pos] + len(bigger).to_bytes(4, "big") + bigger + body[pos + 4 + old :])
    with pytest.raises(PayloadError, match="refinement map declares 10000000 bytes"):
        pl.unpack(forged, SRGB)


def test_refinement_block_size_is_bounded():
    body = packed()[:-32]
    pos = refinement_offset(body)
    with pytest.raises(PayloadError, match="block of 1 pixels"):
        pl.unpack(reseal(body[:pos] + struct.pack(">H", 1) + body[pos + 2 :]), SRGB)


def test_refined_count_must_match_the_map():
    body = packed(refined_payload())[:-32]
    start = sample_length_offset(body) - 4
    forged = reseal(body[:start] + struct.pack(">I", 5) + body[start + 4 :])
    with pytest.raises(PayloadError, match="refined sample count"):
        pl.unpack(forged, SRGB)


@pytest.mark.parametrize("data", [b"", b"RMPL", b"XXXX" + b"\0" * 200, b"RMPL\0\x02" + b"\0" * 60])
def test_truncated_or_foreign_data(data):
    with pytest.raises(PayloadError):
        pl.unpack(data, SRGB)


def test_inconsistent_sample_count():
    with pytest.raises(PayloadError, match="inconsistent"):
        pl.unpack(patch_header(packed(), ">I", 24, 7), SRGB)


SHOT = (ShotTag(IFD0, 271, 2, b"NIKON CORPORATION\0"), ShotTag(IFD0, 272, 2, b"NIKON D1 \0"),
        ShotTag(EXIF, 33434, 5, (1, 250)), ShotTag(EXIF, 34855, 3, 200), ShotTag(EXIF, 37380, 10, (-2, 6)),
        ShotTag(EXIF, 36867, 2, b"2000:11:19 13:01:50\0"), ShotTag(EXIF, 42034, 5, ((200, 10),) * 2 + ((28, 10),) * 2),
        ShotTag(EXIF, 37500, 7, b"Nikon\0\2\x10\0\0" + bytes(range(256)) * 4))


def test_version_8_keeps_the_shot_tags():
    p = payload_for(J)
    p = dataclasses.replace(p, camera=dataclasses.replace(p.camera, shot=SHOT))
    u = pl.unpack(packed(p), SRGB)
    assert u.camera == p.camera and [t.name for t in u.camera.shot] == [
        "Make", "Model", "ExposureTime", "ISOSpeedRatings", "DateTimeOriginal", "ExposureBiasValue", "MakerNote",
        "LensSpecification"]
    assert len(packed(p)) - len(packed()) < 600  # the maker note compresses


@pytest.mark.parametrize("entries,size,told", [
    (b"\0\1" + struct.pack(">BHHI", 1, 305, 2, 1) + b"\0", None, "tag 305 of IFD 1 is not one"),
    (b"\0\1" + struct.pack(">BHHI", 1, 33434, 14, 1) + b"\0", None, "unknown TIFF type 14"),
    (b"\0\1" + struct.pack(">BHHI", 1, 33434, 5, 0), None, "has 0 values"),
    (b"\0\1" + struct.pack(">BHHI", 1, 33434, 5, 1) + b"\0" * 7, None, "or is truncated"),
    (b"\0\2" + struct.pack(">BHHIH", 1, 34855, 3, 1, 100) * 2, None, "out of order or repeated"),
    (b"\0\0\0", None, "bytes after their last entry"),
    (b"\0\0", 3, "shot tags declares 2 bytes, the header implies 3"),
    (b"\0", 1, "declares 1 bytes of shot tags"),
])
def test_invalid_shot_tags_are_refused(entries, size, told):
    with pytest.raises(PayloadError, match=told):
        pl.unpack(with_camera_end(payload_for(J), b"\0" * 12 + shot_end(entries, size)), SRGB)


def test_shot_tags_before_version_8_are_refused():
    """A version 7 camera block ends after the table: shot tags there are bytes too many."""
    data = bytearray(with_camera_end(payload_for(J), b"\0" * 12 + shot_end(pl.shot.pack_tags(SHOT)))[:-32])
    data[4:6] = (7).to_bytes(2, "big")
    with pytest.raises(PayloadError, match="camera block has the wrong length"):
        pl.unpack(reseal(bytes(data)), SRGB)
