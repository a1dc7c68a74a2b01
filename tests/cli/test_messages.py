"""Errors a photographer reads (issue 32): each names the file and says what it means; ``--verbose`` adds the
technical detail. Run in-process (click's CliRunner): no real process is needed to read a message."""
from __future__ import annotations

import shutil
import struct
import zlib

import pytest
from click.testing import CliRunner
from PIL import Image

from rawmeta.cli.main import main
from rawmeta.format import container
from rawmeta.format import segments as js

from ..helpers import assert_one_line_error, snapshot


def invoke(*args) -> CliRunner:
    """The command's result, shaped for ``assert_one_line_error``."""
    r = CliRunner().invoke(main, [str(a) for a in args])
    r.returncode = r.exit_code
    return r


@pytest.fixture(scope="module")
def embedded(pair, tmp_path_factory):
    """``(dng, bytes)``: the pair's RAW and its JPEG carrying rawmeta data."""
    dng, jpg = pair
    out = tmp_path_factory.mktemp("embedded") / "IMG_1.jpg"
    assert invoke("embed", dng, jpg, "-o", out, "--stride", "8", "--bits", "12").exit_code == 0
    return dng, out.read_bytes()


def cut_in_our_segment(data: bytes) -> bytes:
    """``data`` cut short inside its first rawmeta segment."""
    seg = container.ours(js.parse(data))[0]
    return data[: seg.start + 40]


def flipped_in_chunk(data: bytes) -> bytes:
    seg = container.ours(js.parse(data))[0]
    out = bytearray(data)
    out[seg.end - 10] ^= 0x10
    return bytes(out)


