"""One file's worth of archive work (embed, restore, verify), as a task that never raises.

A batch is a list of tasks; :mod:`rawmeta.batch.runner` runs them in this process,
in worker processes or on a Dask cluster, all through :func:`run`. Each task
is a small frozen dataclass of paths and options, so it pickles cheaply, and
its outcome says whether the work was done, skipped because an earlier run
already did it, or failed (with the one-line reason and the exit code a
single-file command would have given). Skipping is what makes a batch
resumable: every output is written atomically, so a file that exists and
reads back whole was finished.
"""
from __future__ import annotations

import math
import os
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from rawmeta.allocator import tune_for_large_arrays
from rawmeta.batch.pairing import DEFAULT_PATTERN, Pairing, is_jpeg, is_raw, pair, scan
from rawmeta.embed import report
from rawmeta.embed.options import EmbedOptions
from rawmeta.errors import (
    ExitCode,
    MismatchError,
    NoPayloadError,
    OutputError,
    RawmetaError,
)
from rawmeta.format import container
from rawmeta.format import payload as pl
from rawmeta.io.jpeg_pixels import check_frame
from rawmeta.io.restore_mark import RestoreMark, read_mark
from rawmeta.io.userfiles import read_jpeg
from rawmeta.restore.options import RestoreOptions
from rawmeta.threads import limit_threads

#: Exit code of a task that failed through a bug (as the CLI's internal error).

DONE, SKIPPED, FAILED = "done", "skipped", "failed"


@dataclass(frozen=True)
class Outcome:
    """What became of one task.

    Attributes
    ----------
    path : str
        The file the task was about (the RAW for embed, the JPEG otherwise).
    status : str
        ``"done"``, ``"skipped"`` (already done, or nothing to do) or ``"failed"``.
    detail : str
        A one-line summary of the work, or why it was skipped or failed.
    seconds : float
        Wall time of the task where it ran.
    code : int
        0, or for a failure the exit code a single-file command would give.
    output : str or None
        The file written, if any.
    where : str
        ``HOST:PID`` of the process that ran the task.
    note : str
        What the user should know besides (an output written under another
        name than the usual, and why); empty when nothing was written.
    """

    path: str
    status: str
    detail: str
    seconds: float = 0.0
    code: int = 0
    output: str | None = None
    where: str = ""
    note: str = ""

    def as_dict(self) -> dict:
        return {"path": self.path, "status": self.status, "detail": self.detail, "seconds": round(self.seconds, 3),
                "code": self.code, "output": self.output, "where": self.where, "note": self.note}


#: The embed settings a user gave, by name (budget, stride, bits); None or missing: not given.
Asked = dict[str, float | str | None]


@dataclass(frozen=True)
class EmbedTask:
    """Embed ``raw``'s samples into ``jpeg`` in place, unless it already carries valid rawmeta data."""

    raw: str
    jpeg: str
    options: EmbedOptions = EmbedOptions()
    redo: bool = False
    asked: Asked = field(default_factory=dict)  # the settings the user gave (see embedded_already)

    @property
    def path(self) -> str:
        return self.raw

    def run(self) -> Outcome:
        changes = []
        if not self.redo:
            skip, changes = embedded_already(read_jpeg(self.jpeg), self.asked)
            if skip:
                return Outcome(self.raw, SKIPPED, f"{_name(self.jpeg)} {skip}")
        # torch comes with embed and restore: imported by the tasks that need them, so a verify starts fast
        from rawmeta.embed.jpeg import embed_file

        r = embed_file(self.raw, self.jpeg, options=self.options)
        expected = "" if math.isnan(r.payload.expected_psnr) else f", expected {r.payload.expected_psnr:.2f} dB"
        again = f"; embedded again: {', '.join(changes)}" if changes else ""
        return Outcome(self.raw, DONE, f"{r.added_bytes} bytes into {_name(self.jpeg)} "
                                       f"({r.percent_of_jpeg:.2f} %{expected}){again}", output=self.jpeg)


