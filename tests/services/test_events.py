"""Domain events: the wiring is explicit, and what reacts to a decision can fail without losing the decision."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from sqlmodel import select

from bot import ids
from bot.listeners.acking import decide_then_ack
from services.agents.service import require_agent
from services.db import session_scope
from services.drafts import flows, service
from services.drafts.models import Draft
from services.events import AFTER_COMMIT, Event, FollowUp, Reaction, purge_done_followups, retry_followups
from services.outbox.models import OutboxMessage
from services.wiring import DRAFT_DECIDED, EVENTS, build_events
from testkit.clock import FakeClock
from testkit.fakes.receiver import FakeAgentReceiver
from testkit.fakes.slack import FakeSlack, poll
from tests.harness import ALICE, Harness
from tests.services.drafts.helpers import card, get, new_draft, wait_card


class Flaky:
    """A draft.decided reaction that fails until told to work, counting the drafts it handled."""

    def __init__(self) -> None:
        self.failing, self.handled = True, []

    def __call__(self, *, session: Any, ctx: Any, agent: Any, draft: Any) -> None:
        if self.failing:
            raise RuntimeError("the warehouse of derived facts is on fire")
        self.handled.append(draft.id)


@pytest.fixture
def flaky() -> Flaky:
    return Flaky()


@pytest.fixture
def fh(db_url: str, slack: FakeSlack, receiver: FakeAgentReceiver, clock: FakeClock,
       flaky: Flaky) -> Iterator[Harness]:
    events = build_events(extra=[Reaction(DRAFT_DECIDED, "test.flaky", flaky, AFTER_COMMIT)])
    with Harness(db_url, slack=slack, receiver=receiver, clock=clock, jobs=[], events=events) as harness:
        yield harness


def followups(h: Harness) -> dict[str, FollowUp]:
    with h.ctx.read() as session:
        return {row.reaction: row for row in session.exec(select(FollowUp)).all()}


def settled(h: Harness, count: int) -> dict[str, FollowUp] | None:
    """The follow-ups, once `count` of them have each run or failed once; None before."""
    rows = followups(h)
    return rows if len(rows) == count and all(r.status == "done" or r.attempts for r in rows.values()) else None


def test_a_failing_follow_up_cannot_lose_a_human_decision(fh: Harness, flaky: Flaky, clock: FakeClock) -> None:
    """A reaction to draft.decided that raises leaves the approval, its card, callback and audit committed; the
    other reactions still run, and the failed one is retried by the job until it works, exactly once."""
    key = fh.register()["api_key"]
    draft = new_draft(fh, key)
    message = card(fh, draft["id"])
    assert fh.click(message, ids.DRAFT_APPROVE, user=ALICE).status_code == 200
    assert get(fh, key, draft["id"]).json()["status"] == "approved"
    wait_card(fh, message, lambda text: "Approved" in text)
    with fh.ctx.read() as session:
        callbacks = session.exec(select(OutboxMessage).where(OutboxMessage.kind == "callback")).all()
    assert [c.payload["data"]["status"] for c in callbacks] == ["approved"]
    # The reactions run after the click's ack (bot.listeners.acking): wait until each has run or failed once.
    rows = poll(lambda: settled(fh, 4), 10, lambda: f"follow-ups still running: {followups(fh)}")
    assert {name: row.status for name, row in rows.items()} == {
        "incidents.rejection_streak": "done", "spend.waste": "done", "autonomy.evidence": "done",
        "test.flaky": "pending"}
    assert rows["test.flaky"].attempts == 1 and "on fire" in (rows["test.flaky"].last_error or "")

    retry_followups(fh.ctx)  # not due yet: nothing happens, and nothing is lost
    assert followups(fh)["test.flaky"].attempts == 1
    flaky.failing = False
    clock.advance(120)
    retry_followups(fh.ctx)
    retry_followups(fh.ctx)
    assert followups(fh)["test.flaky"].status == "done" and flaky.handled == [draft["id"]]
    assert get(fh, key, draft["id"]).json()["status"] == "approved"


def test_a_follow_up_left_behind_by_a_crash_runs_from_the_job(fh: Harness, flaky: Flaky, clock: FakeClock) -> None:
    """A transaction that commits and then dies before its follow-ups run (here: committed outside ctx.uow, so
    nothing runs them) leaves rows that the job runs once they are due; done rows are purged after a week."""
    flaky.failing = False
    key = fh.register()["api_key"]
    draft_id = new_draft(fh, key)["id"]
    with session_scope(fh.ctx.engine) as session:  # a bare unit of work: nothing runs its follow-ups after commit
        draft = session.get(Draft, draft_id)
        assert draft is not None
        draft.status = "rejected"
        agent = require_agent(session=session, name="quoter")
        fh.ctx.events.publish("draft.decided", session=session, ctx=fh.ctx, agent=agent, draft=draft)
    assert flaky.handled == [] and followups(fh)["test.flaky"].status == "pending"
    clock.advance(60)
    retry_followups(fh.ctx)
    assert flaky.handled == [draft_id] and {r.status for r in followups(fh).values()} == {"done"}
    clock.advance(8 * 86400)
    purge_done_followups(fh.ctx)  # kept a week for inspection, then dropped
    assert followups(fh) == {}


def test_the_wiring_refuses_unknown_events_and_duplicate_names() -> None:
    """A renamed event fails loudly at publish time; a reaction wired twice, or to an undeclared event, at startup."""
    events = build_events()
    with pytest.raises(ValueError, match="unknown event"):
        events.publish("draft.decide", session=None, ctx=None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unique"):
        build_events(extra=[Reaction(DRAFT_DECIDED, "spend.waste", Flaky(), AFTER_COMMIT)])
    with pytest.raises(ValueError, match="undeclared"):
        build_events(extra=[Reaction(Event("draft.vanished", {}), "test.flaky", Flaky(), AFTER_COMMIT)])
    assert {e.name for e in EVENTS} == {"draft.created", "draft.decided", "incident.opened"}


class AfterAck:
    """A draft.decided reaction that notes whether Slack had its ack when it ran."""

    def __init__(self, log: list[str]) -> None:
        self.log = log

    def __call__(self, *, session: Any, ctx: Any, agent: Any, draft: Any) -> None:
        self.log.append("reaction")


def test_a_click_acks_on_the_commit_and_its_reactions_run_after(db_url: str, slack: FakeSlack,
                                                                 receiver: FakeAgentReceiver, clock: FakeClock) -> None:
    """decide_then_ack: the decision is committed when Slack hears "ok"; the after-commit reactions to it run
    after the ack (they only lengthen a person's wait), and still run."""
    log: list[str] = []
    events = build_events(extra=[Reaction(DRAFT_DECIDED, "test.after_ack", AfterAck(log), AFTER_COMMIT)])
    with Harness(db_url, slack=slack, receiver=receiver, clock=clock, jobs=[], events=events) as h:
        draft = new_draft(h, h.register()["api_key"])

        async def ack(**_: Any) -> None:
            with h.ctx.read() as session:
                log.append(f"ack with the draft {service.get_draft(session=session, draft_id=draft['id']).status}")

        async def work() -> Any:
            return await asyncio.to_thread(flows.decide, ctx=h.ctx, draft_id=draft["id"], user_id=ALICE,
                                           verdict="approve")

        asyncio.run(decide_then_ack(ack, work()))
        assert log == ["ack with the draft approved", "reaction"]
        assert followups(h)["test.after_ack"].status == "done"
