"""The sender loop: claims due outbox rows and delivers them.

At-least-once with a narrow window: a row is leased before delivery and marked sent right after, so a crash
between the two is the only way a message goes twice; callbacks carry a stable delivery id for that case.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import Engine, exists, or_
from sqlalchemy.orm import aliased
from sqlmodel import col, select

from services.agents import service as agent_service
from services.agents.models import Agent
from services.clock import Clock
from services.db import claim_due, session_scope
from services.outbox import signing
from services.outbox.models import OutboxMessage, SlackMessage
from services.outbox.transport import SlackPermanentError, SlackRateLimited, SlackTransientError, SlackTransport
from services.outbox.urls import UnsafeCallbackURL, check_delivery_target

log = logging.getLogger("countersign.outbox")

CHANNEL_PACED_METHODS = {"chat.postMessage", "files.upload_v2"}


@dataclass
class Outcome:
    row_id: int
    ok: bool
    response: dict[str, Any] | None = None
    retry_after: float | None = None
    error: str | None = None
    permanent: bool = False


@dataclass
class OutboxSender:
    engine: Engine
    clock: Clock
    slack: SlackTransport | None
    http: httpx.AsyncClient
    secret_key: str | None = None
    deny_private: bool = False
    channel_interval_s: float = 1.0
    lease_s: float = 120.0
    batch: int = 100
    _next_post_at: dict[str, float] = field(default_factory=dict)

    async def run_forever(self, stop: asyncio.Event, wake: asyncio.Event, idle_s: float = 0.5) -> None:
        """Deliver until stopped; sleep when idle, but wake at once when a local transaction queued work."""
        while not stop.is_set():
            wake.clear()
            try:
                busy = await self.run_once()
            except Exception:  # a database blip must not end deliveries; the rows stay pending
                log.exception("outbox tick failed")
                busy = 0
            if busy:
                continue
            waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wake.wait())]
            await asyncio.wait(waiters, timeout=idle_s, return_when=asyncio.FIRST_COMPLETED)
            for waiter in waiters:
                waiter.cancel()

    async def run_once(self) -> int:
        rows = await asyncio.to_thread(self._claim)
        if not rows:
            return 0
        groups: dict[str, list[OutboxMessage]] = defaultdict(list)
        for row in rows:
            groups[row.channel if row.kind == "slack" and row.channel else row.order_key].append(row)
        await asyncio.gather(*(self._deliver_group(group) for group in groups.values()))
        return len(rows)

    def _claim(self) -> list[OutboxMessage]:
        now = self.clock.now()
        kinds = ["callback"] + (["slack"] if self.slack is not None else [])
        earlier = aliased(OutboxMessage)
        blocked = exists().where(
            earlier.order_key == OutboxMessage.order_key,
            earlier.status == "pending",
            earlier.id < OutboxMessage.id,  # type: ignore[operator]
        )
        statement = (
            select(OutboxMessage)
            .where(
                OutboxMessage.status == "pending",
                col(OutboxMessage.kind).in_(kinds),
                OutboxMessage.next_attempt_at <= now,
                or_(col(OutboxMessage.claimed_until).is_(None), col(OutboxMessage.claimed_until) < now),
                ~blocked,
            )
            .order_by(col(OutboxMessage.id))
        )
        with session_scope(self.engine) as session:
            rows = claim_due(session, statement, limit=self.batch)
            for row in rows:
                row.claimed_until = now + timedelta(seconds=self.lease_s)
            return rows

    async def _deliver_group(self, rows: list[OutboxMessage]) -> None:
        for index, row in enumerate(rows):
            outcome = await self._deliver(row)
            await asyncio.to_thread(self._settle, outcome)
            if outcome.retry_after is not None:
                # Slack asked this channel to slow down: hand the rest back untouched.
                await asyncio.to_thread(self._release, [r.id for r in rows[index + 1 :]])
                return

    async def _deliver(self, row: OutboxMessage) -> Outcome:
        assert row.id is not None
        if row.kind == "callback":
            return await self._deliver_callback(row)
        return await self._deliver_slack(row)

    async def _deliver_slack(self, row: OutboxMessage) -> Outcome:
        assert row.id is not None and self.slack is not None
        args = dict(row.payload)
        if row.method != "chat.postMessage" and row.message_key:
            target = await asyncio.to_thread(self._lookup, row.message_key)
            if target is None:
                return Outcome(row.id, False, error="the message to update was never posted", permanent=True)
            args["channel"], args["ts"] = target.channel, target.ts
        if row.thread_key:
            parent = await asyncio.to_thread(self._lookup, row.thread_key)
            if parent is None:
                return Outcome(row.id, False, error="the thread parent was never posted", permanent=True)
            args["thread_ts"] = parent.ts
            args.setdefault("channel", parent.channel)
        if row.method in CHANNEL_PACED_METHODS and row.channel:
            await self._pace(row.channel)
        try:
            response = await self.slack.call(row.method, args)
        except SlackRateLimited as exc:
            return Outcome(row.id, False, retry_after=exc.retry_after, error=str(exc))
        except SlackTransientError as exc:
            return Outcome(row.id, False, error=str(exc)[:900])
        except SlackPermanentError as exc:
            return Outcome(row.id, False, error=str(exc)[:900], permanent=True)
        return Outcome(row.id, True, response=response)

    async def _pace(self, channel: str) -> None:
        loop = asyncio.get_running_loop()
        wait = self._next_post_at.get(channel, 0.0) - loop.time()
        self._next_post_at[channel] = max(loop.time(), self._next_post_at.get(channel, 0.0)) + self.channel_interval_s
        if wait > 0:
            await asyncio.sleep(wait)

    async def _deliver_callback(self, row: OutboxMessage) -> Outcome:
        assert row.id is not None and row.url and row.agent_id is not None
        try:
            await asyncio.to_thread(check_delivery_target, row.url, deny_private=self.deny_private)
        except UnsafeCallbackURL as exc:
            return Outcome(row.id, False, error=str(exc), permanent=True)
        keys = await asyncio.to_thread(self._signing_secrets, row.agent_id)
        if not keys:
            return Outcome(row.id, False, error="agent no longer exists", permanent=True)
        body = json.dumps(row.payload, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json", "User-Agent": "Countersign/0.1", "Countersign-Event": row.method,
                   **signing.headers(keys, delivery_id=row.delivery_id or "", body=body)}
        try:
            response = await self.http.post(row.url, content=body, headers=headers, timeout=10.0)
        except httpx.HTTPError as exc:
            return Outcome(row.id, False, error=f"{type(exc).__name__}: {exc}"[:900])
        if 200 <= response.status_code < 300:
            return Outcome(row.id, True)
        return Outcome(row.id, False, error=f"agent answered HTTP {response.status_code}")

    def _lookup(self, key: str) -> SlackMessage | None:
        with session_scope(self.engine) as session:
            return session.get(SlackMessage, key)

    def _signing_secrets(self, agent_id: int) -> list[str]:
        """The agent's current webhook secret, and the previous one while a rotation still honours it."""
        with session_scope(self.engine) as session:
            agent = session.get(Agent, agent_id)
            if agent is None:
                return []
            return agent_service.signing_secrets(session=session, agent=agent, secret_key=self.secret_key,
                                                 now=self.clock.now())

    def _release(self, ids: list[int | None]) -> None:
        if not ids:
            return
        with session_scope(self.engine) as session:
            for row in session.exec(select(OutboxMessage).where(col(OutboxMessage.id).in_(ids))):
                row.claimed_until = None

    def _settle(self, outcome: Outcome) -> None:
        now = self.clock.now()
        with session_scope(self.engine) as session:
            row = session.get(OutboxMessage, outcome.row_id)
            if row is None or row.status != "pending":
                return
            row.claimed_until = None
            row.attempts += 1
            if outcome.ok:
                row.status, row.sent_at, row.last_error = "sent", now, None
                self._remember_post(session, row, outcome.response or {}, now)
            elif outcome.permanent or now >= row.give_up_at:
                row.status, row.last_error = "dead", outcome.error
                log.warning("outbox row %s (%s %s) given up: %s", row.id, row.kind, row.method, outcome.error)
            else:
                row.last_error = outcome.error
                row.next_attempt_at = now + timedelta(seconds=_backoff(row.attempts, outcome.retry_after))

    @staticmethod
    def _remember_post(session: Any, row: OutboxMessage, response: dict[str, Any], now: datetime) -> None:
        if row.method == "chat.postMessage" and row.message_key and response.get("ts"):
            if session.get(SlackMessage, row.message_key) is None:
                session.add(SlackMessage(key=row.message_key, channel=response.get("channel") or row.channel,
                                         ts=response["ts"], created_at=now))


def _backoff(attempts: int, retry_after: float | None) -> float:
    if retry_after is not None:
        return max(retry_after, 0.5)
    base = min(2 ** (attempts - 1), 3600)
    return base * (0.75 + random.random() / 2)
