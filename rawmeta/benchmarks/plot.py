"""A scatter plot as a PNG, drawn with Pillow (the benchmarks' figures)."""
from __future__ import annotations

import io
import math
import os

from PIL import Image, ImageDraw

from rawmeta.io.atomic import atomic_write_bytes

#: Marker colours, one per series in order.
COLOURS = ((31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75),
           (227, 119, 194), (127, 127, 127))
_W, _H, _M = 720, 480, 60  # image size and margin


def _ticks(lo: float, hi: float, log: bool) -> list[float]:
    if log:
        return [10.0**k for k in range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1)]
    step = max(1, round((hi - lo) / 8))
    return list(range(math.floor(lo), math.ceil(hi) + 1, step))


def scatter_png(path: str | os.PathLike, series: dict[str, list[tuple[float, float]]], title: str,
                xlabel: str, ylabel: str, log_x: bool = True, lines: bool = False,
                hline: float | None = None) -> None:
    """Write a scatter plot of ``series`` (name -> [(x, y), ...]) to ``path``, atomically.

    ``log_x`` puts x on a log-10 axis (x must then be positive); ``lines``
    joins each series' points in x order; ``hline`` draws a dashed
    horizontal reference line at that y.
    """
    points = [p for pts in series.values() for p in pts]
    if not points:
        raise ValueError("nothing to plot")
    fx = (lambda v: math.log10(v)) if log_x else (lambda v: v)
    xs, ys = [fx(x) for x, _ in points], [y for _, y in points] + ([hline] if hline is not None else [])
    x_ticks = _ticks(min(x for x, _ in points), max(x for x, _ in points), log_x)
    y_ticks = _ticks(min(ys) - 0.5, max(ys) + 0.5, False)
    x0, x1 = min(fx(x_ticks[0]), min(xs)), max(fx(x_ticks[-1]), max(xs))
    y0, y1 = min(y_ticks[0], min(ys)), max(y_ticks[-1], max(ys))

    def at(x: float, y: float) -> tuple[float, float]:
        return (_M + (fx(x) - x0) / (x1 - x0 or 1) * (_W - 2 * _M),
                _H - _M - (y - y0) / (y1 - y0 or 1) * (_H - 2 * _M))

    img = Image.new("RGB", (_W, _H), "white")
    d = ImageDraw.Draw(img)
    d.rectangle([_M, _M, _W - _M, _H - _M], outline="black")
    for t in x_ticks:
        px, _ = at(t, y0)
        d.line([px, _H - _M, px, _H - _M + 5], fill="black")
        d.text((px - 10, _H - _M + 8), f"{t:g}", fill="black")
    for t in y_ticks:
        _, py = at(x_ticks[0], t)
        d.line([_M - 5, py, _M, py], fill="black")
        d.text((_M - 30, py - 6), f"{t:g}", fill="black")
    d.text((_W / 2 - 4 * len(title), 20), title, fill="black")
    d.text((_W / 2 - 3 * len(xlabel), _H - 25), xlabel, fill="black")
    d.text((5, _M - 25), ylabel, fill="black")
    if hline is not None:
        _, py = at(x_ticks[0], hline)
        for px in range(_M, _W - _M, 12):
            d.line([px, py, min(px + 6, _W - _M), py], fill="grey")
    for k, (name, pts) in enumerate(series.items()):
        colour = COLOURS[k % len(COLOURS)]
        if lines and len(pts) > 1:
            d.line([at(x, y) for x, y in sorted(pts)], fill=colour, width=2)
        for x, y in pts:
            px, py = at(x, y)
            d.ellipse([px - 4, py - 4, px + 4, py + 4], fill=colour)
        d.rectangle([_W - _M - 150, _M + 10 + 18 * k, _W - _M - 140, _M + 20 + 18 * k], fill=colour)
        d.text((_W - _M - 134, _M + 8 + 18 * k), name, fill="black")
    buf = io.BytesIO()
    img.save(buf, "PNG")
    atomic_write_bytes(path, buf.getvalue())
