"""One file's worth of archive work (embed, restore, verify), as a task that never raises.

A batch is a list of tasks; :mod:`rawmeta.batch` runs them in this process,
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
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from . import container, report
from .allocator import tune_for_large_arrays
from .errors import MismatchError, NoPayloadError, RawmetaError
from .jpeg_pixels import check_frame
from .jpeg_segments import parse
from .outputs import read_raw_rgb, write_raw_rgb
from .pairing import DEFAULT_PATTERN, Pairing, pair, scan
from .userfiles import read_jpeg

#: Exit code of a task that failed through a bug (as the CLI's internal error).
EXIT_INTERNAL = 70

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
    """

    path: str
    status: str
    detail: str
    seconds: float = 0.0
    code: int = 0
    output: str | None = None
    where: str = ""

    def as_dict(self) -> dict:
        return {"path": self.path, "status": self.status, "detail": self.detail, "seconds": round(self.seconds, 3),
                "code": self.code, "output": self.output, "where": self.where}


@dataclass(frozen=True)
class EmbedTask:
    """Embed ``raw``'s samples into ``jpeg`` in place, unless it already carries valid rawmeta data."""

    raw: str
    jpeg: str
    options: dict = field(default_factory=dict)  # for rawmeta.embed.make_payload
    redo: bool = False

    @property
    def path(self) -> str:
        return self.raw

    def run(self) -> Outcome:
        if not self.redo:
            carried = _valid_payload(read_jpeg(self.jpeg))
            if carried is not None:
                return Outcome(self.raw, SKIPPED, f"{_name(self.jpeg)} already carries valid rawmeta data "
                                                  f"({carried.added_bytes} bytes)")
        # torch comes with embed and restore: imported by the tasks that need them, so a verify starts fast
        from .embed import embed_file

        r = embed_file(self.raw, self.jpeg, **self.options)
        expected = "" if math.isnan(r.payload.expected_psnr) else f", expected {r.payload.expected_psnr:.2f} dB"
        return Outcome(self.raw, DONE, f"{r.added_bytes} bytes into {_name(self.jpeg)} "
                                       f"({r.percent_of_jpeg:.2f} %{expected})", output=self.jpeg)


@dataclass(frozen=True)
class RestoreTask:
    """Restore ``jpeg`` into ``output`` unless that file is already a complete restore of it."""

    jpeg: str
    output: str
    options: dict = field(default_factory=dict)  # for rawmeta.reconstruct.reconstruct
    redo: bool = False

    @property
    def path(self) -> str:
        return self.jpeg

    def run(self) -> Outcome:
        data = read_jpeg(self.jpeg)
        try:
            container.extract(data)
        except NoPayloadError:
            return Outcome(self.jpeg, SKIPPED, "carries no rawmeta data")
        if not self.redo and _is_complete(Path(self.output), data):
            return Outcome(self.jpeg, SKIPPED, f"{self.output} is already complete", output=self.output)
        from .restore import restore_bytes

        Path(self.output).parent.mkdir(parents=True, exist_ok=True)
        warnings: list[str] = []
        restored = restore_bytes(data, warn=warnings.append, **self.options)
        write_raw_rgb(self.output, restored.rgb, restored.payload.camera)
        h, w = restored.rgb.shape[:2]
        return Outcome(self.jpeg, DONE, "; ".join([f"{w} x {h} raw-RGB", *warnings]), output=self.output)


@dataclass(frozen=True)
class VerifyTask:
    """Check ``jpeg``'s rawmeta data; with ``restore``, also restore it in memory (and compare with ``raw``).

    Writes nothing. A JPEG whose pixels were edited since embedding fails:
    its restore would be wrong where they changed.
    """

    jpeg: str
    raw: str | None = None
    restore: bool = False
    options: dict = field(default_factory=dict)  # for rawmeta.reconstruct.reconstruct

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
        from .restore import restore_bytes

        restored = restore_bytes(data, **self.options)
        if not np.isfinite(restored.rgb).all():
            raise RawmetaError("the restore gave non-finite values")
        if self.raw is None:
            return "restores"
        from .alignment import raw_on_jpeg_grid
        from .metrics import psnr
        from .rawfile import read_raw

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
        outcome = Outcome(task.path, FAILED, str(exc), code=exc.exit_code)
    except MemoryError:
        outcome = Outcome(task.path, FAILED, "out of memory", code=EXIT_INTERNAL)
    except Exception as exc:  # a bug: reported for this file, and the batch goes on
        outcome = Outcome(task.path, FAILED, f"internal error: {type(exc).__name__}: {exc}", code=EXIT_INTERNAL)
    return replace(outcome, seconds=time.monotonic() - start, where=f"{socket.gethostname()}:{os.getpid()}")