def embedded_already(jpeg: bytes, asked: Asked) -> tuple[str, list[str]]:
    """Whether an embed can skip ``jpeg``, given the settings the user ``asked`` for.

    ``asked`` holds ``budget``, ``stride``, ``bits`` and ``objective`` as
    given (None or missing: not given, whatever embed would choose); settings
    not given never make an embed redo a JPEG.

    Returns
    -------
    skip : str
        Why the JPEG needs no embed (it carries valid rawmeta data made with
        these settings), or ``""`` when it does.
    changes : list of str
        What differs from the settings its rawmeta data was made with
        (``"budget 5 % -> 10 %"``), when that is why it needs one.
    """
    found = _valid_payload(jpeg)
    if found is None:
        return "", []
    changes = changed_settings(found.payload, asked.get("budget"), asked.get("stride"), asked.get("bits"),
                               asked.get("objective"))
    if changes:
        return "", changes
    return f"already carries valid rawmeta data made with these settings ({found.added_bytes} bytes)", []


def changed_settings(found: pl.Payload, budget: float | None, stride: int | None, bits: int | None,
                     objective: str | None = None) -> list[str]:
    """The settings asked for that differ from those ``found`` was made with, each as ``"NAME OLD -> NEW"``.

    None means not asked for: any value agrees. The objective is not
    recorded; a payload made to a budget tells it: the raw objective's plan
    records the PSNR it expects, the developed one's grid does not.
    """
    changes = []
    if budget is not None and abs(budget - found.budget) > 1e-3:
        changes.append(f"budget {f'{found.budget:g} %' if found.budget else 'none'} -> {budget:g} %")
    if stride is not None and stride != found.grid.stride:
        changes.append(f"stride {found.grid.stride} -> {stride}")
    if bits is not None and bits != found.bits:
        changes.append(f"bits {found.bits} -> {bits}")
    if objective is not None and found.budget:
        made = "raw" if math.isfinite(found.expected_psnr) else "developed"
        if made != objective:
            changes.append(f"objective {made} -> {objective}")
    return changes


@dataclass(frozen=True)
class RestoreTask:
    """Restore ``jpeg`` into ``output`` unless that file is already a complete restore of it.

    An existing ``output`` is judged by its restore mark
    (:mod:`rawmeta.io.restore_mark`): a complete restore of the same rawmeta
    data with the same settings is skipped (``redo`` restores it again);
    another rawmeta restore is replaced only with ``redo``; a file rawmeta did
    not write only with ``overwrite``. ``note`` says why ``output`` is not
    the usual name, for the outcome.
    """

    jpeg: str
    output: str
    options: RestoreOptions = RestoreOptions()
    redo: bool = False
    overwrite: bool = False
    note: str = ""

    @property
    def path(self) -> str:
        return self.jpeg

    def run(self) -> Outcome:
        data = read_jpeg(self.jpeg)
        try:
            carried = container.extract(data)
        except NoPayloadError:
            return Outcome(self.jpeg, SKIPPED, "carries no rawmeta data")
        from rawmeta.restore.jpeg import mark_for, restore_bytes, restored_size, write_restored

        height, width, _ = check_frame(carried.layout)
        size = restored_size(carried.payload, (height, width), self.options.size)
        replace = self._may_replace(mark_for(carried.payload, self.options), size)
        if replace is None:  # no note: the summary lists under "another name" only what this run wrote
            return Outcome(self.jpeg, SKIPPED, f"{self.output} is already complete", output=self.output)
        Path(self.output).parent.mkdir(parents=True, exist_ok=True)
        warnings: list[str] = []
        restored = restore_bytes(data, self.options, warn=warnings.append)
        write_restored(self.output, restored, self.options.dng, replace=replace, warn=warnings.append)
        h, w = restored.rgb.shape[:2]
        return Outcome(self.jpeg, DONE, "; ".join([f"{w} x {h} raw-RGB", *warnings]), output=self.output,
                       note=self.note)

    def _may_replace(self, mark: RestoreMark, size: tuple[int, int]) -> bool | None:
        """Whether the write may replace ``output``, a restore of ``size`` (height, width) with ``mark``;
        None to skip it (done); OutputError to refuse it."""
        output = Path(self.output)
        if not os.path.lexists(output):
            return False
        found = read_mark(output)
        if found is None:
            if self.overwrite:
                return True
            raise OutputError(f"{output} exists and rawmeta did not write it; --overwrite replaces it")
        if found.same_restore(mark):
            return None if not self.redo and _is_complete(output, size) else True
        if self.redo or self.overwrite:
            return True
        what = ("other rawmeta data (was the JPEG embedded again?)" if found.payload != mark.payload
                else f"other settings ({found.settings()}; now {mark.settings()})")
        raise OutputError(f"{output} was restored from {what}; --redo replaces it")


