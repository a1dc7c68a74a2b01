"""The shot's EXIF and XMP travel from the JPEG into the restored DNG, as a photo catalogue reads them."""
from __future__ import annotations

import io
import json
import shutil
import struct
import subprocess

import numpy as np
import piexif
import pytest
import tifffile
from PIL import Image

from rawmeta.io.dng import _ifd_bytes, linear_dng_bytes
from rawmeta.io.shot_metadata import (
    MAKER_NOTE,
    MAKER_NOTE_SAFETY,
    NIKON_TYPE3,
    ShotMetadata,
    portable_maker_note,
    read_shot_metadata,
)

from ..conftest import RAW_DIR, require_tool
from ..helpers import CAMERA, run

EXIF = {
    "0th": {piexif.ImageIFD.Make: b"Canon", piexif.ImageIFD.Model: b"Canon EOS 550D", piexif.ImageIFD.Orientation: 1,
            piexif.ImageIFD.DateTime: b"2024:05:06 07:08:09", piexif.ImageIFD.Artist: b"A. Photographer",
            piexif.ImageIFD.Copyright: b"(c) 2024 A. Photographer", piexif.ImageIFD.Software: b"firmware 1.0.9"},
    "Exif": {piexif.ExifIFD.DateTimeOriginal: b"2024:05:06 07:08:09", piexif.ExifIFD.SubSecTimeOriginal: b"123",
             piexif.ExifIFD.OffsetTimeOriginal: b"+02:00", piexif.ExifIFD.ExposureTime: (1, 250),
             piexif.ExifIFD.FNumber: (56, 10), piexif.ExifIFD.ISOSpeedRatings: 400,
             piexif.ExifIFD.FocalLength: (50, 1), piexif.ExifIFD.LensModel: b"EF50mm f/1.8 II",
             piexif.ExifIFD.Flash: 16, piexif.ExifIFD.ExposureBiasValue: (-1, 3),
             piexif.ExifIFD.PixelXDimension: 320, piexif.ExifIFD.PixelYDimension: 240,
             piexif.ExifIFD.MakerNote: b"offsets into the JPEG"},
    "GPS": {piexif.GPSIFD.GPSLatitudeRef: b"N", piexif.GPSIFD.GPSLatitude: ((51, 1), (30, 1), (1234, 100)),
            piexif.GPSIFD.GPSLongitudeRef: b"W", piexif.GPSIFD.GPSLongitude: ((0, 1), (7, 1), (3900, 100)),
            piexif.GPSIFD.GPSAltitude: (35, 1)},
}
XMP = (b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
       b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" '
       b'xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/" xmp:Rating="4" '
       b'xmp:Label="Red"><dc:subject><rdf:Bag><rdf:li>holiday</rdf:li><rdf:li>beach</rdf:li></rdf:Bag></dc:subject>'
       b'</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>')
#: What a catalogue sorts and filters on, as exiftool names it (group:tag).
CATALOGUE_TAGS = [
    "IFD0:Make", "IFD0:Model", "IFD0:ModifyDate", "IFD0:Artist", "IFD0:Copyright",
    "ExifIFD:DateTimeOriginal", "ExifIFD:SubSecTimeOriginal", "ExifIFD:OffsetTimeOriginal", "ExifIFD:ExposureTime",
    "ExifIFD:FNumber", "ExifIFD:ISO", "ExifIFD:FocalLength", "ExifIFD:LensModel", "ExifIFD:Flash",
    "ExifIFD:ExposureCompensation", "GPS:GPSLatitude", "GPS:GPSLatitudeRef", "GPS:GPSLongitude",
    "GPS:GPSLongitudeRef", "GPS:GPSAltitude", "XMP-xmp:Rating", "XMP-xmp:Label", "XMP-dc:Subject",
]


@pytest.fixture(scope="module")
def restored(pair, tmp_path_factory):
    """A tagged JPEG of the pair, embedded, and the DNG restored from it."""
    folder = tmp_path_factory.mktemp("shot")
    dng, jpg = pair
    tagged = folder / "tagged.jpg"
    with Image.open(jpg) as im:
        im.save(tagged, quality=95, exif=piexif.dump(EXIF), xmp=XMP)
    run("embed", dng, tagged, "--stride", "4", "-q", check_rc=0)
    out = folder / "restored.dng"
    run("restore", tagged, out, "-q", check_rc=0)
    return tagged, out


