"""Cards claimed as they are written and handed to the sender after the commit (services.outbox.handoff): a dead
process's card still goes out once its lease runs out, and a card never overtakes its lane's earlier rows."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from services.clock import SystemClock
from services.db import make_engine, session_scope
from services.outbox import claims
from services.outbox.handoff import CLAIMED_KEY, HANDOFF_KEY, Handoff
from services.outbox.lanes import Claim
from services.outbox.models import OutboxMessage
from services.outbox.sender import OutboxSender
from services.outbox.service import QUEUED_KEY, enqueue_slack
from tests.services.outbox.helpers import make_sender, until

pytestmark = pytest.mark.postgres_too  # see tests/conftest.py: which tests run on PostgreSQL


@dataclass
class DeadTaker:
    """A sender that claims cards as they are written and then dies before it is handed any."""

    id: str = "dead-sender"
    lease_s: float = 60.0
    taken: list[Claim] = field(default_factory=list)

    def accepts(self, lane: str) -> bool:
        return True

    def take(self, claim: Claim) -> None:
        self.taken.append(claim)


@dataclass
class Ahead:
    """A clock this many seconds ahead: the other sender's view once a lease has run out."""

    seconds: float

    def now(self) -> datetime:
        return SystemClock().now() + timedelta(seconds=self.seconds)


@contextmanager
def writing(engine: Engine, handoff: Handoff) -> Iterator[Session]:
    """A transaction as AppContext.uow() makes it: cards in it may be claimed for the handoff's sender, and are
    handed over after the commit."""
    with session_scope(engine) as session:
        session.info[HANDOFF_KEY] = handoff
        yield session
    handoff.hand(session.info.pop(CLAIMED_KEY, {}).values())


def post(session: Session, channel: str, text: str, *, key: str | None = None,
         thread_key: str | None = None) -> OutboxMessage:
    return enqueue_slack(session=session, method="chat.postMessage", now=SystemClock().now(), message_key=key,
                         thread_key=thread_key, args={"channel": channel, "text": text})


def rows(engine: Engine) -> list[OutboxMessage]:
    with session_scope(engine) as session:
        return list(session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))).all())


def posted(slack) -> list[tuple[str, str | None]]:
    return [(c.args["text"], c.args.get("thread_ts")) for c in slack.calls_to("chat.postMessage", ok_only=True)]


@asynccontextmanager
async def running(sender: OutboxSender, handoff: Handoff) -> AsyncIterator[None]:
    stop, wake = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(sender.run_forever(stop, wake, idle_s=0.1, handoff=handoff))
    await until(lambda: handoff.taker is not None, 5, "the sender to take hand-offs")
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=10)
        await sender.http.aclose()


def test_a_dead_process_card_goes_out_once_its_lease_runs_out(db_url: str, slack) -> None:
    """The card was claimed in its transaction by a sender whose process died before the hand-off: no other
    sender touches it while the lease holds, and one delivers it, once, when the lease has run out."""
    engine = make_engine(db_url)
    dead, handoff = DeadTaker(), Handoff()
    handoff.taker = dead  # no loop: the process is gone before anything is handed over
    with writing(engine, handoff) as session:
        post(session, "C0CARDS", "card", key="card:1")
        assert not session.info.get(QUEUED_KEY)  # nothing to wake a sender for: the card is claimed
    [row] = rows(engine)
    assert row.claimed_by == "dead-sender" and row.claim_token and dead.taken == []

    async def scenario() -> None:
        other = make_sender(engine, slack)
        assert await other.run_once() == 0  # the lease holds: the lane is the dead sender's
        other.clock = Ahead(dead.lease_s + 1)
        assert await other.run_once() == 1

    asyncio.run(scenario())
    assert posted(slack) == [("card", None)]
    [row] = rows(engine)
    assert row.status == "sent" and row.claimed_by is None


