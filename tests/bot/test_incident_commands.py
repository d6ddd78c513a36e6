"""The kill switch and accountability from Slack: pause/resume (button and command), who may, owner handover."""

from __future__ import annotations

from bot import ids
from bot.listeners.commands.incidents import parse_user
from testkit.fakes.slack import FakeSlack
from tests.harness import BACKUP, CAROL, OWNER, Harness
from tests.services.incidents.helpers import CHAIN, card_for, incident, report


def test_pause_button_makes_the_agents_writes_423(h: Harness, slack: FakeSlack) -> None:
    """The card's Pause agent button pauses it: writes get 423 saying who and why; the thread records it."""
    key = h.register(escalation_chain=CHAIN)["api_key"]
    created = report(h, key)
    h.drain()
    h.click(card_for(slack, OWNER), ids.INCIDENT_PAUSE, user=OWNER, response_url=slack.response_url("pause"))
    assert "Paused" in slack.wait_for_response("pause")[0]["text"]
    refused = h.client.post("/v1/incidents", headers=h.bearer(key), json={
        "kind": "error", "severity": "high", "summary": "more"})
    assert refused.status_code == 423
    assert refused.json()["paused_by"] == OWNER and f"incident #{created['id']}" in refused.json()["paused_reason"]
    assert h.client.post("/v1/runs", headers=h.bearer(key), json={
        "expect_heartbeat_every_s": 10, "grace_s": 5}).status_code == 423
    assert h.client.get("/v1/agents/me", headers=h.bearer(key)).json()["status"] == "paused"
    assert any(a["verb"] == "paused" and a["actor"] == OWNER for a in incident(h, key, created["id"])["actions"])


def test_unauthorised_pause_is_refused_politely(h: Harness, slack: FakeSlack) -> None:
    """Someone who is not owner, backup or admin is told so, by button or by command, and nothing changes."""
    key = h.register(escalation_chain=CHAIN)["api_key"]
    report(h, key)
    h.drain()
    h.click(card_for(slack, OWNER), ids.INCIDENT_PAUSE, user=CAROL, response_url=slack.response_url("carol"))
    answer = slack.wait_for_response("carol")[0]
    assert answer["response_type"] == "ephemeral" and "only quoter's owner" in answer["text"]
    reply = h.command("pause quoter because", user_id=CAROL).json()
    assert reply["response_type"] == "ephemeral" and "Sorry, only" in reply["text"]
    assert "Sorry, only" in h.command("resume quoter", user_id=CAROL).json()["text"]
    assert h.client.get("/v1/agents/me", headers=h.bearer(key)).json()["status"] == "active"


def test_pause_and_resume_commands_by_backup_and_admin(sqlite_url: str, slack: FakeSlack) -> None:
    """A backup owner pauses with a reason; a configured admin (not an owner) resumes."""
    with Harness(sqlite_url, slack=slack, jobs=[], COUNTERSIGN_ADMIN_USERS=CAROL) as harness:
        key = harness.register()["api_key"]
        reply = harness.command("pause quoter quoting below cost", user_id=BACKUP).json()
        assert "Paused" in reply["text"]
        me = harness.client.get("/v1/agents/me", headers=harness.bearer(key)).json()
        assert me["paused_by"] == BACKUP and me["paused_reason"] == "quoting below cost"
        assert "already paused" in harness.command("pause quoter", user_id=OWNER).json()["text"]
        assert "Resumed" in harness.command("resume quoter", user_id=CAROL).json()["text"]
        assert "no agent named" in harness.command("pause nobody", user_id=CAROL).json()["text"]


def test_owner_shows_the_chain_and_hands_over(h: Harness, slack: FakeSlack) -> None:
    """`owner <agent>` shows owner, backups and chain; only the owner hands over, and the new owner is told."""
    h.register(escalation_chain=CHAIN, escalation_repeat=2)
    shown = str(h.command("owner quoter", user_id=CAROL).json()["blocks"])
    assert f"<@{OWNER}>" in shown and f"<@{BACKUP}>" in shown and "wait 1 min" in shown and "3×" in shown
    assert "Sorry, only" in h.command(f"owner quoter <@{CAROL}|carol>", user_id=BACKUP).json()["text"]
    moved = h.command(f"owner quoter <@{CAROL}|carol>", user_id=OWNER).json()
    assert f"<@{CAROL}> now owns" in moved["text"]
    assert h.client.get("/v1/agents/quoter", headers=h.admin).json()["owner"] == CAROL
    h.drain()
    assert any("new owner" in m["text"] for m in slack.messages_in(slack.dm_channel_for(CAROL)))
    assert "couldn't read" in h.command("owner quoter dana", user_id=CAROL).json()["text"]


def test_incidents_lists_open_ones_for_owners_and_backups_only(h: Harness) -> None:
    """`incidents` shows the caller's agents' open incidents, and nothing to a stranger."""
    key = h.register()["api_key"]
    report(h, key, summary="fuel table stale")
    assert "fuel table stale" in str(h.command("incidents", user_id=BACKUP).json()["blocks"])
    assert "No open incidents" in str(h.command("incidents", user_id=CAROL).json()["blocks"])


def test_mentions_are_parsed_as_slack_sends_them() -> None:
    """Slack escapes a mention as <@U123|name>; a bare id works too; anything else is not a user."""
    assert parse_user("<@U0ABC123|dana>") == "U0ABC123"
    assert parse_user("<@W0ABC123>") == "W0ABC123"
    assert parse_user("U0ABC123") == "U0ABC123"
    assert parse_user("@dana") is None and parse_user("<#C123|general>") is None
