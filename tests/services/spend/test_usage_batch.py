"""POST /v1/usage/batch: one result per event in order, request_ids idempotent within and across calls,
budgets counted once, and errors that name the event by its index."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from services.spend.models import SpendRollup, UsageEvent
from tests.harness import Harness
from tests.services.spend.conftest import spend


def batch(h: Harness, key: str, events: list[dict]) -> object:
    return h.client.post("/v1/usage/batch", json={"events": events}, headers=h.bearer(key))


@pytest.mark.postgres_too
def test_results_in_order_with_repeats_inside_and_across_calls(timed: Harness) -> None:
    """Each event gets its own result in order; a request_id seen before (or earlier in the batch) is not
    stored again and answers with the first event."""
    key = timed.register(budgets=[{"period": "day", "limit_usd": 100}])["api_key"]
    before = spend(timed, key, 1.0, request_id="old")
    events = [{"model": "gpt-4o-mini", "cost_usd": 2.0, "request_id": "a"},
              {"model": "gpt-4o-mini", "cost_usd": 9.0, "request_id": "old"},
              {"model": "claude-x", "cost_usd": 0.5},
              {"model": "gpt-4o-mini", "cost_usd": 7.0, "request_id": "a"},
              {"model": "gpt-4o-mini", "provider": "openai", "input_tokens": 1_000_000, "request_id": "b"}]
    response = batch(timed, key, events)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["created"] for r in results] == [True, False, True, False, True]
    assert results[1]["id"] == before["id"] and results[1]["cost_usd"] == 1.0
    assert results[3]["id"] == results[0]["id"] and results[3]["cost_usd"] == 2.0
    assert results[2]["request_id"] is None and results[2]["model"] == "claude-x"
    assert results[4]["cost_source"] == "genai-prices" and results[4]["cost_usd"] == pytest.approx(0.15)
    assert len({r["id"] for r in results}) == 4
    assert results[-1]["budgets"][0]["spent_usd"] == pytest.approx(1.0 + 2.0 + 0.5 + 0.15)
    again = batch(timed, key, events).json()["results"]  # the whole batch again: nothing new
    assert [r["created"] for r in again] == [False, False, True, False, False]  # the unkeyed one is new
    with timed.ctx.read() as session:
        stored = session.scalar(select(func.count()).select_from(UsageEvent))
        rolled = session.scalar(select(func.sum(SpendRollup.events)))
    assert stored == rolled == 5  # old, a, claude-x, b, and the second unkeyed claude-x


@pytest.mark.postgres_too
def test_a_thousand_events_in_one_call(timed: Harness) -> None:
    """The contract's limit is accepted; one more is refused, naming the field."""
    key = timed.register()["api_key"]
    events = [{"model": "gpt-4o-mini", "cost_usd": 0.001, "request_id": f"r{i}"} for i in range(1000)]
    response = batch(timed, key, events)
    assert response.status_code == 200, response.text
    assert [r["request_id"] for r in response.json()["results"]] == [f"r{i}" for i in range(1000)]
    too_many = batch(timed, key, events + [{"model": "gpt-4o-mini"}])
    assert too_many.status_code == 422
    assert too_many.json()["errors"][0]["field"] == "events"


def test_validation_errors_name_the_event_by_index(timed: Harness) -> None:
    """A bad event is named as events[i].field, and nothing of the batch is stored."""
    key = timed.register()["api_key"]
    events = [{"model": "gpt-4o-mini"}] * 3 + [{"model": "", "input_tokens": -1}]
    response = batch(timed, key, events)
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"events[3].model", "events[3].input_tokens"}
    unknown_draft = batch(timed, key, [{"model": "m", "cost_usd": 1}, {"model": "m", "draft_id": "drf_nope"}])
    assert unknown_draft.status_code == 422
    assert unknown_draft.json()["errors"][0]["field"] == "events[1].draft_id"
    empty = batch(timed, key, [])
    assert empty.status_code == 422 and empty.json()["errors"][0]["field"] == "events"
    with timed.ctx.read() as session:
        assert session.scalar(select(func.count()).select_from(UsageEvent)) == 0


def test_a_paused_agents_batch_is_refused(timed: Harness) -> None:
    """Like every agent write, a paused agent's batch is 423 and stores nothing."""
    key = timed.register()["api_key"]
    timed.client.post("/v1/agents/quoter/pause", headers=timed.admin, json={"reason": "audit"})
    response = batch(timed, key, [{"model": "gpt-4o-mini", "cost_usd": 1}])
    assert response.status_code == 423


@pytest.mark.postgres_too
def test_a_batch_crossing_a_pause_budget_pauses_once(timed: Harness) -> None:
    """Budgets are judged on the total after the batch: crossing 100 % of a pause budget pauses the agent."""
    key = timed.register(budgets=[{"period": "day", "limit_usd": 10, "on_exceed": "pause"}])["api_key"]
    response = batch(timed, key, [{"model": "gpt-4o-mini", "cost_usd": 4.0} for _ in range(3)])
    assert response.status_code == 200
    assert response.json()["results"][0]["budgets"][0]["exceeded"] is True
    assert timed.client.get("/v1/agents/quoter", headers=timed.admin).json()["status"] == "paused"
    assert batch(timed, key, [{"model": "gpt-4o-mini", "cost_usd": 1.0}]).status_code == 423
