"""The dead-man's switch job: halts overdue runs (claimed rows, so each halt is reported once)."""

from __future__ import annotations

from services.context import AppContext
from services.runs.flows import watch_runs
from services.scheduler import Job


def run_watchdog(ctx: AppContext) -> None:
    watch_runs(ctx)


JOBS = [Job("run_watchdog", run_watchdog)]