@dataclass(frozen=True)
class VerifyTask:
    """Check ``jpeg``'s rawmeta data; with ``restore``, also restore it in memory (and compare with ``raw``).

    Writes nothing. A JPEG whose pixels were edited since embedding fails:
    its restore would be wrong where they changed.
    """

    jpeg: str
    raw: str | None = None
    restore: bool = False
    options: RestoreOptions = RestoreOptions()

    @property
    def path(self) -> str:
        return self.jpeg

    def run(self) -> Outcome:
        data = read_jpeg(self.jpeg)
        found = report.inspect_bytes(data)
        if found.change.kind == "edited":
            raise MismatchError(found.change.describe())
        notes = [f"intact: {found.payload.sample_count} samples, {found.added_bytes} bytes"]
        if not found.change.pixels_kept:
            notes.append(found.change.describe())
        if self.restore:
            notes.append(self._restore(data))
        return Outcome(self.jpeg, DONE, "; ".join(notes))

    def _restore(self, data: bytes) -> str:
        from rawmeta.restore.jpeg import restore_bytes

        restored = restore_bytes(data, self.options)
        if not np.isfinite(restored.rgb).all():
            raise RawmetaError("the restore gave non-finite values")
        if self.raw is None:
            return "restores"
        from rawmeta.alignment.matching import raw_on_jpeg_grid
        from rawmeta.io.rawfile import read_raw
        from rawmeta.metrics import psnr

        reference = raw_on_jpeg_grid(read_raw(self.raw).rgb, restored.payload.alignment, *restored.rgb.shape[:2])
        return f"restores to {psnr(restored.rgb, reference):.2f} dB PSNR against {_name(self.raw)}"


@dataclass(frozen=True)
class Refusal:
    """A file the batch cannot work on, found before any task runs (an unpaired RAW, an output clash)."""

    path: str
    reason: str
    code: int = 2

    def run(self) -> Outcome:
        return Outcome(self.path, FAILED, self.reason, code=self.code)


Task = EmbedTask | RestoreTask | VerifyTask | Refusal


def run(task: Task, threads: int | None = None) -> Outcome:
    """Run one task, turning every problem into a failed :class:`Outcome` (never raises but for Ctrl-C).

    ``threads`` caps torch's CPU threads in this process first (one worker
    of several should not use every core). The process's malloc is tuned
    for large arrays first (:mod:`rawmeta.allocator`).
    """
    tune_for_large_arrays()
    if threads is not None:
        limit_threads(threads)
    start = time.monotonic()
    try:
        outcome = task.run()
    except RawmetaError as exc:
        outcome = Outcome(task.path, FAILED, exc.plain(), code=exc.exit_code)
    except MemoryError:
        outcome = Outcome(task.path, FAILED, "out of memory", code=ExitCode.INTERNAL)
    except Exception as exc:  # a bug: reported for this file, and the batch goes on
        outcome = Outcome(task.path, FAILED, f"internal error: {type(exc).__name__}: {exc}", code=ExitCode.INTERNAL)
    return replace(outcome, seconds=time.monotonic() - start, where=f"{socket.gethostname()}:{os.getpid()}")


