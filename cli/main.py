"""``rawmeta``: keep only a JPEG and still get the RAW back.

Exit codes: 0 success; 2 bad usage; 3 bad or unreadable JPEG; 4 bad or
unreadable RAW; 5 RAW and JPEG do not match; 6 no rawmeta data in the JPEG;
7 rawmeta data corrupt, incomplete or of an unknown version; 8 output cannot
be written; 70 internal error (a bug: please report it); 130 interrupted.
"""
from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path

import click

from rawmeta import embed as embed_api
from rawmeta import report
from rawmeta.budget import DEFAULT_BUDGET
from rawmeta.errors import RawmetaError
from rawmeta.userfiles import write_output

from .progress import ProgressBar

EXIT_INTERNAL = 70
EXIT_INTERRUPTED = 130


class _Group(click.Group):
    """Turns every failure into one line on stderr and a documented exit code."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except RawmetaError as exc:
            _fail(str(exc), exc.exit_code)
        except KeyboardInterrupt:
            _fail("interrupted; no output was written", EXIT_INTERRUPTED)
        except click.UsageError as exc:
            hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
            _fail(exc.format_message() + hint, exc.exit_code)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except Exception as exc:  # a bug: still one line, unless debugging
            if os.environ.get("RAWMETA_DEBUG"):
                raise
            _fail(f"internal error: {type(exc).__name__}: {exc} (set RAWMETA_DEBUG=1 for details)", EXIT_INTERNAL)


def _fail(message: str, code: int) -> None:
    click.echo(f"rawmeta: error: {message}", err=True)
    sys.exit(code)


@click.group(cls=_Group, help=__doc__)
@click.version_option(package_name="rawmeta")
def main() -> None:
    pass


_device_opt = click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True,
                           help="Where restores run (auto: CUDA when present).")
_jpeg_arg = click.argument("jpeg", type=click.Path(dir_okay=False, path_type=Path))
_out_opt = click.option(
    "-o", "--output", "out", type=click.Path(dir_okay=False, path_type=Path),
    help="Write here instead of changing JPEG in place.",
)


@main.command()
@click.argument("paths", nargs=-1, required=True, metavar="RAW JPEG | --from OLD JPEG",
                type=click.Path(dir_okay=False, path_type=Path))
@_out_opt
@click.option("--from", "source", type=click.Path(dir_okay=False, path_type=Path),
              help="Copy the rawmeta data of OLD, another encoding of the same image (a re-save that lost it), "
                   "instead of sampling a RAW.")
@click.option("--budget", type=click.FloatRange(0.1, 1000.0), default=None,
              help=f"Percent of the JPEG's size the rawmeta data may add; settings are chosen to restore best "
                   f"within it. [default: {DEFAULT_BUDGET:g}; none when only --stride/--bits are given]")
@click.option("--stride", type=click.IntRange(1, 256), default=None,
              help="Base grid: one sample in every STRIDE x STRIDE cell. [default: chosen, 8 when it fits]")
@click.option("--bits", type=click.IntRange(1, 16), default=None,
              help="Sample bit depth. [default: measured: the least whose noise is 5 dB under the restore error]")
@click.option("--force-same-grid", is_flag=True,
              help="The JPEG is LibRaw's pixel grid exactly: skip matching its content to the RAW.")
@_device_opt
def embed(paths: tuple[Path, ...], out: Path | None, source: Path | None, budget: float | None, stride: int | None,
          bits: int | None, force_same_grid: bool, device: str) -> None:
    """Embed samples of RAW's raw-RGB into JPEG, a render of RAW.

    The JPEG may be cropped, rotated (in its pixels or by an EXIF tag) or
    resized: embed finds where it lies in the RAW by matching content, and
    refuses a JPEG of another picture. With a budget, embed restores the
    image itself to choose the settings, so it takes about as long as a
    restore. Replaces any rawmeta data JPEG already carries. The write is
    atomic.

    With --from OLD, JPEG gets OLD's rawmeta data instead: for a copy that
    was re-encoded and lost it. Both must show the same image on the same
    pixel grid; restore then learns from JPEG's pixels, so its accuracy
    depends on how much the re-encode changed them.
    """
    if source is not None:
        if len(paths) != 1:
            raise click.UsageError("with --from OLD, give one JPEG to copy its rawmeta data into")
        if budget is not None or stride is not None or bits is not None or force_same_grid:
            raise click.UsageError("--from copies OLD's samples as they are: --budget, --stride, --bits and "
                                   "--force-same-grid do not apply")
        _transfer(source, paths[0], out)
        return
    if len(paths) != 2:
        raise click.UsageError("give a RAW and its JPEG (or --from OLD JPEG)")
    if budget is None and stride is None and bits is None:
        budget = DEFAULT_BUDGET
    r = embed_api.embed_file(*paths, out, budget=budget, stride=stride, bits=bits, device=device,
                             same_grid=force_same_grid)
    p = r.payload
    expected = "" if math.isnan(p.expected_psnr) else f"; expected restore PSNR {p.expected_psnr:.2f} dB"
    h, w = p.grid.height, p.grid.width
    aligned = "" if p.alignment is None or p.alignment.is_same_grid(h, w) else f"; aligned: {p.alignment.describe(h, w)}"
    click.echo(f"embedded {_summary(r)}{expected}{aligned} -> {r.output}")


def _summary(r: embed_api.EmbedReport) -> str:
    return (f"{r.payload.sample_count} samples ({r.bits}-bit, stride {r.grid.stride}, {r.refined_count} in "
            f"refinement blocks): {r.added_bytes} bytes in {r.segment_count} segment(s), "
            f"{r.percent_of_jpeg:.2f} % of the JPEG")


def _transfer(source: Path, jpeg: Path, out: Path | None) -> None:
    from rawmeta.transfer import transfer_file

    t = transfer_file(source, jpeg, out)
    click.echo(f"copied {_summary(t.report)} from {source} -> {t.report.output}")
    if not t.pixels_identical:
        click.echo(f"rawmeta: warning: the JPEG's pixels differ from {source}'s by {t.pixel_psnr:.1f} dB PSNR; "
                   "restore learns from these pixels, so its accuracy depends on how much they changed", err=True)


@main.command()
@_jpeg_arg
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object instead of text.")
def inspect(jpeg: Path, as_json: bool) -> None:
    """Show and check the rawmeta data a JPEG carries."""
    found = report.inspect_file(jpeg)
    info = found.as_dict()
    click.echo(json.dumps(info, indent=2) if as_json else report.format_text(info))
    if found.change.kind not in ("unchanged", "rewritten"):
        click.echo(f"rawmeta: warning: {found.change.describe()}", err=True)


@main.command()
@_jpeg_arg
@_out_opt
def strip(jpeg: Path, out: Path | None) -> None:
    """Remove rawmeta data from JPEG, giving back the file as it was before embed."""
    target = embed_api.strip_file(jpeg, out)
    click.echo(f"removed rawmeta data -> {target}")


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


@main.command()
@_jpeg_arg
@click.argument("output", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--method", type=click.Choice(["inf", "rbf"]), default="inf", show_default=True,
              help="inf: implicit neural functions (the paper); rbf: SAM's linear RBF baseline.")
@click.option("--preset", default="fast", show_default=True,
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
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option("--force", is_flag=True,
              help="Restore even when the JPEG's pixels were edited or turned since embedding (the result "
                   "will be wrong where they changed).")
def restore(jpeg: Path, output: Path, method: str, preset: str, patch: str, device: str, seed: int,
            memory_mb: int, reference: Path | None, error_map: Path | None, quiet: bool, force: bool) -> None:
    """Restore the RAW from JPEG's rawmeta data into OUTPUT (.dng, .tif/.tiff or .npy).

    OUTPUT is written atomically: an interrupted restore leaves no file.
    """
    from rawmeta.restore import restore_file

    if error_map is not None and reference is None:
        raise click.UsageError("--error-map needs --reference")
    bar = None if quiet else ProgressBar(f"restore ({method})")
    try:
        restored = restore_file(jpeg, output, method=method, preset=preset, patch_size=_patch_size(patch),
                                device=device, seed=seed, memory_mb=memory_mb, progress=bar, allow_edited=force,
                                warn=lambda m: click.echo(f"rawmeta: warning: {m}", err=True))
    finally:
        if bar is not None:
            bar.close()
    click.echo(f"restored {restored.rgb.shape[1]} x {restored.rgb.shape[0]} raw-RGB -> {output}")
    if reference is not None:
        _report_evaluation(restored.rgb, reference, restored.srgb, _patch_size(patch), error_map, as_json=False,
                           alignment=restored.payload.alignment)


@main.command(name="eval")
@click.argument("restored", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("reference_raw", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--jpeg", "jpeg_path", type=click.Path(dir_okay=False, path_type=Path),
              help="The JPEG restored from: also report clipped sRGB pixels and PSNR without them.")
@click.option("--error-map", type=click.Path(dir_okay=False, path_type=Path), help="Write an error-map PNG here.")
@_patch_opt
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object instead of text.")
def evaluate(restored: Path, reference_raw: Path, jpeg_path: Path | None, error_map: Path | None, patch: str,
             as_json: bool) -> None:
    """Compare a restored raw-RGB file (.npy, .tif/.tiff, .dng) with the true RAW.

    With --jpeg, a JPEG whose rawmeta data maps it into the RAW (a JPEG on
    another grid) has the RAW seen through that map.
    """
    from rawmeta.errors import NoPayloadError
    from rawmeta.jpeg_pixels import decode_jpeg
    from rawmeta.outputs import read_raw_rgb

    srgb, alignment = None, None
    if jpeg_path is not None:
        data = embed_api.read_jpeg(jpeg_path)
        srgb = decode_jpeg(data)
        try:
            alignment = report.inspect_bytes(data).payload.alignment
        except NoPayloadError:
            pass
    _report_evaluation(read_raw_rgb(restored), reference_raw, srgb, _patch_size(patch), error_map, as_json,
                       alignment)


def _report_evaluation(rgb, reference: Path, srgb, patch: tuple[int, int], error_map: Path | None,
                       as_json: bool, alignment=None) -> None:
    from rawmeta import metrics
    from rawmeta.alignment import warp
    from rawmeta.errors import MismatchError
    from rawmeta.patches import PatchGrid
    from rawmeta.rawfile import read_raw

    ref = read_raw(reference).rgb
    if alignment is not None and not alignment.is_same_grid(*rgb.shape[:2]):
        if ref.shape[:2] != alignment.raw_size:
            raise MismatchError(f"the reference RAW gives {ref.shape[1]} x {ref.shape[0]} pixels; the rawmeta data was "
                                f"made from a {alignment.raw_size[1]} x {alignment.raw_size[0]} RAW")
        ref = warp(ref, alignment, *rgb.shape[:2])
    if ref.shape != rgb.shape:
        raise MismatchError(f"size mismatch: the restore is {rgb.shape[1]} x {rgb.shape[0]}, "
                            f"the reference RAW gives {ref.shape[1]} x {ref.shape[0]}")
    if srgb is not None and srgb.shape != rgb.shape:
        raise MismatchError(f"size mismatch: the JPEG is {srgb.shape[1]} x {srgb.shape[0]}, "
                            f"the restore {rgb.shape[1]} x {rgb.shape[0]}")
    boxes = PatchGrid.for_image(rgb.shape[0], rgb.shape[1], patch).boxes()
    result = metrics.evaluate(rgb, ref, srgb=srgb, boxes=boxes)
    click.echo(json.dumps(result.as_dict(), indent=2) if as_json else result.format_text())
    if error_map is not None:
        metrics.save_error_map(error_map, rgb, ref)
        click.echo(f"error map -> {error_map}", err=True)


@main.command()
@click.option("--raw-dir", type=click.Path(file_okay=False, path_type=Path),
              default=lambda: os.environ.get("RAWMETA_RAW_DIR", "../shared/data/raw"), show_default="../shared/data/raw",
              help="Folder of RAW files to benchmark (or RAWMETA_RAW_DIR).")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=Path("docs/BENCHMARKS.md"),
              show_default=True, help="Markdown file to write.")
@click.option("--repeat", type=click.IntRange(1, 50), default=3, show_default=True, help="Runs per embed timing (median).")
@click.option("--section", type=click.Choice(["embed", "rd", "restore", "align", "scale", "all"]), default="all",
              show_default=True,
              help="Which benchmarks to run; the others' sections in OUTPUT are kept. rd (rate-distortion "
                   "against JPEG XL, needs libjxl-tools) takes about half an hour on 2 CPU cores for the shared "
                   "RAWs, restore about an hour (mostly the paper preset), align (JPEGs on other grids) about a "
                   "quarter of an hour, scale a few minutes.")
@click.option("--budgets", default="3,5,8,12,20,30,40", show_default=True,
              help="Comma-separated embed budgets (% of the JPEG) for the rd section.")
@click.option("--paper-patches", type=click.IntRange(1, 64), default=2, show_default=True,
              help="Patches per file in the crop where fast, RBF and paper presets are compared.")
@click.option("--regime", type=click.Choice(["libraw", "rawtherapee", "both"]), default="both", show_default=True,
              help="Which JPEGs restore is measured on: LibRaw's render, RawTherapee's, or both.")
@click.option("--rbf-whole", is_flag=True, help="Also restore whole images with RBF (about 12 s a patch).")
@_device_opt
def bench(raw_dir: Path, output: Path, repeat: int, section: str, budgets: str, paper_patches: int, regime: str,
          rbf_whole: bool, device: str) -> None:
    """Benchmark embed (payload size, time), rate against distortion (against JPEG XL), restore (PSNR,
    SSIM, time), alignment of JPEGs on other grids and restore at 12/24 MP.

    Results go into OUTPUT (Markdown), section by section; rd and restore
    also draw plots next to it.
    """
    from rawmeta import align_bench, rd_bench, restore_bench, scale_bench
    from rawmeta import bench as bench_api
    from rawmeta.errors import UsageError

    if not raw_dir.is_dir():
        raise UsageError(f"RAW folder {raw_dir} does not exist (use --raw-dir or RAWMETA_RAW_DIR)")
    raws = bench_api.find_raws(raw_dir)
    if not raws:
        raise UsageError(f"RAW folder {raw_dir} holds no RAW files")
    log = lambda m: click.echo(m, err=True)
    text = output.read_text() if output.exists() else ""
    if section in ("embed", "all"):
        rows, skipped = bench_api.run_bench(raws, repeat, log=log)
        command = "rawmeta bench --section embed" + (f" --repeat {repeat}" if repeat != 3 else "")
        text = bench_api.merge_report(text, "embed", bench_api.embed_markdown(rows, skipped, command, repeat))
        write_output(output, text.encode())
    if section in ("rd", "all"):
        try:
            chosen = tuple(float(b) for b in budgets.split(","))
        except ValueError:
            raise UsageError(f"--budgets must be numbers separated by commas, not {budgets!r}") from None
        rows, skipped = rd_bench.run(raws, chosen, device, log=log)
        command = "rawmeta bench --section rd" + (f" --budgets {budgets}" if chosen != rd_bench.BUDGETS else "")
        figure = output.with_name("rate_distortion.png") if rows else None
        if figure:
            rd_bench.write_plot(figure, rows)
        text = bench_api.merge_report(text, "rd", rd_bench.markdown(rows, skipped, command,
                                                                     figure.name if figure else None))
        write_output(output, text.encode())
    if section in ("restore", "all"):
        regimes = restore_bench.REGIMES if regime == "both" else (regime,)
        rows, skipped = restore_bench.run(raws, paper_patches, device, rbf_whole, regimes, log=log)
        command = (f"rawmeta bench --section restore --paper-patches {paper_patches} --regime {regime}"
                   + (" --rbf-whole" if rbf_whole else ""))
        figure = output.with_name("restore_psnr_time.png") if rows else None
        if figure:
            restore_bench.write_plot(figure, rows)
        text = bench_api.merge_report(text, "restore", restore_bench.markdown(
            rows, skipped, command, device, figure.name if figure else None))
        write_output(output, text.encode())
    if section in ("align", "all"):
        rows, skipped = align_bench.run(raws, device, log=log)
        text = bench_api.merge_report(text, "align", align_bench.markdown(rows, skipped, "rawmeta bench --section align"))
        write_output(output, text.encode())
    if section in ("scale", "all"):
        source = max(raws, key=lambda p: p.stat().st_size)
        rows = scale_bench.run(source, device, log=log)
        command = "rawmeta bench --section scale"
        text = bench_api.merge_report(text, "scale", scale_bench.markdown(rows, source, command, device))
        write_output(output, text.encode())
    click.echo(text)
    click.echo(f"written to {output}", err=True)


@main.command()
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path), default=Path("samples"))
def sample(folder: Path) -> None:
    """Write the project's synthetic sample pair (sample.dng, sample.jpg) into FOLDER."""
    from rawmeta.synthetic import write_sample

    dng, jpg = write_sample(folder)
    click.echo(f"wrote {dng} and {jpg}")
