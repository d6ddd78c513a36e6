"""POST /v1/usage: prices (agent figure, override, genai-prices with cached tokens), unknown models, idempotency."""

from __future__ import annotations

import pytest

from tests.harness import OWNER, Harness


def usage(h: Harness, key: str, **body: object) -> object:
    return h.client.post("/v1/usage", json={"model": "gpt-4o-mini", "provider": "openai", **body},
                         headers=h.bearer(key))


def test_genai_prices_with_cached_tokens(harness: Harness) -> None:
    """gpt-4o-mini is $0.15/M input, $0.075/M cached input, $0.6/M output; cached tokens are part of input."""
    key = harness.register()["api_key"]
    response = usage(harness, key, input_tokens=1_000_000, cached_tokens=400_000, output_tokens=500_000)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["cost_source"] == "genai-prices"
    assert body["cost_usd"] == pytest.approx(0.6 * 0.15 + 0.4 * 0.075 + 0.5 * 0.6)
    assert body["price"]["input_per_mtok"] == pytest.approx(0.15)
    assert body["price"]["cached_input_per_mtok"] == pytest.approx(0.075)
    assert body["price"]["output_per_mtok"] == pytest.approx(0.6)


def test_agent_cost_wins_then_override_then_genai_prices(harness: Harness) -> None:
    """The agent's own cost_usd is taken as is; an override is checked before genai-prices."""
    key = harness.register()["api_key"]
    given = usage(harness, key, input_tokens=10, output_tokens=10, cost_usd=0.25).json()
    assert (given["cost_usd"], given["cost_source"]) == (0.25, "agent")
    put = harness.client.put("/v1/prices/gpt-4o-mini", headers=harness.admin,
                             json={"input_per_mtok": 1.0, "output_per_mtok": 2.0, "cached_input_per_mtok": 0.5})
    assert put.status_code == 200, put.text
    priced = usage(harness, key, input_tokens=1_000_000, cached_tokens=200_000, output_tokens=1_000_000).json()
    assert priced["cost_source"] == "override"
    assert priced["cost_usd"] == pytest.approx(0.8 * 1.0 + 0.2 * 0.5 + 2.0)


def test_unknown_model_is_cost_unknown_and_owner_told_once(harness: Harness) -> None:
    """No price and no cost: stored as unknown (null, never $0), and the owner hears once per model."""
    key = harness.register()["api_key"]
    first = usage(harness, key, model="inhouse-llm-7b", provider=None, input_tokens=100, output_tokens=100).json()
    usage(harness, key, model="inhouse-llm-7b", provider=None, input_tokens=100, output_tokens=100)
    assert first["cost_usd"] is None and first["cost_unknown"] is True and first["cost_source"] == "unknown"
    harness.drain()
    dms = [m for m in harness.slack.messages_in(harness.slack.dm_channel_for(OWNER)) if "inhouse-llm-7b" in m["text"]]
    assert len(dms) == 1
    me = harness.client.get("/v1/agents/me", headers=harness.bearer(key)).json()
    assert me["budgets"] == []


def test_repeated_request_id_is_a_no_op(harness: Harness) -> None:
    """The same request_id returns the first event (200) and spends nothing more."""
    key = harness.register(budgets=[{"period": "day", "limit_usd": 100}])["api_key"]
    first = usage(harness, key, request_id="req-1", cost_usd=1.5)
    again = usage(harness, key, request_id="req-1", cost_usd=9.0)
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["id"] == first.json()["id"] and again.json()["cost_usd"] == 1.5
    assert again.json()["budgets"][0]["spent_usd"] == pytest.approx(1.5)


def test_bad_input_names_the_field(harness: Harness) -> None:
    """Validation errors are 422 problem+json naming the field; another agent's draft is 404."""
    key = harness.register()["api_key"]
    bad = usage(harness, key, input_tokens=10, cached_tokens=20)
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json")
    negative = usage(harness, key, input_tokens=-1).json()
    assert negative["errors"][0]["field"] == "input_tokens"
    assert usage(harness, key, draft_id="drf_nope", cost_usd=1).status_code == 404
    assert harness.client.post("/v1/usage", json={"model": "x"}).status_code == 401
