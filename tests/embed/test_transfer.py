"""``rawmeta embed --from OLD NEW``: a payload copied onto a re-encoded copy of the same image."""
from __future__ import annotations

import dataclasses
import io
import json
import math
import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image

from rawmeta.embed import report
from rawmeta.embed.jpeg import embed_file
from rawmeta.embed.transfer import transfer_bytes
from rawmeta.errors import MismatchError, NoPayloadError
from rawmeta.format import container
from rawmeta.format import payload as pl
from rawmeta.io.jpeg_pixels import decode_jpeg
from rawmeta.restore.jpeg import restore_bytes

from ..conftest import REPO, require_tool
from ..helpers import assert_one_line_error, run, snapshot


def _resaved(jpeg: bytes, **save) -> bytes:
    """What an editor's re-save does: decode, encode again, rawmeta's segments lost."""
    buf = io.BytesIO()
    Image.open(io.BytesIO(jpeg)).save(buf, "JPEG", **({"quality": 90} | save))
    return buf.getvalue()


@pytest.fixture
def embedded(work):
    folder, dng, jpg = work
    embed_file(dng, jpg, budget=None, stride=4, bits=12)
    return folder, dng, jpg


def _payload(jpeg: bytes) -> pl.Payload:
    return pl.unpack(container.extract(jpeg).payload, decode_jpeg(jpeg))


def test_re_encoded_copy_gets_the_same_samples_coded_against_its_own_pixels(embedded):
    _, _, jpg = embedded
    old = jpg.read_bytes()
    new = _resaved(old)
    with pytest.raises(NoPayloadError):
        container.extract(new)
    out, transfer = transfer_bytes(old, new)
    assert container.detach(out) == new  # only rawmeta's segments were added
    before, after = _payload(old), _payload(out)
    assert np.array_equal(before.samples, after.samples) and np.array_equal(before.refined, after.refined)
    assert after.grid == before.grid and after.camera == before.camera and after.bits == before.bits
    assert 30 < transfer.pixel_psnr < math.inf and not transfer.pixels_identical
    assert report.inspect_bytes(out).as_dict()["image_data"] == "matches"
    warnings = []
    restored = restore_bytes(out, warn=warnings.append, method="rbf")
    assert warnings == [] and restored.rgb.shape == (96, 128, 3)


@require_tool("jpegtran")
def test_lossless_rewrite_keeps_the_restore_estimate(embedded):
    _, _, jpg = embedded
    plain = jpg.read_bytes()
    old = container.attach(plain, pl.pack(dataclasses.replace(_payload(plain), expected_psnr=33.0),
                                          decode_jpeg(plain)))
    jpg.write_bytes(old)
    new = subprocess.run(["jpegtran", "-copy", "none", "-optimize", str(jpg)], capture_output=True,
                         check=True).stdout
    out, transfer = transfer_bytes(old, new)
    assert transfer.pixels_identical and _payload(out).expected_psnr == 33.0
    assert math.isnan(_payload(transfer_bytes(old, _resaved(old))[0]).expected_psnr)


def test_an_older_format_payload_is_carried_over_as_the_current_format(tmp_path):
    old = (REPO / "tests" / "data" / "v2_payload.jpg").read_bytes()
    out, _ = transfer_bytes(old, _resaved(old, quality=95))
    before, after = _payload(old), _payload(out)
    assert before.version == 2 and after.version == pl.FORMAT_VERSION
    assert np.array_equal(before.samples, after.samples) and np.array_equal(before.refined, after.refined)


@pytest.mark.parametrize("change, words", [
    (lambda im: im.rotate(90, expand=True), "96 x 128 pixels, the old one 128 x 96"),
    (lambda im: im.crop((0, 0, 120, 96)), "120 x 96 pixels"),
    (lambda im: Image.fromarray(255 - np.asarray(im)), "not the same image"),
    (lambda im: Image.fromarray((np.asarray(im) * 0.9).astype(np.uint8)), "more than a re-encode"),  # darkened
])
def test_a_different_image_is_refused(embedded, change, words):
    _, _, jpg = embedded
    old = jpg.read_bytes()
    buf = io.BytesIO()
    change(Image.open(io.BytesIO(old))).save(buf, "JPEG", quality=90)
    with pytest.raises(MismatchError, match=words):
        transfer_bytes(old, buf.getvalue())


def test_cli_copies_in_place_and_warns(embedded):
    folder, _, jpg = embedded
    new = folder / "new.jpg"
    new.write_bytes(_resaved(jpg.read_bytes()))
    proc = run("embed", "--from", jpg, new, check_rc=0)
    assert proc.stdout.startswith("copied ") and proc.stdout.strip().endswith(f"-> {new}")
    assert proc.stderr.startswith("rawmeta: warning: the JPEG's pixels differ") and "dB PSNR" in proc.stderr
    info = json.loads(run("inspect", new, "--json", check_rc=0).stdout)
    assert info["integrity"] == "ok" and info["image_data"] == "matches"


def test_cli_refusals_leave_every_file_alone(embedded):
    folder, dng, jpg = embedded
    plain = folder / "plain.jpg"
    plain.write_bytes(_resaved(jpg.read_bytes()))
    shutil.copy(plain, folder / "other.jpg")
    before = snapshot(folder)
    assert_one_line_error(run("embed", "--from", plain, folder / "other.jpg"), 6,
                          "plain.jpg (given to --from) has no rawmeta data")
    assert_one_line_error(run("embed", "--from", jpg, plain, "--budget", "5"), 2, "do not apply")
    assert_one_line_error(run("embed", "--from", jpg, plain, "--max-growth", "50"), 2, "--max-growth")
    assert_one_line_error(run("embed", "--from", jpg, dng, plain), 2, "give one JPEG")
    assert_one_line_error(run("embed", "--from", jpg, dng), 2, "--from takes one JPEG to write: no JPEG was given")
    assert snapshot(folder) == before
