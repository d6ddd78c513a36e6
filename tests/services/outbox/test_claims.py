"""Claims: one sender per lane, sized to the lease, fenced by a token; a dead sender's claims are freed early."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlmodel import select

from services.clock import SystemClock
from services.db import make_engine, session_scope
from services.outbox import claims, liveness
from services.outbox.delivery import Outcome
from services.outbox.models import OutboxMessage, OutboxSenderBeat
from services.outbox.service import enqueue_slack
from tests.services.outbox.helpers import make_sender, running, until

pytestmark = pytest.mark.postgres_too  # see tests/conftest.py: which tests run on PostgreSQL

KINDS = ["slack", "callback"]


def _queue(engine, channel: str, count: int) -> None:
    now = SystemClock().now()
    with session_scope(engine) as session:
        for n in range(count):
            enqueue_slack(session=session, method="chat.postMessage", now=now,
                          args={"channel": channel, "text": f"{channel} {n}"})


def _claim(engine, lane: str, sender_id: str = "s1", limit: int = 10, lease_s: float = 60.0):
    return claims.claim_lane(engine, lane=lane, now=SystemClock().now(), kinds=KINDS, limit=limit,
                             sender_id=sender_id, lease_s=lease_s)


def _steal(engine, ids: list[int]) -> None:
    with session_scope(engine) as session:
        session.execute(update(OutboxMessage).where(OutboxMessage.id.in_(ids)).values(claim_token="thief"))  # type: ignore[union-attr]


def _pending(engine) -> int:
    with session_scope(engine) as session:
        return len(session.exec(select(OutboxMessage.id).where(OutboxMessage.status == "pending")).all())


def test_a_lane_is_claimed_by_one_sender_at_a_time(db_url: str) -> None:
    """Eight senders claim the same lane at once: one gets it, so the channel's pace holds across replicas."""
    engine = make_engine(db_url)
    _queue(engine, "C0ONE", 20)
    _queue(engine, "C0TWO", 1)
    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(lambda n: _claim(engine, "slack:C0ONE", f"s{n}", limit=5), range(8)))
    winners = [c for c in got if c is not None]
    assert len(winners) == 1 and len(winners[0].rows) == 5
    assert _claim(engine, "slack:C0ONE", "late") is None  # still held
    assert _claim(engine, "slack:C0TWO", "other") is not None  # another lane is free


def test_a_sender_that_lost_its_claim_sends_nothing_more(db_url: str, slack) -> None:
    """Once its rows carry another token, a sender records nothing on them and sends no more of them: the send
    in hand (fenced by the claim's own commit) is the only one, the at-least-once window."""
    engine = make_engine(db_url)
    _queue(engine, "C0ONE", 3)
    claim = _claim(engine, "slack:C0ONE")
    assert claim is not None
    _steal(engine, [r.id for r in claim.rows])

    async def scenario() -> int:
        sender = make_sender(engine, slack)
        try:
            attempted, following = await sender._deliver_claim(claim, None, then=True)
            assert following is None
            return attempted
        finally:
            await sender.http.aclose()

    assert asyncio.run(scenario()) == 1
    assert len(slack.calls) == 1
    with session_scope(engine) as session:
        rows = session.exec(select(OutboxMessage)).all()
        assert {(r.status, r.claim_token, r.attempts) for r in rows} == {("pending", "thief", 0)}


def test_a_settle_under_a_lost_claim_changes_nothing_and_stops_the_lane(db_url: str) -> None:
    """A delivery whose claim was taken meanwhile is not recorded, and the next row's fence says stop."""
    engine = make_engine(db_url)
    _queue(engine, "C0ONE", 2)
    claim = _claim(engine, "slack:C0ONE")
    assert claim is not None
    first, second = (r.id for r in claim.rows)
    now = SystemClock().now()
    assert claims.settle(engine, outcome=Outcome(first, True), token=claim.token, now=now, lease_s=60,
                         next_id=second) is True
    _steal(engine, [second])
    assert claims.settle(engine, outcome=Outcome(second, True), token=claim.token, now=now, lease_s=60) is False
    with session_scope(engine) as session:
        assert session.get(OutboxMessage, first).status == "sent"
        assert session.get(OutboxMessage, second).status == "pending"


def test_a_claim_holds_what_its_lane_can_deliver_within_the_lease(sqlite_url: str) -> None:
    """Claims shrink with short leases and slow lanes, so work never outlives the lease it was claimed under."""
    engine = make_engine(sqlite_url)
    assert make_sender(engine, None, lease_s=2.0, channel_interval_s=0.5)._capacity("slack:C1") == 2
    assert make_sender(engine, None, lease_s=120.0, channel_interval_s=1.0)._capacity("slack:C1") == 5
    assert make_sender(engine, None, lease_s=120.0, channel_interval_s=1.0)._capacity("callback:1") == 100
    slow = make_sender(engine, None, lease_s=4.0, channel_interval_s=0.0)
    for _ in range(20):
        slow._observe("slack:C1", 0.5)  # Slack answers in half a second
    assert slow._capacity("slack:C1") == 4


