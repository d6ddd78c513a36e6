"""The oversight chart: approval rate and median decision time per reviewer over the weeks, as PNG bytes.

matplotlib's object API with the Agg canvas (no pyplot global state, safe in worker threads), imported only when
a chart is drawn, as services.digests.chart does.
"""

from __future__ import annotations

import io
from collections import defaultdict
from datetime import date
from typing import Any

from services.oversight.models import WeekPoint

MAX_REVIEWERS = 8


def render_chart(points: list[WeekPoint] | list[dict[str, Any]], *, title: str = "Reviewers by week") -> bytes | None:
    """None when there is nothing to draw (no decisions in the window). Points may come as their JSON dumps (the
    digest keeps plain data)."""
    points = [p if isinstance(p, WeekPoint) else WeekPoint.model_validate(p) for p in points]
    if not points:
        return None
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    series: dict[str, list[WeekPoint]] = defaultdict(list)
    for point in points:
        series[point.reviewer].append(point)
    busiest = sorted(series, key=lambda r: -sum(p.decisions for p in series[r]))[:MAX_REVIEWERS]
    figure = Figure(figsize=(9, 6), dpi=100)
    FigureCanvasAgg(figure)
    rate, speed = figure.add_subplot(2, 1, 1), figure.add_subplot(2, 1, 2, sharex=None)
    for reviewer in busiest:
        weeks = [date.fromisoformat(p.week) for p in series[reviewer]]
        rate.plot(weeks, [p.approval_rate * 100 for p in series[reviewer]], marker="o", markersize=3, label=reviewer)
        speed.plot(weeks, [p.median_s or 0 for p in series[reviewer]], marker="o", markersize=3, label=reviewer)
    rate.set_title(f"{title}: approval rate")
    rate.set_ylabel("% approved")
    rate.set_ylim(0, 105)
    speed.set_title("Median time to decision")
    speed.set_ylabel("seconds")
    speed.set_yscale("symlog", linthresh=10)
    for axes in (rate, speed):
        axes.grid(True, alpha=0.3)
    rate.legend(fontsize=8, loc="lower left")
    figure.autofmt_xdate()
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
