"""The shot's tags a RAW holds travel in the payload into a DNG restored from a JPEG without EXIF."""
from __future__ import annotations

import json
import struct
import subprocess
from datetime import datetime
from types import SimpleNamespace

import piexif
import pytest
import tifffile

import rawmeta
from rawmeta.format.shot import EXIF, IFD0, ShotTag
from rawmeta.io.dng import cfa_dng_bytes
from rawmeta.io.raw_shot import raw_shot_tags
from rawmeta.io.shot_metadata import MAKER_NOTE, MAKER_NOTE_SAFETY, ShotMetadata, tiff_ifds, with_raw_tags

from ..conftest import RAW_DIR, raw_params, require_tool
from ..helpers import run

#: LibRaw's facts of a file it knows nothing of the shot of.
NOTHING = dict(timestamp=datetime(1970, 1, 1), shutter_speed=0.0, aperture=0.0, iso_speed=0.0, focal_length=0.0)


def libraw(**parsed) -> SimpleNamespace:
    """LibRaw's facts (``rawpy.RawPy.other``): :data:`NOTHING` but ``parsed``."""
    return SimpleNamespace(**(NOTHING | parsed))
#: The tags of a camera's DNG, as a camera writes them (an ISO in IFD0 as TIFF/EP writers put it).
CAMERA_IFD0 = {271: (2, b"NIKON CORPORATION\0"), 272: (2, b"NIKON D1 \0"), 306: (2, b"2000:11:19 13:01:50\0"),
               34855: (3, 200)}
CAMERA_EXIF = {36867: (2, b"2000:11:19 13:01:50\0"), 37521: (2, b"24\0"), 36881: (2, b"+01:00\0"),
               33434: (5, (10, 2500)), 33437: (5, (76, 10)), 37386: (5, (200, 10)), 42036: (2, b"20mm f/2.8\0"),
               37385: (3, 0), 37380: (10, (-2, 6))}


def ciff(records: list[tuple[int, bytes]], sub: list[tuple[int, bytes]]) -> bytes:
    """A CRW: a CIFF header and a root heap holding ``records`` and a sub-heap (0x300A) holding ``sub``."""
    def heap(entries: list[tuple[int, bytes]]) -> bytes:
        data, table = b"", b""
        for tag, value in entries:
            table += struct.pack("<HII", tag, len(value), len(data))
            data += value
        return data + struct.pack("<H", len(entries)) + table + struct.pack("<I", len(data))

    header = b"II" + struct.pack("<I", 26) + b"HEAPCCDR" + b"\0" * 12
    return header + heap([*records, (0x300A, heap(sub))])


def test_a_crw_gives_its_names_date_and_exposure_as_exiftool_decodes_them():
    shot_info = [0] * 25
    shot_info[21], shot_info[22] = 0x70, 0xEC  # f/2^(3.5/2); 1/2^((224 + 32/3) / 32) s, a third-stop code
    crw = ciff([(0x080A, b"Canon\0Canon EOS D30\0\0\0")],
               [(0x180E, struct.pack("<IiI", 1038150682, 0, 0)), (0x102A, struct.pack("<25h", *shot_info))])
    tags = {t.name: t.value for t in raw_shot_tags(crw, libraw(iso_speed=100.0, focal_length=100.0, aperture=10.9))}
    assert tags == {"Make": b"Canon\0", "Model": b"Canon EOS D30\0", "DateTimeOriginal": b"2002:11:24 15:11:22\0",
                    "FNumber": (34, 10), "ExposureTime": (1, 161), "ISOSpeedRatings": 100, "FocalLength": (1000, 10)}


def test_a_damaged_crw_keeps_what_libraw_read():
    crw = ciff([(0x080A, b"Canon\0Canon EOS D30\0")], [])
    cut = crw[:30] + b"\xff\xff\xff\x7f"  # the heap's table offset points past the file
    assert [t.name for t in raw_shot_tags(cut, libraw())] == []
    itself = struct.pack("<HHII", 1, 0x300A, 16, 0) + struct.pack("<I", 0)  # a heap that is its own sub-heap
    looping = b"II" + struct.pack("<I", 14) + b"HEAPCCDR" + itself
    assert raw_shot_tags(looping, libraw(iso_speed=100.0)) == (
        ShotTag(EXIF, 34855, 3, 100),)


def test_a_tiff_raw_gives_its_listed_tags_byte_for_byte_less_the_unknown():
    exif = piexif.dump({"0th": {piexif.ImageIFD.Make: b"Kodak", piexif.ImageIFD.Software: b"fw 1",
                                piexif.ImageIFD.ExposureTime: (1, 230)},
                        "Exif": {piexif.ExifIFD.FNumber: (0, 10), piexif.ExifIFD.DateTimeOriginal: b"",
                                 piexif.ExifIFD.Flash: 0, piexif.ExifIFD.SubSecTimeOriginal: b"   "}})
    tags = raw_shot_tags(exif[6:], libraw())  # a TIFF structure, as a NEF or DNG starts
    assert [(t.ifd, t.name, t.value) for t in tags] == [
        (IFD0, "Make", b"Kodak\0"), (EXIF, "ExposureTime", (1, 230)), (EXIF, "Flash", 0)]


