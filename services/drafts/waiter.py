"""Long-polls that cost nearly nothing while they wait.

A `GET /v1/drafts/{id}?wait=S` parks a future here and holds no thread and no connection. One poller task per
process wakes the futures: at once when a decision commits in this process (ctx.decision_wakeup), and for
decisions made on another replica by one query every POLL_S over all waited-on ids together. With nobody
waiting the poller ends, so an idle server runs no query at all.

Each agent may hold `long_poll_max_per_agent` waits at once in one process; one more is a 429 with Retry-After,
so one agent cannot tie up the server for the others.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from contextlib import suppress

from sqlmodel import col, select

from services.context import AppContext
from services.drafts.models import PENDING, Draft
from services.errors import TooManyRequests

log = logging.getLogger("countersign.drafts.waiter")
POLL_S = 0.25  # how soon a decision made on another replica is noticed
CHUNK = 500  # ids per IN (...) query


class DecisionWaiter:
    def __init__(self, ctx: AppContext, *, poll_s: float = POLL_S) -> None:
        self.ctx = ctx
        self.poll_s = poll_s
        self.futures: dict[str, set[asyncio.Future[None]]] = defaultdict(set)
        self.per_agent: dict[int, int] = defaultdict(int)
        self._task: asyncio.Task[None] | None = None

    @property
    def waiting(self) -> int:
        return sum(len(group) for group in self.futures.values())

    async def wait(self, *, agent_id: int, draft_id: str, timeout: float) -> bool:
        """Until the draft leaves `pending` (True) or `timeout` seconds pass (False)."""
        limit = self.ctx.settings.long_poll_max_per_agent
        if self.per_agent[agent_id] >= limit:
            raise TooManyRequests(f"this agent already holds {limit} long-polls; wait for one to end or poll "
                                  "without ?wait", retry_after_s=1)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.futures[draft_id].add(future)
        self.per_agent[agent_id] += 1
        self._ensure_poller()
        try:
            await asyncio.wait_for(asyncio.shield(future), timeout=timeout)
            return True
        except TimeoutError:
            return False
        finally:
            self._forget(agent_id, draft_id, future)

    def _forget(self, agent_id: int, draft_id: str, future: asyncio.Future[None]) -> None:
        group = self.futures.get(draft_id)
        if group is not None:
            group.discard(future)
            if not group:
                del self.futures[draft_id]
        self.per_agent[agent_id] -= 1
        if self.per_agent[agent_id] <= 0:
            del self.per_agent[agent_id]

    def _ensure_poller(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._poll())

    async def _poll(self) -> None:
        wakeup = self.ctx.decision_wakeup.subscribe()
        try:
            while self.futures:
                with suppress(TimeoutError):
                    await asyncio.wait_for(wakeup.wait(), timeout=self.poll_s)
                wakeup.clear()
                ids = list(self.futures)
                if not ids:
                    break
                try:
                    decided = await asyncio.to_thread(self._decided, ids)
                except Exception:  # the database hiccuped: the waiters keep waiting, the next round retries
                    log.warning("long-poll check failed; retrying", exc_info=True)
                    continue
                for draft_id in decided:
                    for future in self.futures.get(draft_id, ()):
                        if not future.done():
                            future.set_result(None)
        finally:
            self.ctx.decision_wakeup.unsubscribe(wakeup)

    def _decided(self, ids: list[str]) -> set[str]:
        found: set[str] = set()
        with self.ctx.read() as session:
            for start in range(0, len(ids), CHUNK):
                chunk = ids[start:start + CHUNK]
                found.update(session.exec(select(Draft.id).where(col(Draft.id).in_(chunk),
                                                                 Draft.status != PENDING)).all())
        return found


def waiter_for(ctx: AppContext) -> DecisionWaiter:
    """The process's one waiter, made on first use (routes run on the one event loop, so no lock is needed)."""
    if ctx.decision_waiter is None:
        ctx.decision_waiter = DecisionWaiter(ctx)
    return ctx.decision_waiter
