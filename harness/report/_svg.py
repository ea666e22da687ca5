"""Inline SVG charts for self-contained reports (no JavaScript, no CDN).

Reusable by every report (rollout stages, game days): line/area charts over
time with shaded windows, objective lines and event marks, distribution
overlays (histogram and ECDF), horizontal bar charts and the small
"baseline vs canary" interval charts of the check cards. Each returns
`markupsafe.Markup`, so Jinja2's autoescape leaves the SVG alone while every
label inside is escaped here.

What the charts promise (issue #16): the objective is drawn and kept in
view; a gap in the data is a gap (or a zero for rates), never a diagonal;
a legend swatch has the dash pattern of its line; no two series of one
chart share a colour; ratios read as percentages.
"""

from __future__ import annotations

import colorsys
import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from harness.report._model import Distribution, Series, Window

__all__ = [
    "Mark",
    "Rule",
    "bar_chart",
    "color_for",
    "colors_for",
    "ecdf_chart",
    "histogram_chart",
    "interval_chart",
    "line_chart",
]

BASELINE, CANARY, FAIL_RED = "#1c7ed6", "#e8590c", "#c92a2a"
# distinct from each other and from the baseline blue and canary orange
_PALETTE = ["#2f9e44", "#7048e8", "#c2255c", "#0c8599", "#8c564b", "#495057", "#b08900", "#1b3a8c", "#f783ac",
            "#66a80f"]
_PAD_L, _PAD_R, _PAD_T, _PAD_B = 58, 14, 30, 36
_CHAR_W = 6.6  # average width of a 12 px tick glyph, for fitting labels


@dataclass(frozen=True)
class Rule:
    """A horizontal line at `value` (an objective, a floor) in the series' unit."""

    value: float
    label: str
    kind: str = "objective"


@dataclass(frozen=True)
class Mark:
    """A vertical line at `t` seconds: fault start, failover, recovery, a stage boundary."""

    t: float
    label: str
    kind: str = "event"  # fault | failover | recovery | event


_MARK_COLOR = {"fault": FAIL_RED, "failover": "#2b8a3e", "recovery": "#1864ab", "event": "#495057"}


def _identity(label: str) -> str:
    """What a colour stands for: the revision or instance, not the percentile."""
    head, _, rest = label.partition(" ")
    return rest if rest and head.lower() in ("p50", "p90", "p95", "p99", "errors", "rps", "cost", "calls") else label


def _extra_color(i: int) -> str:
    if i < len(_PALETTE):
        return _PALETTE[i]
    r, g, b = colorsys.hls_to_rgb(((i - len(_PALETTE)) * 0.618034) % 1.0, 0.38, 0.65)
    return f"#{round(r * 255):02x}{round(g * 255):02x}{round(b * 255):02x}"


def colors_for(labels: Sequence[str]) -> dict[str, str]:
    """One colour per identity in `labels`: baseline blue, canary orange, the rest never repeated."""
    out: dict[str, str] = {}
    by_identity: dict[str, str] = {}
    n = 0
    for label in labels:
        ident = _identity(label)
        low = ident.lower()
        if ident not in by_identity:
            if "canary" in low:
                by_identity[ident] = CANARY
            elif "baseline" in low:
                by_identity[ident] = BASELINE
            else:
                by_identity[ident] = _extra_color(n)
                n += 1
        out[label] = by_identity[ident]
    return out


def color_for(label: str, index: int) -> str:
    """Baseline is always blue and canary always orange; others by index (see `colors_for` for a whole chart)."""
    low = label.lower()
    if "canary" in low:
        return CANARY
    if "baseline" in low:
        return BASELINE
    return _extra_color(index)


def _dash(label: str) -> str:
    low = label.lower()
    if low.startswith("p99"):
        return "2 3"
    if low.startswith("p50"):
        return "7 3"
    return ""


def _ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    if hi <= lo:
        hi = lo + 1.0
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = min((m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw), default=10 * mag)
    start = math.ceil(lo / step - 1e-9) * step
    return [start + i * step for i in range(int((hi - start) / step + 1e-9) + 1)]


def _fmt(v: float) -> str:
    if abs(v) < 1e-12:
        return "0"
    if abs(v) >= 1000:
        return f"{v / 1000:g}k"
    return f"{v:.3g}"


