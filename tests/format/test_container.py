import io
import random
import zlib

import pytest
from PIL import Image, ImageCms

from rawmeta.errors import NoPayloadError, PayloadError
from rawmeta.format import container
from rawmeta.format import segments as js

from ..helpers import jpeg, smooth_image

BIG = bytes(random.Random(0).randbytes(200_000)) + b"\0" * 32  # 4 segments


def segments_of(data: bytes) -> list[bytes]:
    layout = js.parse(data)
    return [data[s.start : s.end] for s in container.ours(layout)]


def test_attach_extract_detach_exact():
    data = jpeg()
    carried = container.attach(data, BIG)
    assert len(segments_of(carried)) == 4
    got = container.extract(carried)
    assert got.payload == BIG and got.segment_count == 4
    assert container.detach(carried) == data


def test_re_attach_replaces_the_old_payload():
    data = jpeg()
    once = container.attach(data, BIG)
    twice = container.attach(once, b"new payload" + b"\1" * 40)
    assert container.extract(twice).payload == b"new payload" + b"\1" * 40
    assert container.detach(twice) == data


def test_segments_go_after_app_segments_and_keep_exif_and_icc():
    img = Image.fromarray(smooth_image(64, 96))
    exif = Image.Exif()
    exif[0x010F] = "Maker"
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif.tobytes(), icc_profile=icc, comment=b"note")
    data = buf.getvalue()
    carried = container.attach(data, BIG)
    markers = [s.marker for s in js.parse(carried).segments]
    last_app = max(i for i, m in enumerate(markers) if m != container.MARKER and 0xE0 <= m <= 0xEF)
    first_ours = markers.index(container.MARKER)
    assert first_ours == last_app + 1
    reopened = Image.open(io.BytesIO(carried))
    assert reopened.info["icc_profile"] == icc and reopened.getexif()[0x010F] == "Maker"


def test_mpo_offsets_stay_valid():
    frames = [Image.fromarray(smooth_image(64, 96, seed)) for seed in (0, 1)]
    buf = io.BytesIO()
    frames[0].save(buf, "MPO", save_all=True, append_images=frames[1:])
    carried = container.attach(buf.getvalue(), BIG)
    layout = js.parse(carried)
    mpf = next(i for i, s in enumerate(layout.segments) if layout.segment_data(s)[:4] == b"MPF\0")
    assert layout.segments[mpf - 1].marker == container.MARKER
    im = Image.open(io.BytesIO(carried))
    assert im.format == "MPO" and im.n_frames == 2
    im.seek(1)
    im.load()
    assert container.extract(carried).payload == BIG


def test_reordered_segments_still_read():
    data = jpeg()
    carried = container.attach(data, BIG)
    segs = segments_of(carried)
    stripped = container.detach(carried)
    shuffled = stripped[:2] + b"".join(reversed(segs)) + stripped[2:]
    assert container.extract(shuffled).payload == BIG


def test_missing_segment_is_named():
    data = jpeg()
    segs = segments_of(container.attach(data, BIG))
    partial = data[:2] + segs[0] + segs[1] + segs[3] + data[2:]
    with pytest.raises(PayloadError, match=r"1 of 4 segments missing \(3\)"):
        container.extract(partial)


def test_identical_duplicate_is_tolerated_conflicting_one_is_not():
    data = jpeg()
    segs = segments_of(container.attach(data, BIG))
    dup = data[:2] + b"".join(segs) + segs[2] + data[2:]
    assert container.extract(dup).payload == BIG
    other = segments_of(container.attach(data, BIG[:-32] + b"\1" * 32))  # another payload id
    mixed = data[:2] + b"".join(segs[:3]) + other[3] + data[2:]
    with pytest.raises(PayloadError, match="more than one rawmeta payload"):
        container.extract(mixed)


def test_flipped_byte_fails_the_crc():
    carried = bytearray(container.attach(jpeg(), BIG))
    seg = container.ours(js.parse(bytes(carried)))[1]
    carried[seg.start + 1000] ^= 0x01
    with pytest.raises(PayloadError, match="segment 2 of 4 fails its CRC-32"):
        container.extract(bytes(carried))


def test_unknown_container_version_and_bad_sequence():
    data = jpeg()
    one = container.attach(data, b"x" * 100)
    seg = container.ours(js.parse(one))[0]
    body = bytearray(one[seg.data_start : seg.end - 4])
    for offset, value, message in ((8, 9, "container version 9"), (13, 5, "sequence number 5")):
        forged = bytearray(body)
        forged[offset : offset + (1 if offset == 8 else 2)] = value.to_bytes(1 if offset == 8 else 2, "big")
        seg_data = bytes(forged) + zlib.crc32(forged).to_bytes(4, "big")
        bad = data[:2] + js.encode_segment(container.MARKER, seg_data) + data[2:]
        with pytest.raises(PayloadError, match=message):
            container.extract(bad)


def test_no_payload():
    with pytest.raises(NoPayloadError):
        container.extract(jpeg())
    with pytest.raises(NoPayloadError):
        container.detach(jpeg())


def test_foreign_app9_segment_is_left_alone():
    data = jpeg()
    foreign = js.encode_segment(container.MARKER, b"Media Jukebox\0<MJMD></MJMD>")
    with_foreign = data[:2] + foreign + data[2:]
    carried = container.attach(with_foreign, BIG)
    assert container.detach(carried) == with_foreign
