"""``rawmeta``: the command line, a thin layer over the library."""
from __future__ import annotations

import contextlib
import json
import math
import os
import shlex
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click
from click.core import ParameterSource

from rawmeta.allocator import tune_for_large_arrays
from rawmeta.batch.pairing import DEFAULT_PATTERN, check_pattern, is_jpeg, is_raw
from rawmeta.batch.tasks import embed_plan, embedded_already, restore_plan, verify_plan
from rawmeta.benchmarks.sections import (
    SECTIONS,
    BenchOptions,
    BenchRun,
    is_report,
    merge_report,
)
from rawmeta.embed import report
from rawmeta.embed.options import DEFAULT_BUDGET, DEFAULT_MAX_GROWTH, EmbedOptions
from rawmeta.errors import (
    EXIT_CODE_MEANINGS,
    BudgetError,
    ExitCode,
    JpegError,
    NoPayloadError,
    RawmetaError,
    UsageError,
    about,
)
from rawmeta.format.segments import is_jpeg_data, not_a_jpeg
from rawmeta.io.userfiles import check_new_output, read_jpeg, same_file, write_output
from rawmeta.progress import stage
from rawmeta.restore import methods
from rawmeta.restore.options import OBJECTIVES, SIZES, RestoreOptions
from rawmeta.threads import fit_to_free_cores

from . import batch
from .progress import ProgressBar

if TYPE_CHECKING:  # embed imports torch: the commands that need it import it themselves
    from rawmeta.embed.jpeg import EmbedReport

#: rawmeta.io.outputs' formats and DNG layouts, spelled out here because that module loads rawpy and tifffile,
#: which the command line's start does without; a test keeps them in step. (The methods, presets and sizes are
#: read from the library: its method registry loads without torch, which the paper preset imports when it runs.)
FORMATS = ("dng", "npy", "tiff")
DNG_LAYOUTS = ("linear", "cfa")


HELP = ("Keep only a JPEG and still get the RAW back: embed puts samples of the RAW into its JPEG, restore "
        "gives a RAW (DNG) back from that JPEG alone.\n\n"
        "\b\nExamples:\n"
        "  rawmeta embed IMG_0001.CR2 IMG_0001.JPG      # samples of the RAW into the JPEG, in place\n"
        "  rawmeta inspect IMG_0001.JPG                 # what the JPEG carries: samples, sizes, camera\n"
        "  rawmeta restore IMG_0001.JPG restored.dng    # the RAW back, for a raw developer\n"
        "  rawmeta embed ~/Photos/2024 -r               # every RAW of a folder with its JPEG\n"
        "  rawmeta verify ~/Photos/2024 --restore       # before deleting RAWs: exit 0 only if all is well\n\n"
        "'rawmeta COMMAND --help' says more about each command.\n\nExit codes: "
        + "; ".join(f"{int(code)} {meaning}" for code, meaning in EXIT_CODE_MEANINGS.items()) + ".")


class _Group(click.Group):
    """Turns every failure into one line on stderr and a documented exit code."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except RawmetaError as exc:
            hint = "" if ctx.invoked_subcommand == "strip" else _hint(exc)  # strip wants no data: none is fine
            _fail((str(exc) if ctx.meta.get(VERBOSE) else exc.plain()) + hint, exc.exit_code)
        except KeyboardInterrupt:
            _fail("interrupted; no output was written", ExitCode.INTERRUPTED)
        except click.UsageError as exc:
            hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
            _fail(exc.format_message() + hint, exc.exit_code)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except Exception as exc:  # a bug: still one line, unless debugging
            if os.environ.get("RAWMETA_DEBUG"):
                raise
            _fail(f"internal error: {type(exc).__name__}: {exc} (set RAWMETA_DEBUG=1 for details)", ExitCode.INTERNAL)


def _fail(message: str, code: int) -> None:
    click.echo(f"rawmeta: error: {message}", err=True)
    sys.exit(code)


def _hint(exc: RawmetaError) -> str:
    """What the user can do about a JPEG without rawmeta data: copy a sibling's (``embed --from``), or embed."""
    if not isinstance(exc, NoPayloadError) or exc.file is None or "--from" in exc.message:
        return ""
    from rawmeta.embed.transfer import likely_source

    jpeg = Path(exc.file)
    source = likely_source(jpeg)
    if source is None:
        return f" ('rawmeta embed RAW {jpeg.name}' puts it there)"
    return (f"; {source.name} does: 'rawmeta embed --from {_quoted(source)} {_quoted(jpeg)}' copies it "
            "(restore then learns from this JPEG's pixels)")


def _quoted(path: Path) -> str:
    """``path`` as a shell word."""
    return shlex.quote(os.fspath(path))


#: ``ctx.meta`` key: --verbose was given, so errors carry their technical detail.
VERBOSE = "rawmeta.verbose"
_verbose_opt = click.option(
    "-v", "--verbose", is_flag=True, expose_value=False, is_eager=True,
    callback=lambda ctx, param, value: ctx.meta.__setitem__(VERBOSE, value),
    help="Errors also give their technical detail (byte offsets, markers, field values).",
)