@dataclass
class Plan:
    """A batch's tasks, and the JPEGs no RAW paired with (reported, left alone)."""

    tasks: list[Task]
    unpaired_jpegs: list[Path] = field(default_factory=list)


def embed_plan(paths: Sequence[Path], *, pattern: str = DEFAULT_PATTERN, recursive: bool = False,
               options: dict | None = None, redo: bool = False) -> Plan:
    """Embed every RAW found in ``paths`` into the JPEG ``pattern`` pairs it with (see :mod:`rawmeta.pairing`).

    A RAW without exactly one JPEG fails (its data would not be kept); a JPEG
    without a RAW is only reported.
    """
    pairing = _pairing(paths, pattern, recursive)
    tasks: list[Task] = [EmbedTask(_abs(p.raw), _abs(p.jpeg), dict(options or {}), redo) for p in pairing.pairs]
    return Plan(_with_refusals(tasks, pairing), pairing.unpaired_jpegs)


def verify_plan(paths: Sequence[Path], *, pattern: str = DEFAULT_PATTERN, recursive: bool = False,
                restore: bool = False, options: dict | None = None) -> Plan:
    """Check every JPEG found in ``paths``; a RAW among them that no JPEG pairs with fails.

    With ``restore``, each JPEG is restored in memory and compared with its
    paired RAW, if one is there.
    """
    pairing = _pairing(paths, pattern, recursive)
    raw_of = {p.jpeg.resolve(): _abs(p.raw) for p in pairing.pairs}
    jpegs = sorted({p.jpeg for p in pairing.pairs} | set(pairing.unpaired_jpegs))
    tasks: list[Task] = [VerifyTask(_abs(j), raw_of.get(j.resolve()), restore, dict(options or {})) for j in jpegs]
    return Plan(_with_refusals(tasks, pairing))


def restore_plan(paths: Sequence[Path], out_dir: Path, *, suffix: str = ".dng", recursive: bool = False,
                 options: dict | None = None, redo: bool = False) -> Plan:
    """Restore every JPEG found in ``paths`` into ``out_dir``, keeping the folders below each path given.

    ``IMG_0001.JPG`` in folder ``2024/`` of a DIR becomes
    ``out_dir/2024/IMG_0001.dng``. A JPEG whose output name another JPEG
    already has (``a.jpg`` and ``a.jpeg``) fails.
    """
    tasks: list[Task] = []
    claimed: dict[Path, str] = {}
    for root in paths:
        for jpeg in scan([root], recursive)[1]:
            relative = jpeg.relative_to(root) if root.is_dir() else Path(jpeg.name)
            output = (out_dir / relative).with_suffix(suffix).absolute()
            if output in claimed:
                tasks.append(Refusal(_abs(jpeg), f"its output {output} is also {claimed[output]}'s"))
                continue
            claimed[output] = jpeg.name
            tasks.append(RestoreTask(_abs(jpeg), str(output), dict(options or {}), redo))
    return Plan(tasks)


def _pairing(paths: Sequence[Path], pattern: str, recursive: bool) -> Pairing:
    raws, jpegs = scan(paths, recursive)
    return pair(raws, jpegs, pattern)


def _with_refusals(tasks: list[Task], pairing: Pairing) -> list[Task]:
    refusals = [Refusal(_abs(raw), f"not paired: {reason}") for raw, reason in pairing.unpaired_raws]
    return sorted(tasks + refusals, key=lambda t: t.path)


def _abs(path: Path) -> str:
    """Absolute, so worker processes and cluster workers find the file whatever their folder."""
    return str(path.absolute())


def limit_threads(threads: int) -> None:
    """Cap torch's CPU threads in this process, whether torch is imported yet or not."""
    os.environ["OMP_NUM_THREADS"] = str(threads)  # read by torch when it is first imported
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)


def _valid_payload(jpeg: bytes) -> report.Inspection | None:
    """The JPEG's rawmeta data if it reads, checks and still fits the pixels; else None."""
    try:
        found = report.inspect_bytes(jpeg)
    except RawmetaError:
        return None
    return found if found.change.pixels_kept else None


def _is_complete(output: Path, jpeg: bytes) -> bool:
    """Whether ``output`` reads back whole as raw-RGB of the JPEG's size."""
    if not output.is_file():
        return False
    try:
        height, width, _ = check_frame(parse(jpeg))
        return read_raw_rgb(output).shape == (height, width, 3)
    except RawmetaError:
        return False


def _name(path: str) -> str:
    return os.path.basename(path)
