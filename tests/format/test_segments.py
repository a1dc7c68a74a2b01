import io
import subprocess

import pytest
from PIL import Image

from rawmeta.errors import JpegError
from rawmeta.format import segments as js

from ..conftest import require_tool
from ..helpers import jpeg, smooth_image


def test_parse_baseline():
    data = jpeg(64, 96)
    layout = js.parse(data)
    assert layout.frame() == (64, 96, 3)
    assert layout.eoi_end == len(data)
    assert len(layout.scans) == 1
    assert [s.marker for s in layout.segments][-1] == js.SOS


def test_parse_progressive_has_many_scans():
    layout = js.parse(jpeg(64, 96, progressive=True))
    assert len(layout.scans) > 1


@require_tool("cjpeg")
def test_parse_restart_markers_and_progressive_from_cjpeg(tmp_path):
    ppm = tmp_path / "in.ppm"
    Image.fromarray(smooth_image(48, 80)).save(ppm)
    for flags in (["-restart", "1"], ["-restart", "1", "-progressive"], ["-grayscale"]):
        out = subprocess.run(["cjpeg", *flags, str(ppm)], capture_output=True, check=True).stdout
        layout = js.parse(out)
        assert layout.frame()[:2] == (48, 80)
        assert layout.eoi_end == len(out)


def test_trailing_data_after_eoi_is_kept_apart():
    data = jpeg() + b"TRAILER"
    layout = js.parse(data)
    assert data[layout.eoi_end :] == b"TRAILER"


@pytest.mark.parametrize("data", [b"", b"\xff", b"PNG\r\n", b"\x89PNG\r\n\x1a\n" + b"\0" * 40, b"II*\0" + b"\0" * 40])
def test_not_a_jpeg(data):
    with pytest.raises(JpegError, match="not a JPEG"):
        js.parse(data)


def test_truncated_anywhere_is_refused():
    data = jpeg(32, 48)
    for cut in range(2, len(data) - 1, max(1, len(data) // 97)):
        with pytest.raises(JpegError):
            js.parse(data[:cut])


def test_segment_length_overrunning_the_file():
    data = bytearray(jpeg())
    first = js.parse(bytes(data)).segments[0]
    data[first.start + 2 : first.start + 4] = (0xFFFF).to_bytes(2, "big")
    with pytest.raises(JpegError, match="runs past the end"):
        js.parse(bytes(data[: first.start + 200]))


def test_image_hash_ignores_metadata_but_not_pixels():
    img = Image.fromarray(smooth_image(64, 96))
    plain, with_comment = io.BytesIO(), io.BytesIO()
    img.save(plain, "JPEG", quality=90)
    img.save(with_comment, "JPEG", quality=90, comment=b"hello", exif=Image.Exif().tobytes())
    h = js.image_data_hash
    assert h(js.parse(plain.getvalue())) == h(js.parse(with_comment.getvalue()))
    other = io.BytesIO()
    img.save(other, "JPEG", quality=89)
    assert h(js.parse(plain.getvalue())) != h(js.parse(other.getvalue()))


def test_splice_inserts_and_removes():
    data = jpeg()
    layout = js.parse(data)
    seg = js.encode_segment(0xE9, b"abc")
    added = js.splice(layout, [], 2, seg)
    assert added == data[:2] + seg + data[2:]
    back = js.parse(added)
    assert js.splice(back, [back.segments[0]], 0, b"") == data


def test_encode_segment_limit():
    assert len(js.encode_segment(0xE9, b"x" * js.MAX_SEGMENT_DATA)) == 65537
    with pytest.raises(ValueError):
        js.encode_segment(0xE9, b"x" * (js.MAX_SEGMENT_DATA + 1))