def _scale(unit: str) -> tuple[float, str]:
    """Ratios are shown as percentages (a 0.5 % regression must be visible)."""
    return (100.0, "%") if unit == "ratio" else (1.0, unit)


class _Frame:
    """Maps data coordinates to pixels and draws axes."""

    def __init__(self, width: int, height: int, x: tuple[float, float], y: tuple[float, float], log_x: bool = False,
                 pad_l: float = _PAD_L):
        self.w, self.h, self.log_x, self.pad_l = width, height, log_x, pad_l
        self.x0, self.x1 = (math.log10(x[0]), math.log10(x[1])) if log_x else x
        self.y0, self.y1 = y
        if self.x1 <= self.x0:
            self.x1 = self.x0 + 1
        if self.y1 <= self.y0:
            self.y1 = self.y0 + 1

    @property
    def right(self) -> float:
        return self.w - _PAD_R

    @property
    def bottom(self) -> float:
        return self.h - _PAD_B

    def px(self, x: float) -> float:
        xv = math.log10(max(x, 1e-9)) if self.log_x else x
        return self.pad_l + (xv - self.x0) / (self.x1 - self.x0) * (self.w - self.pad_l - _PAD_R)

    def py(self, y: float) -> float:
        return self.h - _PAD_B - (y - self.y0) / (self.y1 - self.y0) * (self.h - _PAD_T - _PAD_B)

    def axes(self, title: str, x_label: str, y_unit: str) -> list[str]:
        suffix = f" ({y_unit})" if y_unit else ""
        parts = [f'<text x="{self.pad_l}" y="17" class="ct">{escape(title)}{escape(suffix)}</text>']
        for t in _ticks(self.y0, self.y1):
            y = self.py(t)
            parts.append(f'<line x1="{self.pad_l}" x2="{self.right}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>')
            parts.append(f'<text x="{self.pad_l - 5}" y="{y + 4:.1f}" text-anchor="end" class="tick">{_fmt(t)}</text>')
        if self.log_x:
            xt = [10.0**e for e in range(math.floor(self.x0), math.ceil(self.x1) + 1) if self.x0 <= e <= self.x1]
        else:
            xt = _ticks(self.x0, self.x1, max(2, min(8, int((self.w - self.pad_l) / 80))))
        for t in xt:
            x = self.px(t)
            parts.append(f'<text x="{x:.1f}" y="{self.bottom + 15}" text-anchor="middle" class="tick">{_fmt(t)}</text>')
        parts.append(
            f'<text x="{self.right}" y="{self.h - 4}" text-anchor="end" class="tick">{escape(x_label)}</text>'
            f'<line x1="{self.pad_l}" x2="{self.right}" y1="{self.bottom}" y2="{self.bottom}" class="axis"/>'
        )
        return parts


def _swatch(color: str, dash: str = "", area: bool = False) -> str:
    """A legend key drawn like its line: same colour, same dash pattern."""
    if area:
        shape = f'<rect x="0" y="1" width="22" height="8" fill="{color}" fill-opacity="0.35" stroke="{color}"/>'
    else:
        d = f' stroke-dasharray="{dash}"' if dash else ""
        shape = f'<line x1="0" y1="5" x2="22" y2="5" stroke="{color}" stroke-width="2.2"{d}/>'
    return f'<svg class="sw" width="22" height="10" viewBox="0 0 22 10" aria-hidden="true">{shape}</svg>'


def _svg(width: int, height: int, title: str, body: list[str], legend: Sequence[tuple[str, str]]) -> Markup:
    items = "".join(f'<span class="lg">{key}{escape(label)}</span>' for label, key in legend)
    # below this the chart scrolls inside its box instead of shrinking its text to nothing (phones)
    min_w = min(width, 480) if width >= 700 else min(width, 400) if width > 420 else width * 0.8
    svg = (
        f'<svg viewBox="0 0 {width} {height}" width="100%" style="min-width:{min_w:.0f}px" role="img" '
        f'aria-label="{escape(title)}" class="chart{" wide" if width > 420 else ""}">' + "".join(body) + "</svg>"
    )
    caption = f"<figcaption>{items}</figcaption>" if items else ""
    return Markup(f'<figure class="fig"><div class="chartbox">{svg}</div>{caption}</figure>')


