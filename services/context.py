"""What the running service hands to routes, flows and jobs: settings, database, clock, notifier, the event
wiring, the OpenAI client and the chat's user-group directory. Built in one place: services.assembly.build_context."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from services.audit.tally import RefusalTally
from services.cache import Caches
from services.clock import Clock
from services.config import Settings
from services.db import WriteScopes, read_scope, session_scope
from services.events import PENDING_KEY, Events
from services.notify import Notifier
from services.outbox.handoff import CLAIMED_KEY, HANDOFF_KEY, Handoff
from services.outbox.service import queued_in
from services.outbox.urls import Resolver, SystemResolver

if TYPE_CHECKING:  # the waiter reads drafts through this context: a type-only import keeps that one-way
    from services.drafts.waiter import DecisionWaiter


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


class GroupDirectory(Protocol):
    """Who is in which chat user group and channel (Slack's usergroups and conversations). The domain asks it
    (services.directory) to settle who may decide; bot/ implements it over Slack, services.directory without.
    `available` is False when nothing can be asked (Slack off): then nobody is in any group or channel."""

    available: bool

    async def members(self, group: str) -> frozenset[str]: ...

    async def member_of(self, user: str, groups: list[str] | set[str] | frozenset[str]) -> set[str]: ...

    async def in_channels(self, user: str, channels: set[str] | frozenset[str]) -> set[str]: ...


_LATER: ContextVar[list[Callable[[], object]] | None] = ContextVar("countersign_followups_later", default=None)


@contextmanager
def followups_later() -> Iterator[list[Callable[[], object]]]:
    """Tasks and worker threads started within the block (asyncio copies context variables into both) have
    AppContext.uow() keep the after-commit follow-ups it wrote, as calls in the list yielded, instead of running
    them: the caller runs them once it has answered. A Slack click acks on its decision's commit, and the
    reactions to the decision would only lengthen the wait; they are rows written in that commit, so a crash
    before they run leaves them to the follow-ups job."""
    later: list[Callable[[], object]] = []
    token = _LATER.set(later)
    try:
        yield later
    finally:
        _LATER.reset(token)


@dataclass
class AppContext:
    settings: Settings
    engine: Engine
    clock: Clock
    notifier: Notifier
    events: Events  # who reacts to which domain event: services.wiring
    llm: Any | None = None  # an openai.OpenAI client; None when OPENAI_API_KEY is unset (templates instead)
    approver_groups: GroupDirectory | None = None  # None: the static directory (nobody is in any group)
    outbox_wakeup: Wakeup = field(default_factory=Wakeup)
    outbox_handoff: Handoff = field(default_factory=Handoff)  # the running sender takes cards as they commit
    decision_wakeup: Wakeup = field(default_factory=Wakeup)
    # How a person gets a new sign-in link here, when it is not the usual way (the demo prints one on Enter).
    sign_in_hint: str | None = None
    decision_waiter: DecisionWaiter | None = None  # the process's one long-poll waiter, made on first use
    refusal_tally: RefusalTally = field(default_factory=RefusalTally)  # repeated refusals per source, per minute
    resolver: Resolver = field(default_factory=SystemResolver)  # names of callback hosts; tests hand in their own
    # Made from the engine, never shared with another context: the write sessions (their listeners keep
    # `caches` current), the read caches, and which threads are inside a write.
    sessions: sessionmaker[Session] = field(init=False, repr=False)
    caches: Caches = field(init=False, repr=False)
    write_scopes: WriteScopes = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.sessions = sessionmaker(self.engine, class_=Session, expire_on_commit=False)
        self.caches = Caches(self.sessions)
        self.write_scopes = WriteScopes()

    @contextmanager
    def uow(self) -> Iterator[Session]:
        """The one way to write: one transaction, committed when the block ends (rolled back on an error).

        Do the deciding reads before it, in `read()`, where a stale answer is harmless or re-checked inside;
        on SQLite writers queue for one lock, so the shorter the block the shorter everyone's wait. After the
        commit the outbox sender is handed the cards the transaction claimed for it (services.outbox.handoff) and
        woken if it queued any other delivery, and the after-commit follow-ups it
        wrote run, each in a transaction of its own (services.events), or later, by the caller, inside
        followups_later(). A uow inside a uow in the same thread
        raises NestedWriteScope at once: pass the open session down instead."""
        with session_scope(self.engine, sessions=self.sessions, scopes=self.write_scopes) as session:
            session.info[HANDOFF_KEY] = self.outbox_handoff
            yield session
        followups = session.info.pop(PENDING_KEY, [])
        claimed = session.info.pop(CLAIMED_KEY, None)
        if claimed:
            self.outbox_handoff.hand(claimed.values())
        if queued_in(session):
            self.outbox_wakeup.fire()
        later = _LATER.get()
        if followups and later is not None:
            later.append(partial(self.events.run_followups, self, followups))
        elif followups:
            self.events.run_followups(self, followups)

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only unit: doesn't wait for SQLite's writer lock. Use it for GETs and checks."""
        with read_scope(self.engine) as session:
            yield session

    @property
    def secret_key(self) -> str | None:
        key = self.settings.secret_key
        return key.get_secret_value() if key else None
