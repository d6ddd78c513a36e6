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

Limits count work: a usage batch takes one token per 100 events (services.spend.ingest.batch_tokens).
Unauthenticated requests (a key never seen valid, a wrong admin token, a sign-in attempt) take a token from a
bucket per client address (COUNTERSIGN_ANON_RATE_LIMIT_PER_S), before any database lookup: made-up keys beyond
that rate cost nothing but a parked 429. A key proven valid gets its token back. These buckets are per replica.
The middleware that applies all this is services.http.admission.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
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
from services.http.bucket import Bucket

log = logging.getLogger("countersign.ratelimit")
SYNC_S = 0.2
KEY_TTL_S = 5.0  # a changed rate_limit_per_s (or a revoked key) is seen within this long
MAX_TRACKED = 10_000  # keys or addresses remembered; a flood of new ones must not grow memory without bound
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
class RateLimiter:
    ctx: AppContext
    replica: str = field(default_factory=lambda: uuid.uuid4().hex)
    buckets: dict[int, Bucket] = field(default_factory=dict)
    keys: dict[str, tuple[int | None, float, float]] = field(default_factory=dict)  # hash -> id, rate, expiry
    admitted: dict[int, int] = field(default_factory=dict)
    written: dict[int, int] = field(default_factory=dict)
    seen: dict[tuple[str, int], tuple[int, float]] = field(default_factory=dict)  # -> count, when looked
    anon: dict[str, Bucket] = field(default_factory=dict)  # client address -> its unauthenticated bucket
    # Lookups under way, by key hash: requests with the same unproven key wait for the one lookup instead of
    # each paying an unauthenticated token (a busy agent's burst after a restart is one attempt, not forty).
    looking: dict[str, asyncio.Future[tuple[int | None, float]]] = field(default_factory=dict)
    last_active: float = 0.0
    _task: asyncio.Task[None] | None = None

    @property
    def shared(self) -> bool:
        return self.ctx.engine.dialect.name == "postgresql"

    def is_admin(self, token: str) -> bool:
        configured = self.ctx.settings.admin_token
        secret = configured.get_secret_value() if configured else ""
        return bool(secret) and hmac.compare_digest(token.encode(), secret.encode())

    def anon_take(self, address: str) -> tuple[bool, Bucket]:
        """One unauthenticated request from `address`: (admitted, its bucket)."""
        now = time.monotonic()
        bucket = self.anon.get(address)
        if bucket is None:
            if len(self.anon) > MAX_TRACKED:  # forget the addresses that are at rest (their buckets full)
                for key in [k for k, b in self.anon.items() if (b.refill(now), b.tokens >= b.capacity)[1]]:
                    del self.anon[key]
                if len(self.anon) > MAX_TRACKED:
                    self.anon.clear()
            rate = self.ctx.settings.anon_rate_limit_per_s
            bucket = self.anon[address] = Bucket(rate=rate, tokens=0.0, stamp=now, policy="anonymous")
            bucket.tokens = bucket.capacity
        return bucket.take(now), bucket

    async def identify(self, token: str, address: str) -> tuple[tuple[int, float] | None, Bucket | None]:
        """(agent id and rate, None) for a valid key; (None, None) for an unknown one; (None, bucket) when the
        address is over its unauthenticated limit and the key was not looked up."""
        digest = hashlib.sha256(token.encode()).hexdigest()
        cached = self.keys.get(digest)
        proven = cached is not None and cached[0] is not None  # seen valid before: a refresh, not an attempt
        charged: Bucket | None = None
        if not proven and digest not in self.looking:  # joining a lookup under way costs nothing more
            admitted, charged = self.anon_take(address)
            if not admitted:
                return None, charged
        now = time.monotonic()
        if cached is None or cached[2] < now:
            cached = await self._refresh(digest, now)
        if cached[0] is None:
            return None, None
        if charged is not None:  # the key is valid: its token was not an unauthenticated request's
            charged.refund()
        return (cached[0], cached[1]), None

    async def _refresh(self, digest: str, now: float) -> tuple[int | None, float, float]:
        """Look the key up once however many requests carry it at the same moment."""
        waiting = self.looking.get(digest)
        if waiting is not None:
            agent_id, rate = await asyncio.shield(waiting)
            return agent_id, rate, now + KEY_TTL_S
        future: asyncio.Future[tuple[int | None, float]] = asyncio.get_running_loop().create_future()
        self.looking[digest] = future
        try:
            if len(self.keys) > MAX_TRACKED:
                self.keys.clear()
            agent_id, rate = await asyncio.to_thread(self._lookup, digest)
            future.set_result((agent_id, rate))
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved here, so a lookup nobody else awaited logs no warning
            raise
        finally:
            del self.looking[digest]
        cached = self.keys[digest] = (agent_id, rate, now + KEY_TTL_S)
        return cached

    def _lookup(self, digest: str) -> tuple[int | None, float]:
        with self.ctx.read() as session:
            row = session.exec(select(Agent.id, Agent.rate_limit_per_s).where(Agent.api_key_hash == digest)).first()
        if row is None:
            return None, 0.0
        return row[0], float(row[1] or self.ctx.settings.rate_limit_per_s)

    def bucket(self, agent_id: int, rate: float) -> Bucket:
        now = time.monotonic()
        bucket = self.buckets.get(agent_id)
        if bucket is None:
            bucket = self.buckets[agent_id] = Bucket(rate=rate, tokens=0.0, stamp=now)
            bucket.tokens = bucket.capacity  # a new bucket starts full
        elif bucket.rate != rate:
            bucket.refill(now)
            bucket.rate = rate
        return bucket

    def check(self, agent_id: int, rate: float, cost: int = 1) -> tuple[bool, Bucket]:
        """Take `cost` tokens from the agent's bucket: (admitted, the bucket)."""
        bucket = self.bucket(agent_id, rate)
        now = time.monotonic()
        ok = bucket.take(now, cost)
        self.last_active = now
        if ok:
            self.admitted[agent_id] = self.admitted.get(agent_id, 0) + cost
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