def _empty(title: str, width: int, height: int, why: str = "no data") -> Markup:
    return _svg(width, height, title, [
        f'<text x="{_PAD_L}" y="17" class="ct">{escape(title)}</text>',
        f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" class="tick">{escape(why)}</text>',
    ], [])


def _step(series: Sequence[Series]) -> float:
    """The bucket width of the series (the median spacing: robust to a marker point), 1 s when unknown."""
    diffs = sorted(b - a for s in series for a, b in zip(s.t, s.t[1:]) if b > a)
    return diffs[len(diffs) // 2] if diffs else 1.0


def _runs(s: Series, step: float, zero_gaps: bool, factor: float) -> list[list[tuple[float, float]]]:
    """The series cut into unbroken runs: a missing bucket or a None ends a run (or, for rates, is a zero)."""
    runs: list[list[tuple[float, float]]] = [[]]
    last_t: float | None = None
    for t, y in zip(s.t, s.y):
        if last_t is not None and t - last_t > step * 1.5:
            if zero_gaps:
                runs[-1] += [(last_t + step, 0.0), (t - step, 0.0)]
            else:
                runs.append([])
        if y is None or not math.isfinite(y):
            if zero_gaps:
                runs[-1].append((t, 0.0))
            else:
                runs.append([])
        else:
            runs[-1].append((t, y * factor))
        last_t = t
    return [r for r in runs if r]


def _fit(label: str, space: float) -> str:
    """Shorten a label to `space` pixels (the full text stays in the <title>)."""
    room = max(1, int(space / _CHAR_W))
    return label if len(label) <= room else label[: max(1, room - 1)] + "…"


def _windows(frame: _Frame, windows: Sequence[Window]) -> list[str]:
    body: list[str] = []
    top, span = _PAD_T, frame.bottom - _PAD_T
    for i, w in enumerate(windows):
        x0 = max(frame.pad_l, frame.px(w.start))
        x1 = min(frame.right, frame.px(w.end))
        if x1 <= x0:
            continue
        if w.kind == "judged":
            body.append(f'<rect x="{x0:.1f}" y="{frame.bottom - 5:.1f}" width="{x1 - x0:.1f}" height="5" class="win-judged">'
                        f"<title>{escape(w.label)}</title></rect>")
            continue
        cls = "win-fault" if w.kind == "fault" else "win-stage" if w.kind == "stage" else "win-other"
        row = top + 12 + (i % 2) * 13
        text_w = len(w.label) * _CHAR_W
        if x0 + 3 + text_w <= frame.right:  # from the window's start
            x, anchor, label = x0 + 3, "start", w.label
        else:  # near the right edge: ends at the window's end, running left over the plot (never clipped)
            x, anchor, label = x1 - 3, "end", _fit(w.label, x1 - frame.pad_l - 6)
        body.append(
            f'<rect x="{x0:.1f}" y="{top}" width="{max(x1 - x0, 1):.1f}" height="{span:.1f}" class="{cls}">'
            f"<title>{escape(w.label)}</title></rect>"
            f'<text x="{x:.1f}" y="{row}" text-anchor="{anchor}" class="wl {cls}-l">{escape(label)}</text>'
        )
    return body


def _rules(frame: _Frame, rules: Sequence[Rule], factor: float, unit: str) -> list[str]:
    body = []
    for r in rules:
        y = frame.py(r.value * factor)
        text = f"{r.label} {_fmt(r.value * factor)}{' ' + unit if unit else ''}"
        body.append(
            f'<line x1="{frame.pad_l}" x2="{frame.right}" y1="{y:.1f}" y2="{y:.1f}" class="obj"><title>{escape(text)}</title></line>'
            f'<text x="{frame.right - 3}" y="{y - 4:.1f}" text-anchor="end" class="objl">{escape(text)}</text>'
        )
    return body


def _marks(frame: _Frame, marks: Sequence[Mark]) -> list[str]:
    body = []
    for i, m in enumerate(marks):
        x = frame.px(m.t)
        if not frame.pad_l - 0.5 <= x <= frame.right + 0.5:
            continue
        color = _MARK_COLOR.get(m.kind, _MARK_COLOR["event"])
        anchor = "end" if x > frame.right - 90 else "start"
        dx = -3 if anchor == "end" else 3
        row = frame.bottom - 8 - (i % 3) * 13
        body.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{_PAD_T}" y2="{frame.bottom}" stroke="{color}" stroke-width="1.4" '
            f'stroke-dasharray="4 2" class="mark mark-{escape(m.kind)}"><title>{escape(m.label)} at {m.t:.1f} s</title></line>'
            f'<text x="{x + dx:.1f}" y="{row}" text-anchor="{anchor}" class="ml" fill="{color}">{escape(m.label)}</text>'
        )
    return body