@click.group(cls=_Group, help=HELP, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="rawmeta")
def main() -> None:
    tune_for_large_arrays()


_device_opt = click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True,
                           help="Where restores run (auto: CUDA when present).")


_objective_opt = click.option(
    "--objective", type=click.Choice(OBJECTIVES), default="developed", show_default=True,
    help="What to make small: the error as it shows in a developed image, or the linear raw-RGB error (the paper's "
         "measure, for comparisons with it).")


def _not_a_raw(ctx: click.Context, param: click.Parameter, path: Path) -> Path:
    """A JPEG argument given a RAW file: the most common slip, named as such."""
    if is_raw(path):
        raise click.BadParameter(f"{path} is a RAW file; '{ctx.command_path}' takes the JPEG")
    return path


_jpeg_arg = click.argument("jpeg", type=click.Path(dir_okay=False, path_type=Path), callback=_not_a_raw)
_out_opt = click.option(
    "-o", "--output", "out", type=click.Path(dir_okay=False, path_type=Path),
    help="Write here instead of changing JPEG in place (an existing file only with --overwrite).",
)
_overwrite_opt = click.option("--overwrite", is_flag=True,
                              help="Replace an existing output file (never one of the command's inputs).")
_json_opt = click.option("--json", "as_json", is_flag=True, help="Print a JSON object instead of text.")
#: Where each command's help points for exit codes.
EXIT_CODES = "Exit codes: 0 done; the others are listed in 'rawmeta --help'."


def _epilog(*examples: str) -> str:
    """A command's help ending: examples (kept as written) and where the exit codes are."""
    return "\b\nExamples:\n" + "\n".join(f"  {e}" for e in examples) + "\n\n" + EXIT_CODES


_pattern_opt = click.option("--pattern", default=DEFAULT_PATTERN, show_default=True,
                            help="Name of a RAW's JPEG, from the RAW's name without extension ({stem}); compared "
                                 "case-insensitively, may hold wildcards and a relative folder (../jpeg/{stem}.jpg).")
_redo_opt = click.option("--redo", is_flag=True, help="Do again files an earlier run finished (no skipping).")


def _refuse_folder_options(**given: bool) -> None:
    """UsageError naming the first folder-only option given to a one-file command."""
    for name, present in given.items():
        if present:
            raise click.UsageError(f"--{name} applies to files or folders of several, not to one file and its output")


@main.command(short_help="Put samples of a RAW into its JPEG, or copy them (--from).", epilog=_epilog(
    "rawmeta embed IMG_0001.CR2 IMG_0001.JPG            # in place, 5 % budget",
    "rawmeta embed ~/Photos/2024 -r                      # every RAW with its JPEG",
    "rawmeta embed --from original.jpg resaved.jpg       # a re-save lost the data",
))
@click.argument("paths", nargs=-1, required=True, metavar="RAW JPEG | RAW... | DIR... | --from OLD JPEG",
                type=click.Path(path_type=Path))
@_out_opt
@_overwrite_opt
@click.option("--from", "source", type=click.Path(dir_okay=False, path_type=Path),
              help="Copy the rawmeta data of OLD, another encoding of the same image (a re-save that lost it), "
                   "instead of sampling a RAW.")
@click.option("--budget", type=click.FloatRange(0.1, 1000.0), default=None,
              help=f"Percent of the JPEG's size the rawmeta data may add; settings are chosen to restore best "
                   f"within it. [default: {DEFAULT_BUDGET:g}; none when only --stride/--bits are given]")
@click.option("--max-growth", type=click.FloatRange(0.1, 1000.0), default=DEFAULT_MAX_GROWTH, show_default=True,
              help="Percent of the JPEG's size the rawmeta data may add at most (or --budget, if larger). For a "
                   "JPEG smaller than the RAW the budget counts the RAW's pixels, so a 640 x 480 JPEG of a 4 MP "
                   "RAW would grow by 64 % at 5 %; this caps it. Raise it to let such a JPEG grow more.")
@click.option("--stride", type=click.IntRange(1, 256), default=None,
              help="Base grid: one sample in every STRIDE x STRIDE cell. [default: chosen to fit the budget]")
@click.option("--bits", type=click.IntRange(1, 16), default=None,
              help="Sample bit depth. [default: 8; with --objective raw measured: the least whose noise is 5 dB "
                   "under the restore error]")
@_objective_opt
@click.option("--force-same-grid", is_flag=True,
              help="The JPEG is LibRaw's pixel grid exactly: skip matching its content to the RAW.")
