"""No command writes over a file it did not just create, unless the user says so; no output is mistaken for an original."""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from rawmeta.benchmarks.synthetic import write_sample
from rawmeta.cli.main import main
from rawmeta.embed.jpeg import embed_file
from rawmeta.io.atomic import atomic_write_bytes
from rawmeta.io.outputs import read_raw_rgb, write_raw_rgb
from rawmeta.io.restore_mark import RestoreMark, read_mark

from ..helpers import CAMERA

FAST = {"stride": 8, "bits": 12, "budget": None}  # embed options that skip the budget search


@pytest.fixture(scope="module")
def shot(tmp_path_factory) -> tuple[bytes, bytes]:
    """A camera DNG and its JPEG carrying rawmeta data, as bytes."""
    folder = tmp_path_factory.mktemp("shot")
    dng, jpg = write_sample(folder, height=96, width=128)
    embed_file(dng, jpg, **FAST)
    return dng.read_bytes(), jpg.read_bytes()


def camera_folder(folder: Path, shot, raw_name="IMG_0001.dng", jpeg_name="IMG_0001.jpg") -> tuple[Path, Path]:
    """A photographer's folder: the camera's own DNG beside its JPEG."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / raw_name).write_bytes(shot[0])
    (folder / jpeg_name).write_bytes(shot[1])
    return folder / raw_name, folder / jpeg_name


def rawmeta(*args):
    return CliRunner().invoke(main, [str(a) for a in args], prog_name="rawmeta")


def refused(result, code: int, words: str) -> None:
    """One ``rawmeta: error:`` line holding ``words``, exit ``code``, no traceback."""
    assert result.exit_code == code, (result.exit_code, result.output)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rawmeta: error: ") and words in lines[0], result.stderr
    assert "Traceback" not in result.output


def files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def test_a_folder_restore_into_the_camera_s_folder_never_touches_its_dng(tmp_path, shot):
    raw, jpg = camera_folder(tmp_path, shot)
    result = rawmeta("restore", tmp_path, "--out-dir", tmp_path, "--format", "dng")
    assert result.exit_code == 0, result.output
    assert raw.read_bytes() == shot[0] and jpg.read_bytes() == shot[1]
    restored = tmp_path / "IMG_0001.restored.dng"
    assert read_mark(restored) is not None and read_raw_rgb(restored).shape == (96, 128, 3)
    assert "IMG_0001.jpg -> IMG_0001.restored.dng (IMG_0001.dng is an original" in result.stdout
    # a rerun takes the camera's DNG neither for its output nor for a RAW to pair with
    again = rawmeta("restore", tmp_path, "--out-dir", tmp_path)
    assert again.exit_code == 0 and "1 skipped" in again.stdout and "already complete" in again.stdout
    assert "written under another name" not in again.stdout  # it lists what this run wrote, and it wrote nothing
    report = json.loads(rawmeta("restore", tmp_path, "--out-dir", tmp_path, "--json").stdout)
    assert [(f["status"], f["note"]) for f in report["files"]] == [("skipped", "")]
    before = restored.stat().st_mtime_ns
    for flags in (["--redo"], ["--redo", "--overwrite"]):
        redone = rawmeta("restore", tmp_path, "--out-dir", tmp_path, *flags)
        assert redone.exit_code == 0 and "1 done" in redone.stdout, redone.output
        assert "written under another name:\n  IMG_0001.jpg -> IMG_0001.restored.dng" in redone.stdout
        assert raw.read_bytes() == shot[0] and jpg.read_bytes() == shot[1]
    assert restored.stat().st_mtime_ns != before
    assert sorted(files(tmp_path)) == ["IMG_0001.dng", "IMG_0001.jpg", "IMG_0001.restored.dng"]
    # embed and verify of the folder leave the restore alone instead of failing it as a RAW without a JPEG
    for command in ("embed", "verify"):
        checked = rawmeta(command, tmp_path)
        assert checked.exit_code == 0 and "IMG_0001.restored.dng: restored by rawmeta" in checked.stdout, checked.output
    assert raw.read_bytes() == shot[0]


def test_a_symlinked_output_folder_is_seen_through(tmp_path, shot):
    photos = tmp_path / "photos"
    raw, jpg = camera_folder(photos, shot)
    (tmp_path / "link").symlink_to(photos, target_is_directory=True)
    result = rawmeta("restore", photos, "--out-dir", tmp_path / "link", "--overwrite")
    assert result.exit_code == 0, result.output
    assert raw.read_bytes() == shot[0] and (photos / "IMG_0001.restored.dng").exists()


def test_a_name_that_differs_only_in_case_is_the_same_name(tmp_path, shot):
    raw, jpg = camera_folder(tmp_path, shot, raw_name="IMG_0001.DNG", jpeg_name="img_0001.jpg")
    result = rawmeta("restore", jpg, "--out-dir", tmp_path)
    assert result.exit_code == 0, result.output
    assert raw.read_bytes() == shot[0]
    assert sorted(files(tmp_path)) == ["IMG_0001.DNG", "img_0001.jpg", "img_0001.restored.dng"]


def test_a_linked_output_name_that_is_an_input_is_never_written(tmp_path, shot):
    photos = tmp_path / "photos"
    raw, jpg = camera_folder(photos, shot)
    out = tmp_path / "out"
    out.mkdir()
    (out / "IMG_0001.dng").symlink_to(raw)  # the output's name points at the camera's RAW
    result = rawmeta("restore", photos, "--out-dir", out, "--overwrite")
    assert result.exit_code == 0, result.output
    assert raw.read_bytes() == shot[0] and (out / "IMG_0001.dng").is_symlink()
    assert read_mark(out / "IMG_0001.restored.dng") is not None


def test_a_file_rawmeta_did_not_write_is_replaced_only_with_overwrite(tmp_path, shot):
    _, jpg = camera_folder(tmp_path / "in", shot)
    out = tmp_path / "out"
    out.mkdir()
    mine = np.zeros((96, 128, 3), np.float32)
    np.save(out / "IMG_0001.npy", mine)  # a researcher's own array under the output's name
    before = files(out)
    result = rawmeta("restore", jpg, "--out-dir", out, "--format", "npy")
    assert result.exit_code == 9 and "rawmeta did not write it; --overwrite replaces it" in result.stdout
    assert files(out) == before
    replaced = rawmeta("restore", jpg, "--out-dir", out, "--format", "npy", "--overwrite")
    assert replaced.exit_code == 0 and read_mark(out / "IMG_0001.npy") is not None
    assert np.load(out / "IMG_0001.npy").shape == (96, 128, 3)


def test_a_restore_with_other_settings_is_replaced_only_with_redo(tmp_path, shot):
    _, jpg = camera_folder(tmp_path / "in", shot)
    out = tmp_path / "out"
    assert rawmeta("restore", jpg, "--out-dir", out, "--method", "rbf").exit_code == 0
    before = files(out)
    result = rawmeta("restore", jpg, "--out-dir", out)
    assert result.exit_code == 9 and "restored from other settings (rbf" in result.stdout, result.output
    assert files(out) == before
    assert rawmeta("restore", jpg, "--out-dir", out, "--redo").exit_code == 0
    assert read_mark(out / "IMG_0001.dng").method == "inf"


def test_restore_onto_an_existing_file(tmp_path, shot):
    _, jpg = camera_folder(tmp_path, shot)
    target = tmp_path / "restored.dng"
    target.write_bytes(b"the user's file")
    before = files(tmp_path)
    refused(rawmeta("restore", jpg, target), 8, "restored.dng already exists; rawmeta replaces a file only with "
                                                "--overwrite")
    map_path = tmp_path / "map.png"
    map_path.write_bytes(b"an old map")
    refused(rawmeta("restore", jpg, tmp_path / "new.dng", "--reference", tmp_path / "IMG_0001.dng",
                    "--error-map", map_path), 8, "map.png already exists")
    assert files(tmp_path) == before | {"map.png": b"an old map"}
    done = rawmeta("restore", jpg, target, "--overwrite", "-q")
    assert done.exit_code == 0 and done.stderr == ""
    assert read_raw_rgb(target).shape == (96, 128, 3) and read_mark(target).payload


def test_one_file_commands_refuse_existing_outputs_and_never_write_an_input(tmp_path, shot):
    raw, jpg = camera_folder(tmp_path, shot)
    other = tmp_path / "other.jpg"
    other.write_bytes(b"keep me")
    before = files(tmp_path)
    for args, words in [
        (("embed", raw, jpg, "-o", other, "--redo"), "other.jpg already exists"),
        (("embed", raw, jpg, "-o", raw, "--overwrite", "--redo"), "is an input of this command (the RAW)"),
        (("strip", jpg, "-o", other), "other.jpg already exists"),
        (("embed", "--from", jpg, other, "-o", jpg, "--overwrite"), "is an input of this command (the JPEG given to --from)"),
        (("sample", tmp_path.parent / tmp_path.name), "sample.dng already exists"),
    ]:
        if args[0] == "sample":
            (tmp_path / "sample.dng").write_bytes(b"x")
            before["sample.dng"] = b"x"
        refused(rawmeta(*args), 8, words)
    assert files(tmp_path) == before
    assert rawmeta("strip", jpg, "-o", other, "--overwrite").exit_code == 0
    assert other.read_bytes() != b"keep me" and jpg.read_bytes() == shot[1]


@pytest.mark.parametrize("args, words", [
    (("embed", "{jpg}", "{raw}"), "the first argument must be the RAW, the second the JPEG"),
    (("restore", "{out}", "{jpg}"), "the first argument must be the JPEG, the second the OUTPUT"),
    (("inspect", "{raw}"), "is a RAW file; 'rawmeta inspect' takes the JPEG"),
    (("strip", "{raw}"), "is a RAW file; 'rawmeta strip' takes the JPEG"),
    (("restore", "{jpg}", "{out}", "--format", "npy"), "--format npy contradicts OUTPUT"),
    (("embed", "--from", "{plain}", "{jpg}", "-o", "{out}.jpg"), "the other JPEG does: the JPEG with the data"),
])
def test_slips_are_named_and_change_nothing(tmp_path, shot, args, words):
    raw, jpg = camera_folder(tmp_path, shot)
    plain = tmp_path / "plain.jpg"
    write_sample(tmp_path / "s", height=96, width=128)
    shutil.copy(tmp_path / "s" / "sample.jpg", plain)
    before = files(tmp_path)
    names = {"raw": raw, "jpg": jpg, "out": tmp_path / "r.tif", "plain": plain}
    result = rawmeta(*(a.format(**names) for a in args))
    code = 6 if args[1] == "--from" else 2
    refused(result, code, words)
    assert files(tmp_path) == before


def test_eval_names_swapped_arguments(tmp_path, shot):
    raw, jpg = camera_folder(tmp_path, shot)
    assert rawmeta("restore", jpg, tmp_path / "r.dng").exit_code == 0
    refused(rawmeta("eval", raw, tmp_path / "r.dng"), 2, "the first argument must be the restored file")


def test_the_old_out_spelling_still_works_and_says_its_new_name(tmp_path, shot):
    _, jpg = camera_folder(tmp_path / "in", shot)
    result = rawmeta("restore", jpg, "--out", tmp_path / "out", "-q")
    assert result.exit_code == 0 and "--out is now called --out-dir" in result.stderr
    assert (tmp_path / "out" / "IMG_0001.dng").exists()


def test_every_format_carries_the_restore_mark(tmp_path):
    rgb = np.random.default_rng(0).random((24, 32, 3), dtype=np.float32)
    mark = RestoreMark(payload="00" * 16, method="inf", preset="fast", patch=(228, 272), seed=3)
    for suffix in (".npy", ".tif", ".tiff", ".dng"):
        path = tmp_path / f"r{suffix}"
        write_raw_rgb(path, rgb, CAMERA, mark)
        assert read_mark(path) == mark
        assert np.abs(read_raw_rgb(path) - rgb).max() <= (0 if suffix == ".npy" else 1 / 65535)
        unmarked = tmp_path / f"plain{suffix}"
        write_raw_rgb(unmarked, rgb, CAMERA)
        assert read_mark(unmarked) is None
    assert np.array_equal(np.load(tmp_path / "r.npy"), rgb)  # NumPy reads the array as ever
    assert np.array_equal(np.load(tmp_path / "r.npy", mmap_mode="r"), rgb)
    assert read_mark(tmp_path / "missing.dng") is None
    (tmp_path / "junk.npy").write_bytes(b"not an array")
    assert read_mark(tmp_path / "junk.npy") is None
    assert not mark.same_restore(RestoreMark(payload="00" * 16, method="inf", preset="fast", patch=(228, 272), seed=4))


def test_a_mark_from_before_the_objective_reads_as_a_raw_objective_restore():
    mark = RestoreMark(payload="00" * 16, method="inf", preset="fast", patch=(228, 272), seed=0, objective="raw")
    fields = json.loads(mark.to_bytes()[len(b"rawmeta\0"):])
    older = b"rawmeta\0" + json.dumps({k: v for k, v in fields.items() if k != "objective"}).encode()
    assert RestoreMark.from_bytes(older) == mark and RestoreMark.from_bytes(older).same_restore(mark)
    assert not RestoreMark.from_bytes(older).same_restore(dataclasses.replace(mark, objective="developed"))


def test_a_no_replace_write_leaves_a_file_that_appeared_meanwhile(tmp_path, monkeypatch):
    target = tmp_path / "out.dng"
    import rawmeta.io.atomic as atomic

    real = atomic._take_attributes

    def someone_writes_first(tmp, old):
        target.write_bytes(b"written by another program meanwhile")
        real(tmp, old)

    monkeypatch.setattr(atomic, "_take_attributes", someone_writes_first)
    with pytest.raises(FileExistsError):
        atomic_write_bytes(target, b"ours", replace=False)
    assert target.read_bytes() == b"written by another program meanwhile"
    assert sorted(os.listdir(tmp_path)) == ["out.dng"]  # no temp file left


def test_one_file_embed_skips_what_is_done_and_says_what_changed(tmp_path, shot):
    raw, jpg = camera_folder(tmp_path, shot)
    skipped = rawmeta("embed", raw, jpg, "--stride", "8", "--bits", "12", "--json")
    assert skipped.exit_code == 0 and jpg.read_bytes() == shot[1]
    info = json.loads(skipped.stdout)
    assert info["status"] == "skipped" and "made with these settings" in info["detail"]
    changed = rawmeta("embed", raw, jpg, "--stride", "6", "--bits", "12", "--json")
    assert changed.exit_code == 0 and "embedding again: stride 8 -> 6" in changed.stderr
    info = json.loads(changed.stdout)
    assert info["status"] == "done" and info["stride"] == 6 and info["added_bytes"] > 0 and info["output"] == str(jpg)
    redone = rawmeta("embed", raw, jpg, "--stride", "6", "--bits", "12", "--redo", "-q")
    assert redone.exit_code == 0 and redone.stdout.startswith("embedded ") and redone.stderr == ""


def test_an_embed_asked_for_another_objective_embeds_again(tmp_path, shot):
    raw, jpg = camera_folder(tmp_path, shot)
    first = rawmeta("embed", raw, jpg, "--budget", "40", "--redo")
    assert first.exit_code == 0, first.output
    same = rawmeta("embed", raw, jpg, "--budget", "40", "--objective", "developed", "--json")
    assert same.exit_code == 0 and json.loads(same.stdout)["status"] == "skipped"
    other = rawmeta("embed", raw, jpg, "--budget", "40", "--objective", "raw", "--json")
    assert other.exit_code == 0 and "embedding again: objective developed -> raw" in other.stderr
    assert json.loads(other.stdout)["status"] == "done"
    back = rawmeta("embed", raw, jpg, "--budget", "40", "--objective", "developed", "--json")
    assert "objective raw -> developed" in back.stderr and json.loads(back.stdout)["status"] == "done"


def test_restore_json_is_one_object(tmp_path, shot):
    raw, jpg = camera_folder(tmp_path, shot)
    result = rawmeta("restore", jpg, tmp_path / "r.npy", "--json", "--reference", raw)
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert info["output"] == str(tmp_path / "r.npy") and info["width"] == 128 and info["height"] == 96
    assert info["settings"] == "inf fast, patch 228x272, seed 0, developed objective" and info["evaluation"]["psnr_db"] > 20
    folder = rawmeta("restore", tmp_path, "--out-dir", tmp_path / "out", "--json")
    report = json.loads(folder.stdout)
    assert report["summary"]["done"] == 1 and report["files"][0]["output"].endswith("IMG_0001.dng")


def test_progress_is_never_a_bar_off_a_terminal(tmp_path, shot):
    raw, jpg = camera_folder(tmp_path, shot)
    result = rawmeta("restore", jpg, tmp_path / "r.npy")
    assert result.exit_code == 0 and "\r" not in result.stderr
    raw, jpg = write_sample(tmp_path / "larger", height=240, width=320)  # large enough for the default budget
    embedded = rawmeta("embed", raw, jpg)
    assert embedded.exit_code == 0 and "\r" not in embedded.stderr, embedded.output


def test_help_answers_to_h_and_shows_examples_and_choices():
    for args in ([], ["embed"], ["restore"], ["inspect"], ["strip"], ["eval"], ["verify"]):
        result = rawmeta(*args, "-h")
        assert result.exit_code == 0 and "Usage: " in result.stdout
        if args and args[0] != "verify":
            assert "Examples:" in result.stdout and "Exit codes:" in result.stdout
    assert "[fast|paper]" in rawmeta("restore", "-h").stdout


def test_the_command_line_s_choices_are_the_library_s():
    import rawmeta.cli.main as cli_main
    from rawmeta.io import outputs

    assert {"." + f for f in cli_main.FORMATS} | {".tif"} == set(outputs.SUPPORTED_SUFFIXES)
    assert cli_main.DNG_LAYOUTS == outputs.DNG_LAYOUTS