def line_chart(
    series: Sequence[Series],
    *,
    title: str,
    windows: Sequence[Window] = (),
    objectives: Sequence[Rule] = (),
    marks: Sequence[Mark] = (),
    width: int = 760,
    height: int = 240,
    area: bool = False,
    x_label: str = "seconds",
    x_range: tuple[float, float] | None = None,
    zero_gaps: bool | None = None,
) -> Markup:
    """Lines (or filled areas) over time with shaded `windows`, objective `Rule`s and event `Mark`s.

    A missing bucket breaks the line; for rates (`req/s`, or `zero_gaps=True`)
    it is drawn as a zero, because no request in that second is a zero rate.
    The y axis starts at zero and always reaches the objectives.
    """
    unit = series[0].unit if series else ""
    factor, shown_unit = _scale(unit)
    if zero_gaps is None:
        zero_gaps = unit in ("req/s", "calls/s")
    step = _step(series)
    runs = {s.name: _runs(s, step, zero_gaps, factor) for s in series}
    points = [p for rs in runs.values() for r in rs for p in r]
    if not points:
        return _empty(title, width, height)
    if x_range is None:
        xs = [p[0] for p in points] + [w.start for w in windows] + [w.end for w in windows]
        x_range = (min(0.0, min(xs)), max(xs))
    y_hi = max([p[1] for p in points] + [r.value * factor for r in objectives])
    frame = _Frame(width, height, x_range, (0.0, y_hi * 1.1 if y_hi > 0 else 1.0))
    body = _windows(frame, windows) + frame.axes(title, x_label, shown_unit)
    clip = "c" + hashlib.sha1(f"{title}{width}{height}{x_range}{[s.name for s in series]}{len(points)}".encode()).hexdigest()[:10]
    body.append(f'<clipPath id="{clip}"><rect x="{frame.pad_l}" y="0" width="{frame.right - frame.pad_l}" height="{height}"/></clipPath>')
    body.append(f'<g clip-path="url(#{clip})">')
    colors = colors_for([s.name for s in series])
    legend = []
    for s in series:
        color, dash = colors[s.name], _dash(s.name)
        legend.append((s.name, _swatch(color, dash, area)))
        d = f' stroke-dasharray="{dash}"' if dash else ""
        for run in runs[s.name]:
            pts = [(frame.px(t), frame.py(y)) for t, y in run]
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
            if area:
                base = frame.py(0.0)
                body.append(f'<polygon points="{pts[0][0]:.1f},{base:.1f} {path} {pts[-1][0]:.1f},{base:.1f}" '
                            f'fill="{color}" fill-opacity="0.18" stroke="none"/>')
            if len(pts) == 1:
                body.append(f'<circle cx="{pts[0][0]:.1f}" cy="{pts[0][1]:.1f}" r="2" fill="{color}"/>')
            body.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="1.7"{d}>'
                        f"<title>{escape(s.name)}</title></polyline>")
    body.append("</g>")
    body += _rules(frame, objectives, factor, shown_unit) + _marks(frame, marks)
    if objectives:
        legend.append(("objective", _swatch(FAIL_RED, "10 3 2 3")))
    if any(w.kind == "judged" for w in windows):
        legend.append(("judged window", '<svg class="sw" width="22" height="10" aria-hidden="true"><rect y="3" width="22" height="5" fill="#1c7ed6" fill-opacity=".45"/></svg>'))
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
    colors = colors_for([d.label for d in usable])
    legend = []
    for d, share in zip(usable, shares):
        color = colors[d.label]
        legend.append((f"{d.label} (n={d.count})", _swatch(color, area=True)))
        path = [f"{frame.px(edges[0]):.1f},{frame.py(0):.1f}"]
        for j, s in enumerate(share):
            path += [f"{frame.px(d.edges[j]):.1f},{frame.py(s):.1f}", f"{frame.px(d.edges[j + 1]):.1f},{frame.py(s):.1f}"]
        path.append(f"{frame.px(edges[-1]):.1f},{frame.py(0):.1f}")
        body.append(f'<polygon points="{" ".join(path)}" fill="{color}" fill-opacity="0.25" stroke="{color}" stroke-width="1.2"/>')
    return _svg(width, height, title, body, legend)


