"""Acknowledge, Snooze and Resolve on an incident card only by the people the incident was
routed to (owner, backups, the chain's groups, members of a channel step's channel) and admins, and only from
a card Countersign posted for that incident. Each attack is refused politely, audited, and changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlmodel import select

from bot import ids
from bot.blocks import incidents as blocks
from services.audit.models import AuditEntry
from testkit.clock import FakeClock
from testkit.fakes.receiver import FakeAgentReceiver
from testkit.fakes.slack import FakeSlack
from tests.harness import BACKUP, CAROL, OWNER, REVIEW_CHANNEL, Harness
from tests.services.incidents.helpers import CHAIN, card_for, incident, report, wait_status

ADMIN = "U0ADMIN1"
SNOOZE = f"{ids.INCIDENT_SNOOZE_PREFIX}1800"


@pytest.fixture
def h(sqlite_url: str, slack: FakeSlack, receiver: FakeAgentReceiver) -> Iterator[Harness]:
    """The app on SQLite with the scheduler off: escalation steps wait, so each test sees only its clicks."""
    with Harness(sqlite_url, slack=slack, receiver=receiver, clock=FakeClock(), jobs=[]) as harness:
        yield harness


@pytest.fixture
def admin_h(sqlite_url: str, slack: FakeSlack, receiver: FakeAgentReceiver) -> Iterator[Harness]:
    with Harness(sqlite_url, slack=slack, receiver=receiver, clock=FakeClock(), jobs=[],
                 COUNTERSIGN_ADMIN_USERS=ADMIN) as harness:
        yield harness


def audited(h: Harness, subject: str, verb: str) -> list[dict[str, Any]]:
    with h.ctx.read() as session:
        rows = session.exec(select(AuditEntry).where(AuditEntry.subject == subject, AuditEntry.verb == verb)).all()
        return [{"actor": r.actor_id, **r.details} for r in rows]


def opened(h: Harness, **agent: Any) -> tuple[str, dict[str, Any], dict[str, Any]]:
    key = h.register(**{"escalation_chain": CHAIN, **agent})["api_key"]
    created = report(h, key)
    h.drain()
    return key, created, card_for(h.slack, OWNER)  # type: ignore[arg-type]


def test_a_stranger_cannot_acknowledge_snooze_or_resolve(h: Harness, slack: FakeSlack) -> None:
    """Carol got no card and is in no routed channel: each button and a forged Resolve modal are refused."""
    key, created, card = opened(h)
    for action in (ids.INCIDENT_ACK, SNOOZE, ids.INCIDENT_RESOLVE):
        h.click(card, action, user=CAROL, response_url=slack.response_url(action))
        [answer] = slack.wait_for_response(action)
        assert answer["response_type"] == "ephemeral" and "Sorry, only the people" in answer["text"]
    assert slack.views == {}  # no Resolve modal was opened for her
    forged = blocks.resolve_modal(created["id"], "x", channel=card["channel"], ts=card["ts"])
    submitted = h.submit_view(forged, {ids.INCIDENT_NOTE_BLOCK: {ids.INCIDENT_NOTE_INPUT: {"value": "mine"}}},
                              user=CAROL)
    assert submitted.status_code == 200 and "Sorry, only" in submitted.json()["errors"][ids.INCIDENT_NOTE_BLOCK]
    assert incident(h, key, created["id"])["status"] == "triggered"
    refusals = audited(h, f"incident:{created['id']}", "incident.action_refused")
    assert [r["action"] for r in refusals] == ["acknowledge", "snooze", "resolve", "resolve"]
    assert {r["actor"] for r in refusals} == {CAROL}


def test_a_forged_resolve_modal_without_its_card_is_refused(h: Harness) -> None:
    """A view_submission naming only the incident (no card) is refused inside the modal; nothing resolves."""
    key, created, _ = opened(h)
    bare = blocks.resolve_modal(created["id"], "x")  # private_metadata: the id alone
    answer = h.submit_view(bare, {}, user=OWNER).json()
    assert "lost its incident card" in answer["errors"][ids.INCIDENT_NOTE_BLOCK]
    elsewhere = blocks.resolve_modal(created["id"], "x", channel="C0ELSEWHERE", ts="1.2")
    answer = h.submit_view(elsewhere, {}, user=OWNER).json()
    assert "not on one of the incident's cards" in answer["errors"][ids.INCIDENT_NOTE_BLOCK]
    assert incident(h, key, created["id"])["status"] == "triggered"


def test_a_click_off_the_incidents_cards_is_refused_and_audited(h: Harness, slack: FakeSlack) -> None:
    """Even the owner's click counts only on a card Countersign posted for this incident."""
    key, created, card = opened(h)
    h.click(card, ids.INCIDENT_ACK, user=OWNER, channel="C0OTHER99", response_url=slack.response_url("off"))
    assert "not on one of the incident's cards" in slack.wait_for_response("off")[0]["text"]
    h.click(card, ids.INCIDENT_ACK, user=OWNER, team="T0STRANGER", response_url=slack.response_url("team"))
    assert "another Slack workspace" in slack.wait_for_response("team")[0]["text"]
    assert incident(h, key, created["id"])["status"] == "triggered"
    refused = audited(h, f"incident:{created['id']}", "slack.click_refused")
    assert [r["channel"] for r in refused] == ["C0OTHER99", card["channel"]] and refused[1]["team"] == "T0STRANGER"


