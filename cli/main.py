"""``rawmeta``: keep only a JPEG and still get the RAW back.

Exit codes: 0 success; 2 bad usage; 3 bad or unreadable JPEG; 4 bad or
unreadable RAW; 5 RAW and JPEG do not match; 6 no rawmeta data in the JPEG;
7 rawmeta data corrupt, incomplete or of an unknown version; 8 output cannot
be written; 70 internal error (a bug: please report it); 130 interrupted.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from rawmeta import embed as embed_api
from rawmeta import report
from rawmeta.errors import RawmetaError
from rawmeta.sampling import DEFAULT_STRIDE
from rawmeta.userfiles import write_output

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


_jpeg_arg = click.argument("jpeg", type=click.Path(dir_okay=False, path_type=Path))
_out_opt = click.option(
    "-o", "--output", "out", type=click.Path(dir_okay=False, path_type=Path),
    help="Write here instead of changing JPEG in place.",
)


@main.command()
@click.argument("raw", type=click.Path(dir_okay=False, path_type=Path))
@_jpeg_arg
@_out_opt
@click.option("--stride", type=click.IntRange(1, 256), default=DEFAULT_STRIDE, show_default=True,
              help="Sample one pixel in every STRIDE x STRIDE cell.")
@click.option("--bits", type=click.IntRange(1, 16), default=embed_api.DEFAULT_BITS, show_default=True,
              help="Sample bit depth.")
def embed(raw: Path, jpeg: Path, out: Path | None, stride: int, bits: int) -> None:
    """Embed samples of RAW's raw-RGB into JPEG (rendered on the RAW's pixel grid).

    Replaces any rawmeta data JPEG already carries. The write is atomic.
    """
    r = embed_api.embed_file(raw, jpeg, out, stride=stride, bits=bits)
    click.echo(
        f"embedded {r.grid.count} samples ({r.bits}-bit, stride {r.grid.stride}): "
        f"{r.payload_bytes} bytes in {r.segment_count} segment(s), "
        f"{r.bytes_per_sample:.3f} B/sample, {r.percent_of_jpeg:.2f} % of the JPEG -> {r.output}"
    )


@main.command()
@_jpeg_arg
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object instead of text.")
def inspect(jpeg: Path, as_json: bool) -> None:
    """Show and check the rawmeta data a JPEG carries."""
    info = report.inspect_file(jpeg).as_dict()
    click.echo(json.dumps(info, indent=2) if as_json else report.format_text(info))
    if info["image_data"] != "matches":
        click.echo("rawmeta: warning: the JPEG's image data changed since embedding (re-encoded?)", err=True)


@main.command()
@_jpeg_arg
@_out_opt
def strip(jpeg: Path, out: Path | None) -> None:
    """Remove rawmeta data from JPEG, giving back the file as it was before embed."""
    target = embed_api.strip_file(jpeg, out)
    click.echo(f"removed rawmeta data -> {target}")


@main.command()
@click.option("--raw-dir", type=click.Path(file_okay=False, path_type=Path),
              default=lambda: os.environ.get("RAWMETA_RAW_DIR", "../shared/data/raw"), show_default="../shared/data/raw",
              help="Folder of RAW files to benchmark (or RAWMETA_RAW_DIR).")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=Path("docs/BENCHMARKS.md"),
              show_default=True, help="Markdown file to write.")
@click.option("--repeat", type=click.IntRange(1, 50), default=3, show_default=True, help="Runs per timing (median).")
def bench(raw_dir: Path, output: Path, repeat: int) -> None:
    """Measure payload size and embed time on every RAW in a folder; write a Markdown report."""
    from rawmeta import bench as bench_api
    from rawmeta.errors import UsageError

    if not raw_dir.is_dir():
        raise UsageError(f"RAW folder {raw_dir} does not exist (use --raw-dir or RAWMETA_RAW_DIR)")
    rows, skipped = bench_api.run_bench(bench_api.find_raws(raw_dir), repeat, log=lambda m: click.echo(m, err=True))
    command = "rawmeta bench" + (f" --repeat {repeat}" if repeat != 3 else "")
    text = bench_api.markdown(rows, skipped, command, repeat)
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
