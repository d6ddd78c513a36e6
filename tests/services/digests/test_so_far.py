"""A digest of the period so far covers today up to now, with its chart, and every digest shows each budget's
state: spent, limit, share used and the projection to the end of the budget's period."""

from __future__ import annotations

import json

import pytest

from services.digests.service import compute_digest, report_period
from testkit.fakes.slack import FakeSlack
from tests.harness import Harness
from tests.services.digests.seed import MONDAY, NOW, SUNDAY, seed

CHANNEL = "C0DIGEST"


def budgets(h: Harness, *, so_far: bool) -> dict[str, dict]:
    with h.ctx.read() as session:
        digest = compute_digest(session=session, period=report_period("day", NOW, h.ctx.settings.tz, so_far=so_far),
                                now=NOW, tz=h.ctx.settings.tz)
    return {line.name: line.public() for line in digest.budgets}


def test_so_far_covers_today_and_projects_each_budget(timed: Harness) -> None:
    """At Monday 09:00 the so-far digest counts Monday's $100 against the daily budgets and projects the day
    from 9 hours' pace; the complete digest of Sunday counts Sunday alone and calls its budgets complete."""
    seed(timed)
    today = budgets(timed, so_far=True)
    assert today["quoter daily"]["spent_usd"] == 100 and today["quoter daily"]["share_used"] == 10
    assert today["quoter daily"]["projected_usd"] == pytest.approx(100 / (9 / 24))
    assert today["team freight daily"]["limit_usd"] == 20 and not today["team freight daily"]["complete"]
    sunday = budgets(timed, so_far=False)
    assert sunday["quoter daily"] == {"name": "quoter daily", "period_start": SUNDAY.isoformat(), "spent_usd": 8,
                                      "limit_usd": 10, "share_used": 0.8, "projected_usd": 8, "complete": True}
    assert today["quoter daily"]["period_start"] == MONDAY.isoformat()


def test_send_so_far_posts_today_with_chart_and_budgets(timed: Harness, slack: FakeSlack) -> None:
    """POST /v1/digests/send with so_far posts today's digest (not yesterday's), labelled so, with the chart."""
    seed(timed)
    response = timed.client.post("/v1/digests/send", json={"channel": CHANNEL, "so_far": True}, headers=timed.admin)
    assert response.status_code == 202, response.text
    timed.drain()
    [message] = slack.messages_in(CHANNEL)
    text = json.dumps(message["blocks"])
    assert f"{MONDAY.isoformat()}, so far (to 09:00)" in text
    assert "$100.00 spent" in text and "*Budgets* (as of now)" in text
    assert "quoter daily: $100.00 of $10.00 (1000%); $266.67 projected by 2026-01-06 (over)" in text
    assert len(slack.uploads) == 1


def test_every_digest_lists_budgets_even_without_spend(timed: Harness, slack: FakeSlack) -> None:
    """The complete-period digest shows its budgets too, marked complete; with none set it says so."""
    timed.register("quoter", budgets=[{"period": "month", "limit_usd": 300}])
    assert timed.client.post("/v1/digests/send", json={"channel": CHANNEL}, headers=timed.admin).status_code == 202
    timed.drain()
    [message] = slack.messages_in(CHANNEL)
    assert "quoter monthly: $0.00 of $300.00 (0%); $0.00 projected by 2026-02-01" in json.dumps(message["blocks"])
