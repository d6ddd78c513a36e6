"""Spend and digest builders: what the reader sees first, the buttons' ids and values, and Slack's limits."""

from __future__ import annotations

from datetime import date, datetime, timezone

from bot import ids
from bot.blocks import digests, spend
from bot.blocks.common import MAX_BLOCKS, SECTION_TEXT_MAX
from services.digests.service import Approvals, Digest, Incidents, SpendLine
from services.spend.budgets import BudgetRule, BudgetWarning
from services.spend.decisions import CardRef
from services.spend.periods import period_containing

DAY = period_containing("day", date(2026, 1, 4))


def warning(threshold: float = 0.8, scope: str = "agent") -> BudgetWarning:
    rule = BudgetRule(key="agent:1:0", scope=scope, period="day", limit_usd=10, on_exceed="pause", team="freight")
    return BudgetWarning(agent_name="quoter", rule=rule, threshold=threshold, spent_usd=8.5, projected_usd=17,
                         period=DAY, top_spenders=[("gpt-4o", 6.0), ("gpt-4o-mini", 2.5)])


def digest(agents: int = 3, name: str = "quoter") -> Digest:
    lines = [SpendLine(f"{name}{i}", 10.0 - i / 10, 5.0, 20.0 if i % 2 else None, i % 3) for i in range(agents)]
    return Digest(period=DAY, previous=DAY.previous(), generated_at=datetime(2026, 1, 5, 9, tzinfo=timezone.utc),
                  total_usd=30, previous_usd=20, approved_outcomes=6, cost_per_approved_usd=5.0,
                  previous_cost_per_approved_usd=10.0, waste_usd=3, unknown_cost_events=2, by_agent=lines,
                  by_team=lines[:2], by_model=lines[:1],
                  approvals=Approvals({"approved": 4, "edited": 2, "rejected": 1}, 600, 3600, 7200, "quoter: x"),
                  incidents=Incidents(3, 2, 600, 5400, 1), paused=[("writer", "budget", "daily budget")],
                  chart_days=[DAY.start], daily={"quoter0": [1.0]}, daily_budget={})


def test_warning_shows_spend_budget_projection_and_top_spenders() -> None:
    """The owner's DM says how much, of what, where it is heading, and who is spending it."""
    msg = spend.budget_warning(warning())
    text = str(msg["blocks"])
    assert msg["text"] == "quoter reached 80% of its daily budget (agent)"
    assert "$8.50 of $10.00" in text and "$17.00" in text and "Top models:* gpt-4o $6.00" in text
    assert "Top agents" in str(spend.budget_warning(warning(scope="team"))["blocks"])


def test_paused_card_buttons_carry_a_decodable_reference() -> None:
    """Raise presets, Resume once and Keep paused each carry the budget and period the flow needs."""
    ref = CardRef("quoter", "agent:1:0", 10, "2026-01-04")
    msg = spend.budget_paused_card(warning(1.0), ref.encode())
    [actions] = [b for b in msg["blocks"] if b["type"] == "actions"]
    assert actions["block_id"] == ids.SPEND_PAUSE_BLOCK
    assert [e["action_id"] for e in actions["elements"]] == [
        "spend_raise_25", "spend_raise_50", "spend_raise_100", ids.SPEND_RESUME_ONCE, ids.SPEND_KEEP_PAUSED]
    decoded, extra = CardRef.decode(actions["elements"][1]["value"])
    assert decoded == ref and extra == "50" and decoded.card_key == warning(1.0).card_key


def test_digest_leads_with_cost_per_approved_outcome_then_waste() -> None:
    """No tool reports cost per outcome, so it is the first thing under the header; waste comes next."""
    msg = digests.digest_message(digest(), "All quiet.")
    first, second = msg["blocks"][1]["text"]["text"], msg["blocks"][2]["text"]["text"]
    assert first.startswith(":dart: *Cost per approved outcome: $5.00* ▼50%")
    assert "Waste:* $3.00 (10% of spend)" in second and "2 usage event(s) with unknown cost" in second
    text = str(msg["blocks"])
    assert "quoter1: $9.90 of $20.00 (50%) ▲98%" in text and "median 10m, p90 60m" in text
    assert "MTTA 10m, MTTR 1.5h" in text and "writer by budget: daily budget" in text
    assert msg["text"].startswith("Countersign digest 2026-01-04: cost per approved outcome $5.00")


def test_huge_digest_stays_within_slack_limits() -> None:
    """Hundreds of agents with long names are summarised, and every section stays under 3,000 characters."""
    msg = digests.digest_message(digest(agents=400, name="a" * 300), "n" * 10_000)
    assert len(msg["blocks"]) <= MAX_BLOCKS
    for block in msg["blocks"]:
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= SECTION_TEXT_MAX
    assert "…and 390 more" in str(msg["blocks"])


def test_unknown_model_and_budget_status() -> None:
    """The unknown-model notice escapes the model name; the budget answer shows what is left."""
    notice = spend.unknown_model_notice(agent_name="quoter", model="<!channel>")
    assert "&lt;!channel&gt;" in str(notice["blocks"]) and "<!channel>" not in str(notice["blocks"])
    status = spend.budget_status(agent_name="quoter", status="active", today_usd=1, month_usd=12, budgets=[
        {"scope": "team", "team": "freight", "period": "week", "limit_usd": 50, "spent_usd": 50, "remaining_usd": 0,
         "exceeded": True, "waived": False}])
    assert "week (team freight): $50.00 of $50.00" in str(status["blocks"]) and "*used up*" in str(status["blocks"])
