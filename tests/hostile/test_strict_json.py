"""NaN, Infinity and 1e309 inside body, context or metadata (and every other JSON field), and
arrays nested hundreds deep, are a 422 naming the field before anything is stored or posted; an Idempotency-Key
retry gets the same 422; what Countersign emits (responses, callbacks) is strict JSON."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlmodel import func, select

from services.drafts.flows import decide
from services.drafts.models import Draft
from services.http.strictjson import parse_strict, strict_dumps
from services.outbox.models import OutboxMessage
from testkit.fakes.receiver import FakeAgentReceiver
from tests.harness import ALICE, Harness

DRAFT = '{"action": "send_reply", "title": "Reply to ticket 42", "body": "Hello"'
NOT_NUMBERS = ["NaN", "Infinity", "-Infinity", "1e309", "-1e309", "1.5E+400"]


def _strict_loads(raw: bytes) -> Any:
    def refuse(constant: str) -> None:
        raise AssertionError(f"{constant} is not JSON: {raw[:300]!r}")

    return json.loads(raw, parse_constant=refuse)


def _counts(h: Harness) -> tuple[int, int]:
    with h.ctx.read() as session:
        drafts = session.exec(select(func.count()).select_from(Draft)).one()
        outbox = session.exec(select(func.count()).select_from(OutboxMessage)).one()
    return int(drafts), int(outbox)


def _refused(response: Any, field: str) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = _strict_loads(response.content)
    assert field in [e["field"] for e in body["errors"]], body


@pytest.mark.parametrize("number", NOT_NUMBERS)
@pytest.mark.parametrize(("suffix", "field"), [
    (', "body": {"amount": %s}}', "body.amount"),
    (', "context": {"scores": [1, %s]}}', "context.scores[1]"),
    (', "metadata": {"a": {"b": %s}}}', "metadata.a.b"),
    (', "confidence": %s}', "confidence"),
])
def test_non_finite_numbers_in_a_draft_are_422_before_anything_is_stored(harness: Harness, number: str, suffix: str,
                                                                         field: str) -> None:
    """The attack: a non-finite number anywhere in a draft; the answer names the field, twice with the same key."""
    agent = harness.register()
    raw = DRAFT + (suffix % number)
    headers = {**harness.bearer(agent["api_key"]), "Content-Type": "application/json", "Idempotency-Key": "k-1"}
    before = _counts(harness)
    _refused(harness.client.post("/v1/drafts", content=raw, headers=headers), field)
    _refused(harness.client.post("/v1/drafts", content=raw, headers=headers), field)  # the retry: 422 again
    assert _counts(harness) == before  # no draft, no card, no callback


@pytest.mark.parametrize(("path", "raw", "field"), [
    ("/v1/incidents", '{"kind": "error", "severity": "low", "summary": "s", "details": {"x": NaN}}', "details.x"),
    ("/v1/usage", '{"model": "gpt-4o-mini", "provider": "openai", "input_tokens": 1, "output_tokens": 1, '
                  '"cost_usd": Infinity}', "cost_usd"),
    ("/v1/budget/check", '{"estimated_cost_usd": 1e309}', "estimated_cost_usd"),
])
def test_non_finite_numbers_refused_on_every_agent_write(harness: Harness, path: str, raw: str, field: str) -> None:
    """Not only drafts: incidents' details, usage and budget checks refuse them the same way."""
    agent = harness.register()
    headers = {**harness.bearer(agent["api_key"]), "Content-Type": "application/json"}
    _refused(harness.client.post(path, content=raw, headers=headers), field)


def test_nested_500_deep_is_422_naming_the_field(harness: Harness) -> None:
    """An array nested 500 deep in body was a 500: now a 422 on `body`, nothing stored."""
    agent = harness.register()
    raw = DRAFT + ', "body": ' + "[" * 500 + "]" * 500 + "}"
    before = _counts(harness)
    _refused(harness.client.post("/v1/drafts", content=raw, headers={**harness.bearer(agent["api_key"]),
                                                                   "Content-Type": "application/json"}), "body")
    assert _counts(harness) == before


def test_nesting_within_the_limit_is_accepted(harness: Harness) -> None:
    """The control: 30 levels of nesting in a body is an ordinary draft."""
    agent = harness.register()
    nested: Any = 1
    for _ in range(30):
        nested = [nested]
    created = harness.client.post("/v1/drafts", headers=harness.bearer(agent["api_key"]),
                                  json={"action": "a", "title": "t", "body": {"x": nested}})
    assert created.status_code == 201, created.text


def test_decided_callback_and_replay_are_strict_json(harness: Harness, receiver: FakeAgentReceiver) -> None:
    """A decided draft with large finite numbers reaches the agent as strict JSON, and so does the replay."""
    agent = harness.register()
    headers = {**harness.bearer(agent["api_key"]), "Idempotency-Key": "strict-1"}
    body = {"action": "send_reply", "title": "t", "body": {"amount": 1.7976931348623157e308, "n": -0.0},
            "context": {"tiny": 5e-324}}
    first = harness.client.post("/v1/drafts", json=body, headers=headers)
    assert first.status_code == 201, first.text
    again = harness.client.post("/v1/drafts", json=body, headers=headers)
    assert _strict_loads(again.content) == _strict_loads(first.content)
    decide(ctx=harness.ctx, draft_id=first.json()["id"], user_id=ALICE, verdict="approve")
    harness.drain()
    assert receiver.deliveries, "the decision callback was not delivered"
    for delivery in receiver.deliveries:
        _strict_loads(delivery.body)


def test_parser_finds_every_problem_by_path() -> None:
    """The checker itself: paths for objects and arrays, finite numbers pass, not-JSON is left to the route."""
    assert parse_strict(b'{"a": [1, 2.5, {"b": NaN}], "c": -Infinity}') == [
        {"field": "c", "message": "-Infinity is not a finite JSON number (NaN and Infinity are not JSON)"},
        {"field": "a[2].b", "message": "NaN is not a finite JSON number (NaN and Infinity are not JSON)"},
    ]
    assert parse_strict(b'{"a": 1e308}') == []
    assert parse_strict(b"{not json") is None
    with pytest.raises(ValueError):
        strict_dumps({"x": float("nan")})
