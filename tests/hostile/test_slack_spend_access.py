"""`/countersign digest` and `/countersign budget <agent>` only for the people
accountable (or in a channel that gets digests); the OpenAI narrative capped per hour; and every refusal of a
person from Slack audited (pause, resume, owner, the incident card's Pause, digests, budgets)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx
from sqlmodel import select

from bot import ids
from services.audit.models import AuditEntry
from services.digests.models import DigestRun
from testkit.clock import FakeClock
from testkit.fakes.receiver import FakeAgentReceiver
from testkit.fakes.slack import FakeSlack
from tests.harness import ALICE, BACKUP, CAROL, OWNER, Harness
from tests.services.digests.test_sending import OPENAI, completion
from tests.services.incidents.helpers import CHAIN, card_for, report

ADMIN = "U0ADMIN1"


@pytest.fixture
def h(sqlite_url: str, slack: FakeSlack, receiver: FakeAgentReceiver) -> Iterator[Harness]:
    with Harness(sqlite_url, slack=slack, receiver=receiver, clock=FakeClock(), jobs=[],
                 COUNTERSIGN_ADMIN_USERS=ADMIN) as harness:
        yield harness


def refused(h: Harness, verb: str) -> list[dict[str, Any]]:
    with h.ctx.read() as session:
        rows = session.exec(select(AuditEntry).where(AuditEntry.verb == verb)).all()
        return [{"actor": r.actor_id, "subject": r.subject, **r.details} for r in rows]


def schedule(h: Harness, channel: str) -> None:
    made = h.client.post("/v1/digests/schedules", json={"channel": channel}, headers=h.admin)
    assert made.status_code == 201, made.text


def test_budget_of_an_agent_is_for_its_people_or_a_digest_channel(h: Harness) -> None:
    """Alice (an approver, not accountable) is refused another agent's budget, audited; the backup, an admin,
    and anyone in a channel that gets digests may see it."""
    h.register()
    answer = h.command("budget quoter", user_id=ALICE, channel_id="C0RANDOM").json()
    assert answer["response_type"] == "ephemeral" and "Sorry, only quoter's owner" in answer["text"]
    assert [(r["actor"], r["subject"]) for r in refused(h, "budget.view_refused")] == [(ALICE, "agent:quoter")]
    for who in (BACKUP, ADMIN):
        assert "quoter" in str(h.command("budget quoter", user_id=who, channel_id="C0RANDOM").json()["blocks"])
    schedule(h, "C0DIGESTS")
    assert "quoter" in str(h.command("budget quoter", user_id=ALICE, channel_id="C0DIGESTS").json()["blocks"])


def test_digest_from_anyone_anywhere_is_refused(h: Harness) -> None:
    """A person who owns nothing, or an owner in a channel without a schedule, can't post every agent's spend."""
    h.register()
    schedule(h, "C0DIGESTS")
    slack = h.slack
    for who, channel in ((CAROL, "C0DIGESTS"), (OWNER, "C0RANDOM")):
        h.command("digest", user_id=who, channel_id=channel, response_url=slack.response_url(f"{who}{channel}"))
        [answer] = slack.wait_for_response(f"{who}{channel}")
        assert answer["response_type"] == "ephemeral" and "Sorry, a digest shows every agent's spend" in answer["text"]
    assert [(r["actor"], r["channel"]) for r in refused(h, "digest.refused")] == [(CAROL, "C0DIGESTS"),
                                                                                (OWNER, "C0RANDOM")]
    with h.ctx.read() as session:
        assert session.exec(select(DigestRun)).all() == []
    help_text = str(h.command("help", user_id=CAROL).json()["blocks"])
    assert "COUNTERSIGN_ADMIN_USERS" in help_text and "`digest` posts every agent's spend" in help_text


def test_the_narrative_is_capped_per_hour(sqlite_url: str, slack: FakeSlack) -> None:
    """With room left in the month, the hour's cap still sends the fourth digest with the template."""
    with respx.mock(assert_all_called=False) as mock, \
            Harness(sqlite_url, slack=slack, clock=FakeClock(), jobs=[], OPENAI_API_KEY="sk-test",
                    COUNTERSIGN_LLM_CALLS_PER_HOUR=3, COUNTERSIGN_ADMIN_USERS=ADMIN) as h:
        mock.route(host="127.0.0.1").pass_through()
        route = mock.post(OPENAI).mock(return_value=httpx.Response(200, json=completion("Fine.")))
        for n in range(4):
            h.command("digest week", user_id=ADMIN, channel_id="C0ADMINS", response_url=slack.response_url(f"d{n}"))
            slack.wait_for_response(f"d{n}")
        with h.ctx.read() as session:
            sources = [r.narrative_source for r in session.exec(select(DigestRun).order_by(DigestRun.id))]
        assert sources == ["openai", "openai", "openai", "template-over-rate"] and route.call_count == 3


def test_refused_pause_resume_owner_and_card_pause_are_audited(h: Harness) -> None:
    """Carol's refused /countersign pause, resume and owner, and her refused Pause click, each leave a trace."""
    key = h.register(escalation_chain=CHAIN)["api_key"]
    created = report(h, key)
    h.drain()
    assert "Sorry, only" in h.command("pause quoter", user_id=CAROL).json()["text"]
    assert "Sorry, only" in h.command("resume quoter", user_id=CAROL).json()["text"]
    assert "Sorry, only" in h.command(f"owner quoter <@{CAROL}>", user_id=CAROL).json()["text"]
    h.click(card_for(h.slack, OWNER), ids.INCIDENT_PAUSE, user=CAROL,  # type: ignore[arg-type]
            response_url=h.slack.response_url("carol"))  # type: ignore[union-attr]
    assert "Sorry, only" in h.slack.wait_for_response("carol")[0]["text"]  # type: ignore[union-attr]
    trail = [(r["subject"], r["actor"]) for verb in ("agent.pause_refused", "agent.resume_refused",
                                                     "agent.handover_refused") for r in refused(h, verb)]
    assert trail == [("agent:quoter", CAROL), (f"incident:{created['id']}", CAROL), ("agent:quoter", CAROL),
                     ("agent:quoter", CAROL)]
    assert h.client.get("/v1/agents/me", headers=h.bearer(key)).json()["status"] == "active"
