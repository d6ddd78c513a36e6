"""What the running service hands to routes, flows and jobs: settings, database, clock, notifier."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from services.clock import Clock
from services.config import Settings
from services.db import read_scope, session_scope
from services.notify import Notifier


@dataclass
class Wakeup:
    """Lets a request nudge the outbox sender or a long-poll in this process without waiting for a tick.

    Other replicas find the same work on their next tick; this only shortens the local path.
    """

    loop: asyncio.AbstractEventLoop | None = None
    events: list[asyncio.Event] = field(default_factory=list)

    def subscribe(self) -> asyncio.Event:
        event = asyncio.Event()
        self.events.append(event)
        return event

    def unsubscribe(self, event: asyncio.Event) -> None:
        if event in self.events:
            self.events.remove(event)

    def fire(self) -> None:
        if self.loop is None or self.loop.is_closed():
            return
        for event in list(self.events):
            self.loop.call_soon_threadsafe(event.set)


@dataclass
class AppContext:
    settings: Settings
    engine: Engine
    clock: Clock
    notifier: Notifier
    outbox_wakeup: Wakeup = field(default_factory=Wakeup)
    decision_wakeup: Wakeup = field(default_factory=Wakeup)
    extras: dict[str, Any] = field(default_factory=dict)  # e.g. the OpenAI client, set by main

    @contextmanager
    def uow(self) -> Iterator[Session]:
        """One transaction; the outbox is nudged after it commits so new deliveries leave at once."""
        with session_scope(self.engine) as session:
            yield session
        self.outbox_wakeup.fire()

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only unit: doesn't wait for SQLite's writer lock. Use it for GETs and checks."""
        with read_scope(self.engine) as session:
            yield session

    @property
    def secret_key(self) -> str | None:
        key = self.settings.secret_key
        return key.get_secret_value() if key else None
