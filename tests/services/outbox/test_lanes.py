"""Lanes: a busy or rate-limited Slack channel never delays another lane, and people go first."""

from __future__ import annotations

import asyncio

import pytest

from services.clock import SystemClock
from services.db import make_engine, session_scope
from services.outbox.service import enqueue_callback, enqueue_slack
from tests.services.outbox.helpers import make_agent, make_sender, running, until


def _queue_cards(engine, channel: str, count: int) -> None:
    now = SystemClock().now()
    with session_scope(engine) as session:
        for n in range(count):
            enqueue_slack(session=session, method="chat.postMessage", now=now, message_key=f"card:{channel}:{n}",
                          args={"channel": channel, "text": f"card {n}"})


@pytest.mark.postgres_too
def test_a_channel_backlog_delays_no_dm_and_no_callback(db_url: str, slack, receiver) -> None:
    """120 cards paced at 1/s in one channel; a DM and a callback queued after them still leave at once."""
    engine = make_engine(db_url)
    agent_id = make_agent(engine, receiver.url)
    _queue_cards(engine, "C0BUSY", 120)

    async def scenario() -> None:
        sender = make_sender(engine, slack, channel_interval_s=1.0)
        async with running(sender) as wake:
            await until(lambda: slack.calls_to("chat.postMessage"), 5, "the backlog to start")
            now = SystemClock().now()
            with session_scope(engine) as session:
                enqueue_slack(session=session, method="chat.postMessage", now=now,
                              args={"channel": "U0OWNER", "text": "page"})
                enqueue_callback(session=session, agent_id=agent_id, url=receiver.url, event="draft.decided",
                                 data={"id": "drf_1"}, now=now)
            wake.set()
            dm = await until(lambda: any(c.args.get("text") == "page" for c in slack.calls), 5, "the DM")
            callback = await until(lambda: receiver.deliveries, 5, "the callback")
            assert dm < 1.5 and callback < 1.5, (dm, callback)
            assert len(slack.calls_to("chat.postMessage")) < 10  # the backlog was still draining

    asyncio.run(scenario())


def test_a_rate_limited_channel_rests_while_another_is_served(sqlite_url: str, slack) -> None:
    """A 429 with Retry-After pauses that channel's lane only; another channel's post goes out meanwhile."""
    engine = make_engine(sqlite_url)
    _queue_cards(engine, "C0LIMITED", 3)
    slack.fail_next(1, status=429, retry_after=2, method="chat.postMessage")

    async def scenario() -> None:
        sender = make_sender(engine, slack)
        async with running(sender) as wake:
            await until(lambda: slack.calls, 5, "the 429")
            _queue_cards(engine, "C0FREE", 1)
            wake.set()
            await until(lambda: slack.calls_to("chat.postMessage", ok_only=True), 2, "the other channel's post")
            assert [c.args["channel"] for c in slack.calls_to("chat.postMessage", ok_only=True)] == ["C0FREE"]
            await until(lambda: len(slack.calls_to("chat.postMessage", ok_only=True)) == 4, 10, "the rest")

    asyncio.run(scenario())
    limited = slack.calls_to("chat.postMessage")
    first_429 = next(c.time for c in limited if c.status == 429)
    after = [c.time for c in limited if c.args["channel"] == "C0LIMITED" and not c.failed]
    assert len(after) == 3 and min(after) - first_429 >= 1.9  # Retry-After honoured for the whole lane


def test_a_page_to_a_busy_channel_goes_ahead_of_its_cards(sqlite_url: str, slack) -> None:
    """Within one channel's lane an urgent post overtakes the queued cards within one claim window."""
    engine = make_engine(sqlite_url)
    _queue_cards(engine, "C0REVIEW", 40)

    async def scenario() -> None:
        sender = make_sender(engine, slack, channel_interval_s=0.1, claim_window_s=0.5)
        async with running(sender) as wake:
            await until(lambda: slack.calls, 5, "the backlog to start")
            with session_scope(engine) as session:
                enqueue_slack(session=session, method="chat.postMessage", now=SystemClock().now(), priority=0,
                              args={"channel": "C0REVIEW", "text": "incident"})
            wake.set()
            await until(lambda: any(c.args.get("text") == "incident" for c in slack.calls), 5, "the page")

    asyncio.run(scenario())
    texts = [c.args["text"] for c in slack.calls_to("chat.postMessage")]
    assert texts.index("incident") < 15, texts[:20]


def test_an_update_goes_in_its_posts_lane_and_after_it(sqlite_url: str, slack) -> None:
    """An update names no channel; it joins the lane of the message it edits, and never precedes the post."""
    engine = make_engine(sqlite_url)
    now = SystemClock().now()
    with session_scope(engine) as session:
        post = enqueue_slack(session=session, method="chat.postMessage", now=now, message_key="card:1",
                             args={"channel": "C0ONE", "text": "v0"})
        edit = enqueue_slack(session=session, method="chat.update", now=now, message_key="card:1",
                             args={"text": "v1"})
        assert post.lane == edit.lane == "slack:C0ONE" and edit.priority < post.priority
    slack.fail_next(1, status=500, method="chat.postMessage")

    async def scenario() -> None:
        sender = make_sender(engine, slack)
        async with running(sender):
            await until(lambda: slack.calls_to("chat.update", ok_only=True), 10, "the update")

    asyncio.run(scenario())
    methods = [c.method for c in slack.calls]
    assert methods == ["chat.postMessage", "chat.postMessage", "chat.update"]


def test_a_slow_agent_holds_up_no_slack_post(sqlite_url: str, slack, receiver) -> None:
    """An agent that takes two seconds to answer each callback slows its own lane only."""
    engine = make_engine(sqlite_url)
    agent_id = make_agent(engine, receiver.url)
    receiver.delay = 2.0
    now = SystemClock().now()
    with session_scope(engine) as session:
        for n in range(3):
            enqueue_callback(session=session, agent_id=agent_id, url=receiver.url, event="draft.decided",
                             data={"n": n}, now=now)

    async def scenario() -> None:
        sender = make_sender(engine, slack)
        async with running(sender) as wake:
            await until(lambda: receiver.deliveries, 5, "the first callback to arrive (and stall)")
            _queue_cards(engine, "U0OWNER", 1)
            wake.set()
            took = await until(lambda: slack.calls_to("chat.postMessage", ok_only=True), 5, "the DM")
            assert took < 1.0 and len(receiver.deliveries) == 1, took
            receiver.delay = 0.0

    asyncio.run(scenario())
