"""Pairing RAW files with their JPEGs by name (rawmeta.batch.pairing)."""
from __future__ import annotations

from pathlib import Path

import pytest

from rawmeta.batch.pairing import check_pattern, pair, scan
from rawmeta.errors import UsageError


def touch(folder: Path, *names: str) -> None:
    for name in names:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")


def names(pairing):
    return ({(p.raw.name, p.jpeg.name) for p in pairing.pairs},
            {(r.name, why) for r, why in pairing.unpaired_raws},
            {j.name for j in pairing.unpaired_jpegs})


def test_scan_takes_raws_and_jpegs_by_extension_and_skips_hidden_files(tmp_path):
    touch(tmp_path, "A.CR2", "a.JPG", "b.nef", "b.jpeg", "notes.txt", ".A.CR2.rawmeta-tmp-h-1-ab", "sub/c.dng",
          "sub/c.jpg")
    raws, jpegs = scan([tmp_path])
    assert [p.name for p in raws] == ["A.CR2", "b.nef"] and [p.name for p in jpegs] == ["a.JPG", "b.jpeg"]
    raws, jpegs = scan([tmp_path], recursive=True)
    assert [p.name for p in raws] == ["A.CR2", "b.nef", "c.dng"] and len(jpegs) == 3
    assert scan([tmp_path / "A.CR2", tmp_path / "A.CR2"]) == ([tmp_path / "A.CR2"], [])


@pytest.mark.parametrize("bad, words", [("notes.txt", "neither a RAW nor a JPEG"), ("gone.dng", "no such file")])
def test_scan_refuses_what_it_cannot_take(tmp_path, bad, words):
    touch(tmp_path, "notes.txt")
    with pytest.raises(UsageError, match=words):
        scan([tmp_path / bad])


def test_default_pattern_pairs_case_insensitively_and_reports_the_rest(tmp_path):
    touch(tmp_path, "IMG_0001.CR2", "img_0001.jpg", "IMG_0002.NEF", "IMG_0002.JPEG", "IMG_0003.DNG", "solo.jpg")
    raws, jpegs = scan([tmp_path])
    got = names(pair(raws, jpegs))
    assert got[0] == {("IMG_0001.CR2", "img_0001.jpg"), ("IMG_0002.NEF", "IMG_0002.JPEG")}
    assert got[1] == {("IMG_0003.DNG", "no JPEG named IMG_0003.jp*g beside it")}
    assert got[2] == {"solo.jpg"}


def test_ambiguous_pairs_are_refused_not_guessed(tmp_path):
    touch(tmp_path, "A.dng", "A.jpg", "A.jpeg", "B.cr2", "B.dng", "B.jpg")
    raws, jpegs = scan([tmp_path])
    pairs, unpaired, _ = names(pair(raws, jpegs))
    assert pairs == set()
    assert ("A.dng", "several JPEGs match it: A.jpeg, A.jpg") in unpaired
    assert {r for r, why in unpaired if "B.jpg matches several RAWs: B.cr2, B.dng" in why} == {"B.cr2", "B.dng"}


def test_pattern_with_folder_and_wildcards(tmp_path):
    touch(tmp_path, "raw/IMG_1.CR2", "raw/IMG_[2].CR2", "jpeg/img_1-Edit.JPG", "jpeg/IMG_[2]-edit.jpg",
          "jpeg/IMG_2-edit.jpg")
    raws, _ = scan([tmp_path / "raw"])
    pairs, unpaired, _ = names(pair(raws, pattern="../jpeg/{stem}-edit.jp*g"))
    # the stem's "[2]" is literal: it matches "IMG_[2]-edit.jpg", not "IMG_2-edit.jpg"
    assert pairs == {("IMG_1.CR2", "img_1-Edit.JPG"), ("IMG_[2].CR2", "IMG_[2]-edit.jpg")} and not unpaired


@pytest.mark.parametrize("pattern, words", [
    ("{name}.jpg", "only the placeholder"), ("photo.jpg", "must contain"), ("/abs/{stem}.jpg", "relative"),
    ("{stem}/", "relative"), ("{stem", "only the placeholder"),
])
def test_bad_patterns_are_named(pattern, words):
    with pytest.raises(UsageError, match=words):
        check_pattern(pattern)