def _exiftool(path) -> dict:
    proc = subprocess.run(["exiftool", "-j", "-G1", "-a", str(path)], capture_output=True, text=True, check=True)
    return json.loads(proc.stdout)[0]


@require_tool("exiftool")
def test_every_catalogue_tag_of_the_jpeg_is_in_the_dng(restored):
    jpeg, dng = (_exiftool(p) for p in restored)
    for tag in CATALOGUE_TAGS:
        assert tag in jpeg, tag  # the test JPEG has it
        assert dng.get(tag) == jpeg[tag], tag
    assert "ExifIFD:MakerNoteUnknownText" not in dng and "ExifIFD:MakerNote" not in dng
    assert "ExifIFD:ExifImageWidth" not in dng  # the JPEG's pixel size is not the DNG's
    assert dng["IFD0:Software"] == "rawmeta"
    validate = subprocess.run(["exiftool", "-validate", "-warning", "-a", str(restored[1])], capture_output=True,
                              text=True, check=True).stdout
    assert "Validate" in validate and ": OK" in validate, validate


def test_the_dng_holds_the_exif_and_gps_ifds_and_the_xmp_packet(restored):
    with tifffile.TiffFile(restored[1]) as tif:
        tags = tif.pages[0].tags
        exif, gps = tags["ExifTag"].value, tags["GPSTag"].value
        xmp = bytes(tags["XMP"].value)
        make, model = tags["Make"].value, tags["Model"].value
    assert (make, model) == ("Canon", "Canon EOS 550D")  # as the camera wrote them, not LibRaw's names
    assert exif["ExposureTime"] == (1, 250) and exif["ISOSpeedRatings"] == 400
    assert exif["DateTimeOriginal"] == "2024:05:06 07:08:09" and exif["SubsecTimeOriginal"] == "123"
    assert "MakerNote" not in exif and "PixelXDimension" not in exif
    assert gps["GPSLatitude"] == (51, 1, 30, 1, 1234, 100)
    assert xmp == XMP


def test_the_restored_pixels_are_unchanged_by_the_metadata(restored, tmp_path):
    from rawmeta.format import container
    from rawmeta.io.outputs import read_raw_rgb

    data = restored[0].read_bytes()
    plain = tmp_path / "plain.jpg"
    plain.write_bytes(container.attach(_without_app1(data), container.extract(data).payload))
    run("restore", plain, tmp_path / "plain.dng", "-q", check_rc=0)
    with tifffile.TiffFile(tmp_path / "plain.dng") as tif:
        assert "ExifTag" not in tif.pages[0].tags and "XMP" not in tif.pages[0].tags
    np.testing.assert_array_equal(read_raw_rgb(tmp_path / "plain.dng"), read_raw_rgb(restored[1]))


