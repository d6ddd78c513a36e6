"""Before any route: who is asking, and may they ask now. An agent's key takes its cost from the agent's bucket
(one token; a usage batch one per 100 events, counted before any per-event work), with the RateLimit headers on
the answer. A request that proves nothing (a key never seen valid, a wrong admin token, a sign-in attempt) takes
a token from its client address's bucket first. Refusals of the unauthenticated are audited per source, at most
once a minute with a count (services.audit.tally). The rules and buckets: services.http.ratelimit.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from services.audit.refusals import write_counted
from services.audit.service import Actor
from services.audit.tally import Refusal
from services.http.bucket import Bucket
from services.http.clientaddr import client_address
from services.http.limits import read_bounded, replaying
from services.http.problems import problem_body, send_problem
from services.http.ratelimit import HOLD_S, RateLimiter
from services.http.strictjson import strict_parse_once
from services.spend.ingest import EVENTS_PER_TOKEN, batch_tokens

Scope = dict[str, Any]
# What a request costs beyond one token, from its parsed body: (method, path) -> tokens.
WORK: dict[tuple[str, str], Callable[[Any], int]] = {("POST", "/v1/usage/batch"): batch_tokens}
# Requests with no key that still try to prove who someone is.
SIGN_IN = {("POST", "/app/login")}
ANONYMOUS = Actor("anonymous", "http")


def bearer_token(scope: Scope) -> str | None:
    """The agent key a request carries, read from the raw ASGI headers (no Request object is built)."""
    for name, value in scope.get("headers") or []:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() or None if scheme.lower() == "bearer" else None
    return None


class RateLimitMiddleware:
    def __init__(self, app: Any, limiter: RateLimiter) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        token = bearer_token(scope)
        if token is not None and self.limiter.is_admin(token):
            await self.app(scope, receive, send)
            return
        address = client_address(scope, self.limiter.ctx.settings.trusted_proxies)
        if token is None:
            if (scope["method"], scope["path"]) in SIGN_IN:
                admitted, bucket = self.limiter.anon_take(address)
                if not admitted:
                    await self._refuse_anonymous(send, bucket, address, scope)
                    return
            await self.app(scope, receive, send)
            return
        found, over = await self.limiter.identify(token, address)
        if over is not None:
            await self._refuse_anonymous(send, over, address, scope)
        elif found is None:  # an unknown key or a wrong admin token: the route says 401, audited per source
            await self.app(scope, receive, self._auditing_401(send, address, scope))
        else:
            await self._as_agent(scope, receive, send, *found)

    async def _as_agent(self, scope: Scope, receive: Any, send: Any, agent_id: int, rate: float) -> None:
        cost = 1
        work = WORK.get((scope["method"], scope["path"]))
        if work is not None:
            bucket = self.limiter.bucket(agent_id, rate)
            if bucket.has(time.monotonic()):  # an empty bucket refuses below before the body is read
                read = await read_bounded(receive, self.limiter.ctx.settings.max_body_bytes)
                if read is None:
                    return
                body, more = read
                # An over-long body is refused (413) by the body limit; the parse is kept for the strict check.
                cost = 1 if more else work(strict_parse_once(scope, body)[1])
                receive = replaying(body, receive, more=more)
        ok, bucket = self.limiter.check(agent_id, rate, cost)
        headers = bucket.headers()
        if not ok:
            await asyncio.sleep(HOLD_S)
            await _too_many(send, bucket, headers, cost)
            return

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *headers]}
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _refuse_anonymous(self, send: Any, bucket: Bucket, address: str, scope: Scope) -> None:
        retry = bucket.retry_after()
        detail = (f"unauthenticated requests (unknown keys, sign-in attempts) are limited to {bucket.rate:g} per "
                  f"second from one address; retry after {retry} s")
        await self._audit(address, scope, "http.throttled", detail)
        await asyncio.sleep(HOLD_S)
        await send_problem(send, problem_body(429, "Too many requests", detail, slug="too-many-requests"),
                           headers=[(b"retry-after", str(retry).encode()), *bucket.headers()])

    def _auditing_401(self, send: Any, address: str, scope: Scope) -> Any:
        async def watching(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start" and message["status"] == 401:
                await self._audit(address, scope, "http.refused", "unknown API key or wrong admin token")
            await send(message)

        return watching

    async def _audit(self, address: str, scope: Scope, verb: str, why: str) -> None:
        ctx = self.limiter.ctx
        refusal = Refusal(ANONYMOUS, verb, f"http:{scope['method']} {scope['path']}"[:128], why)
        count = ctx.refusal_tally.note(address, refusal, ctx.clock.now())
        if count is not None:  # at most once a minute per source: the write is off the event loop
            await asyncio.to_thread(write_counted, ctx, address, count, refusal)


async def _too_many(send: Any, bucket: Bucket, headers: list[tuple[bytes, bytes]], cost: int) -> None:
    retry = bucket.retry_after(cost)
    work = f"this request costs {cost} (one per {EVENTS_PER_TOKEN} events); " if cost > 1 else ""
    detail = (f"{work}this agent's key is limited to {bucket.rate:g} requests per second "
              f"(bursts of {bucket.capacity:g}); retry after {retry} s")
    await send_problem(send, problem_body(429, "Too many requests", detail, slug="too-many-requests"),
                       headers=[(b"retry-after", str(retry).encode()), *headers])
