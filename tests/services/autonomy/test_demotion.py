"""Losing autonomy: an incident against the action, or a rejection streak, puts it back under review at once,
and the owner is told why."""

from __future__ import annotations

from testkit.fakes.slack import FakeSlack
from tests.harness import OWNER, REVIEW_CHANNEL, Harness
from tests.services.autonomy.helpers import decide, wait_text
from tests.services.drafts.helpers import new_draft

AUTO = {"quote_freight_lane": {"autonomy": "auto", "confidence_floor": 0.5}}
NO_SAMPLES = {"audit_sample_rate": 0}


def test_an_incident_against_the_action_demotes_it(any_db_harness: Harness) -> None:
    """An agent-reported incident naming the action: back to review, the owner's DM quotes the incident."""
    h = any_db_harness
    key = h.register(actions=AUTO, autonomy_rule=NO_SAMPLES)["api_key"]
    assert new_draft(h, key, prompt_version="v1")["status"] == "auto_approved"
    other = h.client.post("/v1/incidents", headers=h.bearer(key), json={
        "kind": "error", "severity": "low", "summary": "timeout on another lane", "details": {"action": "other"}})
    assert other.status_code == 201
    assert new_draft(h, key, prompt_version="v1")["status"] == "auto_approved"  # another action: no effect
    opened = h.client.post("/v1/incidents", headers=h.bearer(key), json={
        "kind": "anomaly", "severity": "high", "summary": "quoted <!channel> a negative price",
        "details": {"action": "quote_freight_lane"}})
    assert opened.status_code == 201, opened.text
    assert new_draft(h, key, prompt_version="v1")["status"] == "pending"
    notice = wait_text(h, h.slack.dm_channel_for(OWNER), "back under *review*")
    text = str(notice["blocks"])
    assert f"incident #{opened.json()['id']}" in text and "negative price" in text and "<!channel>" not in text


def test_a_rejection_streak_demotes_it(sqlite_url: str, slack: FakeSlack) -> None:
    """Drafts a guard sent to people come back rejected three times in a row: the action loses auto (the
    incidents domain's own streak alert is set higher here, so this is autonomy's streak at work)."""
    with Harness(sqlite_url, slack=slack, COUNTERSIGN_REJECTION_STREAK=10) as h:
        _streak(h)


def _streak(h: Harness) -> None:
    key = h.register(actions=AUTO, autonomy_rule=NO_SAMPLES)["api_key"]
    assert new_draft(h, key, prompt_version="v1")["status"] == "auto_approved"
    for _ in range(3):
        decide(h, key, "reject", prompt_version="v1", confidence=0.2)  # under the floor: reviewed
    assert new_draft(h, key, prompt_version="v1", confidence=0.9)["status"] == "pending"
    notice = wait_text(h, h.slack.dm_channel_for(OWNER), "back under *review*")
    assert "3 drafts in a row were rejected" in str(notice["blocks"])
    assert not [m for m in h.slack.messages_in(REVIEW_CHANNEL) if "autonomy_sample" in str(m.get("blocks"))]
