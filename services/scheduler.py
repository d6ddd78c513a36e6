"""Scheduled jobs: plain functions over the database, safe on several replicas (they claim due rows).

Each domain lists its jobs in its own jobs.py as `JOBS` (services.jobs.Job, named "<domain>.<what it does>");
they are gathered here. APScheduler (3.x) only decides when to run them; what is due lives in database rows, so
nothing is lost across restarts.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from services.context import AppContext
from services.domains import domain_modules
from services.jobs import Job

__all__ = ["Job", "all_jobs", "run_all_once", "start_scheduler"]
log = logging.getLogger("countersign.scheduler")
# Jobs of the parts every domain stands on (no domain folder of their own), listed before the domains' jobs.
FOUNDATION = ("services.audit.jobs", "services.events", "services.http.jobs", "services.outbox.jobs")


def all_jobs() -> list[Job]:
    modules = [importlib.import_module(name) for name in FOUNDATION] + domain_modules("jobs")
    return [job for module in modules for job in getattr(module, "JOBS", [])]


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
