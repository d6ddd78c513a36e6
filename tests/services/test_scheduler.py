"""The scheduler runs in the app's lifespan: jobs tick about once a second and one failure doesn't stop them."""

from __future__ import annotations

import threading
import time

from services.scheduler import Job, all_jobs
from tests.harness import Harness


def test_jobs_tick_and_survive_failures(sqlite_url: str) -> None:
    """A job runs repeatedly once the app is up, even next to a job that always raises."""
    ticks: list[float] = []
    seen = threading.Event()

    def count(ctx) -> None:
        ticks.append(time.monotonic())
        if len(ticks) >= 3:
            seen.set()

    def explode(ctx) -> None:
        raise RuntimeError("boom")

    with Harness(sqlite_url, jobs=[Job("tests.explode", explode), Job("tests.count", count)]):
        assert seen.wait(5), f"only {len(ticks)} ticks"  # three ticks of 0.2 s, next to one raising each tick


def test_scheduler_stops_with_the_app(sqlite_url: str) -> None:
    """After shutdown no job runs any more (the lifespan stops the scheduler): while a second app's job ticks
    three times on the same schedule, the first one's stays still."""
    ticks: list[float] = []
    ticked = threading.Event()

    def count(ctx) -> None:
        ticks.append(time.monotonic())
        ticked.set()

    with Harness(sqlite_url, jobs=[Job("tests.count", count)]):
        assert ticked.wait(5)
    after = len(ticks)
    later: list[float] = []
    enough = threading.Event()

    def watch(ctx) -> None:
        later.append(time.monotonic())
        if len(later) >= 3:
            enough.set()

    with Harness(sqlite_url, jobs=[Job("tests.watch", watch)]):
        assert enough.wait(5)
    assert after >= 1 and len(ticks) == after


def test_foundation_jobs_are_registered() -> None:
    """Housekeeping jobs are part of every deployment's schedule."""
    names = {job.name for job in all_jobs()}
    assert {"audit.seal", "audit.anchor", "events.followups", "idempotency.purge_expired",
            "outbox.purge_delivered"} <= names
    assert all(name.count(".") == 1 and name == name.lower() for name in names)  # one style: <domain>.<what>


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