@_device_opt
@_pattern_opt
@_redo_opt
@_json_opt
@batch.options
@_verbose_opt
def embed(paths: tuple[Path, ...], out: Path | None, overwrite: bool, source: Path | None, budget: float | None,
          max_growth: float, stride: int | None, bits: int | None, objective: str, force_same_grid: bool, device: str,
          pattern: str,
          redo: bool, as_json: bool, jobs: int | None, scheduler: str | None, recursive: bool, quiet: bool) -> None:
    """Embed samples of RAW's raw-RGB into JPEG, a render of RAW.

    The JPEG may be cropped, rotated (in its pixels or by an EXIF tag) or
    resized: embed finds where it lies in the RAW by matching content, and
    refuses a JPEG of another picture. With a budget, embed takes the
    densest grid of samples that fits it, which restores best as a raw
    developer shows it; with --objective raw it restores the image itself
    to choose the settings for raw-RGB PSNR, so it takes about as long as a
    restore. The write is atomic. A JPEG that already carries valid rawmeta
    data made with the same settings is left as it is (--redo embeds again);
    other settings replace it, saying what changed.

    With --from OLD, JPEG gets OLD's rawmeta data instead: for a copy that
    was re-encoded and lost it. Both must show the same image on the same
    pixel grid; restore then learns from JPEG's pixels, so its accuracy
    depends on how much the re-encode changed them.

    Given RAW files or folders, embed pairs each RAW with its JPEG by name
    (--pattern) and embeds every pair in place, in parallel; a RAW without
    its JPEG fails, a JPEG without a RAW is left alone.
    """
    if any(p.is_dir() for p in paths) or not any(is_jpeg(p) for p in paths):
        if out is not None or source is not None:
            folders = [p for p in paths if p.is_dir()]
            given = f"{folders[0]} is a directory" if folders else "no JPEG was given"
            raise click.UsageError(f"{'-o' if out is not None else '--from'} takes one JPEG to write: {given}")
        if overwrite:
            raise click.UsageError("--overwrite goes with -o OUTPUT; a folder embed writes each JPEG in place")
        options = EmbedOptions(budget=_budget(budget, stride, bits), stride=stride, bits=bits, device=device,
                               same_grid=force_same_grid, max_growth=max_growth, objective=objective)
        plan = embed_plan(paths, pattern=check_pattern(pattern), recursive=recursive, options=options, redo=redo,
                          asked=_asked(budget, stride, bits, objective))
        batch.run_plan("embed", plan, jobs=jobs, scheduler=scheduler, quiet=quiet, as_json=as_json)
        return
    _refuse_folder_options(pattern=pattern != DEFAULT_PATTERN, jobs=jobs is not None,
                           scheduler=scheduler is not None, recursive=recursive)
    if source is not None:
        if len(paths) != 1:
            raise click.UsageError("with --from OLD, give one JPEG to copy its rawmeta data into")
        capped = click.get_current_context().get_parameter_source("max_growth") is not ParameterSource.DEFAULT
        if budget is not None or stride is not None or bits is not None or force_same_grid or redo or capped \
                or _given(objective, "objective") is not None:
            raise click.UsageError("--from copies OLD's samples as they are: --budget, --max-growth, --stride, "
                                   "--bits, --objective, --redo and --force-same-grid do not apply")
        _transfer(source, paths[0], out, overwrite, as_json)
        return
    if len(paths) != 2:
        raise click.UsageError("give a RAW and its JPEG, RAW files or folders (or --from OLD JPEG)")
    raw, jpeg = paths
    if is_jpeg(raw):
        head = _head(raw)
        if not is_jpeg_data(head):  # named like a JPEG, it is not one: neither the JPEG nor (likely) the RAW
            with about(raw):
                raise JpegError(not_a_jpeg(head) + "; embed takes a RAW, then its JPEG", "by its first bytes")
        raise click.UsageError("the first argument must be the RAW, the second the JPEG" + (
            f" ({jpeg} is the RAW)" if is_raw(jpeg) else f": {raw} is a JPEG (--from OLD copies rawmeta data "
                                                         "between JPEGs)"))
    options = EmbedOptions(budget=_budget(budget, stride, bits), stride=stride, bits=bits, device=device,
                           same_grid=force_same_grid, max_growth=max_growth, objective=objective)
    if not redo and (out is None or same_file(out, jpeg)):
        skip, changes = embedded_already(read_jpeg(jpeg), _asked(budget, stride, bits, objective))
        if skip:
            _said(as_json, f"{jpeg} {skip}; --redo embeds again", command="embed", status="skipped", raw=str(raw),
                  jpeg=str(jpeg), output=None, detail=skip)
            return
        if changes:
            click.echo(f"rawmeta: {jpeg} carries rawmeta data made with other settings; embedding again: "
                       f"{', '.join(changes)}", err=True)
    start = time.monotonic()
    fit_to_free_cores()
    with _progress(f"embed {jpeg.name}", quiet or as_json) as bar:
        from rawmeta.embed.jpeg import embed_file

        with about(jpeg, (BudgetError,)):
            r = embed_file(raw, jpeg, out, overwrite=overwrite, options=options, progress=bar)
    p = r.payload
    expected = "" if math.isnan(p.expected_psnr) else f"; expected restore PSNR {p.expected_psnr:.2f} dB"
    h, w = p.image_size
    aligned = "" if p.alignment is None or p.alignment.is_same_grid(h, w) else f"; aligned: {p.alignment.describe(h, w)}"
    _said(as_json, f"embedded {_summary(r, max_growth)}{expected}{aligned} -> {r.output}", command="embed", status="done",
          raw=str(raw), jpeg=str(jpeg), output=str(r.output), seconds=round(time.monotonic() - start, 3),
          **_embed_facts(r))