@dataclass
class Plan:
    """A batch's tasks, the JPEGs no RAW paired with (reported, left alone) and notes for the summary."""

    tasks: list[Task]
    unpaired_jpegs: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def embed_plan(paths: Sequence[Path], *, pattern: str = DEFAULT_PATTERN, recursive: bool = False,
               options: EmbedOptions = EmbedOptions(), redo: bool = False, asked: Asked | None = None) -> Plan:
    """Embed every RAW found in ``paths`` into the JPEG ``pattern`` pairs it with (see :mod:`rawmeta.batch.pairing`).

    A RAW without exactly one JPEG fails (its data would not be kept); a JPEG
    without a RAW is only reported. A JPEG that carries valid rawmeta data
    is skipped unless ``redo``, or the settings ``asked`` for differ from
    the data's (:func:`embedded_already`).
    """
    pairing, notes = _pairing(paths, pattern, recursive)
    tasks: list[Task] = [EmbedTask(_abs(p.raw), _abs(p.jpeg), options, redo, dict(asked or {}))
                         for p in pairing.pairs]
    return Plan(_with_refusals(tasks, pairing), pairing.unpaired_jpegs, notes)


def verify_plan(paths: Sequence[Path], *, pattern: str = DEFAULT_PATTERN, recursive: bool = False,
                restore: bool = False, options: RestoreOptions = RestoreOptions()) -> Plan:
    """Check every JPEG found in ``paths``; a RAW among them that no JPEG pairs with fails.

    With ``restore``, each JPEG is restored in memory and compared with its
    paired RAW, if one is there.
    """
    pairing, notes = _pairing(paths, pattern, recursive)
    raw_of = {p.jpeg.resolve(): _abs(p.raw) for p in pairing.pairs}
    jpegs = sorted({p.jpeg for p in pairing.pairs} | set(pairing.unpaired_jpegs))
    tasks: list[Task] = [VerifyTask(_abs(j), raw_of.get(j.resolve()), restore, options) for j in jpegs]
    return Plan(_with_refusals(tasks, pairing), notes=notes)


def restore_plan(paths: Sequence[Path], out_dir: Path, *, suffix: str = ".dng", recursive: bool = False,
                 options: RestoreOptions = RestoreOptions(), redo: bool = False, overwrite: bool = False) -> Plan:
    """Restore every JPEG found in ``paths`` into ``out_dir``, keeping the folders below each path given.

    ``IMG_0001.JPG`` in folder ``2024/`` of a DIR becomes
    ``out_dir/2024/IMG_0001.dng``. Where that name is an original's (an
    input of the batch, a RAW found beside it, or any RAW or JPEG in the
    output folder that rawmeta did not restore, in any letter case or
    through links) the output is ``IMG_0001.restored.dng`` instead, and the
    plan's notes say so; an original is never written over, whatever
    ``overwrite`` says. A JPEG whose output another JPEG already has
    (``a.jpg`` and ``a.jpeg``) fails.
    """
    raws, jpegs = scan(paths, recursive)
    originals = _Originals([*_camera_raws(raws)[0], *jpegs])
    tasks: list[Task] = []
    claimed: dict[str, str] = {}
    for root in paths:
        for jpeg in scan([root], recursive)[1]:
            relative = jpeg.relative_to(root) if root.is_dir() else Path(jpeg.name)
            default = (out_dir / relative).with_suffix(suffix).absolute()
            output, taken = originals.free_name(default)
            if output is None:
                tasks.append(Refusal(_abs(jpeg), f"its output {default.name} and {taken} are both originals "
                                                 "(not rawmeta's): choose another --out-dir", code=OutputError.exit_code))
                continue
            key = originals.key(output)
            if key in claimed:
                tasks.append(Refusal(_abs(jpeg), f"its output {output} is also {claimed[key]}'s"))
                continue
            claimed[key] = jpeg.name
            note = f"{output.name} ({taken} is an original, not rawmeta's)" if taken else ""
            tasks.append(RestoreTask(_abs(jpeg), str(output), options, redo, overwrite, note))
    return Plan(tasks)


