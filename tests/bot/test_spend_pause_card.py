"""At 100 % of a pause budget the agent is paused and its owner gets a card: raise, resume once, keep paused."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot import ids
from testkit.clock import FakeClock
from testkit.fakes.receiver import FakeAgentReceiver
from testkit.fakes.slack import FakeSlack
from tests.harness import ALICE, OWNER, Harness
from tests.services.spend.conftest import spend


@pytest.fixture
def timed(sqlite_url: str, slack: FakeSlack, receiver: FakeAgentReceiver) -> Iterator[Harness]:
    with Harness(sqlite_url, slack=slack, receiver=receiver, clock=FakeClock(), jobs=[]) as h:
        yield h


def pause_cards(h: Harness) -> list[dict]:
    h.drain()
    return [m for m in h.slack.messages_in(h.slack.dm_channel_for(OWNER))
            if ids.SPEND_RESUME_ONCE in str(m.get("blocks"))]


def me(h: Harness, key: str) -> dict:
    return h.client.get("/v1/agents/me", headers=h.bearer(key)).json()


def test_pause_at_100_and_owner_raises_the_budget(timed: Harness) -> None:
    """Reaching the limit pauses the agent; a stranger's click is refused; the owner's raise resumes it."""
    slack = timed.slack
    key = timed.register(budgets=[{"period": "day", "limit_usd": 5, "on_exceed": "pause"}])["api_key"]
    spend(timed, key, 2)
    assert me(timed, key)["status"] == "active"
    spend(timed, key, 3)  # exactly 5: reached (>=)
    assert me(timed, key)["status"] == "paused" and me(timed, key)["paused_by"] == "budget"
    [card] = pause_cards(timed)
    assert "Paused for budget" in str(card["blocks"]) and "$5.00 of $5.00" in str(card["blocks"])

    timed.click(card, f"{ids.SPEND_RAISE_PREFIX}50", user=ALICE, response_url=slack.response_url("stranger"))
    [refused] = slack.wait_for_response("stranger")
    assert "only quoter's owner" in refused["text"] and me(timed, key)["status"] == "paused"

    timed.click(card, f"{ids.SPEND_RAISE_PREFIX}50", user=OWNER, response_url=slack.response_url("raise"))
    [done] = slack.wait_for_response("raise")
    assert "$5.00 → $7.50" in done["text"]
    state = me(timed, key)
    assert state["status"] == "active" and state["budgets"][0]["limit_usd"] == 7.5
    timed.drain()
    updated = slack.message(card["channel"], card["ts"])
    assert ids.SPEND_RESUME_ONCE not in str(updated["blocks"]) and "raised the budget by 50%" in str(updated["blocks"])

    spend(timed, key, 2.5)  # reaches the new limit: the raised budget re-arms and pauses again
    assert me(timed, key)["status"] == "paused"
    assert len(pause_cards(timed)) == 1  # the first card was answered; a new one is waiting


def test_resume_once_and_keep_paused(timed: Harness) -> None:
    """Resume once lets the agent run past the budget for the rest of the period; keep paused keeps it."""
    slack = timed.slack
    key = timed.register(budgets=[{"period": "day", "limit_usd": 1, "on_exceed": "pause"}])["api_key"]
    spend(timed, key, 1.2)
    [card] = pause_cards(timed)
    timed.click(card, ids.SPEND_KEEP_PAUSED, user=OWNER, response_url=slack.response_url("keep"))
    assert "kept the agent paused" in slack.wait_for_response("keep")[0]["text"]
    assert me(timed, key)["status"] == "paused"

    timed.click(card, ids.SPEND_RESUME_ONCE, user=OWNER, response_url=slack.response_url("once"))
    assert "resumed the agent once" in slack.wait_for_response("once")[0]["text"]
    assert me(timed, key)["status"] == "active"
    spend(timed, key, 1)  # still over the limit, but waived for this period: no second pause
    assert me(timed, key)["status"] == "active"
    check = timed.client.post("/v1/budget/check", json={"estimated_cost_usd": 0.1}, headers=timed.bearer(key)).json()
    assert check["allowed"] is True and "waived" in check["reason"]


def test_paused_agent_usage_is_refused_with_who_paused_it(timed: Harness) -> None:
    """Like every write of a paused agent, usage is 423, and the answer names the budget pause."""
    key = timed.register(budgets=[{"period": "day", "limit_usd": 1, "on_exceed": "pause"}])["api_key"]
    spend(timed, key, 1)
    late = timed.client.post("/v1/usage", json={"model": "gpt-4o-mini", "cost_usd": 0.5}, headers=timed.bearer(key))
    assert late.status_code == 423 and late.json()["paused_by"] == "budget"
    assert "daily budget" in late.json()["paused_reason"]


def test_a_used_up_team_pause_budget_pauses_each_teammate_that_spends(timed: Harness) -> None:
    """One agent uses up the team's pause budget; a teammate that spends next is paused too, with its own card."""
    first = timed.register("first", team="freight")["api_key"]
    second = timed.register("second", team="freight")["api_key"]
    made = timed.client.put("/v1/budgets", headers=timed.admin, json={
        "scope": "team", "team": "freight", "period": "month", "limit_usd": 3, "on_exceed": "pause",
        "thresholds": [0.5]})
    assert made.status_code == 201
    spend(timed, first, 3)
    assert me(timed, first)["status"] == "paused" and me(timed, second)["status"] == "active"
    spend(timed, second, 0.01)
    assert me(timed, second)["status"] == "paused"
    cards = pause_cards(timed)
    assert sorted(c["text"].split()[0] for c in cards) == ["first", "second"]