def _embed_facts(r: EmbedReport) -> dict:
    """An embed's numbers for --json."""
    p = r.payload
    return {"samples": p.sample_count, "refined_samples": r.refined_count, "stride": r.grid.stride, "bits": r.bits,
            "added_bytes": r.added_bytes, "segments": r.segment_count, "jpeg_bytes": r.jpeg_bytes,
            "percent_of_jpeg": round(r.percent_of_jpeg, 3),
            "expected_psnr_db": None if math.isnan(p.expected_psnr) else round(p.expected_psnr, 3)}


def _said(as_json: bool, text: str, **facts) -> None:
    """What a one-file command did: ``text``, or with --json the ``facts`` as one JSON object."""
    click.echo(json.dumps(facts, indent=2) if as_json else text)


@contextlib.contextmanager
def _progress(label: str, quiet: bool):
    """A progress bar for a long one-file command (None when quiet), closed however the work ends; its first
    stage loads the library (torch), which takes a while before the work reports anything."""
    bar = None if quiet else ProgressBar(label)
    stage(bar, "loading")
    try:
        yield bar
    finally:
        if bar is not None:
            bar.close()


def _asked(budget: float | None, stride: int | None, bits: int | None, objective: str) -> dict[str, object]:
    """The embed settings the user gave (None: not given), which decide whether a JPEG is embedded again."""
    return {"budget": budget, "stride": stride, "bits": bits, "objective": _given(objective, "objective")}


def _given(value: str, name: str) -> str | None:
    """``value`` if the user gave option ``name``, None if it is the default."""
    given = click.get_current_context().get_parameter_source(name) is not ParameterSource.DEFAULT
    return value if given else None


def _budget(budget: float | None, stride: int | None, bits: int | None) -> float | None:
    """The budget embed works to: the default unless a plain grid (--stride/--bits) is asked for."""
    return DEFAULT_BUDGET if budget is None and stride is None and bits is None else budget


def _summary(r: EmbedReport, max_growth: float | None = None) -> str:
    """An embed's numbers in one line; with ``max_growth``, whether that cap bound."""
    from rawmeta.embed.budget import growth_percent

    p = r.payload
    growth = growth_percent(p.budget, p.pixels_per_jpeg_pixel, max_growth)
    capped = p.budget and growth < p.budget * p.pixels_per_jpeg_pixel
    refined = f", {r.refined_count} in refinement blocks" if r.refined_count else ""
    return (f"{p.sample_count} samples ({r.bits}-bit, stride {r.grid.stride}{refined}): "
            f"{r.added_bytes} bytes in {r.segment_count} segment(s), "
            f"{r.percent_of_jpeg:.2f} % of the JPEG ({report.budget_text(p.budget, p.pixels_per_jpeg_pixel)}"
            + (f"; capped at {growth:g} % of the JPEG, --max-growth" if capped else "") + ")")


def _transfer(source: Path, jpeg: Path, out: Path | None, overwrite: bool, as_json: bool) -> None:
    from rawmeta.embed.transfer import transfer_file

    t = transfer_file(source, jpeg, out, overwrite=overwrite)
    _said(as_json, f"copied {_summary(t.report)} from {source} -> {t.report.output}", command="embed",
          status="done", source=str(source), jpeg=str(jpeg), output=str(t.report.output),
          pixel_psnr_db=None if t.pixels_identical else round(t.pixel_psnr, 3), **_embed_facts(t.report))
    if not t.pixels_identical:
        click.echo(f"rawmeta: warning: the JPEG's pixels differ from {source}'s by {t.pixel_psnr:.1f} dB PSNR; "
                   "restore learns from these pixels, so its accuracy depends on how much they changed", err=True)


@main.command(short_help="Show and check the rawmeta data a JPEG carries.",
              epilog=_epilog("rawmeta inspect IMG_0001.JPG", "rawmeta inspect IMG_0001.JPG --json"))
@_jpeg_arg
@_json_opt
@_verbose_opt
def inspect(jpeg: Path, as_json: bool) -> None:
    """Show and check the rawmeta data a JPEG carries."""
    found = report.inspect_file(jpeg)
    info = found.as_dict()
    click.echo(json.dumps(info, indent=2) if as_json else report.format_text(info))
    if not found.change.pixels_kept:
        click.echo(f"rawmeta: warning: {found.change.describe()}", err=True)


