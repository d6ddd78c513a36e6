"""Budgets: thresholds warn once per period and re-arm, the most restrictive budget decides, checks use >=."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from testkit.clock import FakeClock
from tests.harness import OWNER, Harness
from tests.services.spend.conftest import spend


def warnings(h: Harness, threshold: str) -> list[dict]:
    h.drain()
    return [m for m in h.slack.messages_in(h.slack.dm_channel_for(OWNER)) if f"reached {threshold}" in m["text"]]


@pytest.mark.postgres_too
def test_each_threshold_alerts_once_per_period_and_again_next_period(timed: Harness, clock: FakeClock) -> None:
    """50/80/100 % each DM the owner exactly once in a day; the next day re-arms them."""
    key = timed.register(budgets=[{"period": "day", "limit_usd": 10}])["api_key"]
    spend(timed, key, 4)
    assert warnings(timed, "50%") == []
    spend(timed, key, 1.5)  # 55 %
    spend(timed, key, 1)  # 65 %: nothing new
    spend(timed, key, 2)  # 85 %
    spend(timed, key, 1.5)  # exactly 100 %: checks use >=
    spend(timed, key, 1)
    assert [len(warnings(timed, t)) for t in ("50%", "80%", "100%")] == [1, 1, 1]
    text = str(warnings(timed, "80%")[0]["blocks"])
    assert "Projected" in text and "Top models" in text and "$8.50" in text
    clock.advance(days=1)
    spend(timed, key, 6)
    assert [len(warnings(timed, t)) for t in ("50%", "80%", "100%")] == [2, 1, 1]


@pytest.mark.postgres_too
def test_thresholds_once_under_concurrency(any_db_harness: Harness) -> None:
    """Many usage calls at once cross each threshold once (the unique key decides, on SQLite and PostgreSQL)."""
    h = any_db_harness
    key = h.register(budgets=[{"period": "month", "limit_usd": 10, "thresholds": [0.5, 0.8]}])["api_key"]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: spend(h, key, 1, request_id=f"r{i}"), range(12)))
    assert len(warnings(h, "50%")) == 1 and len(warnings(h, "80%")) == 1
    me = h.client.get("/v1/agents/me", headers=h.bearer(key)).json()
    assert me["budgets"][0]["spent_usd"] == pytest.approx(12) and me["budgets"][0]["remaining_usd"] == 0


@pytest.mark.postgres_too
def test_team_threshold_once_when_teammates_spend_at_once(any_db_harness: Harness) -> None:
    """Two agents of one team, several models, all at once: their rollup rows differ, so only the budget's own
    lock orders the spend reads, and each team threshold still alerts once with the whole team's spend."""
    h = any_db_harness
    keys = [h.register(name, team="freight")["api_key"] for name in ("loader", "hauler")]
    body = {"scope": "team", "team": "freight", "period": "month", "limit_usd": 10, "thresholds": [0.5, 0.8]}
    assert h.client.put("/v1/budgets", json=body, headers=h.admin).status_code == 201
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: spend(h, keys[i % 2], 1, request_id=f"r{i}", model=f"m{i % 3}"), range(12)))
    assert len(warnings(h, "50%")) == 1 and len(warnings(h, "80%")) == 1
    team = next(b for b in spend(h, keys[0], 0)["budgets"] if b["scope"] == "team")
    assert team["spent_usd"] == pytest.approx(12) and team["exceeded"] is True


def test_most_restrictive_budget_wins(timed: Harness) -> None:
    """Agent, team and global budgets all apply; the one with least left decides the check."""
    key = timed.register(team="freight", max_cost_per_request_usd=3,
                         budgets=[{"period": "day", "limit_usd": 100}])["api_key"]
    for body in ({"scope": "team", "team": "freight", "period": "week", "limit_usd": 5},
                 {"scope": "global", "period": "month", "limit_usd": 1000}):
        assert timed.client.put("/v1/budgets", json=body, headers=timed.admin).status_code == 201
    spend(timed, key, 4)
    check = timed.client.post("/v1/budget/check", json={"estimated_cost_usd": 2}, headers=timed.bearer(key)).json()
    assert check["allowed"] is False and check["remaining_usd"] == pytest.approx(1)
    assert "team freight" in check["reason"]
    small = timed.client.post("/v1/budget/check", json={"estimated_cost_usd": 0.5}, headers=timed.bearer(key)).json()
    assert small["allowed"] is True and small["remaining_usd"] == pytest.approx(1)
    capped = timed.client.post("/v1/budget/check", json={"estimated_cost_usd": 3.5}, headers=timed.bearer(key)).json()
    assert capped["allowed"] is False and "per-request maximum" in capped["reason"]
    spend(timed, key, 1)  # exactly the team limit: used up (>=)
    used = timed.client.post("/v1/budget/check", json={"estimated_cost_usd": 0}, headers=timed.bearer(key)).json()
    assert used["allowed"] is False and used["remaining_usd"] == 0
    me = timed.client.get("/v1/agents/me", headers=timed.bearer(key)).json()
    assert {b["scope"] for b in me["budgets"]} == {"agent", "team", "global"}
    team = next(b for b in me["budgets"] if b["scope"] == "team")
    assert (team["period_start"], team["period_end"], team["exceeded"]) == ("2026-01-05", "2026-01-12", True)


def test_periods_follow_the_configured_zone(sqlite_url: str, slack, clock: FakeClock) -> None:
    """A day budget in America/New_York resets at local midnight, not UTC midnight."""
    clock.set(clock.now().replace(hour=3))  # 03:00 UTC is still the previous day in New York
    with Harness(sqlite_url, slack=slack, clock=clock, jobs=[], COUNTERSIGN_TIMEZONE="America/New_York") as h:
        key = h.register(budgets=[{"period": "day", "limit_usd": 10}])["api_key"]
        spend(h, key, 3)
        clock.advance(hours=3)  # 06:00 UTC = 01:00 in New York: a new local day
        state = spend(h, key, 1)["budgets"][0]
        assert state["period_start"] == "2026-01-05" and state["spent_usd"] == pytest.approx(1)


def test_bad_budget_and_check_input(timed: Harness) -> None:
    """Team budgets need their team; a negative estimate is refused naming the field; admin only."""
    key = timed.register()["api_key"]
    bad = timed.client.put("/v1/budgets", json={"scope": "team", "period": "day", "limit_usd": 5}, headers=timed.admin)
    assert bad.status_code == 422
    assert timed.client.put("/v1/budgets", json={"scope": "global", "period": "day", "limit_usd": 5},
                            headers=timed.bearer(key)).status_code == 401
    negative = timed.client.post("/v1/budget/check", json={"estimated_cost_usd": -1}, headers=timed.bearer(key))
    assert negative.status_code == 422 and negative.json()["errors"][0]["field"] == "estimated_cost_usd"