def ecdf_chart(dists: Sequence[Distribution], *, title: str, width: int = 760, height: int = 240,
               objectives: Sequence[Rule] = ()) -> Markup:
    """Overlaid empirical CDFs from each distribution's 101 quantiles; objectives as vertical lines."""
    usable = [d for d in dists if d.count > 0 and d.quantiles]
    if not usable:
        return _empty(title, width, height)
    lo = max(min(d.quantiles[0] for d in usable), 0.01)
    hi = max([max(d.quantiles[-1] for d in usable), lo * 1.01] + [r.value * 1.1 for r in objectives])
    frame = _Frame(width, height, (lo, hi), (0.0, 1.0), log_x=True)
    body = frame.axes(title, usable[0].unit + " (log scale)", "fraction ≤ x")
    colors = colors_for([d.label for d in usable])
    legend = []
    for d in usable:
        color = colors[d.label]
        legend.append((f"{d.label} (n={d.count})", _swatch(color)))
        n = len(d.quantiles) - 1
        path = " ".join(f"{frame.px(max(q, lo)):.1f},{frame.py(k / n):.1f}" for k, q in enumerate(d.quantiles))
        body.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="1.8"/>')
    body += _marks(frame, [Mark(r.value, f"{r.label} {_fmt(r.value)}", "fault") for r in objectives])
    return _svg(width, height, title, body, legend)


def bar_chart(items: Sequence[tuple[str, float]], *, title: str, unit: str = "", width: int = 760,
              objective: Rule | None = None) -> Markup:
    """Horizontal bars, one per (label, value); bars beyond `objective` are red and marked ✗."""
    if not items:
        return _empty(title, width, 80)
    row = 24
    label_w = min(300.0, max(80.0, max(len(label) for label, _ in items) * _CHAR_W + 12))
    height = _PAD_T + row * len(items) + 24
    top = max([v for _, v in items] + ([objective.value * 1.1] if objective else [])) or 1.0
    plot_w = width - label_w - 110
    body = [f'<text x="4" y="17" class="ct">{escape(title)}</text>']
    colors = colors_for([label for label, _ in items])
    for i, (label, value) in enumerate(items):
        y = _PAD_T + i * row
        bar = plot_w * max(value, 0.0) / top
        over = objective is not None and value >= objective.value
        color = FAIL_RED if over else colors[label]
        flag = " ✗ over objective" if over else ""
        cls = ' class="bar-fail"' if over else ""
        tcls = " failtxt" if over else ""
        body.append(
            f'<text x="{label_w - 6:.0f}" y="{y + 15}" text-anchor="end" class="tick">{escape(label)}</text>'
            f'<rect x="{label_w:.0f}" y="{y + 3}" width="{bar:.1f}" height="{row - 7}" fill="{color}"'
            f"{cls}><title>{escape(label)}: {value:.3g} {escape(unit)}</title></rect>"
            f'<text x="{label_w + bar + 4:.1f}" y="{y + 15}" class="tick{tcls}">{value:.3g} {escape(unit)}{flag}</text>'
        )
    if objective is not None:
        x = label_w + plot_w * objective.value / top
        bottom = _PAD_T + row * len(items)
        body.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{_PAD_T - 4}" y2="{bottom + 2}" class="obj"/>'
            f'<text x="{x:.1f}" y="{bottom + 16}" text-anchor="middle" class="objl">{escape(objective.label)} '
            f"{_fmt(objective.value)} {escape(unit)}</text>"
        )
    return _svg(width, height, title, body, [])


