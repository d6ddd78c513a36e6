"""Guards force review whatever was earned; `deny` refuses with 403 and opens a policy_violation incident."""

from __future__ import annotations

from sqlmodel import select

from services.incidents.models import Incident
from tests.harness import Harness
from tests.services.drafts.helpers import new_draft, post_draft

AUTO = {"quote_freight_lane": {"autonomy": "auto", "confidence_floor": 0.7}}


def test_guards_force_review_on_an_auto_action(harness: Harness) -> None:
    """Over the per-request cost, under the confidence floor, or with an open critical incident: a person sees it,
    and the card says why; the same action without a guard goes through."""
    h = harness
    key = h.register(actions=AUTO, max_cost_per_request_usd=0.5, autonomy_rule={"audit_sample_rate": 0})["api_key"]
    assert new_draft(h, key, prompt_version="v1", cost_usd=0.1, confidence=0.9)["status"] == "auto_approved"
    costly = new_draft(h, key, prompt_version="v1", cost_usd=0.75)
    assert costly["status"] == "pending" and "per-request limit" in costly["review_reasons"][0]
    unsure = new_draft(h, key, prompt_version="v1", confidence=0.5)
    assert unsure["status"] == "pending" and "floor" in unsure["review_reasons"][0]
    incident = h.client.post("/v1/incidents", json={"kind": "error", "severity": "critical", "summary": "db down"},
                             headers=h.bearer(key))
    assert incident.status_code == 201, incident.text
    h.client.post("/v1/agents/quoter/resume", headers=h.admin)  # a critical incident may pause; writes go on
    guarded = new_draft(h, key, prompt_version="v1")
    assert guarded["status"] == "pending" and "open critical incident" in guarded["review_reasons"][0]


def test_deny_is_403_with_a_policy_violation_incident(any_db_harness: Harness) -> None:
    """A denied action is refused with problem+json 403, and the owner gets one incident (repeats add up)."""
    h = any_db_harness
    key = h.register(actions={"wire_money": {"autonomy": "deny"}})["api_key"]
    for _ in range(2):
        response = post_draft(h, key, action="wire_money")
        assert response.status_code == 403
        assert response.headers["content-type"].startswith("application/problem+json")
        assert "denied" in response.json()["detail"]
    with h.ctx.read() as session:
        incidents = session.exec(select(Incident).where(Incident.kind == "policy_violation")).all()
    assert len(incidents) == 1
    assert incidents[0].details["action"] == "wire_money" and incidents[0].occurrences == 2
    assert "wire_money" in incidents[0].summary
    h.drain()
    owner_dm = h.slack.messages_in(h.slack.dm_channel_for("U012OWNER"))
    assert any("wire_money" in str(m.get("blocks")) for m in owner_dm)
