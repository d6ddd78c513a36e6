"""The scheduler runs in the app's lifespan: jobs tick about once a second and one failure doesn't stop them."""

from __future__ import annotations

import threading
import time

from services.scheduler import Job, all_jobs
from tests.harness import Harness


def test_jobs_tick_and_survive_failures(sqlite_url: str) -> None:
    """A job runs repeatedly within a second or so of start, even next to a job that always raises."""
    ticks: list[float] = []
    seen = threading.Event()

    def count(ctx) -> None:
        ticks.append(time.monotonic())
        if len(ticks) >= 3:
            seen.set()

    def explode(ctx) -> None:
        raise RuntimeError("boom")

    started = time.monotonic()
    with Harness(sqlite_url, jobs=[Job("explode", explode), Job("count", count)]):
        assert seen.wait(5), f"only {len(ticks)} ticks"
    assert ticks[0] - started < 2.0


def test_scheduler_stops_with_the_app(sqlite_url: str) -> None:
    """After shutdown no job runs any more (the lifespan stops the scheduler)."""
    ticks: list[float] = []
    with Harness(sqlite_url, jobs=[Job("count", lambda ctx: ticks.append(time.monotonic()))]):
        time.sleep(0.5)
    after = len(ticks)
    time.sleep(0.6)
    assert after >= 1 and len(ticks) == after


def test_foundation_jobs_are_registered() -> None:
    """Housekeeping jobs are part of every deployment's schedule."""
    names = {job.name for job in all_jobs()}
    assert {"seal_audit_log", "purge_idempotency_keys", "purge_delivered_outbox"} <= names


def test_audit_entries_are_sealed_within_a_tick(harness) -> None:
    """What the API audits is linked into the chain by the running scheduler within a second or two."""
    from services.audit.service import verify

    harness.register()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        with harness.ctx.read() as session:
            report = verify(session=session)
        if report.checked and not report.unsealed:
            break
        time.sleep(0.1)
    assert report.ok and report.checked >= 1 and report.unsealed == 0