@main.command(short_help="Remove the rawmeta data, giving back the JPEG as it was.",
              epilog=_epilog("rawmeta strip IMG_0001.JPG -o clean.jpg", "rawmeta strip IMG_0001.JPG   # in place"))
@_jpeg_arg
@_out_opt
@_overwrite_opt
@_verbose_opt
def strip(jpeg: Path, out: Path | None, overwrite: bool) -> None:
    """Remove rawmeta data from JPEG, giving back the file as it was before embed."""
    from rawmeta.embed.jpeg import strip_file

    target = strip_file(jpeg, out, overwrite=overwrite)
    click.echo(f"removed rawmeta data -> {target}")


def _head(path: Path) -> bytes:
    """The first bytes of ``path`` (none when it cannot be read): enough to tell a JPEG by its content."""
    try:
        with open(path, "rb") as fh:
            return fh.read(16)
    except OSError:
        return b""


def _patch_size(text: str) -> tuple[int, int]:
    try:
        h, w = (int(v) for v in text.lower().split("x"))
        if h < 8 or w < 8:
            raise ValueError
    except ValueError:
        raise click.BadParameter(f"{text!r} is not HEIGHTxWIDTH with both at least 8 (e.g. 228x272)") from None
    return h, w


_patch_opt = click.option("--patch", "patch", default="228x272", show_default=True,
                          help="Approximate patch size HEIGHTxWIDTH; each patch gets its own model.")


@main.command(short_help="Restore the RAW from a JPEG with rawmeta data (DNG, TIFF or NPY).", epilog=_epilog(
    "rawmeta restore IMG_0001.JPG restored.dng",
    "rawmeta restore ~/Photos/2024 -r --out-dir ~/restored --format dng",
))
@click.argument("paths", nargs=-1, required=True, metavar="JPEG OUTPUT | JPEG... --out-dir DIR | DIR... --out-dir DIR",
                type=click.Path(path_type=Path))
@click.option("--method", type=click.Choice(methods.FAMILIES), default="inf", show_default=True,
              help="inf: implicit neural functions (the paper); rbf: SAM's linear RBF baseline.")
@click.option("--preset", type=click.Choice(methods.presets()), default="fast", show_default=True,
              help="INF preset: 'fast' solves each patch's network in closed form (seconds an image); "
                   "'paper' reproduces the paper (about 2 CPU-minutes a patch).")
@_patch_opt
@_device_opt
@click.option("--seed", type=int, default=0, show_default=True, help="Network initialisation seed.")
@click.option("--memory-mb", type=click.IntRange(64), default=2048, show_default=True,
              help="Memory budget for one batch of INF patches.")
@click.option("--reference", type=click.Path(dir_okay=False, path_type=Path),
              help="The true RAW: print PSNR/SSIM of the restore against it.")
@click.option("--error-map", type=click.Path(dir_okay=False, path_type=Path),
              help="With --reference: write an error-map PNG here.")
@click.option("--force", is_flag=True,
              help="Restore even when the JPEG's pixels were edited or turned since embedding (the result "
                   "will be wrong where they changed).")
@click.option("--out-dir", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Restore every JPEG given or found in the folders given into this folder (created if missing).")
@click.option("--out", "old_out_dir", type=click.Path(file_okay=False, path_type=Path), hidden=True)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default=None,
              help="With --out-dir: the format of the restored files. [default: dng]")
@click.option("--dng", "dng_layout", type=click.Choice(DNG_LAYOUTS), default="cfa", show_default=True,
              help="A DNG's layout: the camera's Bayer mosaic at its own levels (cfa: about the size of the camera's "
                   "RAW, demosaiced by the raw developer; where the RAW had one and the JPEG is on its grid, "
                   "LinearRaw otherwise), or LinearRaw raw-RGB (linear).")
@_objective_opt
@click.option("--size", type=click.Choice(SIZES), default="raw", show_default=True,
              help="From a JPEG smaller than the RAW: the RAW's full resolution (raw: its size and orientation, "
                   "a Bayer mosaic DNG), or the JPEG's (jpeg: each JPEG pixel's area of the RAW). Needs rawmeta "
                   "data of format version 7; older data restore at the "
                   "JPEG's size.")