def test_members_of_a_channel_step_and_of_a_usergroup_step_may_act(h: Harness, slack: FakeSlack) -> None:
    """Routed through the chain: a member of the review channel acknowledges, a group member snoozes."""
    slack.channel_members = {REVIEW_CHANNEL: [CAROL, "U0SOMEONE"]}
    slack.usergroups = {"S090ONCALL": ["U0ONCALL1"]}
    key, created, card = opened(h, escalation_chain=[*CHAIN, {"notify": "usergroup:S090ONCALL"}])
    h.click(card, ids.INCIDENT_ACK, user=CAROL)
    shown = wait_status(h, key, created["id"], "acknowledged")
    assert shown["acknowledged_by"] == CAROL
    h.click(card, SNOOZE, user="U0ONCALL1")
    wait_status(h, key, created["id"], "snoozed")
    h.click(card, ids.INCIDENT_RESOLVE, user="U0NOTINIT", response_url=slack.response_url("outsider"))
    assert "Sorry, only" in slack.wait_for_response("outsider")[0]["text"]


def test_backups_and_admins_may_act(admin_h: Harness, slack: FakeSlack) -> None:
    """The backup owner acknowledges; an admin, routed nowhere, resolves through the modal."""
    key, created, card = opened(admin_h)
    admin_h.click(card, ids.INCIDENT_ACK, user=BACKUP)
    wait_status(admin_h, key, created["id"], "acknowledged")
    admin_h.click(card, ids.INCIDENT_RESOLVE, user=ADMIN)
    [call] = slack.wait_for("views.open")
    view = call.response["view"]
    done = admin_h.submit_view(view, {ids.INCIDENT_NOTE_BLOCK: {ids.INCIDENT_NOTE_INPUT: {"value": "fixed"}}},
                               user=ADMIN)
    assert done.status_code == 200 and not done.content
    assert wait_status(admin_h, key, created["id"], "resolved")["resolved_by"] == ADMIN


def test_a_resolve_note_longer_than_the_modal_allows_is_refused(h: Harness) -> None:
    """The same 3,000-character limit holds for a note that did not come through Slack's own input."""
    key, created, card = opened(h)
    view = blocks.resolve_modal(created["id"], "x", channel=card["channel"], ts=card["ts"])
    answer = h.submit_view(view, {ids.INCIDENT_NOTE_BLOCK: {ids.INCIDENT_NOTE_INPUT: {"value": "n" * 3001}}},
                           user=OWNER).json()
    assert "at most 3,000" in answer["errors"][ids.INCIDENT_NOTE_BLOCK]
    assert incident(h, key, created["id"])["status"] == "triggered"
