"""Domain events: how one domain's change reaches the domains that react to it, with the wiring handed in.

A domain announces what happened with `ctx.events.publish(...)`; who reacts is not decided here but in
`services/wiring.py`, the one list of reactions, which `create_app` (and the CLI) hand to the context. Nothing
registers itself by being imported, so reading `wiring.py` is reading the whole graph.

A reaction runs in one of two ways, chosen in the wiring:

- `IN_TRANSACTION`: called at once with the publisher's session. Its writes commit or roll back with the change
  that caused it, and so does its failure: use it only for what is part of the same fact (a draft's cost lands
  with the draft, or neither does).
- `AFTER_COMMIT`: the publisher's transaction only writes a `FollowUp` row naming the reaction and the ids of the
  payload's rows. Once that transaction commits, `ctx.uow()` runs the follow-ups it wrote, each in a transaction of
  its own, on the same thread (so a caller sees their effects once it returns). A follow-up that fails is rolled back
  alone, its error is kept on the row and the `events.followups` job retries it with backoff; one left behind by a
  crash is picked up by the same job. The change that caused it is already committed: a failing follow-up can
  never undo a person's decision. Each runs exactly once (a conditional UPDATE marks it done in its own
  transaction), so replicas and the job can't run one twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

from sqlalchemy import JSON, Column, Index, delete, update
from sqlmodel import Field, Session, SQLModel, col, select

from services.clock import Clock
from services.db import UTCDateTime
from services.jobs import Job

log = logging.getLogger("countersign.events")

Mode = Literal["in_transaction", "after_commit"]
IN_TRANSACTION: Mode = "in_transaction"
AFTER_COMMIT: Mode = "after_commit"
PENDING_KEY = "countersign.followups"  # Session.info: follow-ups written by this transaction, run after it commits
FIRST_RETRY_S = 30  # the job leaves a fresh follow-up to the committing thread for this long
MAX_ATTEMPTS = 12  # about five hours of retries; then the row stays `failed`, with its error, for a person
Handler = Callable[..., None]


class AppContext(Protocol):
    """What events need of services.context.AppContext (which holds the Events, so can't be imported here)."""

    clock: Clock

    def uow(self) -> AbstractContextManager[Session]: ...

    def read(self) -> AbstractContextManager[Session]: ...


@dataclass(frozen=True)
class Event:
    """An event's name and the rows its payload names: payload key -> the table's model (looked up by id)."""

    name: str
    refs: dict[str, type[SQLModel]]


@dataclass(frozen=True)
class Reaction:
    event: Event
    name: str  # stable: stored on follow-up rows, so renaming one orphans rows written before
    handler: Handler  # handler(session=, ctx=, **payload)
    mode: Mode
    # when(**payload): whether this event concerns the reaction at all, asked at publish time from the payload
    # in hand; an after-commit reaction it rules out costs no follow-up row and no transaction of its own.
    when: Callable[..., bool] | None = None


class FollowUp(SQLModel, table=True):
    """An after-commit reaction still to run (or run, or given up on): written with the change that caused it."""

    __tablename__ = "event_followups"
    __table_args__ = (Index("ix_event_followups_status_due", "status", "due_at"),)

    id: int | None = Field(default=None, primary_key=True)
    event: str = Field(max_length=64)
    reaction: str = Field(max_length=128)
    refs: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="pending", max_length=16)  # pending, done, failed
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=2000)
    created_at: datetime = Field(sa_type=UTCDateTime)
    due_at: datetime = Field(sa_type=UTCDateTime)  # when the retry job may take it
    done_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Events:
    """The reactions, by event name. Built from the wiring once and kept on the AppContext."""

    def __init__(self, events: Iterable[Event], reactions: Iterable[Reaction]) -> None:
        self.events = {event.name: event for event in events}
        self.reactions: tuple[Reaction, ...] = tuple(reactions)
        names = [r.name for r in self.reactions]
        if len(names) != len(set(names)):
            raise ValueError(f"reaction names must be unique: {names}")
        unknown = {r.event.name for r in self.reactions} - set(self.events)
        if unknown:
            raise ValueError(f"reactions to undeclared events: {sorted(unknown)}")
        self._by_name = {r.name: r for r in self.reactions}

    def of(self, event: str) -> list[Reaction]:
        return [r for r in self.reactions if r.event.name == event]

    def publish(self, event: str, *, session: Session, ctx: AppContext, **payload: Any) -> None:
        """Run the in-transaction reactions now; write the after-commit ones as follow-ups of this transaction."""
        if event not in self.events:
            raise ValueError(f"unknown event {event!r}: declare it in services/wiring.py")
        now = ctx.clock.now()
        for reaction in self.of(event):
            if reaction.when is not None and not reaction.when(**payload):
                continue
            if reaction.mode == IN_TRANSACTION:
                reaction.handler(session=session, ctx=ctx, **payload)
                continue
            refs = {key: payload[key].id for key in reaction.event.refs}
            row = FollowUp(event=event, reaction=reaction.name, refs=refs, created_at=now,
                           due_at=now + timedelta(seconds=FIRST_RETRY_S))
            session.add(row)
            session.flush()
            session.info.setdefault(PENDING_KEY, []).append(row.id)

    def run_followups(self, ctx: AppContext, ids: Sequence[int]) -> int:
        """Run these follow-ups, each in its own transaction; returns how many ran to completion."""
        return sum(self._run_one(ctx, followup_id) for followup_id in ids)

    def retry_due(self, ctx: AppContext) -> int:
        """The job: follow-ups that failed or were left by a crash, once their time has come."""
        now = ctx.clock.now()
        with ctx.read() as session:
            ids = list(session.exec(select(FollowUp.id).where(FollowUp.status == "pending", FollowUp.due_at <= now)
                                    .order_by(col(FollowUp.id)).limit(100)).all())
        return self.run_followups(ctx, [i for i in ids if i is not None])

    def _run_one(self, ctx: AppContext, followup_id: int) -> bool:
        try:
            with ctx.uow() as session:
                row = session.get(FollowUp, followup_id)
                if row is None or not _claim(session, followup_id, ctx.clock.now()):
                    return False  # done already, by another thread or replica
                reaction = self._by_name.get(row.reaction)
                if reaction is None:
                    raise LookupError(f"no reaction named {row.reaction!r} is wired")
                payload = {key: _load(session, model, row.refs.get(key)) for key, model in reaction.event.refs.items()}
                reaction.handler(session=session, ctx=ctx, **payload)
            return True
        except Exception as exc:  # any failure is this follow-up's alone: kept on its row, retried by the job
            log.exception("follow-up %s failed; it will be retried", followup_id)
            _record_failure(ctx, followup_id, exc)
            return False


