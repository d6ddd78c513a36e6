"""Scheduled jobs: plain functions over the database, safe on several replicas (they claim due rows).

Each domain lists its jobs in its own jobs.py as `JOBS`; they are gathered here. APScheduler (3.x) only
decides when to run them; what is due lives in database rows, so nothing is lost across restarts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import delete

from services.audit.flows import anchor
from services.audit.refusals import write_due_refusals
from services.audit.service import has_unsealed, seal
from services.context import AppContext
from services.domains import domain_modules
from services.events import FollowUp
from services.http.idempotency import purge_expired
from services.outbox.models import OutboxMessage

log = logging.getLogger("countersign.scheduler")


@dataclass(frozen=True)
class Job:
    name: str
    run: Callable[[AppContext], object]
    every_s: float | None = None  # None: every tick (settings.tick_seconds)


def anchor_audit_chain(ctx: AppContext) -> None:
    """A signed checkpoint of the chain's head every COUNTERSIGN_AUDIT_ANCHOR_EVERY_S while it grows."""
    anchor(ctx)


def purge_idempotency_keys(ctx: AppContext) -> None:
    with ctx.uow() as session:
        purge_expired(session=session, now=ctx.clock.now())


def purge_delivered_outbox(ctx: AppContext) -> None:
    """Delivered rows are kept a week for inspection, then dropped so the table stays small."""
    with ctx.uow() as session:
        cutoff = ctx.clock.now() - timedelta(days=7)
        session.exec(delete(OutboxMessage).where(OutboxMessage.status == "sent", OutboxMessage.sent_at < cutoff))  # type: ignore[call-overload,arg-type,operator]


def seal_audit_log(ctx: AppContext) -> None:
    """Link new audit entries into the chain; an idle tick only reads, so it never queues for SQLite's lock."""
    with ctx.read() as session:
        if not has_unsealed(session=session):
            return
    with ctx.uow() as session:
        seal(session=session)


def retry_followups(ctx: AppContext) -> None:
    """Domain-event follow-ups that failed or were left behind by a crash (services/events.py)."""
    ctx.events.retry_due(ctx)


def purge_done_followups(ctx: AppContext) -> None:
    """Follow-ups that ran are kept a week for inspection, like delivered outbox rows; failed ones stay."""
    with ctx.uow() as session:
        cutoff = ctx.clock.now() - timedelta(days=7)
        session.exec(delete(FollowUp).where(FollowUp.status == "done", FollowUp.done_at < cutoff))  # type: ignore[call-overload,arg-type,operator]


FOUNDATION_JOBS = [
    Job("seal_audit_log", seal_audit_log),
    Job("events.followups", retry_followups),
    Job("anchor_audit_chain", anchor_audit_chain, every_s=5),
    Job("purge_idempotency_keys", purge_idempotency_keys, every_s=3600),
    Job("purge_delivered_outbox", purge_delivered_outbox, every_s=3600),
    Job("purge_done_followups", purge_done_followups, every_s=3600),
    Job("audit.repeated_refusals", write_due_refusals, every_s=10),
]


def all_jobs() -> list[Job]:
    jobs = list(FOUNDATION_JOBS)
    for module in domain_modules("jobs"):
        jobs.extend(getattr(module, "JOBS", []))
    return jobs


def _guarded(job: Job, ctx: AppContext) -> Callable[[], None]:
    def run() -> None:
        try:
            job.run(ctx)
        except Exception:  # one failing tick must not stop the schedule; the due rows stay due
            log.exception("job %s failed", job.name)

    return run


def start_scheduler(ctx: AppContext, jobs: list[Job] | None = None) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone="UTC")
    for job in jobs if jobs is not None else all_jobs():
        scheduler.add_job(_guarded(job, ctx), "interval", seconds=job.every_s or ctx.settings.tick_seconds,
                          id=job.name, max_instances=1, coalesce=True, misfire_grace_time=30)
    scheduler.start()
    return scheduler


def run_all_once(ctx: AppContext, jobs: list[Job] | None = None) -> None:
    """Run every job now, in order: what tests call after moving the fake clock."""
    for job in jobs if jobs is not None else all_jobs():
        job.run(ctx)
