"""Charts as inline SVG, drawn on the server: no chart library, no script, no outside assets.

Pure functions from numbers to markup (labels escaped), so they are tested by reading the SVG they return.
Colours are presentation attributes, not style attributes, so the page's Content-Security-Policy holds.
"""

from __future__ import annotations

import math
from datetime import date

from markupsafe import Markup, escape

COST, WASTE, BUDGET, GRID = "#2f5bea", "#e2574c", "#b54708", "#e4e7ec"


def axis(value: float, ticks: int = 4) -> tuple[float, float]:
    """(top, step) of a y axis over 0..value: a round step (1, 2, 2.5 or 5 times a power of ten) giving at most
    `ticks` intervals, and the first multiple of it at or above `value`."""
    if value <= 0:
        return 1.0, 0.25
    raw = value / ticks
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if raw <= m * power * (1 + 1e-9))
    return step * math.ceil(value / step - 1e-9), step


def nice_max(value: float) -> float:
    """A round axis top at or above `value`."""
    return axis(value)[0]


def dollars(value: float) -> str:
    if value >= 100:
        return f"${value:,.0f}"
    if value >= 1:
        return f"${value:.2f}".rstrip("0").rstrip(".")
    return f"${value:.3f}".rstrip("0").rstrip(".") if value else "$0"


def daily_bars(*, title: str, days: list[date], cost: list[float], waste: list[float], budget: float | None,
               width: int = 560, height: int = 230) -> Markup:
    """Spend per day (blue) beside waste per day (red), against the daily budget (dashed line)."""
    left, right, top, bottom = 52, 10, 28, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    top_value, step = axis(max([*cost, *waste, (budget or 0) * 1.1, 0.0]))

    def y(value: float) -> float:
        return top + plot_h - plot_h * value / top_value

    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
             f'xmlns="http://www.w3.org/2000/svg">',
             f'<text class="title" x="{left}" y="16">{escape(title)}</text>']
    for i in range(round(top_value / step) + 1):
        value = step * i
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y(value):.1f}" y2="{y(value):.1f}" '
                     f'stroke="{GRID}" stroke-width="1"/>')
        parts.append(f'<text x="{left - 6}" y="{y(value) + 4:.1f}" text-anchor="end">{dollars(value)}</text>')
    slot = plot_w / max(1, len(days))
    bar = max(2.0, slot * 0.5)
    for i, day in enumerate(days):
        x = left + i * slot + (slot - bar * 1.4) / 2
        spend, lost = cost[i], waste[i]
        parts.append(f'<rect x="{x:.1f}" y="{y(spend):.1f}" width="{bar:.1f}" height="{y(0) - y(spend):.1f}" '
                     f'fill="{COST}" rx="1.5"><title>{day.isoformat()}: {dollars(spend)} spent</title></rect>')
        if lost > 0:
            parts.append(f'<rect x="{x + bar:.1f}" y="{y(lost):.1f}" width="{bar * 0.4:.1f}" '
                         f'height="{y(0) - y(lost):.1f}" fill="{WASTE}"><title>{day.isoformat()}: '
                         f'{dollars(lost)} wasted</title></rect>')
        if (len(days) - 1 - i) % max(1, math.ceil(len(days) / 7)) == 0:  # counted back, so today is labelled
            parts.append(f'<text x="{x + bar / 2:.1f}" y="{height - bottom + 16}" text-anchor="middle">'
                         f'{day.strftime("%b %d").replace(" 0", " ")}</text>')
    if budget:
        parts.append(f'<line class="budget" x1="{left}" x2="{width - right}" y1="{y(budget):.1f}" '
                     f'y2="{y(budget):.1f}" stroke="{BUDGET}" stroke-width="1.5" stroke-dasharray="6 4"/>')
        parts.append(f'<text x="{width - right}" y="{y(budget) - 5:.1f}" text-anchor="end" fill="{BUDGET}">'
                     f'daily budget {dollars(budget)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def hbars(*, title: str, rows: list[tuple[str, float | None, str]], color: str = COST, width: int = 560) -> Markup:
    """One horizontal bar per (label, value, caption); a None value is drawn as 'no data' instead of zero."""
    label_w, row_h, top = 130, 26, 28
    height = top + row_h * max(1, len(rows)) + 8
    plot_w = width - label_w - 90
    top_value = nice_max(max([v for _, v, _ in rows if v is not None] or [0.0]))
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
             f'xmlns="http://www.w3.org/2000/svg">', f'<text class="title" x="0" y="16">{escape(title)}</text>']
    if not rows:
        parts.append(f'<text x="0" y="{top + 16}">no agents</text>')
    for i, (label, value, caption) in enumerate(rows):
        y = top + i * row_h
        parts.append(f'<text class="value" x="{label_w - 8}" y="{y + 16}" text-anchor="end">'
                     f'{escape(label[:18])}</text>')
        if value is None:
            parts.append(f'<text x="{label_w}" y="{y + 16}">{escape(caption)}</text>')
            continue
        if value <= 0:
            parts.append(f'<text class="value" x="{label_w}" y="{y + 16}">{escape(caption)}</text>')
            continue
        length = max(1.0, plot_w * value / top_value)
        parts.append(f'<rect x="{label_w}" y="{y + 4}" width="{length:.1f}" height="{row_h - 10}" fill="{color}" '
                     f'rx="2"><title>{escape(label)}: {escape(caption)}</title></rect>')
        parts.append(f'<text class="value" x="{label_w + length + 6:.1f}" y="{y + 16}">{escape(caption)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
