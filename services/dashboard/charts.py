"""Charts as inline SVG drawn on the server: no script, no CDN, readable on a cheap phone.

Every chart is an ``<svg role="img">`` with a ``<title>`` and ``<desc>`` (what a screen
reader announces) and a text label for each value, so nothing is told by colour alone.
Colours are presentation attributes, not inline styles, so a strict CSP allows them.

The charts have no viewBox: horizontal positions are percentages of the chart's width
and vertical ones are pixels, so a chart fills a 390 px phone or a desktop column while
its text stays the same readable size. The trend line is drawn in a nested, stretched
viewBox (``preserveAspectRatio="none"``, non-scaling stroke) whose x axis is the same
0-100 % as the rest.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"
TONES = {
    "brand": "#2f7a4f",
    "accent": "#1f5f8b",
    "grey": "#98a2b3",
    "rentan": "#d92d20",
    "berkembang": "#dc8a06",
    "tangguh": "#079455",
}
TRACK = "#eaecf0"
INK = "#1d2939"
MUTED = "#475467"
GRID = "#d0d5dd"
ZONES = ("#fef3f2", "#fffaeb", "#ecfdf3")  # behind rentan, berkembang, tangguh


@dataclass(frozen=True)
class Bar:
    """One horizontal bar: ``value`` sets its length, ``text`` is the label shown for it;
    ``key`` and ``raw`` are written as data attributes (the value a test can check)."""

    label: str
    value: float
    text: str
    tone: str = "brand"
    key: str = ""
    raw: float | None = None


@dataclass(frozen=True)
class Point:
    label: str
    value: float | None
    text: str
    sublabel: str = ""


@dataclass(frozen=True)
class Series:
    name: str
    tone: str
    values: Sequence[float | None]
    texts: Sequence[str]


def _pct(x: float) -> str:
    return f"{x:.2f}%"


def _open(chart_id: str, title: str, desc: str, height: int) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="100%" '
        f'height="{height}" font-family="{FONT}" aria-labelledby="{chart_id}-t {chart_id}-d" '
        f'id="{chart_id}"><title id="{chart_id}-t">{escape(title)}</title>'
        f'<desc id="{chart_id}-d">{escape(desc)}</desc>'
    )


def _text(
    x: str, y: float, text: str, *, size: int = 13, anchor: str = "start", **attrs: str
) -> str:
    extra = "".join(f' {k.rstrip("_").replace("_", "-")}="{escape(v)}"' for k, v in attrs.items())
    fill = "" if "fill" in attrs else f' fill="{INK}"'
    return (
        f'<text x="{x}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}"{fill}{extra}>'
        f"{escape(text)}</text>"
    )


def hbars(
    bars: Sequence[Bar], *, chart_id: str, title: str, desc: str, max_value: float | None = None
) -> Markup:
    """Labelled horizontal bars, one per row, the value written at the row's right end."""
    row = 42
    top = max([b.value for b in bars] + [0])
    scale_max = max_value if max_value is not None else top
    parts = [_open(chart_id, title, desc, max(row * len(bars), row) + 2)]
    for i, bar in enumerate(bars):
        y = i * row
        share = 0.0 if not scale_max else max(0.0, min(1.0, bar.value / scale_max))
        data = ""
        if bar.key:
            data = f' data-k="{escape(bar.key)}" data-v="{escape(json.dumps(bar.raw))}"'
        parts.append(f'<g class="bar"{data}><title>{escape(bar.label)}: {escape(bar.text)}</title>')
        parts.append(_text("0", y + 15, bar.label, size=14))
        parts.append(
            _text(
                "100%", y + 15, bar.text, size=14, anchor="end", font_weight="700", class_="value"
            )
        )
        parts.append(f'<rect x="0" y="{y + 22}" width="100%" height="12" rx="3" fill="{TRACK}"/>')
        if share > 0:
            parts.append(
                f'<rect x="0" y="{y + 22}" width="{_pct(max(0.6, 100 * share))}" height="12" '
                f'rx="3" fill="{TONES[bar.tone]}"/>'
            )
        parts.append("</g>")
    parts.append("</svg>")
    return Markup("".join(parts))


