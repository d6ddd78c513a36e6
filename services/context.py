"""What the running service hands to routes, flows and jobs: settings, database, clock, notifier."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import Engine
from sqlmodel import Session

from services.clock import Clock
from services.config import Settings
from services.db import read_scope, session_scope
from services.notify import Notifier
from services.writer import writer_for

T = TypeVar("T")


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
        """One transaction; the outbox is nudged after it commits so new deliveries leave at once. A uow inside
        a uow in the same thread raises NestedWriteScope at once (on SQLite it used to wait 30 s on itself)."""
        with session_scope(self.engine) as session:
            yield session
        self.outbox_wakeup.fire()

    def write(self, unit: Callable[[Session], T]) -> T:
        """Run `unit(session)` through the database's writer and return its result once it is committed.

        On SQLite it shares a transaction with other requests' units (group commit, services.writer); on
        PostgreSQL it is a short transaction of its own. Do the deciding reads before, so the unit only writes.
        """
        result = writer_for(self.engine).run(unit)
        self.outbox_wakeup.fire()
        return result

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only unit: doesn't wait for SQLite's writer lock. Use it for GETs and checks."""
        with read_scope(self.engine) as session:
            yield session

    @property
    def secret_key(self) -> str | None:
        key = self.settings.secret_key
        return key.get_secret_value() if key else None
