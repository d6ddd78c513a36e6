"""The digest chart: spend per day per agent against its daily budget line, as PNG bytes.

matplotlib's object API with the Agg canvas: no pyplot global state, so it is safe in worker threads.
matplotlib is imported when a chart is drawn, not when this module is: it takes most of a second, and the CLI
(whose `--help` imports the digest flows) must not pay for it.
"""

from __future__ import annotations

import io

from services.digests.service import Digest

MAX_SERIES = 8


def render_chart(digest: Digest) -> bytes | None:
    """None when there is nothing to draw (no spend in the window)."""
    if not digest.daily or not any(any(v) for v in digest.daily.values()):
        return None
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    ranked = sorted(digest.daily.items(), key=lambda item: -sum(item[1]))
    shown, rest = ranked[:MAX_SERIES], ranked[MAX_SERIES:]
    if rest:
        shown.append((f"{len(rest)} others", [sum(v[i] for _, v in rest) for i in range(len(digest.chart_days))]))
    figure = Figure(figsize=(9, 4.5), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot(1, 1, 1)
    for name, values in shown:
        (line,) = axes.plot(digest.chart_days, values, marker="o", markersize=3, linewidth=1.6, label=name)
        budget = digest.daily_budget.get(name)
        if budget is not None:
            axes.axhline(budget, color=line.get_color(), linestyle="--", linewidth=1, alpha=0.8)
    axes.axvspan(digest.period.start, digest.chart_days[-1], color="#999999", alpha=0.08, label="this digest")
    axes.set_title(f"Spend per day (dashed: daily budget), {digest.period_label}")
    axes.set_ylabel("USD")
    axes.grid(True, alpha=0.3)
    axes.legend(fontsize=8, loc="upper left")
    figure.autofmt_xdate()
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