def test_a_folder_restore_keeps_the_shot_too(restored, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(restored[0], folder / "IMG_1.jpg")
    run("restore", folder, "--out-dir", tmp_path / "out", "-q", check_rc=0)
    with tifffile.TiffFile(tmp_path / "out" / "IMG_1.dng") as tif:
        assert tif.pages[0].tags["ExifTag"].value["LensModel"] == "EF50mm f/1.8 II"


def test_damaged_or_missing_exif_gives_what_it_can():
    buf = io.BytesIO()
    Image.new("RGB", (16, 16)).save(buf, "JPEG")
    plain = buf.getvalue()
    assert not read_shot_metadata(plain)
    damaged = plain[:2] + b"\xff\xe1\x00\x10Exif\x00\x00MM\x00*\x00\x00\xff\xff" + plain[2:]
    assert read_shot_metadata(damaged) == ShotMetadata()
    assert read_shot_metadata(b"not a jpeg") == ShotMetadata()


def _without_app1(jpeg: bytes) -> bytes:
    """``jpeg`` without its APP1 segments (EXIF, XMP)."""
    from rawmeta.format import segments as js

    layout = js.parse(jpeg)
    out, at = bytearray(), 0
    for seg in layout.segments:
        if seg.marker == 0xE1:
            out += jpeg[at : seg.start]
            at = seg.end
    return bytes(out + jpeg[at:])


def _jpeg_with_exif(tiff: bytes) -> bytes:
    """A small JPEG whose EXIF segment holds the TIFF structure ``tiff``."""
    app1 = b"Exif\0\0" + tiff
    buf = io.BytesIO()
    Image.new("RGB", (16, 16)).save(buf, "JPEG")
    jpeg = buf.getvalue()
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + jpeg[2:]


def test_exif_tags_in_ifd0_as_tiff_ep_writes_them_go_to_the_exif_ifd():
    """Old cameras (and exiftool copying from them) put ExposureTime, FNumber, ... in IFD0, little-endian."""
    ifd0 = {271: (2, b"Kodak\0"), 33434: (5, (1, 230)), 33437: (5, (62, 10)), 37386: (5, (37, 1)), 37385: (3, 24),
            256: (4, 768)}
    shot = read_shot_metadata(_jpeg_with_exif(b"II*\0" + struct.pack("<I", 8) + _ifd_bytes(ifd0, 8)))
    assert shot.ifd0 == {271: (2, b"Kodak\0")}  # ImageWidth describes the JPEG: left out
    assert shot.exif == {33434: (5, (1, 230)), 33437: (5, (62, 10)), 37386: (5, (37, 1)), 37385: (3, 24)}


#: Nikon maker-note tags: MakerNoteVersion, ISO (as the D1 keeps it), Quality (a value outside the entry).
NIKON_TAGS = {0x0001: (7, b"0210"), 0x0002: (3, (0, 400)), 0x0004: (2, b"FINE   \0")}
#: A Nikon type 3 maker note: its offsets count from the TIFF header inside it.
NIKON_TYPE3_NOTE = NIKON_TYPE3 + b"II*\0" + struct.pack("<I", 8) + _ifd_bytes(NIKON_TAGS, 8)


def _jpeg_with_maker_note(make: bytes, note: bytes) -> bytes:
    buf = io.BytesIO()
    exif = {"0th": {piexif.ImageIFD.Make: make}, "Exif": {piexif.ExifIFD.ISOSpeedRatings: 400,
                                                           piexif.ExifIFD.MakerNote: note}}
    Image.new("RGB", (16, 16)).save(buf, "JPEG", exif=piexif.dump(exif))
    return buf.getvalue()


def _headerless_nikon_jpeg(tags: dict) -> bytes:
    """A JPEG whose maker note is a headerless Nikon IFD (the D1's kind): its offsets count from the EXIF's TIFF
    header. IFD0 (Make, the EXIF pointer), then the EXIF IFD (the MakerNote alone), then the note."""
    ifd0_size = 2 + 12 * 2 + 4 + len(b"NIKON\0")
    exif_at = 8 + ifd0_size
    note_at = exif_at + 2 + 12 + 4
    note = _ifd_bytes(tags, note_at)
    tiff = (b"II*\0" + struct.pack("<I", 8) + _ifd_bytes({271: (2, b"NIKON\0"), 34665: (4, exif_at)}, 8)
            + _ifd_bytes({MAKER_NOTE: (7, note)}, exif_at))
    assert tiff[note_at:].startswith(note)
    return _jpeg_with_exif(tiff)


def test_a_self_contained_maker_note_is_kept_and_marked_safe():
    shot = read_shot_metadata(_jpeg_with_maker_note(b"NIKON CORPORATION", NIKON_TYPE3_NOTE))
    assert shot.exif[MAKER_NOTE] == (7, NIKON_TYPE3_NOTE)
    assert shot.ifd0[MAKER_NOTE_SAFETY] == (3, 1)


@pytest.mark.parametrize(("make", "note"), [
    (b"Canon", _ifd_bytes({0x0006: (2, b"Canon EOS 550D\0")}, 0x200)),  # offsets from the EXIF's TIFF header
    (b"NIKON CORPORATION", NIKON_TYPE3_NOTE[:-4]),  # cut short: Quality points outside the note
    (b"NIKON", b"Nikon\0\x01\0" + _ifd_bytes(NIKON_TAGS, 0x200)),  # Nikon type 2: offsets from the TIFF header
])
def test_a_maker_note_that_points_outside_itself_is_left_out(make, note):
    shot = read_shot_metadata(_jpeg_with_maker_note(make, note))
    assert MAKER_NOTE not in shot.exif and MAKER_NOTE_SAFETY not in shot.ifd0
    assert shot.exif[piexif.ExifIFD.ISOSpeedRatings] == (3, 400)  # the rest of the EXIF is kept


def test_a_maker_note_cut_anywhere_is_left_out_without_failing():
    headerless = _ifd_bytes(NIKON_TAGS, 100)
    for cut in range(len(NIKON_TYPE3_NOTE)):
        assert portable_maker_note(NIKON_TYPE3_NOTE[:cut], 100, b"NIKON") is None
    for cut in range(len(headerless)):
        assert portable_maker_note(headerless[:cut], 100, b"NIKON") is None
    assert portable_maker_note(headerless, 100, b"NIKON") == NIKON_TYPE3_NOTE


def test_a_headerless_nikon_maker_note_is_rebased_into_a_type_3_one():
    shot = read_shot_metadata(_headerless_nikon_jpeg(NIKON_TAGS))
    assert shot.exif[MAKER_NOTE] == (7, NIKON_TYPE3_NOTE)  # the same tags, offsets counted from its own header
    assert shot.ifd0[MAKER_NOTE_SAFETY] == (3, 1)


def test_a_headerless_nikon_maker_note_with_an_ifd_of_its_own_is_left_out():
    """PreviewIFD's entries count from the EXIF's TIFF header too, and rebasing does not follow them."""
    shot = read_shot_metadata(_headerless_nikon_jpeg({**NIKON_TAGS, 0x0011: (4, 8)}))
    assert MAKER_NOTE not in shot.exif and MAKER_NOTE_SAFETY not in shot.ifd0


def _nikon_tags(path) -> dict:
    """The maker-note tags exiftool reads in ``path`` (by name), and MakerNoteSafety."""
    proc = subprocess.run(["exiftool", "-j", "-a", "-s", "-MakerNotes:all", "-IFD0:MakerNoteSafety", str(path)],
                          capture_output=True, text=True, check=True)
    return {k: v for k, v in json.loads(proc.stdout)[0].items() if k != "SourceFile"}


@require_tool("exiftool")
def test_exiftool_reads_the_kept_maker_note_in_the_dng(tmp_path):
    jpeg = tmp_path / "shot.jpg"
    jpeg.write_bytes(_headerless_nikon_jpeg(NIKON_TAGS))
    dng = tmp_path / "shot.dng"
    dng.write_bytes(linear_dng_bytes(np.full((32, 48, 3), 0.5), CAMERA, shot=read_shot_metadata(jpeg.read_bytes())))
    tags = _nikon_tags(dng)
    assert tags.pop("MakerNoteSafety") == "Safe"
    assert tags == _nikon_tags(jpeg) and tags["ISO"] == 400


@pytest.fixture(scope="module")
def d1_jpeg(tmp_path_factory):
    """A JPEG carrying the EXIF of the shared Nikon D1 NEF, copied by exiftool: the D1 keeps its ISO only in
    its (headerless) maker note."""
    nef = RAW_DIR / "nikon_d1.nef"
    if not nef.is_file():
        pytest.skip(f"no {nef.name} in {RAW_DIR} (set RAWMETA_RAW_DIR)")
    if shutil.which("exiftool") is None:
        pytest.skip("exiftool is not installed (.ci/run installs it)")
    jpeg = tmp_path_factory.mktemp("d1") / "d1.jpg"
    Image.new("RGB", (64, 64)).save(jpeg)
    subprocess.run(["exiftool", "-q", "-q", "-overwrite_original", "-TagsFromFile", str(nef), "-exif:all<all",
                    str(jpeg)], check=True)
    return jpeg


def test_the_nikon_d1_iso_in_its_maker_note_survives_into_the_dng(d1_jpeg, tmp_path):
    import rawpy

    shot = read_shot_metadata(d1_jpeg.read_bytes())
    without = ShotMetadata(ifd0={t: v for t, v in shot.ifd0.items() if t != MAKER_NOTE_SAFETY},
                           exif={t: v for t, v in shot.exif.items() if t != MAKER_NOTE}, gps=shot.gps, xmp=shot.xmp)
    rgb = np.random.default_rng(0).random((64, 96, 3))
    renders = []
    for name, metadata in (("with.dng", shot), ("without.dng", without)):
        (tmp_path / name).write_bytes(linear_dng_bytes(rgb, CAMERA, shot=metadata))
        with rawpy.imread(str(tmp_path / name)) as raw:
            renders.append(raw.postprocess().copy())
    tags = _nikon_tags(tmp_path / "with.dng")
    assert tags.pop("MakerNoteSafety") == "Safe"
    assert tags == _nikon_tags(d1_jpeg) and tags["ISO"] == 200 and tags["Lens"] == "20mm f/2.8"
    np.testing.assert_array_equal(*renders)  # LibRaw reads the maker note, and decodes the same
