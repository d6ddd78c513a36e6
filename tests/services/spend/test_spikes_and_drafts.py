"""Spend that opens incidents (a spike, a call over the per-request maximum) and spend tied to drafts."""

from __future__ import annotations

import pytest
from sqlmodel import select

from services.incidents.models import Incident
from services.spend.models import SpendRollup, UsageEvent
from testkit.clock import FakeClock
from tests.harness import Harness
from tests.services.spend.conftest import spend


def incidents(h: Harness, kind: str) -> list[Incident]:
    with h.ctx.read() as session:
        return list(session.exec(select(Incident).where(Incident.kind == kind)).all())


def test_spike_opens_one_anomaly_per_day(timed: Harness, clock: FakeClock) -> None:
    """Today above 3x the trailing 7-day average and above $1 opens one anomaly incident, not one per event."""
    key = timed.register()["api_key"]
    for _ in range(7):
        spend(timed, key, 1)
        clock.advance(days=1)
    spend(timed, key, 2.5)  # 2.5 > $1 floor but not > 3 x 1
    assert incidents(timed, "anomaly") == []
    spend(timed, key, 1)  # 3.5 > 3 x 1
    spend(timed, key, 5)
    [spike] = incidents(timed, "anomaly")
    assert spike.occurrences == 1 and "3.5x" in spike.summary and spike.details["trailing_avg_usd"] == 1.0


def test_no_baseline_no_spike(timed: Harness) -> None:
    """A brand-new agent has no trailing average to compare with, so big first-day spend is not a spike."""
    key = timed.register()["api_key"]
    spend(timed, key, 50)
    assert incidents(timed, "anomaly") == []


def test_over_the_per_request_maximum_opens_budget_exceeded(timed: Harness) -> None:
    """A usage event or a draft over max_cost_per_request_usd opens a budget_exceeded incident for the owner."""
    key = timed.register(max_cost_per_request_usd=0.5)["api_key"]
    spend(timed, key, 0.4)
    assert incidents(timed, "budget_exceeded") == []
    spend(timed, key, 0.9)
    draft = timed.client.post("/v1/drafts", headers=timed.bearer(key), json={
        "action": "quote", "title": "Quote", "body": "hello", "cost_usd": 2.0, "model": "gpt-4o"})
    assert draft.status_code == 201, draft.text
    [incident] = incidents(timed, "budget_exceeded")
    assert incident.occurrences == 2 and incident.severity == "high"


@pytest.mark.postgres_too
def test_draft_cost_counts_once_and_rejected_or_expired_spend_is_waste(timed: Harness, clock: FakeClock) -> None:
    """A draft's cost_usd is spend; usage tied to a draft that expires becomes waste in the rollup."""
    key = timed.register(budgets=[{"period": "day", "limit_usd": 100}])["api_key"]
    draft = timed.client.post("/v1/drafts", headers=timed.bearer(key), json={
        "action": "quote", "title": "Quote", "body": "hello", "cost_usd": 0.3, "expires_in_s": 600}).json()
    tied = spend(timed, key, 0.2, draft_id=draft["id"])
    assert tied["draft_id"] == draft["id"] and tied["budgets"][0]["spent_usd"] == pytest.approx(0.5)
    clock.advance(seconds=700)
    timed.run_jobs()
    with timed.ctx.read() as session:
        events = session.exec(select(UsageEvent).where(UsageEvent.draft_id == draft["id"])).all()
        waste = sum(r.waste_usd for r in session.exec(select(SpendRollup)).all())
    assert len(events) == 2 and waste == pytest.approx(0.5)
    spend(timed, key, 0.1, draft_id=draft["id"])  # reported after the draft expired: waste at once
    with timed.ctx.read() as session:
        assert sum(r.waste_usd for r in session.exec(select(SpendRollup)).all()) == pytest.approx(0.6)


def test_another_agents_draft_is_not_found(timed: Harness) -> None:
    """Tying usage to another agent's draft is a 404, as if it did not exist."""
    mine = timed.register("mine")["api_key"]
    theirs = timed.register("theirs")["api_key"]
    draft = timed.client.post("/v1/drafts", headers=timed.bearer(theirs), json={
        "action": "quote", "title": "Quote", "body": "x"}).json()
    response = timed.client.post("/v1/usage", headers=timed.bearer(mine),
                                 json={"model": "gpt-4o-mini", "cost_usd": 1, "draft_id": draft["id"]})
    assert response.status_code == 404
