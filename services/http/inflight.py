"""Per-agent in-flight cap: at most COUNTERSIGN_AGENT_INFLIGHT_MAX (default 4) writes of one agent key are in
progress at once in one process; the key's next writes wait their turn here, on the event loop, before they read a
body or take a thread. A turn not given within WAIT_S is a 429 problem+json with Retry-After, so a flood is
refused instead of queued without end.

Why: one agent posting drafts at concurrency 16 had sixteen worker threads competing for the GIL, the thread pool
and SQLite's writer lock, and a person's click (a few short reads and one write) waited behind all of them. With
the cap, the flood holds at most four threads however wide it is. The cap is per key, so another agent and people
(Slack's requests and the web app carry no agent key) never wait behind it; a global gate made the others wait too.

Only writes are gated: reads are short and a long-poll (GET ?wait=) holds its request open for up to a minute
(services.drafts.waiter caps those). The admin token is not an agent's key and passes. Turns go in arrival order.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from services.config import Settings
from services.http.admission import bearer_token
from services.http.problems import problem_body, send_problem

Scope = dict[str, Any]
READS = frozenset({"GET", "HEAD", "OPTIONS"})
# A turn not given within this is refused. Kept well under the body deadline (COUNTERSIGN_BODY_TIMEOUT_S): a large
# body waits unread in the socket meanwhile.
WAIT_S = 5.0
RETRY_AFTER_S = 1


@dataclass
class Lane:
    """One key's writes: how many are in progress, and who waits for a turn, oldest first."""

    running: int = 0
    waiting: deque[asyncio.Future[None]] = field(default_factory=deque)


class InflightGate:
    def __init__(self, limit: int, wait_s: float = WAIT_S) -> None:
        self.limit = limit
        self.wait_s = wait_s
        self.lanes: dict[bytes, Lane] = {}  # only keys with writes in progress or waiting: idle lanes are dropped

    async def enter(self, key: bytes) -> bool:
        """Take a turn for `key`: at once when it has fewer than `limit` in progress and nobody waiting, else in
        arrival order. False when none came within wait_s (the caller refuses the request)."""
        lane = self.lanes.setdefault(key, Lane())
        if lane.running < self.limit and not lane.waiting:
            lane.running += 1
            return True
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        lane.waiting.append(turn)
        try:
            async with asyncio.timeout(self.wait_s):
                await turn
            return True
        except BaseException as exc:
            if turn.done() and not turn.cancelled():  # handed a turn just as it gave up: pass it on
                self.leave(key)
            else:
                turn.cancel()
                if turn in lane.waiting:  # leave() may have passed over it already
                    lane.waiting.remove(turn)
                self._drop_if_idle(key, lane)
            if isinstance(exc, TimeoutError):
                return False
            raise

    def leave(self, key: bytes) -> None:
        """End a turn: it passes straight to the oldest waiter, if any."""
        lane = self.lanes[key]
        while lane.waiting:
            turn = lane.waiting.popleft()
            if not turn.done():
                turn.set_result(None)
                return
        lane.running -= 1
        self._drop_if_idle(key, lane)

    def _drop_if_idle(self, key: bytes, lane: Lane) -> None:
        if lane.running == 0 and not lane.waiting and self.lanes.get(key) is lane:
            del self.lanes[key]


class InflightMiddleware:
    """The gate around the app for an agent key's writes; everything else passes untouched."""

    def __init__(self, app: Any, settings: Settings, gate: InflightGate | None = None) -> None:
        self.app = app
        self.gate = gate or InflightGate(settings.agent_inflight_max)
        admin = settings.admin_token.get_secret_value() if settings.admin_token else ""
        self.admin = admin.encode()

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        token = bearer_token(scope) if scope["type"] == "http" and scope["method"] not in READS else None
        if token is None or (self.admin and hmac.compare_digest(token.encode(), self.admin)):
            await self.app(scope, receive, send)
            return
        key = hashlib.sha256(token.encode()).digest()  # the lanes keep no key in the clear
        if not await self.gate.enter(key):
            await _busy(send, self.gate)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self.gate.leave(key)


async def _busy(send: Any, gate: InflightGate) -> None:
    detail = (f"this agent's key already has {gate.limit} writes in progress and more waiting; none finished "
              f"within {gate.wait_s:g} s; retry after {RETRY_AFTER_S} s")
    await send_problem(send, problem_body(429, "Too many requests", detail, slug="too-many-requests"),
                       headers=[(b"retry-after", str(RETRY_AFTER_S).encode())])