def interval_chart(
    rows: Sequence[tuple[str, float | None, tuple[float, float] | None, int | None]],
    *,
    title: str,
    unit: str,
    objective: Rule | None = None,
    width: int = 360,
) -> Markup:
    """A small multiple: one bar per (label, value, interval, n), the interval as whiskers, the objective as a line.

    Used for each check's baseline-vs-canary card (Kayenta's per-metric view).
    """
    factor, shown = _scale(unit)
    known = [v for _, v, _, _ in rows if v is not None]
    if not rows or not known and objective is None:
        return _empty(title, width, 70, "no value: not enough data")
    ends = [v * factor for v in known]
    for _, _, iv, _ in rows:
        if iv is not None:
            ends += [b * factor for b in iv if math.isfinite(b)]
    if objective is not None:
        ends.append(objective.value * factor)
    lo, hi = min([0.0, *ends]), max([0.0, *ends])
    pad = (hi - lo) * 0.12 or 1.0
    row, label_w, top = 30, 70, _PAD_T + 14
    height = top + row * len(rows) + 30
    frame = _Frame(width, height, (lo - (pad if lo < 0 else 0), hi + pad), (0, 1), pad_l=label_w)
    body = [f'<text x="4" y="17" class="ct">{escape(title)}{escape(f" ({shown})" if shown else "")}</text>']
    for t in _ticks(frame.x0, frame.x1, 4):
        x = frame.px(t)
        body.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{height - 26}" class="grid"/>'
                    f'<text x="{x:.1f}" y="{height - 12}" text-anchor="middle" class="tick">{_fmt(t)}</text>')
    colors = colors_for([label for label, *_ in rows])
    zero = frame.px(0.0)
    for i, (label, value, iv, n) in enumerate(rows):
        y = top + i * row
        body.append(f'<text x="{label_w - 6}" y="{y + 12}" text-anchor="end" class="tick">{escape(_fit(label, label_w - 8))}'
                    f"<title>{escape(label)}</title></text>")
        if n is not None:
            body.append(f'<text x="{label_w - 6}" y="{y + 24}" text-anchor="end" class="tick nn">n={n}</text>')
        if value is None:
            body.append(f'<text x="{zero + 4:.1f}" y="{y + 16}" class="tick">no value</text>')
            continue
        x = frame.px(value * factor)
        body.append(f'<rect x="{min(x, zero):.1f}" y="{y + 5}" width="{abs(x - zero):.1f}" height="{row - 10}" '
                    f'fill="{colors[label]}" fill-opacity="0.75"><title>{escape(label)} {_fmt(value * factor)} {escape(shown)}'
                    f"{' n=' + str(n) if n is not None else ''}</title></rect>")
        if iv is not None:
            a = frame.px(iv[0] * factor) if math.isfinite(iv[0]) else frame.pad_l
            b = frame.px(iv[1] * factor) if math.isfinite(iv[1]) else frame.right
            mid = y + row / 2
            body.append(f'<path d="M{a:.1f},{mid - 5:.1f}V{mid + 5:.1f}M{a:.1f},{mid:.1f}H{b:.1f}M{b:.1f},{mid - 5:.1f}V{mid + 5:.1f}" '
                        f'stroke="#212529" stroke-width="1.3" fill="none" class="ci"/>')
        label_text = _fmt(value * factor)
        need = len(label_text) * _CHAR_W + 8
        after = max(x, zero, frame.px(iv[1] * factor) if iv is not None and math.isfinite(iv[1]) else 0.0)
        if after + need <= width - 4:
            body.append(f'<text x="{after + 4:.1f}" y="{y + 16}" class="tick val">{label_text}</text>')
        else:  # no room to the right: inside the bar, white on the bar colour
            body.append(f'<text x="{max(x, zero) - 4:.1f}" y="{y + 16}" text-anchor="end" class="tick val inbar">{label_text}</text>')
    if objective is not None:
        x = frame.px(objective.value * factor)
        text = f"{objective.label} {_fmt(objective.value * factor)}"
        half = len(text) * _CHAR_W / 2 + 2
        body.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top - 6}" y2="{height - 26}" class="obj">'
                    f"<title>{escape(text)} {escape(shown)}</title></line>"
                    f'<text x="{min(max(x, half), width - half):.1f}" y="{top - 9}" text-anchor="middle" class="objl">'
                    f"{escape(text)}</text>")
    return _svg(width, height, title, body, [])
