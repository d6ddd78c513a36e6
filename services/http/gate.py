"""Agents' ingest (drafts, incidents, usage) takes turns so a person never waits behind it.

The server is one process: every request's Python shares one interpreter lock, and on SQLite every write one
writer lock. Sixteen agents posting at once would each hold a worker thread competing for both, and a reviewer's
click or a page of the web app would queue behind all of them. So at most `bound` ingest requests are in their
parsing, validating and writing part at once; the rest wait here, on the event loop, costing nothing. Slack
interactivity, the web app, reads and ops never pass this gate.

A wait is short while the server keeps up (the bound is reached at all only under a burst). An ingest request that
has waited `max_wait_s` is answered 503 with Retry-After: the server is saturated and the agent should come back,
not pile on; the client library retries 503 on its own. Nothing was done with it, so nothing is lost.
"""

from __future__ import annotations

import asyncio
from typing import Any

from services.http.problems import problem_body, send_problem

Scope = dict[str, Any]
INGEST = frozenset({("POST", "/v1/drafts"), ("POST", "/v1/incidents"), ("POST", "/v1/usage"),
                    ("POST", "/v1/usage/batch")})
BOUND = 4  # two cores: enough in flight to keep them and the database busy, few enough to leave a click room
MAX_WAIT_S = 10.0
RETRY_AFTER_S = 1


class IngestGate:
    def __init__(self, app: Any, *, bound: int = BOUND, max_wait_s: float = MAX_WAIT_S) -> None:
        self.app, self.bound, self.max_wait_s = app, bound, max_wait_s
        self._turns: tuple[asyncio.AbstractEventLoop, asyncio.Semaphore] | None = None

    def turns(self) -> asyncio.Semaphore:
        """The semaphore of the running loop (asyncio's own wait queue: first come, first served). An app served by
        one loop and then another (a test client each) gets a fresh one for each."""
        loop = asyncio.get_running_loop()
        if self._turns is None or self._turns[0] is not loop:
            self._turns = (loop, asyncio.Semaphore(self.bound))
        return self._turns[1]

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or (scope["method"], scope["path"]) not in INGEST:
            await self.app(scope, receive, send)
            return
        turns = self.turns()
        try:
            await asyncio.wait_for(turns.acquire(), timeout=self.max_wait_s)
        except TimeoutError:
            await send_problem(send, problem_body(
                503, "Busy", f"the server is saturated with agents' requests; retry after {RETRY_AFTER_S} s",
                slug="busy"), headers=[(b"retry-after", str(RETRY_AFTER_S).encode())])
            return
        try:
            await self.app(scope, receive, send)
        finally:
            turns.release()
