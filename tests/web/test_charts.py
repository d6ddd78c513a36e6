"""The SVG charts: scaled to a round top, budget line where the budget is, labels escaped, None not drawn as 0."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from web import charts


def test_axis_takes_round_steps_to_a_top_at_or_above_the_data() -> None:
    """At most four round intervals: $2.30 gets 0, 1, 2, 3; $0.70 gets steps of 0.2 up to 0.8."""
    found = [x for v in (0, 0.7, 1.0, 1.3, 2.3, 4.9, 130) for x in charts.axis(v)]
    assert found == pytest.approx([1, 0.25, 0.8, 0.2, 1, 0.25, 1.5, 0.5, 3, 1, 6, 2, 150, 50])


def test_daily_bars_put_the_budget_line_at_its_height() -> None:
    """With a $2 budget on a $3 axis, the dashed line sits two thirds up the plot; bars follow the costs."""
    days = [date(2026, 11, 1) + timedelta(days=i) for i in range(3)]
    svg = str(charts.daily_bars(title="q <script>", days=days, cost=[1.0, 2.25, 0.0], waste=[0, 0.5, 0],
                                budget=2.0, width=560, height=230))
    assert "<script>" not in svg and "q &lt;script&gt;" in svg
    top, plot_h = 28, 230 - 28 - 34
    line = re.search(r'class="budget" x1="\d+" x2="\d+" y1="([\d.]+)"', svg)
    assert line and abs(float(line.group(1)) - (top + plot_h / 3)) < 0.2
    heights = [float(h) for h in re.findall(r'<rect x="[\d.]+" y="[\d.]+" width="[\d.]+" height="([\d.]+)" '
                                            r'fill="#2f5bea"', svg)]
    assert heights[0] * 2.25 == pytest.approx(heights[1]) and heights[2] == 0
    assert "$0.5 wasted" in svg and "daily budget $2" in svg


def test_hbars_say_no_data_instead_of_zero() -> None:
    """An agent with no approvals shows a caption, not a zero-length bar."""
    svg = str(charts.hbars(title="per outcome", rows=[("a", 0.5, "$0.5"), ("b", None, "no approvals yet")]))
    assert svg.count("<rect") == 1 and "no approvals yet" in svg
