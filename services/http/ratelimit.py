"""Per-agent rate limits: a token bucket per agent key (rate_limit_per_s on the agent, else
COUNTERSIGN_RATE_LIMIT_PER_S; burst twice the rate), checked in memory on every request.

Over the limit: 429 problem+json with Retry-After. Every answer to an agent call carries the IETF httpapi
draft's fields (draft-ietf-httpapi-ratelimit-headers-10/11): `RateLimit-Policy: "agent";q=<burst>;w=<s>` (the
bucket holds q requests and refills completely in w seconds) and `RateLimit: "agent";r=<left>;t=<s>`.

Several replicas (PostgreSQL): each keeps its own buckets and, every SYNC_S, writes how many requests it has
admitted per agent (one UPSERT for all agents) and reads the other replicas' counts; what they admitted since
the last look is taken out of the local bucket too (down to minus one burst: debt is repaid before more is
admitted). So together they admit the rate plus one sync interval's slack, and no request writes to the
database. On SQLite (one process) there is nothing to share and nothing is written.

A refused request is held HOLD_S before its 429 leaves, so a flood that ignores Retry-After cannot keep the
event loop busy answering it.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import BigInteger, Column, delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlmodel import Field, SQLModel, col, select

from services.agents.models import Agent
from services.context import AppContext
from services.db import UTCDateTime, session_scope
from services.http.problems import problem_body, send_problem

log = logging.getLogger("countersign.ratelimit")
SYNC_S = 0.2
KEY_TTL_S = 5.0  # a changed rate_limit_per_s (or a revoked key) is seen within this long
BURST = 2.0
POLICY = "agent"
# A refusal is answered after this hold: costs a parked coroutine, no thread. A client that ignores Retry-After
# and retries at once then spins at (its connections / HOLD_S) requests per second instead of taking every
# cycle of the event loop from the other agents.
HOLD_S = 0.5
Scope = dict[str, Any]


class RateLimitCounter(SQLModel, table=True):
    """What one replica has admitted per agent since it started; the others subtract the growth."""

    __tablename__ = "rate_limit_counters"

    replica: str = Field(primary_key=True, max_length=64)
    agent_id: int = Field(primary_key=True)
    admitted: int = Field(sa_column=Column(BigInteger, nullable=False))
    updated_at: datetime = Field(sa_type=UTCDateTime)


@dataclass
class Bucket:
    rate: float
    tokens: float
    stamp: float  # time.monotonic() of the last refill

    @property
    def capacity(self) -> float:
        return max(1.0, self.rate * BURST)  # below 0.5/s a burst of twice the rate would admit nothing

    def refill(self, now: float) -> None:
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now

    def take(self, now: float) -> bool:
        self.refill(now)
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False

    def debit(self, count: int) -> None:
        self.tokens = max(-self.capacity, self.tokens - count)

    def headers(self) -> list[tuple[bytes, bytes]]:
        left = max(0, math.floor(self.tokens))
        full_in = max(0, math.ceil((self.capacity - self.tokens) / self.rate))
        window = max(1, math.ceil(self.capacity / self.rate))
        return [(b"ratelimit-policy", f'"{POLICY}";q={math.floor(self.capacity)};w={window}'.encode()),
                (b"ratelimit", f'"{POLICY}";r={left};t={full_in}'.encode())]

    def retry_after(self) -> int:
        return max(1, math.ceil((1 - self.tokens) / self.rate))


@dataclass
class RateLimiter:
    ctx: AppContext
    replica: str = field(default_factory=lambda: uuid.uuid4().hex)
    buckets: dict[int, Bucket] = field(default_factory=dict)
    keys: dict[str, tuple[int | None, float, float]] = field(default_factory=dict)  # hash -> id, rate, expiry
    admitted: dict[int, int] = field(default_factory=dict)
    written: dict[int, int] = field(default_factory=dict)
    seen: dict[tuple[str, int], tuple[int, float]] = field(default_factory=dict)  # -> count, when looked
    last_active: float = 0.0
    _task: asyncio.Task[None] | None = None

    @property
    def shared(self) -> bool:
        return self.ctx.engine.dialect.name == "postgresql"

    async def agent_for(self, token: str) -> tuple[int, float] | None:
        digest = hashlib.sha256(token.encode()).hexdigest()
        cached = self.keys.get(digest)
        now = time.monotonic()
        if cached is None or cached[2] < now:
            if len(self.keys) > 10_000:  # a flood of made-up keys must not grow this without bound
                self.keys.clear()
            agent_id, rate = await asyncio.to_thread(self._lookup, digest)
            cached = self.keys[digest] = (agent_id, rate, now + KEY_TTL_S)
        return None if cached[0] is None else (cached[0], cached[1])

    def _lookup(self, digest: str) -> tuple[int | None, float]:
        with self.ctx.read() as session:
            row = session.exec(select(Agent.id, Agent.rate_limit_per_s).where(Agent.api_key_hash == digest)).first()
        if row is None:
            return None, 0.0
        return row[0], float(row[1] or self.ctx.settings.rate_limit_per_s)

    def check(self, agent_id: int, rate: float) -> tuple[bool, Bucket]:
        now = time.monotonic()
        bucket = self.buckets.get(agent_id)
        if bucket is None:
            bucket = self.buckets[agent_id] = Bucket(rate=rate, tokens=0.0, stamp=now)
            bucket.tokens = bucket.capacity  # a new bucket starts full
        elif bucket.rate != rate:
            bucket.refill(now)
            bucket.rate = rate
        ok = bucket.take(now)
        self.last_active = now
        if ok:
            self.admitted[agent_id] = self.admitted.get(agent_id, 0) + 1
        if self.shared and (self._task is None or self._task.done()):
            self._task = asyncio.get_running_loop().create_task(self._sync_forever())
        return ok, bucket

    async def _sync_forever(self) -> None:
        """Runs while this replica sees agent calls; ends after a minute of quiet (restarted on demand)."""
        last_purge = 0.0
        while time.monotonic() - self.last_active < 60:
            await asyncio.sleep(SYNC_S)
            mine = {a: n for a, n in self.admitted.items() if self.written.get(a) != n}
            purge = time.monotonic() - last_purge > 60
            try:
                others = await asyncio.to_thread(self._exchange, mine, list(self.buckets), purge)
            except Exception:  # the database is away: buckets stay local until it is back
                log.warning("rate-limit sync failed; limits are per replica until it recovers", exc_info=True)
                continue
            self.written.update(mine)
            last_purge = time.monotonic() if purge else last_purge
            looked = time.monotonic()
            for (replica, agent_id), count in others.items():
                before = self.seen.get((replica, agent_id))
                self.seen[(replica, agent_id)] = (count, looked)
                bucket = self.buckets.get(agent_id)
                # Only growth seen across one recent interval is a debt now; older growth (from before this
                # replica's sync paused) has long since refilled every bucket.
                if before is not None and bucket is not None and count > before[0] and looked - before[1] < 2.0:
                    bucket.debit(count - before[0])

    def _exchange(self, mine: dict[int, int], agents: list[int], purge: bool) -> dict[tuple[str, int], int]:
        now = datetime.now(timezone.utc)
        with session_scope(self.ctx.engine) as session:  # not ctx.uow(): nothing here for the outbox to wake for
            if mine:
                statement = pg_insert(RateLimitCounter).values(
                    [{"replica": self.replica, "agent_id": a, "admitted": n, "updated_at": now}
                     for a, n in mine.items()])
                session.exec(statement.on_conflict_do_update(  # type: ignore[call-overload]
                    index_elements=["replica", "agent_id"],
                    set_={"admitted": statement.excluded.admitted, "updated_at": statement.excluded.updated_at}))
            if purge:
                session.exec(delete(RateLimitCounter).where(  # type: ignore[call-overload]
                    col(RateLimitCounter.updated_at) < now - timedelta(hours=1)))
            if not agents:
                return {}
            rows = session.exec(select(RateLimitCounter).where(
                col(RateLimitCounter.agent_id).in_(agents), RateLimitCounter.replica != self.replica,
                col(RateLimitCounter.updated_at) > now - timedelta(minutes=2))).all()
            return {(row.replica, row.agent_id): row.admitted for row in rows}


def _bearer(scope: Scope) -> str | None:
    for name, value in scope.get("headers") or []:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() or None if scheme.lower() == "bearer" else None
    return None


class RateLimitMiddleware:
    """Before any route: identify the agent by its key (cached), take a token, add the headers."""

    def __init__(self, app: Any, limiter: RateLimiter) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        token = _bearer(scope) if scope["type"] == "http" else None
        found = await self.limiter.agent_for(token) if token else None
        if found is None:
            await self.app(scope, receive, send)
            return
        ok, bucket = self.limiter.check(*found)
        headers = bucket.headers()
        if not ok:
            await asyncio.sleep(HOLD_S)
            await _too_many(send, bucket, headers)
            return

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *headers]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def _too_many(send: Any, bucket: Bucket, headers: list[tuple[bytes, bytes]]) -> None:
    retry = bucket.retry_after()
    detail = (f"this agent's key is limited to {bucket.rate:g} requests per second "
              f"(bursts of {bucket.capacity:g}); retry after {retry} s")
    await send_problem(send, problem_body(429, "Too many requests", detail, slug="too-many-requests"),
                       headers=[(b"retry-after", str(retry).encode()), *headers])
