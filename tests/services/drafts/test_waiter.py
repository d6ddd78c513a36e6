"""The long-poll waiter on its own: a per-agent cap (429 with Retry-After), one shared check that releases
waiters when a decision commits elsewhere, and no poller left running (no queries) once nobody waits."""

from __future__ import annotations

import asyncio
import time

import pytest

from services.agents import service as agents
from services.assembly import build_context
from services.context import AppContext
from services.drafts import flows
from services.drafts.waiter import DecisionWaiter
from services.errors import TooManyRequests
from tests.harness import Harness
from tests.services.drafts.helpers import new_draft


def fresh_ctx(h: Harness, **settings: object) -> AppContext:
    """A second context on the same database: like another replica, with its own wake-ups."""
    return build_context(h.settings.model_copy(update=settings), engine=h.ctx.engine, clock=h.ctx.clock,
                         notifier=h.ctx.notifier, events=h.ctx.events)


def test_cap_per_agent_then_release_by_a_decision_elsewhere(harness: Harness) -> None:
    """Two waits fill a cap of two; the third is refused; a decision through another context releases its
    waiter within the shared check's interval; the poller then stops."""
    key = harness.register()["api_key"]
    first, second = new_draft(harness, key)["id"], new_draft(harness, key)["id"]
    with harness.ctx.read() as session:
        agent = agents.require_agent(session=session, name="quoter")
    ctx = fresh_ctx(harness, long_poll_max_per_agent=2)
    waiter = DecisionWaiter(ctx, poll_s=0.1)

    async def scenario() -> tuple[bool, bool, float]:
        ctx.decision_wakeup.loop = asyncio.get_running_loop()
        one = asyncio.create_task(waiter.wait(agent_id=agent.id or 0, draft_id=first, timeout=10))
        two = asyncio.create_task(waiter.wait(agent_id=agent.id or 0, draft_id=second, timeout=0.3))
        await asyncio.sleep(0)  # let both register
        with pytest.raises(TooManyRequests) as refused:
            await waiter.wait(agent_id=agent.id or 0, draft_id=second, timeout=1)
        assert refused.value.retry_after_s >= 1
        cancelled_at = time.monotonic()
        await asyncio.to_thread(flows.cancel, ctx=harness.ctx, agent=agent, draft_id=first)
        released = await one
        took = time.monotonic() - cancelled_at
        timed_out = await two
        assert waiter._task is not None
        await asyncio.wait_for(waiter._task, timeout=2)  # with nobody left the poller ends by itself
        return released, timed_out, took

    released, timed_out, took = asyncio.run(scenario())
    assert released and took < 1.0
    assert timed_out is False
    assert waiter.waiting == 0 and waiter.per_agent == {}