@_overwrite_opt
@_redo_opt
@_json_opt
@batch.options
@_verbose_opt
def restore(paths: tuple[Path, ...], method: str, preset: str, patch: str, device: str, seed: int, memory_mb: int,
            reference: Path | None, error_map: Path | None, force: bool, out_dir: Path | None,
            old_out_dir: Path | None, fmt: str | None, dng_layout: str, objective: str, size: str, overwrite: bool,
            redo: bool,
            as_json: bool,
            jobs: int | None,
            scheduler: str | None, recursive: bool, quiet: bool) -> None:
    """Restore the RAW from JPEG's rawmeta data into OUTPUT (.dng, .tif/.tiff or .npy).

    OUTPUT is written atomically: an interrupted restore leaves no file. An
    existing OUTPUT is replaced only with --overwrite.

    With --out-dir DIR, restore every JPEG given, or found in the folders
    given, that carries rawmeta data, in parallel, into DIR/NAME.FORMAT
    (keeping subfolders). A rerun skips outputs that rawmeta already
    restored from the same data with the same settings (--redo restores
    them again). A name that is taken by a RAW or JPEG (a camera's own
    IMG_0001.dng) becomes NAME.restored.FORMAT; any other file rawmeta did
    not write is replaced only with --overwrite.
    """
    if old_out_dir is not None:
        if out_dir is not None:
            raise click.UsageError("give --out-dir once (--out is its old name)")
        click.echo("rawmeta: warning: --out is now called --out-dir", err=True)
        out_dir = old_out_dir
    if error_map is not None and reference is None:
        raise click.UsageError("--error-map needs --reference")
    options = RestoreOptions(method=method, preset=preset, patch_size=_patch_size(patch), device=device, seed=seed,
                             memory_mb=memory_mb, allow_edited=force, size=size, dng=dng_layout,
                             objective=objective)
    if out_dir is not None or any(p.is_dir() for p in paths):
        if out_dir is None:
            folder = next(p for p in paths if p.is_dir())
            if len(paths) == 2 and paths[1] == folder and not paths[0].is_dir():  # one JPEG, into a folder
                raise click.UsageError(f"{folder} is a folder: give the file to write "
                                       f"({folder / paths[0].with_suffix('.dng').name}), or --out-dir {folder}")
            raise click.UsageError(f"{folder} is a directory: restoring folders needs --out-dir DIR")
        if reference is not None:
            raise click.UsageError("--reference takes one JPEG and its OUTPUT, not folders (see 'rawmeta verify "
                                   "--restore')")
        plan = restore_plan(paths, out_dir, suffix="." + (fmt or "dng"), recursive=recursive, options=options,
                            redo=redo, overwrite=overwrite)
        batch.run_plan("restore", plan, jobs=jobs, scheduler=scheduler, quiet=quiet, as_json=as_json)
        return
    _refuse_folder_options(redo=redo, jobs=jobs is not None, scheduler=scheduler is not None, recursive=recursive)
    if len(paths) != 2:
        raise click.UsageError("give a JPEG and the OUTPUT to write (or JPEG files or folders and --out-dir DIR)")
    jpeg, output = paths
    if not is_jpeg_data(_head(jpeg)) and is_jpeg_data(_head(output)):
        raise click.UsageError(f"the first argument must be the JPEG, the second the OUTPUT to write ({output} is "
                               "the JPEG)")
    if fmt is not None and output.suffix.lower().lstrip(".") not in (fmt, "tif" if fmt == "tiff" else fmt):
        raise click.UsageError(f"--format {fmt} contradicts OUTPUT {output.name}: the OUTPUT's extension sets the "
                               "format (--format is for --out-dir)")
    if error_map is not None:
        check_new_output(error_map, overwrite=overwrite)
    start = time.monotonic()
    warnings: list[str] = []

    def warn(message: str) -> None:
        warnings.append(message)
        click.echo(f"rawmeta: warning: {message}", err=True)

    fit_to_free_cores()
    with _progress(f"restore ({method})", quiet or as_json) as bar:
        from rawmeta.restore.jpeg import restore_file

        restored = restore_file(jpeg, output, options, overwrite=overwrite, progress=bar, warn=warn)
    seconds = round(time.monotonic() - start, 3)
    result = None if reference is None else _evaluation(restored.rgb, reference, restored.shown, _patch_size(patch),
                                                         error_map, restored.payload.alignment)
    h, w = restored.rgb.shape[:2]
    text = f"restored {w} x {h} raw-RGB -> {output}" + ("" if result is None else "\n" + result.format_text())
    _said(as_json, text, command="restore", status="done", jpeg=str(jpeg), output=str(output), width=w,
          height=h, settings=restored.mark.settings(), seconds=seconds, warnings=warnings,
          evaluation=None if result is None else result.as_dict())


@main.command(short_help="Check JPEGs carry intact rawmeta data before RAWs are deleted.")
@click.argument("paths", nargs=-1, required=True, metavar="JPEG... | DIR...", type=click.Path(path_type=Path))
@click.option("--restore", "try_restore", is_flag=True,
              help="Also restore each JPEG in memory (as 'restore' would, fast preset) and, where its RAW is "
                   "beside it, report the PSNR against it. Nothing is written.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON report instead of the table.")
