"""One delivery attempt of one outbox row: a Slack Web API call or a signed POST to an agent. No claims and no
settling here (services.outbox.claims does those); an attempt only reports what happened."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import Engine

from services.agents import service as agent_service
from services.agents.models import Agent
from services.clock import Clock, SystemClock
from services.db import read_scope
from services.outbox import signing
from services.outbox.models import OutboxMessage, SlackMessage
from services.outbox.service import POSTING_METHODS
from services.outbox.transport import SlackPermanentError, SlackRateLimited, SlackTransientError, SlackTransport
from services.outbox.urls import HostUnresolved, UnsafeCallbackURL, validate_callback_url_text

CALLBACK_TIMEOUT_S = 10.0


@dataclass
class Outcome:
    row_id: int
    ok: bool
    response: dict[str, Any] | None = None
    retry_after: float | None = None
    error: str | None = None
    permanent: bool = False


@dataclass
class Deliverer:
    engine: Engine
    slack: SlackTransport | None
    http: httpx.AsyncClient
    secret_key: str | None = None
    deny_private: bool = False
    clock: Clock = field(default_factory=SystemClock)

    async def deliver(self, row: OutboxMessage, pace: Callable[[], Awaitable[None]]) -> Outcome:
        """`pace` is awaited just before a post leaves, so the lane's rate holds whatever the lookups cost."""
        assert row.id is not None
        if row.kind == "callback":
            return await self._callback(row)
        return await self._slack(row, pace)

    async def _slack(self, row: OutboxMessage, pace: Callable[[], Awaitable[None]]) -> Outcome:
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
        if row.method in POSTING_METHODS:
            await pace()
        try:
            response = await self.slack.call(row.method, args)
        except SlackRateLimited as exc:
            return Outcome(row.id, False, retry_after=exc.retry_after, error=str(exc))
        except SlackTransientError as exc:
            return Outcome(row.id, False, error=str(exc)[:900])
        except SlackPermanentError as exc:
            return Outcome(row.id, False, error=str(exc)[:900], permanent=True)
        return Outcome(row.id, True, response=response)

    async def _callback(self, row: OutboxMessage) -> Outcome:
        assert row.id is not None and row.url and row.agent_id is not None
        try:  # the text alone (an address literal); names are judged as the connection resolves them
            validate_callback_url_text(row.url, deny_private=self.deny_private)
        except UnsafeCallbackURL as exc:
            return Outcome(row.id, False, error=str(exc), permanent=True)
        keys = await asyncio.to_thread(self._signing_secrets, row.agent_id)
        if not keys:
            return Outcome(row.id, False, error="agent no longer exists", permanent=True)
        body = json.dumps(row.payload, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json", "User-Agent": "Countersign/0.1", "Countersign-Event": row.method,
                   **signing.headers(keys, delivery_id=row.delivery_id or "", body=body)}
        try:  # self.http connects only where the policy allows (services.outbox.connect.callback_client)
            response = await self.http.post(row.url, content=body, headers=headers, timeout=CALLBACK_TIMEOUT_S)
        except UnsafeCallbackURL as exc:
            return Outcome(row.id, False, error=str(exc), permanent=True)
        except HostUnresolved as exc:  # a DNS outage loses nothing: retried with backoff like any failure
            return Outcome(row.id, False, error=str(exc)[:900])
        except httpx.HTTPError as exc:
            return Outcome(row.id, False, error=f"{type(exc).__name__}: {exc}"[:900])
        if 200 <= response.status_code < 300:
            return Outcome(row.id, True)
        return Outcome(row.id, False, error=f"agent answered HTTP {response.status_code}")

    def _lookup(self, key: str) -> SlackMessage | None:
        with read_scope(self.engine) as session:
            return session.get(SlackMessage, key)

    def _signing_secrets(self, agent_id: int) -> list[str]:
        """The agent's current webhook secret, and the previous one while a rotation still honours it."""
        with read_scope(self.engine) as session:
            agent = session.get(Agent, agent_id)
            if agent is None:
                return []
            return agent_service.signing_secrets(session=session, agent=agent, secret_key=self.secret_key,
                                                 now=self.clock.now())
