"""The SVG charts: scaled to a round top, budget line where the budget is, labels escaped, None not drawn as 0."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from web import charts


def test_nice_max_rounds_up() -> None:
    """Axis tops are round numbers at or above the data."""
    assert [charts.nice_max(v) for v in (0, 0.7, 1.0, 1.3, 2.2, 4.9, 7.5, 130)] == [1, 1, 1, 2, 2.5, 5, 10, 200]


def test_daily_bars_put_the_budget_line_at_its_height() -> None:
    """With a $2 budget on a $2.50 axis, the dashed line sits 80% up the plot; bar heights follow the costs."""
    days = [date(2026, 11, 1) + timedelta(days=i) for i in range(3)]
    svg = str(charts.daily_bars(title="q <script>", days=days, cost=[1.0, 2.25, 0.0], waste=[0, 0.5, 0],
                                budget=2.0, width=560, height=230))
    assert "<script>" not in svg and "q &lt;script&gt;" in svg
    top, plot_h = 28, 230 - 28 - 34
    line = re.search(r'class="budget" x1="\d+" x2="\d+" y1="([\d.]+)"', svg)
    assert line and abs(float(line.group(1)) - (top + plot_h * 0.2)) < 0.2
    heights = [float(h) for h in re.findall(r'<rect x="[\d.]+" y="[\d.]+" width="[\d.]+" height="([\d.]+)" '
                                            r'fill="#2f5bea"', svg)]
    assert heights[0] * 2.25 == pytest.approx(heights[1]) and heights[2] == 0
    assert "$0.5 wasted" in svg and "daily budget $2" in svg


def test_hbars_say_no_data_instead_of_zero() -> None:
    """An agent with no approvals shows a caption, not a zero-length bar."""
    svg = str(charts.hbars(title="per outcome", rows=[("a", 0.5, "$0.5"), ("b", None, "no approvals yet")]))
    assert svg.count("<rect") == 1 and "no approvals yet" in svg
