"""The digest's numbers, computed from a seeded database whose answers are known by hand."""

from __future__ import annotations

import pytest

from services.digests.service import compute_digest, report_period
from services.spend.periods import period_containing
from tests.harness import Harness
from tests.services.digests.seed import NOW, SATURDAY, SUNDAY, seed


def test_report_period_is_the_last_complete_one() -> None:
    """A daily digest on Monday covers Sunday; a weekly one covers last Monday to Sunday."""
    from zoneinfo import ZoneInfo

    assert report_period("day", NOW, ZoneInfo("UTC")).start == SUNDAY
    week = report_period("week", NOW, ZoneInfo("UTC"))
    assert (week.start.isoformat(), week.end.isoformat()) == ("2025-12-29", "2026-01-05")


@pytest.mark.postgres_too
def test_digest_content_from_seeded_database(timed: Harness) -> None:
    """Spend, cost per approved outcome, waste, approvals and incidents match the hand-computed answers."""
    seed(timed)
    with timed.ctx.read() as session:
        d = compute_digest(session=session, period=period_containing("day", SUNDAY), now=NOW, tz=timed.ctx.settings.tz)
    assert d.previous.start == SATURDAY
    assert (d.total_usd, d.previous_usd) == (pytest.approx(12), pytest.approx(8))
    assert d.approved_outcomes == 3 and d.cost_per_approved_usd == pytest.approx(4.0)
    assert d.previous_cost_per_approved_usd == pytest.approx(8.0)
    assert d.waste_usd == pytest.approx(1.5) and d.unknown_cost_events == 1
    assert d.internal_usd == pytest.approx(0.01)
    assert [(a.name, a.spend_usd, a.previous_usd, a.budget_usd) for a in d.by_agent] == [
        ("quoter", 8, 4, 10), ("writer", 4, 4, None)]
    assert d.by_agent[0].change == pytest.approx(1.0)
    assert [(t.name, t.spend_usd, t.budget_usd) for t in d.by_team] == [("freight", 8, 20), ("(no team)", 4, None)]
    assert [(m.name, m.spend_usd, m.previous_usd, m.unknown_events) for m in d.by_model] == [
        ("gpt-4o", 6, 4, 1), ("gpt-4o-mini", 6, 4, 0)]
    a = d.approvals
    assert a.counts == {"approved": 1, "edited": 1, "rejected": 1, "auto_approved": 1, "expired": 1}
    assert a.median_s == 1800 and a.p90_s == pytest.approx(3240)
    assert a.oldest_pending_s == 13 * 3600 and a.oldest_pending == "quoter: pending at 04 20"
    i = d.incidents
    assert (i.opened, i.acknowledged, i.still_open) == (3, 2, 2)
    assert i.mtta_s == pytest.approx(1200) and i.mttr_s == pytest.approx((3600 + 2 * 86400) / 2)
    assert d.paused == [("writer", "admin-token", "tests")]
    assert len(d.chart_days) == 14 and d.chart_days[-1] == SUNDAY
    assert d.daily["quoter"][-2:] == [4, 8] and d.daily_budget == {"quoter": 10}