def test_a_card_for_a_lane_with_pending_rows_is_left_to_the_lane(db_url: str) -> None:
    """A lane with rows waiting (unclaimed, or held by another replica's claim) gets no claimed card: the new
    card waits behind them, unclaimed, and wakes the sender as before."""
    engine = make_engine(db_url)
    handoff = Handoff(taker=DeadTaker(id="here"))
    with session_scope(engine) as session:
        post(session, "C0WAITING", "earlier")
        post(session, "C0HELD", "earlier")
    assert claims.claim_lane(engine, lane="slack:C0HELD", now=SystemClock().now(), kinds=["slack"], limit=5,
                             sender_id="other-replica", lease_s=60) is not None
    with writing(engine, handoff) as session:
        waiting, held = post(session, "C0WAITING", "later"), post(session, "C0HELD", "later")
        free = post(session, "C0FREE", "first of its lane")
        assert session.info.get(QUEUED_KEY)
    assert waiting.claim_token is None and held.claim_token is None
    assert free.claimed_by == "here"


def test_an_unclaimed_row_in_the_transaction_keeps_later_posts_of_its_lane_behind_it(db_url: str) -> None:
    """Within one transaction: once a row of a lane is written unclaimed (an edit), no later post of that lane
    joins the lane's claim, so the edit is not overtaken."""
    engine = make_engine(db_url)
    handoff = Handoff(taker=DeadTaker(id="here"))
    with writing(engine, handoff) as session:
        first = post(session, "C0MIXED", "card", key="card:m")
        edit = enqueue_slack(session=session, method="chat.update", now=SystemClock().now(), message_key="card:m",
                             args={"text": "edited"})
        later = post(session, "C0MIXED", "another card")
    assert first.claim_token is not None and edit.claim_token is None and later.claim_token is None


def test_a_handed_card_waits_for_the_lane_and_keeps_its_order(db_url: str, slack) -> None:
    """A running sender with a paced backlog in one channel: a card written for that channel meanwhile is left
    to the lane's worker and goes out after the backlog; a card for an idle channel is handed over at once."""
    engine = make_engine(db_url)
    with session_scope(engine) as session:
        for n in range(3):
            post(session, "C0BUSY", f"backlog {n}")
    handoff = Handoff()

    async def scenario() -> None:
        sender = make_sender(engine, slack, channel_interval_s=0.5)
        async with running(sender, handoff):
            await until(lambda: posted(slack), 5, "the backlog to start")
            with writing(engine, handoff) as session:
                busy, idle = post(session, "C0BUSY", "new card"), post(session, "C0IDLE", "idle card")
            assert busy.claim_token is None and idle.claimed_by == sender.id
            await until(lambda: len(posted(slack)) == 5, 10, "every card")

    asyncio.run(scenario())
    assert handoff.handed == 1
    busy_lane = [text for text, _ in posted(slack) if text != "idle card"]
    assert busy_lane == ["backlog 0", "backlog 1", "backlog 2", "new card"]


def test_a_page_and_its_thread_line_share_one_claim(db_url: str, slack) -> None:
    """An incident's DM and the first line of its thread, written together, go out on one claim, in order, the
    line threaded under the DM; a DM that fails holds its line back (unsent, not given up) until it is sent."""
    engine = make_engine(db_url)
    slack.fail_next(1, status=500, method="chat.postMessage")
    handoff = Handoff()

    async def scenario() -> None:
        sender = make_sender(engine, slack)
        async with running(sender, handoff):
            with writing(engine, handoff) as session:
                dm = post(session, "U0OWNER", "page", key="incident:1:U0OWNER")
                line = post(session, "U0OWNER", "opened", thread_key="incident:1:U0OWNER")
            assert dm.claim_token is not None and line.claim_token == dm.claim_token
            await until(lambda: len(posted(slack)) == 2, 15, "the page and its line, after the DM's retry")

    asyncio.run(scenario())
    assert handoff.handed == 1
    (page, no_thread), (opened, thread_ts) = posted(slack)
    assert (page, no_thread, opened) == ("page", None, "opened") and thread_ts is not None
    assert all(r.status == "sent" for r in rows(engine))