class _Originals:
    """The files a folder restore must never write over: the batch's inputs and RAW or JPEG files it did not make."""

    def __init__(self, inputs: Sequence[Path]):
        self.inodes = {_inode(p) for p in inputs} - {None}
        self.listings: dict[Path, list[Path]] = {}

    def free_name(self, output: Path) -> tuple[Path | None, str]:
        """``output``, or its ``.restored`` variant when an original has its name, with that original's name.

        ``(None, name)`` when the variant's name is an original's too.
        """
        taken = self.original_named(output)
        if taken is None:
            return output, ""
        variant = output.with_name(f"{output.stem}.restored{output.suffix}")
        return (variant, taken) if self.original_named(variant) is None else (None, taken)

    def original_named(self, output: Path) -> str | None:
        """The name of an original that ``output`` would be, in any letter case and through links; else None."""
        name = output.name.casefold()
        for entry in self._listing(output.parent):
            if entry.name.casefold() == name and self._is_original(entry):
                return entry.name
        return None

    def key(self, output: Path) -> str:
        """``output`` as a case-insensitive file system sees it (two outputs with one key would clash)."""
        return os.path.join(os.path.realpath(output.parent), output.name.casefold())

    def _is_original(self, entry: Path) -> bool:
        if _inode(entry) in self.inodes:
            return True
        looks = is_raw(entry) or is_jpeg(entry) or is_raw(Path(os.path.realpath(entry)))
        return looks and read_mark(entry) is None

    def _listing(self, folder: Path) -> list[Path]:
        if folder not in self.listings:
            try:
                self.listings[folder] = [Path(e.path) for e in os.scandir(folder)]
            except OSError:  # not there yet: nothing to clash with
                self.listings[folder] = []
        return self.listings[folder]


def _inode(path: Path) -> tuple[int, int] | None:
    """The file ``path`` is (through links), as (device, inode); None if it does not exist."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _pairing(paths: Sequence[Path], pattern: str, recursive: bool) -> tuple[Pairing, list[str]]:
    """The pairs of the RAWs and JPEGs found, leaving out DNGs that rawmeta restored (with a note for each):
    they are not camera RAWs to embed from, nor RAWs whose JPEG is missing."""
    raws, jpegs = scan(paths, recursive)
    camera, restored = _camera_raws(raws)
    notes = [f"{r.name}: restored by rawmeta, not a camera RAW (left alone)" for r in restored]
    return pair(camera, jpegs, pattern), notes


def _camera_raws(raws: Sequence[Path]) -> tuple[list[Path], list[Path]]:
    """``raws`` split into camera RAWs and the DNGs rawmeta restored (by their restore mark)."""
    restored = [r for r in raws if r.suffix.lower() == ".dng" and read_mark(r) is not None]
    return [r for r in raws if r not in restored], restored


def _with_refusals(tasks: list[Task], pairing: Pairing) -> list[Task]:
    refusals = [Refusal(_abs(raw), f"not paired: {reason}") for raw, reason in pairing.unpaired_raws]
    return sorted(tasks + refusals, key=lambda t: t.path)


def _abs(path: Path) -> str:
    """Absolute, so worker processes and cluster workers find the file whatever their folder."""
    return str(path.absolute())


def _valid_payload(jpeg: bytes) -> report.Inspection | None:
    """The JPEG's rawmeta data if it reads, checks and still fits the pixels; else None."""
    try:
        found = report.inspect_bytes(jpeg)
    except RawmetaError:
        return None
    return found if found.change.pixels_kept else None


def _is_complete(output: Path, size: tuple[int, int]) -> bool:
    """Whether ``output`` reads back whole as raw-RGB of ``size`` (height, width)."""
    if not output.is_file():
        return False
    from rawmeta.io.outputs import read_raw_rgb  # tifffile and the DNG reader: not for every command's start-up

    try:
        return read_raw_rgb(output).shape == (*size, 3)
    except RawmetaError:
        return False


def _name(path: str) -> str:
    return os.path.basename(path)