def _claim(session: Session, followup_id: int, now: datetime) -> bool:
    statement = (update(FollowUp).where(col(FollowUp.id) == followup_id, col(FollowUp.status) == "pending")
                 .values(status="done", done_at=now))
    return (session.exec(statement).rowcount or 0) == 1  # type: ignore[call-overload]


def _load(session: Session, model: type[SQLModel], key: Any) -> Any:
    found = session.get(model, key, populate_existing=True)
    if found is None:
        raise LookupError(f"{model.__name__} {key!r} no longer exists")
    return found


def _record_failure(ctx: AppContext, followup_id: int, exc: Exception) -> None:
    with ctx.uow() as session:
        row = session.get(FollowUp, followup_id)
        if row is None or row.status != "pending":
            return
        now = ctx.clock.now()
        row.attempts += 1
        row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        row.due_at = now + timedelta(seconds=min(FIRST_RETRY_S * 2 ** (row.attempts - 1), 3600))
        if row.attempts >= MAX_ATTEMPTS:
            row.status = "failed"
            log.error("follow-up %s (%s) failed %d times; giving up", followup_id, row.reaction, row.attempts)
        session.add(row)


# --- jobs -----------------------------------------------------------------------------------------------------
def retry_followups(ctx: Any) -> None:
    """Follow-ups that failed or were left behind by a crash (the ctx's Events, run by the scheduler)."""
    ctx.events.retry_due(ctx)


def purge_done_followups(ctx: AppContext) -> None:
    """Follow-ups that ran are kept a week for inspection, like delivered outbox rows; failed ones stay."""
    with ctx.uow() as session:
        cutoff = ctx.clock.now() - timedelta(days=7)
        session.exec(delete(FollowUp).where(FollowUp.status == "done", FollowUp.done_at < cutoff))  # type: ignore[call-overload,arg-type,operator]


JOBS = [Job("events.followups", retry_followups),
        Job("events.purge_done", purge_done_followups, every_s=3600)]
