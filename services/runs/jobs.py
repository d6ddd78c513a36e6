"""The dead-man's switch job: halts overdue runs (claimed rows, so each halt is reported once)."""

from __future__ import annotations

from services.context import AppContext
from services.jobs import Job
from services.runs.flows import watch_runs


def run_watchdog(ctx: AppContext) -> None:
    watch_runs(ctx)


JOBS = [Job("runs.watchdog", run_watchdog)]
