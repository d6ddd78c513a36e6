"""Digest schedules: defaults, firing once per schedule and period, one catch-up after downtime, and exactly
once with two app instances sharing a PostgreSQL database."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

from sqlmodel import select

from services.digests.models import DigestRun
from testkit.clock import FakeClock
from testkit.fakes.slack import FakeSlack
from tests.harness import Harness

CHANNEL = "C0DIGEST"
SUNDAY_EVENING = datetime(2026, 1, 4, 20, 0, tzinfo=timezone.utc)


def runs(h: Harness) -> list[DigestRun]:
    with h.ctx.read() as session:
        return list(session.exec(select(DigestRun).order_by(DigestRun.id)).all())


def digests_posted(h: Harness) -> list[dict]:
    h.drain()
    return [m for m in h.slack.messages_in(CHANNEL) if "Countersign digest" in m["text"]]


def test_defaults_fire_once_and_catch_up_once(sqlite_url: str, slack: FakeSlack) -> None:
    """Daily 09:00 and weekly Monday 09:00 fire once each; three days down sends one daily digest, not three."""
    clock = FakeClock(SUNDAY_EVENING)
    with Harness(sqlite_url, slack=slack, clock=clock, jobs=[]) as h:
        made = h.client.post("/v1/digests/schedules", json={"channel": CHANNEL}, headers=h.admin)
        assert made.status_code == 201 and [s["period"] for s in made.json()] == ["day", "week"]
        h.run_jobs()
        assert runs(h) == []
        clock.set(datetime(2026, 1, 5, 9, 0, 1, tzinfo=timezone.utc))  # Monday 09:00:01
        h.run_jobs()
        h.run_jobs()
        assert sorted((r.period, r.period_start) for r in runs(h)) == [("day", "2026-01-04"), ("week", "2025-12-29")]
        assert len(digests_posted(h)) == 2
        clock.set(datetime(2026, 1, 8, 12, 0, tzinfo=timezone.utc))  # down Tuesday to Thursday morning
        h.run_jobs()
        h.run_jobs()
        assert [(r.period, r.period_start) for r in runs(h)[2:]] == [("day", "2026-01-07")]
        assert len(digests_posted(h)) == 3


def test_schedule_api_validates_and_removes(harness: Harness) -> None:
    """A bad cron or zone is a 422 naming the field; schedules list and delete; admin only."""
    bad = harness.client.post("/v1/digests/schedules", json={"channel": CHANNEL, "cron": "every day"},
                              headers=harness.admin)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "cron"
    zone = harness.client.post("/v1/digests/schedules", json={"channel": CHANNEL, "cron": "0 8 * * *",
                                                              "timezone": "Mars/Olympus"}, headers=harness.admin)
    assert zone.status_code == 422 and zone.json()["errors"][0]["field"] == "timezone"
    made = harness.client.post("/v1/digests/schedules", json={"channel": CHANNEL, "cron": "0 8 1 * *",
                                                              "timezone": "Europe/Paris"}, headers=harness.admin)
    assert made.status_code == 201 and made.json()[0]["period"] == "month"
    listed = harness.client.get("/v1/digests/schedules", headers=harness.admin).json()
    assert [s["timezone"] for s in listed] == ["Europe/Paris"]
    assert harness.client.delete(f"/v1/digests/schedules/{listed[0]['id']}", headers=harness.admin).status_code == 204
    assert harness.client.delete(f"/v1/digests/schedules/{listed[0]['id']}", headers=harness.admin).status_code == 404
    assert harness.client.get("/v1/digests/schedules").status_code == 401


def test_exactly_once_with_two_instances_on_postgres(pg_url: str, slack: FakeSlack) -> None:
    """Two app instances running the digest job at the same moment post each digest once."""
    clock = FakeClock(SUNDAY_EVENING)
    with Harness(pg_url, slack=slack, clock=clock, jobs=[]) as one, Harness(pg_url, slack=slack, clock=clock,
                                                                             jobs=[]) as two:
        one.client.post("/v1/digests/schedules", json={"channel": CHANNEL}, headers=one.admin)
        two.client.post("/v1/digests/schedules", json={"channel": "C0OTHER", "cron": "0 9 * * *"},
                        headers=two.admin)
        clock.set(datetime(2026, 1, 5, 9, 0, 1, tzinfo=timezone.utc))
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda h: h.run_jobs(), [one, two, one, two]))
        assert len(runs(one)) == 3 and {r.status for r in runs(one)} == {"posted"}
        one.drain()
        two.drain()
        assert len(digests_posted(one)) == 2
        assert len([m for m in slack.messages_in("C0OTHER") if "Countersign digest" in m["text"]]) == 1
