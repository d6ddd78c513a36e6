"""The outbox under faults: 429 and 500 from Slack, a restart mid-queue, failing agents, ordering per message."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from sqlmodel import select

from bot.app import make_client
from bot.transport import SlackWebTransport
from services.agents.models import AgentCreate
from services.agents.service import create_agent, webhook_secret
from services.audit.service import Actor
from services.clock import SystemClock
from services.db import make_engine, session_scope
from services.outbox.models import OutboxMessage
from services.outbox.sender import OutboxSender
from services.outbox.service import enqueue_callback, enqueue_slack
from tests.harness import make_settings


def _sender(engine, slack, *, interval: float = 0.0) -> OutboxSender:
    client = make_client(make_settings("sqlite://", slack))
    return OutboxSender(engine=engine, clock=SystemClock(), slack=SlackWebTransport(client),
                        http=httpx.AsyncClient(), channel_interval_s=interval)


async def _drain(sender: OutboxSender, engine, timeout: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        await sender.run_once()
        with session_scope(engine) as session:
            if not session.exec(select(OutboxMessage).where(OutboxMessage.status == "pending")).first():
                return
        await asyncio.sleep(0.05)
    raise AssertionError("outbox did not drain")


def _queue_cards(engine, count: int) -> None:
    """Each card: a post, then two updates of the same message."""
    now = SystemClock().now()
    with session_scope(engine) as session:
        for n in range(count):
            key = f"card:{n}"
            enqueue_slack(session=session, method="chat.postMessage", now=now, message_key=key,
                          args={"channel": "C0REVIEW", "text": f"card {n} v0"})
            for version in (1, 2):
                enqueue_slack(session=session, method="chat.update", now=now, message_key=key,
                              args={"text": f"card {n} v{version}"})


def _assert_cards_delivered(slack, count: int) -> None:
    posts = [c for c in slack.calls_to("chat.postMessage") if not c.failed]
    assert sorted(c.args["text"] for c in posts) == sorted(f"card {n} v0" for n in range(count))  # none twice
    for call in posts:
        n = call.args["text"].split()[1]
        history = [v["text"] for v in slack.versions(call.response["channel"], call.response["ts"])]
        # In order per message; v1 was still waiting when v2 was queued, so v2 took its place (the newest wins).
        assert history == [f"card {n} v0", f"card {n} v2"]


@pytest.mark.postgres_too
def test_every_message_arrives_in_order_once_under_429_and_500(db_url: str, slack) -> None:
    """Injected 429 (with Retry-After) and 500s delay messages but lose, reorder or double none."""
    engine = make_engine(db_url)
    _queue_cards(engine, 5)
    slack.fail_next(3, status=429, retry_after=1)
    slack.fail_next(3, status=500)

    async def scenario() -> None:
        sender = _sender(engine, slack)
        await _drain(sender, engine)
        await sender.http.aclose()

    asyncio.run(scenario())
    assert len([c for c in slack.calls if c.failed]) == 6
    _assert_cards_delivered(slack, 5)


@pytest.mark.postgres_too
def test_restart_mid_queue_sends_nothing_twice(db_url: str, slack) -> None:
    """A sender that stops between deliveries (each one settled) is replaced; the new one finishes without
    repeats. A kill between a send and its settle is the SIGKILL test's case (tests/soak/test_outbox_crash.py)."""
    engine = make_engine(db_url)
    _queue_cards(engine, 6)

    async def first_life() -> None:
        sender = _sender(engine, slack)
        await sender.run_once()  # delivers the posts, then "crashes"
        await sender.http.aclose()

    asyncio.run(first_life())
    engine.dispose()
    engine = make_engine(db_url)  # the process comes back

    async def second_life() -> None:
        sender = _sender(engine, slack)
        await _drain(sender, engine)
        await sender.http.aclose()

    asyncio.run(second_life())
    _assert_cards_delivered(slack, 6)


def test_update_waits_for_its_post(sqlite_url: str, slack) -> None:
    """While the post is being rate limited the update is held back, never sent to a message that isn't there."""
    engine = make_engine(sqlite_url)
    _queue_cards(engine, 1)
    slack.fail_next(1, status=429, retry_after=1, method="chat.postMessage")

    async def scenario() -> None:
        sender = _sender(engine, slack)
        await sender.run_once()
        assert slack.calls_to("chat.update") == []
        await _drain(sender, engine)
        await sender.http.aclose()

    asyncio.run(scenario())
    _assert_cards_delivered(slack, 1)


def test_posts_to_one_channel_are_paced(sqlite_url: str, slack) -> None:
    """Posts to one channel leave about one per interval, as Slack asks."""
    engine = make_engine(sqlite_url)
    now = SystemClock().now()
    with session_scope(engine) as session:
        for n in range(4):
            enqueue_slack(session=session, method="chat.postMessage", now=now, args={"channel": "C1", "text": str(n)})

    async def scenario() -> None:
        sender = _sender(engine, slack, interval=0.2)
        await _drain(sender, engine)
        await sender.http.aclose()

    asyncio.run(scenario())
    times = [c.time for c in slack.calls_to("chat.postMessage")]
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert len(times) == 4 and min(gaps) >= 0.15


def test_callbacks_are_signed_and_retried_with_one_delivery_id(sqlite_url: str, receiver) -> None:
    """A failing agent gets the same delivery id on each retry, every attempt signed with its secret."""
    engine = make_engine(sqlite_url)
    now = SystemClock().now()
    with session_scope(engine) as session:
        agent, creds = create_agent(session=session, data=AgentCreate(name="a1", owner="U1OWNER",
                                                                       callback_url=receiver.url),
                                    actor=Actor.admin(), now=now, secret_key=None)
        row = enqueue_callback(session=session, agent_id=agent.id, url=receiver.url, event="draft.decided",
                               data={"id": "drf_1", "status": "approved"}, now=now)
        delivery_id = row.delivery_id
        assert webhook_secret(session=session, agent=agent, secret_key=None) == creds.webhook_secret
    receiver.fail_next(2, status=503)

    async def scenario() -> None:
        sender = OutboxSender(engine=engine, clock=SystemClock(), slack=None, http=httpx.AsyncClient())
        await _drain(sender, engine, timeout=30)
        await sender.http.aclose()

    asyncio.run(scenario())
    deliveries = receiver.deliveries
    assert [d.delivery_id for d in deliveries] == [delivery_id] * 3
    assert [d.failed for d in deliveries] == [True, True, False]
    assert all(d.verify(creds.webhook_secret) for d in deliveries)
    assert json.loads(deliveries[-1].body)["data"] == {"id": "drf_1", "status": "approved"}
    assert deliveries[-1].event == "draft.decided"


@pytest.mark.parametrize("url", ["http://169.254.169.254/latest/meta-data", "http://[fe80::1]/x"])
def test_link_local_callbacks_are_refused(url: str) -> None:
    """Cloud metadata endpoints are never a callback target, whatever the settings."""
    with pytest.raises(ValueError):
        AgentCreate(name="evil", owner="U1OWNER", callback_url=url)