def test_two_senders_with_short_leases_and_a_slow_slack_post_each_card_once(db_url: str, slack) -> None:
    """Draining one channel takes several leases; renewals and fencing keep the second sender off its rows."""
    engines = [make_engine(db_url), make_engine(db_url)]
    _queue(engines[0], "C0ONE", 24)
    slack.set_delay(0.12)  # about 3 s to drain: twice the lease

    async def scenario() -> None:
        # A lease a CPU-starved CI worker cannot outstall between two beats (a stall longer than the lease is the
        # one case a lease cannot cover; docs/operations.md: Delivery), yet short enough that the drain needs renewals.
        senders = [make_sender(e, slack, lease_s=1.5, heartbeat_s=0.3) for e in engines]
        async with running(senders[0]), running(senders[1]):  # leaving waits for every send in flight
            await until(lambda: _pending(engines[0]) == 0, 30, "every card")

    asyncio.run(scenario())
    posted = Counter(c.args["text"] for c in slack.calls_to("chat.postMessage"))
    assert len(posted) == 24 and set(posted.values()) == {1}, posted.most_common(3)


def test_a_dead_senders_claims_are_freed_before_its_lease_ends(db_url: str) -> None:
    """Stopped beating for longer than it said it might, or (on this host) its process is gone: its claims are due
    again; a live one's are not. Silence is timed on the watcher's own clock, so every timestamp here is the same
    (as a clock that jumped, or a skewed host, would make them) and only the watcher's seconds move."""
    engine = make_engine(db_url)
    now = SystemClock().now()
    exited = subprocess.Popen([sys.executable, "-c", "pass"])
    exited.wait()
    senders = {"stale": ("elsewhere:boot", 1, now + timedelta(seconds=1)),
               "alive": ("elsewhere:boot", 1, now + timedelta(seconds=1)),
               "patient": ("elsewhere:boot", 1, now + timedelta(seconds=30)),
               "exited": (liveness.this_host(), exited.pid, now + timedelta(seconds=30))}
    with session_scope(engine) as session:
        for sender_id, (host, pid, expires) in senders.items():
            session.add(OutboxSenderBeat(id=sender_id, host=host, pid=pid, started_at=now, beat_at=now,
                                         expires_at=expires))
    for sender_id in senders:
        _queue(engine, f"C{sender_id}", 2)
        assert _claim(engine, f"slack:C{sender_id}", sender_id, lease_s=600) is not None
    watch = liveness.Watch()
    assert liveness.reap(engine, sender_id="me", watch=watch, now_s=100.0) == 2  # only the exited one, at once
    with session_scope(engine) as session:  # "alive" beats (whatever its clock says); "stale" does not
        beat = session.get(OutboxSenderBeat, "alive")
        assert beat is not None
        beat.beat_at, beat.expires_at = now - timedelta(hours=1), now - timedelta(hours=1) + timedelta(seconds=1)
    assert liveness.reap(engine, sender_id="me", watch=watch, now_s=105.0) == 2
    with session_scope(engine) as session:
        held = Counter(r.claimed_by for r in session.exec(select(OutboxMessage)).all())
        assert held == {None: 4, "alive": 2, "patient": 2}
        assert {s.id for s in session.exec(select(OutboxSenderBeat)).all()} == {"alive", "patient"}
    # Then "alive" falls silent too (1 s after its last beat), and "patient" only once its 30 s are up.
    assert liveness.reap(engine, sender_id="me", watch=watch, now_s=129.0) == 2
    assert liveness.reap(engine, sender_id="me", watch=watch, now_s=131.0) == 2


def test_a_restarted_sender_takes_over_a_silent_ones_claims_within_seconds(sqlite_url: str, slack) -> None:
    """A sender that claimed a lane (120 s lease) and went silent: another delivers its rows after a few beats."""
    engine = make_engine(sqlite_url)
    _queue(engine, "C0ONE", 3)
    now = SystemClock().now()
    liveness.beat(engine, sender_id="silent", now=now, beat_s=0.2, lease_s=120, started_at=now, tokens=[])
    assert _claim(engine, "slack:C0ONE", "silent", lease_s=120) is not None

    async def scenario() -> float:
        began = time.monotonic()
        async with running(make_sender(engine, slack, heartbeat_s=0.2)):
            await until(lambda: len(slack.calls_to("chat.postMessage")) == 3, 10, "the silent sender's rows")
        return time.monotonic() - began

    assert asyncio.run(scenario()) < 5


def test_a_send_slower_than_the_lease_keeps_its_claim(sqlite_url: str, slack) -> None:
    """Slack takes longer than a whole lease to answer; the heartbeat renews the claim, so nobody posts it again."""
    engines = [make_engine(sqlite_url), make_engine(sqlite_url)]
    _queue(engines[0], "C0ONE", 3)
    slack.set_delay(2.0)  # each answer takes longer than the whole lease

    async def scenario() -> None:
        senders = [make_sender(e, slack, lease_s=1.2, heartbeat_s=0.2) for e in engines]
        async with running(senders[0]), running(senders[1]):
            await until(lambda: _pending(engines[0]) == 0, 30, "every card")

    asyncio.run(scenario())
    posted = Counter(c.args["text"] for c in slack.calls_to("chat.postMessage"))
    assert len(posted) == 3 and set(posted.values()) == {1}, posted