@_pattern_opt
@_device_opt
@batch.options
@_verbose_opt
def verify(paths: tuple[Path, ...], try_restore: bool, as_json: bool, pattern: str, device: str, jobs: int | None,
           scheduler: str | None, recursive: bool, quiet: bool) -> None:
    """Check that every JPEG carries intact rawmeta data, before RAWs are deleted. Writes nothing.

    A JPEG fails when it carries no rawmeta data, when the data is damaged,
    or when its pixels were edited since embedding; a RAW among the files
    fails when no JPEG pairs with it (--pattern). The exit code is 0 only
    when nothing failed.
    """
    plan = verify_plan(paths, pattern=check_pattern(pattern), recursive=recursive, restore=try_restore,
                       options=RestoreOptions(device=device))
    batch.run_plan("verify", plan, jobs=jobs, scheduler=scheduler, quiet=quiet, as_json=as_json)


@main.command(name="eval", short_help="Compare a restore with the true RAW (PSNR, SSIM, developed ΔE).", epilog=_epilog(
    "rawmeta eval restored.dng IMG_0001.CR2 --jpeg IMG_0001.JPG",
    "rawmeta eval restored.npy IMG_0001.CR2 --error-map err.png --json",
))
@click.argument("restored", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("reference_raw", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--jpeg", "jpeg_path", type=click.Path(dir_okay=False, path_type=Path),
              help="The JPEG restored from: also report clipped sRGB pixels and PSNR without them, and develop "
                   "both images at its brightness.")
@click.option("--error-map", type=click.Path(dir_okay=False, path_type=Path), help="Write an error-map PNG here.")
@_overwrite_opt
@_patch_opt
@_json_opt
@_verbose_opt
def evaluate(restored: Path, reference_raw: Path, jpeg_path: Path | None, error_map: Path | None, overwrite: bool,
             patch: str, as_json: bool) -> None:
    """Compare a restored raw-RGB file (.npy, .tif/.tiff, .dng) with the true RAW.

    Besides raw-RGB PSNR and SSIM, both are developed as a photographer sees
    them (the white balance the restored DNG carries: with --jpeg the one in
    its rawmeta data, which may be estimated from the JPEG, else the RAW's;
    the RAW's colour matrix; sRGB) as shot, with the
    shadows lifted 1.5 EV and with the highlights recovered 1 EV, and their
    CIEDE2000 (mean, 95th percentile, share over 2) is told at 100 % and at
    screen size (long side 2048), with the render's PSNR. The brightness is
    the JPEG's with --jpeg, else the RAW's 99th percentile at white.

    With --jpeg, a JPEG whose rawmeta data maps it into the RAW (a JPEG on
    another grid) has the RAW seen through that map.
    """
    from rawmeta.io.jpeg_pixels import decode_jpeg
    from rawmeta.io.outputs import read_raw_rgb
    from rawmeta.io.restore_mark import read_mark

    if read_mark(reference_raw) is not None and read_mark(restored) is None:
        raise click.UsageError(f"the first argument must be the restored file, the second the true RAW "
                               f"({reference_raw} is a rawmeta restore)")
    if error_map is not None:
        check_new_output(error_map, overwrite=overwrite)
    rgb, srgb, alignment, camera = read_raw_rgb(restored), None, None, None
    if jpeg_path is not None:
        data = read_jpeg(jpeg_path)
        try:
            with about(jpeg_path):
                srgb = decode_jpeg(data)
                payload = report.inspect_bytes(data).payload
        except NoPayloadError:
            pass
        else:
            alignment, camera = payload.alignment, payload.camera
            if payload.jpeg_size is not None and rgb.shape[:2] == alignment.raw_size:  # a full-resolution restore
                from rawmeta.restore.guide import enlarged_on_raw_grid

                srgb = enlarged_on_raw_grid(srgb, alignment)
    result = _evaluation(rgb, reference_raw, srgb, _patch_size(patch), error_map, alignment, developed=True,
                         camera=camera)
    click.echo(json.dumps(result.as_dict(), indent=2) if as_json else result.format_text())


def _evaluation(rgb, reference: Path, srgb, patch: tuple[int, int], error_map: Path | None, alignment=None,
                developed: bool = False, camera=None):
    """The restore ``rgb`` measured against the RAW ``reference`` (``metrics.Evaluation``, with the developed-image
    error when ``developed``, rendered with ``camera``'s white balance, else the RAW's); writes the error map."""
    from dataclasses import replace

    from rawmeta import metrics
    from rawmeta.alignment.matching import raw_on_jpeg_grid
    from rawmeta.errors import MismatchError
    from rawmeta.io.rawfile import read_raw
    from rawmeta.restore.patches import PatchGrid

    raw = read_raw(reference)
    ref = raw_on_jpeg_grid(raw.rgb, alignment, *rgb.shape[:2])
    if srgb is not None and srgb.shape != rgb.shape:
        raise MismatchError(f"size mismatch: the JPEG is {srgb.shape[1]} x {srgb.shape[0]}, "
                            f"the restore {rgb.shape[1]} x {rgb.shape[0]}")
    boxes = PatchGrid.for_image(rgb.shape[0], rgb.shape[1], patch).boxes()
    result = metrics.evaluate(rgb, ref, srgb=srgb, boxes=boxes)
    if developed:
        result = replace(result, developed=metrics.restore_developed_error(rgb, ref, raw.camera, camera, jpeg=srgb))
    if error_map is not None:
        metrics.save_error_map(error_map, rgb, ref)
        click.echo(f"error map -> {error_map}", err=True)
    return result


@main.command(short_help="Measure speed, size and accuracy on real RAWs (docs/BENCHMARKS.md).")
@click.option("--raw-dir", type=click.Path(file_okay=False, path_type=Path),
              default=lambda: os.environ.get("RAWMETA_RAW_DIR", "../shared/data/raw"), show_default="../shared/data/raw",
              help="Folder of RAW files to benchmark (or RAWMETA_RAW_DIR).")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=Path("docs/BENCHMARKS.md"),
              show_default=True, help="Markdown file to write.")