def line_chart(
    points: Sequence[Point],
    *,
    chart_id: str,
    title: str,
    desc: str,
    y_max: float = 100,
    thresholds: Sequence[float] = (),
    tick_text: Sequence[str] = (),
) -> Markup:
    """A line over months, broken where a month has no value, with band zones behind it.

    ``thresholds`` are the band limits (shaded zones and dashed lines), ``tick_text``
    their labels. Axis labels sit inside the plot's left edge, above their grid line.
    """
    height, top, bottom = 220, 16, 42
    plot_h = height - top - bottom
    left, right = 7.0, 3.0  # percent of the width kept free for the axis labels

    def y_of(v: float) -> float:
        return top + plot_h * (1 - max(0.0, min(v, y_max)) / y_max)

    def x_of(i: int) -> float:
        span = 100 - left - right
        return left + (span * i / (len(points) - 1) if len(points) > 1 else span / 2)

    parts = [_open(chart_id, title, desc, height)]
    edges = [0.0, *thresholds, y_max]
    for fill, low, high in zip(ZONES, edges, edges[1:], strict=False):
        parts.append(
            f'<rect x="0" y="{y_of(high):.1f}" width="100%" '
            f'height="{y_of(low) - y_of(high):.1f}" fill="{fill}"/>'
        )
    ticks = [(0.0, "0"), *zip(thresholds, tick_text, strict=False), (y_max, f"{y_max:g}")]
    for value, label in ticks:
        y = y_of(value)
        dash = ' stroke-dasharray="4 3"' if 0 < value < y_max else ""
        parts.append(f'<line x1="0" x2="100%" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"{dash}/>')
        parts.append(_text("2", y - 3 if value > 0 else y + 12, label, size=10, fill=MUTED))
    runs: list[list[tuple[float, float]]] = [[]]
    for i, p in enumerate(points):
        if p.value is None:
            runs.append([])
        else:
            runs[-1].append((x_of(i), y_of(p.value)))
    lines = [" ".join(f"{10 * x:.1f},{y:.1f}" for x, y in run) for run in runs if len(run) > 1]
    if lines:
        parts.append(
            f'<svg x="0" y="0" width="100%" height="{height}" viewBox="0 0 1000 {height}" '
            f'preserveAspectRatio="none" aria-hidden="true">'
        )
        for path in lines:
            parts.append(
                f'<polyline points="{path}" fill="none" stroke="{TONES["brand"]}" '
                f'stroke-width="2.5" stroke-linejoin="round" vector-effect="non-scaling-stroke"/>'
            )
        parts.append("</svg>")
    for i, p in enumerate(points):
        x = _pct(x_of(i))
        parts.append(_text(x, height - bottom + 17, p.label, size=11, anchor="middle"))
        if p.sublabel:
            parts.append(
                _text(x, height - bottom + 31, p.sublabel, size=10, anchor="middle", fill=MUTED)
            )
        if p.value is not None:
            parts.append(
                f'<circle cx="{x}" cy="{y_of(p.value):.1f}" r="4" fill="{TONES["brand"]}" '
                f'stroke="#fff" stroke-width="1.5"><title>{escape(p.label)} '
                f"{escape(p.sublabel)}: {escape(p.text)}</title></circle>"
            )
    last = next((i for i in range(len(points) - 1, -1, -1) if points[i].value is not None), None)
    if last is not None:
        value = points[last].value or 0.0
        y = y_of(value) - 10 if value < y_max * 0.85 else y_of(value) + 20
        parts.append(
            _text(_pct(x_of(last)), y, points[last].text, size=13, anchor="end", font_weight="700")
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def grouped_bars(
    groups: Sequence[str], series: Sequence[Series], *, chart_id: str, title: str, desc: str
) -> Markup:
    """Vertical bars: for each group (before, after) one bar per series, value on top."""
    height, top, bottom = 230, 28, 32
    plot_h = height - top - bottom
    highest = max([v for s in series for v in s.values if v is not None] + [0])
    group_w = 100 / max(len(groups), 1)
    pad = group_w * 0.12
    bar_w = (group_w - 2 * pad) / max(len(series), 1)
    base = top + plot_h
    parts = [_open(chart_id, title, desc, height)]
    parts.append(f'<line x1="0" x2="100%" y1="{base}" y2="{base}" stroke="{GRID}"/>')
    for g, group in enumerate(groups):
        x0 = g * group_w + pad
        for s, ser in enumerate(series):
            value = ser.values[g]
            x = x0 + s * bar_w
            h = 0.0 if not value or not highest else plot_h * value / highest
            parts.append(
                f"<g><title>{escape(group)}, {escape(ser.name)}: {escape(ser.texts[g])}</title>"
            )
            if h > 0:
                parts.append(
                    f'<rect x="{_pct(x + bar_w * 0.08)}" y="{base - h:.1f}" '
                    f'width="{_pct(bar_w * 0.84)}" height="{h:.1f}" rx="3" '
                    f'fill="{TONES[ser.tone]}"/>'
                )
            parts.append(
                _text(
                    _pct(x + bar_w / 2),
                    base - h - 7,
                    ser.texts[g],
                    size=11,
                    anchor="middle",
                    font_weight="700",
                )
            )
            parts.append("</g>")
        parts.append(
            _text(
                _pct(x0 + len(series) * bar_w / 2),
                height - 9,
                group,
                anchor="middle",
                font_weight="700",
            )
        )
    parts.append("</svg>")
    return Markup("".join(parts))