def dropped_segment(data: bytes) -> bytes:
    """``data`` with its payload declared in two segments, the second of them missing (FORMAT.md, "Container")."""
    layout = js.parse(data)
    payload = container.extract(data).payload
    head = struct.Struct(">8sB4sHHI")
    body = head.pack(container.SIGNATURE, container.CONTAINER_VERSION, container.payload_id(payload), 0, 2,
                     len(payload)) + payload[: len(payload) // 2]
    seg = js.encode_segment(container.MARKER, body + struct.pack(">I", zlib.crc32(body)))
    old = container.ours(layout)
    return js.splice(layout, old, container.insertion_point(layout, old), seg)


CASES = {  # name: (bytes from the embedded JPEG, exit code, the plain message, a word only --verbose gives)
    "empty": (lambda d: b"", 3, "IMG_1.jpg is empty, not a JPEG", "SOI marker"),
    "PNG": (lambda d: b"\x89PNG\r\n\x1a\n" + bytes(64), 3, "IMG_1.jpg is a PNG image, not a JPEG", "SOI marker"),
    "text": (lambda d: b"hello", 3, "IMG_1.jpg is not a JPEG: its content is not a JPEG's", "SOI marker"),
    "cut in rawmeta's data": (cut_in_our_segment, 3,
                              "IMG_1.jpg is cut short: it ends inside rawmeta's data (copied incompletely?)",
                              "FFE9 segment at byte"),
    "cut in the picture": (lambda d: d[: len(d) - 300], 3,
                           "IMG_1.jpg is cut short: it ends inside the picture (copied incompletely?)",
                           "truncated JPEG"),
    "no EOI": (lambda d: d[:-2], 3, "IMG_1.jpg is cut short", "ends inside the image data"),
    "junk between segments": (lambda d: d[:2] + b"junk" + d[2:], 3,
                              "IMG_1.jpg is damaged: its structure is not a valid JPEG's", "expected a marker at byte"),
    "a chunk's bit flipped": (flipped_in_chunk, 7,
                              "IMG_1.jpg's rawmeta data is corrupt: its bytes changed after embedding", "CRC-32"),
    "a segment dropped": (dropped_segment, 7,
                          "IMG_1.jpg's rawmeta data is incomplete: 1 of its", "segments missing"),
}


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("command", ["inspect", "restore", "strip"])
def test_bad_jpegs_are_named_in_plain_words(embedded, tmp_path, name, command):
    build, code, plain, detail = CASES[name]
    if command == "strip" and code == 7:
        pytest.skip("strip removes damaged rawmeta data without reading it")
    bad = tmp_path / "IMG_1.jpg"
    bad.write_bytes(build(embedded[1]))
    before = snapshot(tmp_path)
    argv = {"inspect": ["inspect", bad], "restore": ["restore", bad, tmp_path / "o.npy", "--quiet"],
            "strip": ["strip", bad, "-o", tmp_path / "o.jpg"]}[command]
    told = invoke(*argv)
    assert_one_line_error(told, code, plain)
    assert detail not in told.stderr and "FF" not in told.stderr.replace(str(tmp_path), "")
    verbose = invoke(*argv, "--verbose")
    assert_one_line_error(verbose, code, plain)
    assert detail in verbose.stderr
    assert snapshot(tmp_path) == before


def test_a_jpeg_without_data_hints_at_a_sibling_that_has_it(embedded, tmp_path):
    (tmp_path / "IMG_1.jpg").write_bytes(embedded[1])
    Image.open(tmp_path / "IMG_1.jpg").save(tmp_path / "IMG_1-edit.jpg", quality=90)
    Image.open(tmp_path / "IMG_1.jpg").save(tmp_path / "IMG_10.jpg", quality=90)  # not a sibling by name
    before = snapshot(tmp_path)
    edit, other = tmp_path / "IMG_1-edit.jpg", tmp_path / "IMG_10.jpg"
    told = invoke("restore", edit, tmp_path / "o.dng", "--quiet")
    assert_one_line_error(told, 6, f"{edit} has no rawmeta data; IMG_1.jpg does: "
                                   f"'rawmeta embed --from {tmp_path / 'IMG_1.jpg'} {edit}' copies it")
    assert_one_line_error(invoke("inspect", other), 6,
                          f"{other} has no rawmeta data ('rawmeta embed RAW IMG_10.jpg' puts it there)")
    assert_one_line_error(invoke("strip", edit), 6, f"{edit} has no rawmeta data")  # strip wants none: no hint
    assert "embed" not in invoke("strip", edit).stderr
    assert snapshot(tmp_path) == before
    assert invoke("embed", "--from", tmp_path / "IMG_1.jpg", edit).exit_code == 0  # the hint works
    assert invoke("inspect", edit).exit_code == 0


def test_no_hint_at_a_sibling_of_other_pixels(embedded, tmp_path):
    (tmp_path / "IMG_1.jpg").write_bytes(embedded[1])
    Image.open(tmp_path / "IMG_1.jpg").rotate(180).save(tmp_path / "IMG_1 copy.jpg", quality=90)
    told = invoke("inspect", tmp_path / "IMG_1 copy.jpg")
    assert_one_line_error(told, 6, "has no rawmeta data ('rawmeta embed RAW IMG_1 copy.jpg' puts it there)")


def test_embed_judges_a_jpeg_by_its_content_not_its_name(pair, tmp_path):
    dng, jpg = pair
    fake = tmp_path / "notjpeg.jpg"
    fake.write_bytes(b"hello, I am text")
    shutil.copy(jpg, tmp_path / "x.jpg")
    before = snapshot(tmp_path)
    told = invoke("embed", fake, tmp_path / "x.jpg")
    assert_one_line_error(told, 3, f"{fake} is not a JPEG: its content is not a JPEG's; embed takes a RAW, then "
                                   "its JPEG")
    assert "is a JPEG" not in told.stderr
    assert_one_line_error(invoke("embed", tmp_path / "x.jpg", fake), 2, "the first argument must be the RAW")
    assert snapshot(tmp_path) == before


def test_restore_of_one_jpeg_into_a_folder_names_the_file_to_give(embedded, tmp_path):
    jpeg, out = tmp_path / "IMG_1.jpg", tmp_path / "restored"
    jpeg.write_bytes(embedded[1])
    out.mkdir()
    told = invoke("restore", jpeg, out)
    assert_one_line_error(told, 2, f"{out} is a folder: give the file to write ({out / 'IMG_1.dng'}), "
                                   f"or --out-dir {out}")
    assert "restoring folders" not in told.stderr


def test_restore_with_its_arguments_swapped_names_the_jpeg(embedded, tmp_path):
    jpeg = tmp_path / "IMG_1.jpg"
    jpeg.write_bytes(embedded[1])
    (tmp_path / "old.dng").write_bytes(b"II*\0not really")
    assert_one_line_error(invoke("restore", tmp_path / "old.dng", jpeg), 2,
                          f"the first argument must be the JPEG, the second the OUTPUT to write ({jpeg} is the JPEG)")


def test_every_command_takes_verbose():
    for name, command in main.commands.items():
        assert "--verbose" in [o for p in command.params for o in p.opts], name