@click.option("--repeat", type=click.IntRange(1, 50), default=3, show_default=True, help="Runs per embed timing (median).")
@click.option("--section", type=click.Choice([*SECTIONS, "all"]), default="all", show_default=True,
              help="Which benchmarks to run; the others' sections in OUTPUT are kept. "
                   + "; ".join(f"{s.name}: {s.summary}" for s in SECTIONS.values()) + ".")
@click.option("--budgets", help="Comma-separated embed budgets (% of the JPEG) for the rd and perceptual sections "
                                 "[default: rd 3,5,8,12,20,30,40; perceptual 3,5,10,20,30].")
@click.option("--paper-patches", type=click.IntRange(1, 64), default=2, show_default=True,
              help="Patches per file in the crop where fast, RBF and paper presets are compared.")
@click.option("--regime", type=click.Choice(["libraw", "rawtherapee", "both"]), default="both", show_default=True,
              help="Which JPEGs restore is measured on: LibRaw's render, RawTherapee's, or both.")
@click.option("--rbf-whole", is_flag=True, help="Also restore whole images with RBF (about 12 s a patch).")
@click.option("--baseline", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="speed: another checkout of rawmeta (a git worktree at an older commit) whose embeds and "
                   "restores are timed against this code's, in alternation.")
@click.option("--speed-big/--no-speed-big", default=True, show_default=True,
              help="speed: also the 12 and 24 MP images (most of its time).")
@_device_opt
@click.option("--overwrite", is_flag=True, help="Replace an existing OUTPUT that is not a rawmeta bench report.")
@_verbose_opt
def bench(raw_dir: Path, output: Path, repeat: int, section: str, budgets: str | None, paper_patches: int, regime: str,
          rbf_whole: bool, baseline: Path | None, speed_big: bool, device: str, overwrite: bool) -> None:
    """Benchmark embed (payload size, time), rate against distortion (against JPEG XL), restore (PSNR,
    SSIM, time), alignment of JPEGs on other grids, restore at 12/24 MP, folder work, and embed and
    restore as processes against LibRaw's decode and a baseline checkout.

    Results go into OUTPUT (Markdown), section by section; rd and restore
    also draw plots next to it.
    """
    from rawmeta.benchmarks.harness import find_raws

    if not raw_dir.is_dir():
        raise UsageError(f"RAW folder {raw_dir} does not exist (use --raw-dir or RAWMETA_RAW_DIR)")
    raws = find_raws(raw_dir)
    if not raws:
        raise UsageError(f"RAW folder {raw_dir} holds no RAW files")
    try:
        chosen = None if budgets is None else tuple(float(b) for b in budgets.split(","))
    except ValueError:
        raise UsageError(f"--budgets must be numbers separated by commas, not {budgets!r}") from None
    text = output.read_text(errors="replace") if output.is_file() else ""
    if output.exists() and not overwrite and not is_report(text):
        raise UsageError(f"{output} exists and is not a rawmeta bench report (its sections would replace it); "
                         "--overwrite replaces it")
    options = BenchOptions(repeat=repeat, budgets=chosen, paper_patches=paper_patches, regime=regime,
                           rbf_whole=rbf_whole, device=device, baseline=baseline, speed_big=speed_big)
    run = BenchRun(raws, output, options, log=lambda m: click.echo(m, err=True))
    for name in SECTIONS if section == "all" else (section,):
        text = merge_report(text, name, SECTIONS[name].run(run))
        write_output(output, text.encode())
    click.echo(text)
    click.echo(f"written to {output}", err=True)


@main.command(short_help="Write the synthetic sample pair (sample.dng, sample.jpg).")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path), default=Path("samples"))
@_overwrite_opt
@_verbose_opt
def sample(folder: Path, overwrite: bool) -> None:
    """Write the project's synthetic sample pair (sample.dng, sample.jpg) into FOLDER."""
    from rawmeta.benchmarks.synthetic import SAMPLE_NAMES, write_sample

    for name in SAMPLE_NAMES:
        check_new_output(folder / name, overwrite=overwrite)

    dng, jpg = write_sample(folder)
    click.echo(f"wrote {dng} and {jpg}")
