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

from rawmeta.io.shot_metadata import ShotMetadata, read_shot_metadata

from ..conftest import require_tool
from ..helpers import run

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


def test_exif_tags_in_ifd0_as_tiff_ep_writes_them_go_to_the_exif_ifd():
    """Old cameras (and exiftool copying from them) put ExposureTime, FNumber, ... in IFD0, little-endian."""
    from rawmeta.io.dng import _ifd_bytes

    ifd0 = {271: (2, b"Kodak\0"), 33434: (5, (1, 230)), 33437: (5, (62, 10)), 37386: (5, (37, 1)), 37385: (3, 24),
            256: (4, 768)}
    app1 = b"Exif\0\0II*\0" + struct.pack("<I", 8) + _ifd_bytes(ifd0, 8)
    buf = io.BytesIO()
    Image.new("RGB", (16, 16)).save(buf, "JPEG")
    jpeg = buf.getvalue()
    jpeg = jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + jpeg[2:]
    shot = read_shot_metadata(jpeg)
    assert shot.ifd0 == {271: (2, b"Kodak\0")}  # ImageWidth describes the JPEG: left out
    assert shot.exif == {33434: (5, (1, 230)), 33437: (5, (62, 10)), 37386: (5, (37, 1)), 37385: (3, 24)}