def test_the_largest_values_are_left_out_while_the_tags_do_not_fit_the_payload():
    exif = piexif.dump({"0th": {piexif.ImageIFD.Make: b"Kodak", piexif.ImageIFD.Copyright: b"c" * 300_000,
                                piexif.ImageIFD.Artist: b"a" * 200_000}, "Exif": {}})
    assert [t.name for t in raw_shot_tags(exif[6:], libraw())] == ["Make", "Artist"]


@pytest.mark.parametrize("seconds,written", [(1 / 203.4, (1, 203)), (0.3, (3, 10)), (2.0, (2, 1)), (0.0, None)])
def test_libraw_s_exposure_time_is_written_as_exif_writes_it(seconds, written):
    assert {t.name: t.value for t in raw_shot_tags(b"", libraw(shutter_speed=seconds))}.get("ExposureTime") == written


def test_the_jpeg_s_tags_win_and_a_date_keeps_its_own_sub_seconds():
    raw = tuple(ShotTag(IFD0 if tag in (271, 272, 306) else EXIF, tag, *v)
                for tag, v in {**CAMERA_IFD0, **CAMERA_EXIF}.items() if tag != 34855)
    jpeg = ShotMetadata(ifd0={272: (2, b"My D1\0")}, exif={36867: (2, b"2024:01:01 10:00:00\0")}, xmp=b"<x/>")
    merged = with_raw_tags(jpeg, raw)
    assert merged.ifd0[272] == (2, b"My D1\0") and merged.ifd0[271] == (2, b"NIKON CORPORATION\0")
    assert merged.exif[36867] == (2, b"2024:01:01 10:00:00\0") and 37521 not in merged.exif and 36881 not in merged.exif
    assert merged.exif[33434] == (5, (10, 2500)) and merged.xmp == b"<x/>" and MAKER_NOTE_SAFETY not in merged.ifd0
    noted = with_raw_tags(ShotMetadata(), (ShotTag(EXIF, MAKER_NOTE, 7, b"Nikon\0\2\x10\0\0MM"),))
    assert noted.ifd0 == {MAKER_NOTE_SAFETY: (3, 1)}


@pytest.fixture(scope="module")
def camera_pair(pair, tmp_path_factory):
    """A camera's DNG with the shot's tags (the sample's pixels and :data:`CAMERA_IFD0`, :data:`CAMERA_EXIF`),
    its JPEG without EXIF embedded, and the DNG restored from that JPEG."""
    folder = tmp_path_factory.mktemp("raw_shot")
    raw = rawmeta.read_raw(pair[0])
    camera_dng = folder / "camera.dng"
    camera_dng.write_bytes(cfa_dng_bytes(raw.rgb, raw.camera, shot=ShotMetadata(ifd0=CAMERA_IFD0, exif=CAMERA_EXIF)))
    jpeg = folder / "plain.jpg"
    jpeg.write_bytes(pair[1].read_bytes())
    run("embed", camera_dng, jpeg, "--stride", "4", "-q", check_rc=0)
    restored = folder / "restored.dng"
    run("restore", jpeg, restored, "-q", check_rc=0)
    return camera_dng, jpeg, restored


def test_a_jpeg_without_exif_restores_to_a_dng_with_the_raw_s_tags(camera_pair):
    camera_dng, jpeg, restored = camera_pair
    assert not piexif.load(str(jpeg))["Exif"]  # the JPEG has none of its own
    ifds = tiff_ifds(restored.read_bytes())
    assert {t: ifds["0th"][t] for t in (271, 272, 306)} == {t: CAMERA_IFD0[t] for t in (271, 272, 306)}
    assert {t: ifds["Exif"].get(t) for t in CAMERA_EXIF} == CAMERA_EXIF
    assert ifds["Exif"][34855] == CAMERA_IFD0[34855]  # TIFF/EP's IFD0 ISO lands in the EXIF IFD
    with tifffile.TiffFile(restored) as tif:
        assert tif.pages[0].tags["UniqueCameraModel"].value == "Nikon D1"  # LibRaw's short names, kept


@require_tool("exiftool")
def test_exiftool_reads_the_raw_s_values_in_the_restored_dng(camera_pair):
    names = ["DateTimeOriginal", "SubSecTimeOriginal", "OffsetTimeOriginal", "ExposureTime", "FNumber", "ISO",
             "FocalLength", "LensModel", "Flash", "Make", "Model", "ExposureCompensation"]
    read = [json.loads(subprocess.run(["exiftool", "-j", *(f"-{n}" for n in names), str(p)], capture_output=True,
                                      text=True, check=True).stdout)[0] for p in camera_pair[::2]]
    assert len(read[0]) == len(names) + 1  # every one is there (with SourceFile)
    assert {n: read[1].get(n) for n in names} == {n: read[0][n] for n in names}


