"""Building senders for the outbox tests: the real Slack transport against the fake Slack over HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from sqlalchemy import Engine

from bot.app import make_client
from bot.transport import SlackWebTransport
from services.agents.models import AgentCreate
from services.agents.service import create_agent
from services.audit.service import Actor
from services.clock import SystemClock
from services.db import session_scope
from services.outbox.sender import OutboxSender
from testkit.fakes.slack import FakeSlack
from tests.harness import make_settings


def make_sender(engine: Engine, slack: FakeSlack | None, **options: Any) -> OutboxSender:
    transport = SlackWebTransport(make_client(make_settings("sqlite://", slack))) if slack is not None else None
    options.setdefault("channel_interval_s", 0.0)
    return OutboxSender(engine=engine, clock=SystemClock(), slack=transport, http=httpx.AsyncClient(), **options)


@asynccontextmanager
async def running(sender: OutboxSender) -> AsyncIterator[asyncio.Event]:
    """The sender's own loop, as the app runs it; yields the wake event, stops cleanly on exit."""
    stop, wake = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(sender.run_forever(stop, wake, idle_s=0.1))
    try:
        yield wake
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=10)
        await sender.http.aclose()


async def until(predicate: Any, timeout: float, what: str) -> float:
    """Await a condition (polled); returns the seconds it took."""
    loop = asyncio.get_running_loop()
    began = loop.time()
    while not predicate():
        if loop.time() - began > timeout:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.02)
    return loop.time() - began


def make_agent(engine: Engine, url: str, name: str = "a1") -> int:
    with session_scope(engine) as session:
        agent, _ = create_agent(session=session, data=AgentCreate(name=name, owner="U1OWNER", callback_url=url),
                                actor=Actor.admin(), now=SystemClock().now(), secret_key=None)
        assert agent.id is not None
        return agent.id
