"""Inline SVG charts for self-contained reports (no JavaScript, no CDN).

Reusable by every report (rollout stages, game days): line/area charts over
time with shaded windows, distribution overlays (histogram and ECDF) and
horizontal bar charts. Each returns `markupsafe.Markup`, so Jinja2's
autoescape leaves the SVG alone while every label inside is escaped here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from markupsafe import Markup, escape

from harness.report._model import Distribution, Series, Window

__all__ = ["line_chart", "histogram_chart", "ecdf_chart", "bar_chart", "color_for"]

_PALETTE = ["#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"]
_PAD_L, _PAD_R, _PAD_T, _PAD_B = 56, 12, 28, 34


def color_for(label: str, index: int) -> str:
    """Baseline is always blue and canary always orange; others cycle."""
    low = label.lower()
    if "canary" in low:
        return "#e8590c"
    if "baseline" in low:
        return "#1c7ed6"
    return _PALETTE[index % len(_PALETTE)]


def _dash(label: str) -> str:
    low = label.lower()
    if low.startswith("p99"):
        return ' stroke-dasharray="2 3"'
    if low.startswith("p50"):
        return ' stroke-dasharray="6 3"'
    return ""


def _ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    if hi <= lo:
        hi = lo + 1.0
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = min((m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw), default=10 * mag)
    start = math.ceil(lo / step) * step
    return [start + i * step for i in range(int((hi - start) / step + 1e-9) + 1)]


def _fmt(v: float) -> str:
    if v == 0:
        return "0"
    if abs(v) >= 1000:
        return f"{v / 1000:g}k"
    return f"{v:.3g}"


class _Frame:
    """Maps data coordinates to pixels and draws axes."""

    def __init__(self, width: int, height: int, x: tuple[float, float], y: tuple[float, float], log_x: bool = False):
        self.w, self.h, self.log_x = width, height, log_x
        self.x0, self.x1 = (math.log10(x[0]), math.log10(x[1])) if log_x else x
        self.y0, self.y1 = y
        if self.x1 <= self.x0:
            self.x1 = self.x0 + 1
        if self.y1 <= self.y0:
            self.y1 = self.y0 + 1

    def px(self, x: float) -> float:
        xv = math.log10(max(x, 1e-9)) if self.log_x else x
        return _PAD_L + (xv - self.x0) / (self.x1 - self.x0) * (self.w - _PAD_L - _PAD_R)

    def py(self, y: float) -> float:
        return self.h - _PAD_B - (y - self.y0) / (self.y1 - self.y0) * (self.h - _PAD_T - _PAD_B)

    def axes(self, title: str, x_label: str, y_unit: str) -> list[str]:
        suffix = f" ({y_unit})" if y_unit else ""
        parts = [f'<text x="{_PAD_L}" y="16" class="ct">{escape(title)}{escape(suffix)}</text>']
        for t in _ticks(self.y0, self.y1):
            y = self.py(t)
            parts.append(f'<line x1="{_PAD_L}" x2="{self.w - _PAD_R}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>')
            parts.append(f'<text x="{_PAD_L - 4}" y="{y + 4:.1f}" text-anchor="end" class="tick">{_fmt(t)}</text>')
        if self.log_x:
            xt = [10.0**e for e in range(math.floor(self.x0), math.ceil(self.x1) + 1) if self.x0 <= e <= self.x1]
        else:
            xt = _ticks(self.x0, self.x1, 8)
        for t in xt:
            x = self.px(t)
            parts.append(f'<text x="{x:.1f}" y="{self.h - _PAD_B + 14}" text-anchor="middle" class="tick">{_fmt(t)}</text>')
        parts.append(
            f'<text x="{self.w - _PAD_R}" y="{self.h - 4}" text-anchor="end" class="tick">{escape(x_label)}</text>'
            f'<line x1="{_PAD_L}" x2="{self.w - _PAD_R}" y1="{self.h - _PAD_B}" y2="{self.h - _PAD_B}" class="axis"/>'
        )
        return parts


def _svg(width: int, height: int, title: str, body: list[str], legend: list[tuple[str, str]]) -> Markup:
    items = "".join(
        f'<span class="lg"><i style="background:{color}"></i>{escape(label)}</span>' for label, color in legend
    )
    svg = (
        f'<svg viewBox="0 0 {width} {height}" width="100%" role="img" aria-label="{escape(title)}" class="chart">'
        + "".join(body)
        + "</svg>"
    )
    return Markup(f'<figure class="fig">{svg}<figcaption>{items}</figcaption></figure>')


def _empty(title: str, width: int, height: int) -> Markup:
    return _svg(width, height, title, [
        f'<text x="{_PAD_L}" y="16" class="ct">{escape(title)}</text>',
        f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" class="tick">no data</text>',
    ], [])


def line_chart(
    series: Sequence[Series],
    *,
    title: str,
    windows: Sequence[Window] = (),
    width: int = 760,
    height: int = 240,
    area: bool = False,
    x_label: str = "seconds",
) -> Markup:
    """Lines (or filled areas) over time, with `windows` shaded and labelled."""
    points = [(t, y) for s in series for t, y in zip(s.t, s.y) if y is not None]
    if not points:
        return _empty(title, width, height)
    xs = [p[0] for p in points] + [w.start for w in windows] + [w.end for w in windows]
    y_hi = max(p[1] for p in points)
    frame = _Frame(width, height, (min(0.0, min(xs)), max(xs)), (0.0, y_hi * 1.08 if y_hi > 0 else 1.0))
    unit = series[0].unit if series else ""
    body = []
    for w in windows:
        x0, x1 = frame.px(w.start), frame.px(w.end)
        cls = "win-fault" if w.kind == "fault" else "win-other"
        body.append(
            f'<rect x="{x0:.1f}" y="{_PAD_T}" width="{max(x1 - x0, 1):.1f}" height="{height - _PAD_T - _PAD_B}" class="{cls}">'
            f"<title>{escape(w.label)}</title></rect>"
            f'<text x="{x0 + 3:.1f}" y="{_PAD_T + 11}" class="wl {cls}-l">{escape(w.label)}</text>'
        )
    body += frame.axes(title, x_label, unit)
    legend = []
    for i, s in enumerate(series):
        color = color_for(s.name, i)
        legend.append((s.name, color))
        pts = [(frame.px(t), frame.py(y)) for t, y in zip(s.t, s.y) if y is not None]
        if not pts:
            continue
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
        if area:
            base = frame.py(0.0)
            body.append(
                f'<polygon points="{pts[0][0]:.1f},{base:.1f} {path} {pts[-1][0]:.1f},{base:.1f}" '
                f'fill="{color}" fill-opacity="0.18" stroke="none"/>'
            )
        body.append(
            f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="1.6"{_dash(s.name)}>'
            f"<title>{escape(s.name)}</title></polyline>"
        )
    return _svg(width, height, title, body, legend)


def histogram_chart(dists: Sequence[Distribution], *, title: str, width: int = 760, height: int = 240) -> Markup:
    """Overlaid histograms (share of requests per log-spaced latency bin)."""
    usable = [d for d in dists if d.count > 0 and d.counts]
    if not usable:
        return _empty(title, width, height)
    edges = usable[0].edges
    shares = [[c / d.count for c in d.counts] for d in usable]
    frame = _Frame(width, height, (edges[0], edges[-1]), (0.0, max(max(s) for s in shares) * 1.1), log_x=True)
    body = frame.axes(title, usable[0].unit + " (log scale)", "share")
    legend = []
    for i, (d, share) in enumerate(zip(usable, shares)):
        color = color_for(d.label, i)
        legend.append((f"{d.label} (n={d.count})", color))
        path = [f"{frame.px(edges[0]):.1f},{frame.py(0):.1f}"]
        for j, s in enumerate(share):
            path += [f"{frame.px(d.edges[j]):.1f},{frame.py(s):.1f}", f"{frame.px(d.edges[j + 1]):.1f},{frame.py(s):.1f}"]
        path.append(f"{frame.px(edges[-1]):.1f},{frame.py(0):.1f}")
        body.append(f'<polygon points="{" ".join(path)}" fill="{color}" fill-opacity="0.25" stroke="{color}" stroke-width="1.2"/>')
    return _svg(width, height, title, body, legend)


def ecdf_chart(dists: Sequence[Distribution], *, title: str, width: int = 760, height: int = 240) -> Markup:
    """Overlaid empirical CDFs from each distribution's 101 quantiles."""
    usable = [d for d in dists if d.count > 0 and d.quantiles]
    if not usable:
        return _empty(title, width, height)
    lo = max(min(d.quantiles[0] for d in usable), 0.01)
    hi = max(max(d.quantiles[-1] for d in usable), lo * 1.01)
    frame = _Frame(width, height, (lo, hi), (0.0, 1.0), log_x=True)
    body = frame.axes(title, usable[0].unit + " (log scale)", "fraction ≤ x")
    legend = []
    for i, d in enumerate(usable):
        color = color_for(d.label, i)
        legend.append((f"{d.label} (n={d.count})", color))
        n = len(d.quantiles) - 1
        path = " ".join(f"{frame.px(max(q, lo)):.1f},{frame.py(k / n):.1f}" for k, q in enumerate(d.quantiles))
        body.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="1.8"/>')
    return _svg(width, height, title, body, legend)


def bar_chart(items: Sequence[tuple[str, float]], *, title: str, unit: str = "", width: int = 760) -> Markup:
    """Horizontal bars, one per (label, value); e.g. cold starts or cost per revision."""
    if not items:
        return _empty(title, width, 80)
    row, label_w = 22, 190
    height = _PAD_T + row * len(items) + 10
    top = max(v for _, v in items) or 1.0
    body = [f'<text x="4" y="16" class="ct">{escape(title)}</text>']
    for i, (label, value) in enumerate(items):
        y = _PAD_T + i * row
        bar = (width - label_w - 90) * max(value, 0.0) / top
        body.append(
            f'<text x="{label_w - 6}" y="{y + 14}" text-anchor="end" class="tick">{escape(label)}</text>'
            f'<rect x="{label_w}" y="{y + 3}" width="{bar:.1f}" height="{row - 6}" fill="{color_for(label, i)}"/>'
            f'<text x="{label_w + bar + 4:.1f}" y="{y + 14}" class="tick">{value:.3g} {escape(unit)}</text>'
        )
    return _svg(width, height, title, body, [])