@pytest.mark.skipif(not (RAW_DIR / "canon_eos_d30.crw").is_file(), reason=f"no canon_eos_d30.crw in {RAW_DIR}")
def test_the_d30_crw_gives_the_values_exiftool_reads_in_it():
    """exiftool 12.57 reads: Canon / Canon EOS D30, 2002:11:24 15:11:22, 1/203, f/11 (11.31), ISO 100, 100 mm."""
    cam = rawmeta.read_raw(RAW_DIR / "canon_eos_d30.crw").camera
    assert {t.name: t.value for t in cam.shot} == {
        "Make": b"Canon\0", "Model": b"Canon EOS D30\0", "DateTimeOriginal": b"2002:11:24 15:11:22\0",
        "ExposureTime": (1, 203), "FNumber": (113, 10), "ISOSpeedRatings": 100, "FocalLength": (1000, 10)}


#: What exiftool reads of the shot, by the names it gives them.
SHOT_NAMES = ("DateTimeOriginal", "SubSecTimeOriginal", "OffsetTimeOriginal", "ExposureTime", "FNumber", "ISO",
              "FocalLength", "LensModel", "Lens", "Flash", "Orientation", "Make", "Model")
#: What a payload does not keep of a RAW: exiftool's Lens of a CRW is its Composite of the Canon focal range.
NOT_KEPT = {"canon_eos_d30.crw": {"Lens"}, "canon_powershot_g2.crw": {"Lens"}}


#: Tags compared as numbers to a tenth, as EXIF writers keep them: exiftool prints a Canon maker note's
#: f/11.31 as "11" and its 100 mm as "100 mm", the same values in EXIF as "11.3" and "100.0 mm".
IN_TENTHS = ("FNumber", "FocalLength")


def _exiftool_shot(path) -> dict[str, str]:
    """exiftool's values of :data:`SHOT_NAMES` in ``path`` (:data:`IN_TENTHS` rounded), less the empty and zero
    ones ("unknown")."""
    names = [f"-{n}#" if n in IN_TENTHS else f"-{n}" for n in SHOT_NAMES]
    proc = subprocess.run(["exiftool", "-j", *names, str(path)], capture_output=True, text=True, check=True)
    values = {k: str(round(float(v), 1) if k in IN_TENTHS else v) for k, v in json.loads(proc.stdout)[0].items()
              if k != "SourceFile"}
    return {k: v for k, v in values.items() if v.strip() and v not in ("0", "0.0")}


@pytest.mark.slow
@require_tool("exiftool")
@pytest.mark.parametrize("raw", raw_params())
def test_a_raw_s_shot_survives_a_jpeg_stripped_of_all_exif(raw, rendered, tmp_path):
    """The RAW rendered by LibRaw, halved and saved by Pillow with no metadata at all, embedded and restored at
    the JPEG's size: exiftool reads in the DNG what it reads in the RAW."""
    from PIL import Image

    expected = _exiftool_shot(raw)
    if not set(expected) - {"Orientation"}:
        pytest.skip(f"{raw.name} holds none of the shot's tags exiftool reads")
    jpeg = tmp_path / "stripped.jpg"
    with Image.open(rendered(raw)) as im:
        im.reduce(2).save(jpeg, quality=90)
    assert not piexif.load(str(jpeg))["0th"]
    run("embed", raw, jpeg, "--stride", "8", "--bits", "10", "-q", check_rc=0)
    out = tmp_path / "restored.dng"
    run("restore", jpeg, out, "--size", "jpeg", "-q", check_rc=0)
    got, left_out = _exiftool_shot(out), NOT_KEPT.get(raw.name, set())
    assert {k: got.get(k) for k in expected if k not in left_out} == {k: v for k, v in expected.items()
                                                                       if k not in left_out}
    assert all(got.get(k) != expected[k] for k in left_out & set(expected))  # still not kept: say so above


def test_inspect_lists_the_shot_tags_the_payload_keeps(camera_pair):
    shot = json.loads(run("inspect", camera_pair[1], "--json", check_rc=0).stdout)["camera"]["shot"]
    assert shot["Model"] == "NIKON D1 " and shot["ExposureTime"] == "10/2500" and shot["ISOSpeedRatings"] == 200
    assert shot["ExposureBiasValue"] == "-2/6" and list(shot)[:2] == ["Make", "Model"]
    text = run("inspect", camera_pair[1], check_rc=0).stdout
    assert "shot         13 tags kept from the RAW: Make NIKON CORPORATION, Model NIKON D1 , DateTime" in text
