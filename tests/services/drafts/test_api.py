"""POST /v1/drafts and GET /v1/drafts/{id}: validation, ownership, idempotency, routing modes, Slack trouble."""

from __future__ import annotations

import json

from sqlmodel import select

from services.audit.models import AuditEntry
from services.drafts import flows
from tests.harness import Harness
from tests.services.drafts.helpers import card, get, new_draft, post_draft


def _fields(response) -> set[str]:
    assert response.headers["content-type"].startswith("application/problem+json"), response.text
    return {e["field"] for e in response.json().get("errors", [])}


def test_bad_input_names_the_field(harness: Harness) -> None:
    """Out-of-range expiry, unknown fields, an empty body, a bad confidence and an over-long wait are 422s
    that name the field; nothing is stored and nothing is posted."""
    key = harness.register()["api_key"]
    for fields, name in [({"expires_in_s": 59}, "expires_in_s"), ({"expires_in_s": 30 * 86400 + 1}, "expires_in_s"),
                         ({"surprise": 1}, "surprise"), ({"body": " "}, "body"), ({"confidence": 1.5}, "confidence"),
                         ({"action": "Not A Slug"}, "action"), ({"title": ""}, "title")]:
        response = post_draft(harness, key, **fields)
        assert response.status_code == 422 and name in _fields(response), (fields, response.text)
    draft = new_draft(harness, key)
    too_long = get(harness, key, draft["id"], wait=61)
    assert too_long.status_code == 422 and _fields(too_long) == {"wait"}
    harness.drain()
    assert len(harness.slack.calls_to("chat.postMessage")) == 1


def test_paused_agent_is_refused_with_423(harness: Harness) -> None:
    """A paused agent's draft is refused with 423 naming who paused it."""
    key = harness.register()["api_key"]
    harness.client.post("/v1/agents/quoter/pause", json={"reason": "bad quotes"}, headers=harness.admin)
    response = post_draft(harness, key)
    assert response.status_code == 423 and response.json()["paused_reason"] == "bad quotes"


def test_an_agent_never_sees_another_agents_draft(harness: Harness) -> None:
    """Another agent's draft id is simply not found."""
    mine = new_draft(harness, harness.register()["api_key"])
    other = harness.register("other")["api_key"]
    assert get(harness, other, mine["id"]).status_code == 404
    assert get(harness, other, "drf_nope").status_code == 404


def test_huge_body_is_accepted_and_truncated_visibly_on_the_card(harness: Harness) -> None:
    """A 200 KB body fits the request limit: it is stored whole and the card shows a visibly cut excerpt."""
    key = harness.register()["api_key"]
    body = "x<&>" * 50_000
    draft = new_draft(harness, key, body=body)
    assert get(harness, key, draft["id"]).json()["body"] == body
    posted = card(harness, draft["id"])
    assert all(len(b.get("text", {}).get("text", "")) <= 3000 for b in posted["blocks"])
    assert "200,000-character draft" in json.dumps(posted["blocks"])
    assert post_draft(harness, key, body="y" * 300_000).status_code == 413


def test_json_body_round_trips_as_json(harness: Harness) -> None:
    """A JSON body comes back as JSON, in the draft and as the approved final body."""
    key = harness.register()["api_key"]
    draft = new_draft(harness, key, body={"lane": "RTM-LYS", "price": 1840})
    assert draft["body"] == {"lane": "RTM-LYS", "price": 1840}
    result = flows.decide(ctx=harness.ctx, draft_id=draft["id"], user_id="U078ALICE", verdict="approve")
    assert result.draft.final_body == {"lane": "RTM-LYS", "price": 1840}


def test_idempotent_retry_gives_the_same_draft_and_one_card(harness: Harness) -> None:
    """The same Idempotency-Key and body returns the first answer; Slack sees one card; another body is 409."""
    key = harness.register()["api_key"]
    headers = {"Idempotency-Key": "quote-42"}
    first, second = post_draft(harness, key, headers=headers), post_draft(harness, key, headers=headers)
    assert first.status_code == second.status_code == 201 and first.json() == second.json()
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert post_draft(harness, key, headers=headers, title="another").status_code == 409
    harness.drain()
    assert len(harness.slack.calls_to("chat.postMessage")) == 1


def test_slack_rate_limit_while_posting_the_card(harness: Harness) -> None:
    """Slack answers 429 to the first post: the draft is accepted at once and the card arrives exactly once."""
    key = harness.register()["api_key"]
    harness.slack.fail_next(1, status=429, retry_after=1, method="chat.postMessage")
    draft = new_draft(harness, key)
    assert draft["status"] == "pending"
    card(harness, draft["id"], timeout=10)
    harness.drain()
    posts = harness.slack.calls_to("chat.postMessage")
    assert [c.status for c in posts] == [429, 200]
    assert len(harness.slack.messages_in("C056REVIEW")) == 1


def test_denied_action_is_403_and_audited(harness: Harness) -> None:
    """An action whose policy is `deny` is refused with 403 problem+json; the refusal is in the audit log."""
    key = harness.register(actions={"wire_money": {"autonomy": "deny"}})["api_key"]
    response = post_draft(harness, key, action="wire_money")
    assert response.status_code == 403 and response.headers["content-type"].startswith("application/problem+json")
    assert "denied" in response.json()["detail"]
    with harness.ctx.read() as session:
        assert session.exec(select(AuditEntry).where(AuditEntry.verb == "draft.denied")).first() is not None


def test_auto_route_is_decided_at_once_with_a_callback(harness: Harness) -> None:
    """When the action's policy says auto, the draft is auto_approved at once and the agent is called back."""
    agent = harness.register(actions={"quote_freight_lane": {"autonomy": "auto"}})
    draft = new_draft(harness, agent["api_key"])
    assert draft["status"] == "auto_approved" and draft["final_body"] == "EUR 1,840 all in."
    delivery = harness.receiver.wait_for(1)[0]
    assert delivery.json["data"]["status"] == "auto_approved" and delivery.verify(agent["webhook_secret"])


def test_guards_force_review_and_show_on_the_card(harness: Harness) -> None:
    """Cost over the per-request limit and confidence under the floor are recorded and shown on the card."""
    key = harness.register(max_cost_per_request_usd=0.5,
                           actions={"quote_freight_lane": {"confidence_floor": 0.7, "high_risk": True,
                                                           "approvals_required": 2}})["api_key"]
    draft = new_draft(harness, key, cost_usd=0.9, confidence=0.4)
    assert len(draft["review_reasons"]) == 2 and draft["approvals_required"] == 2 and draft["high_risk"]
    text = json.dumps(card(harness, draft["id"])["blocks"])
    assert "per-request limit" in text and "under the floor" in text and '"confirm"' in text
