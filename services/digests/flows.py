"""Digest schedules and sending. Exactly once per (schedule, firing): the firing is claimed by inserting a run
with a unique `fire_key`; the slow part (chart, narrative) happens outside the transaction under a lease, and
the post is written to the outbox only by the transaction that flips the run from claimed to posted."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import func, update
from sqlmodel import Session, col, select

from services.agents.service import require_agent
from services.audit.service import Actor, record
from services.context import AppContext
from services.db import dialect_insert
from services.digests import narrative
from services.digests.chart import render_chart
from services.digests.models import DEFAULT_SCHEDULES, DigestRun, DigestSchedule, ScheduleCreate
from services.digests.service import Digest, compute_digest, report_period
from services.errors import NotFound, field_error
from services.oversight.chart import render_chart as oversight_chart
from services.spend.periods import period_containing

log = logging.getLogger("countersign.digests")
LEASE = timedelta(minutes=5)
CATCH_UP = timedelta(days=40)  # how far back a schedule looks for a missed firing


def schedule_public(row: DigestSchedule) -> dict[str, Any]:
    return {"id": row.id, "channel": row.channel, "cron": row.cron, "timezone": row.timezone, "period": row.period,
            "created_at": row.created_at.isoformat()}


def infer_period(cron: str) -> str:
    """A schedule that names a day of the month is monthly, a weekday weekly, otherwise daily."""
    fields = cron.split()
    if len(fields) == 5 and fields[2] != "*":
        return "month"
    if len(fields) == 5 and fields[4] != "*":
        return "week"
    return "day"


def add_schedules(*, session: Session, data: ScheduleCreate, default_tz: str, actor: Actor,
                  now: datetime) -> list[dict[str, Any]]:
    """One schedule, or without a cron expression the defaults: daily 09:00 and weekly Monday 09:00."""
    wanted = [(data.cron, data.period or infer_period(data.cron))] if data.cron else list(DEFAULT_SCHEDULES)
    rows = [DigestSchedule(channel=data.channel, cron=cron, timezone=data.timezone or default_tz, period=period,
                           created_at=now) for cron, period in wanted]
    for row in rows:
        session.add(row)
    session.flush()
    for row in rows:
        record(session=session, actor=actor, verb="digest.schedule_added", subject=f"digest_schedule:{row.id}",
               now=now, details=schedule_public(row))
    return [schedule_public(row) for row in rows]


def list_schedules(*, session: Session) -> list[dict[str, Any]]:
    return [schedule_public(r) for r in session.exec(select(DigestSchedule).order_by(col(DigestSchedule.id)))]


def remove_schedule(*, session: Session, schedule_id: int, actor: Actor, now: datetime) -> None:
    row = session.get(DigestSchedule, schedule_id)
    if row is None:
        raise NotFound(f"no digest schedule {schedule_id}")
    session.delete(row)
    record(session=session, actor=actor, verb="digest.schedule_removed", subject=f"digest_schedule:{schedule_id}",
           now=now)


def create_schedules(*, ctx: AppContext, data: ScheduleCreate, actor: Actor) -> list[dict[str, Any]]:
    """The admin API's add: its own transaction (the session-first functions above are for callers that hold one)."""
    with ctx.uow() as session:
        return add_schedules(session=session, data=data, default_tz=ctx.settings.timezone, actor=actor,
                             now=ctx.clock.now())


def all_schedules(*, ctx: AppContext) -> list[dict[str, Any]]:
    with ctx.read() as session:
        return list_schedules(session=session)


def delete_schedule(*, ctx: AppContext, schedule_id: int, actor: Actor) -> None:
    with ctx.uow() as session:
        remove_schedule(session=session, schedule_id=schedule_id, actor=actor, now=ctx.clock.now())


def latest_fire(*, schedule: DigestSchedule, after: datetime, now: datetime) -> datetime | None:
    """The most recent firing in (after, now], or None. Older missed firings are skipped: one catch-up."""
    trigger = CronTrigger.from_crontab(schedule.cron, timezone=ZoneInfo(schedule.timezone))
    fire = trigger.get_next_fire_time(None, after + timedelta(microseconds=1))
    latest = None
    while fire is not None and fire <= now:
        latest = fire
        fire = trigger.get_next_fire_time(fire, fire + timedelta(microseconds=1))
    return latest


def run_due(ctx: AppContext) -> int:
    """The job: claim each schedule's latest due firing once, then send every run this replica holds."""
    now = ctx.clock.now()
    claimed: list[int] = []
    with ctx.uow() as session:
        for schedule in session.exec(select(DigestSchedule)).all():
            last = session.exec(select(func.max(DigestRun.fire_at)).where(DigestRun.schedule_id == schedule.id)).one()
            after = max([t for t in (schedule.created_at, last, now - CATCH_UP) if t is not None])
            fire_at = latest_fire(schedule=schedule, after=after, now=now)
            if fire_at is None:
                continue
            period = report_period(schedule.period, fire_at, ctx.settings.tz)
            run_id = _claim(session, fire_key=f"schedule:{schedule.id}:{fire_at.isoformat()}", schedule_id=schedule.id,
                            channel=schedule.channel, period=schedule.period, period_start=period.start.isoformat(),
                            fire_at=fire_at, now=now)
            if run_id is not None:
                claimed.append(run_id)
        claimed += _reclaim_stale(session, now)
    prepared: dict[tuple[str, str], Prepared] = {}
    for run_id in claimed:
        deliver(ctx=ctx, run_id=run_id, prepared=prepared)
    return len(claimed)


def _claim(session: Session, *, fire_key: str, now: datetime, **fields: Any) -> int | None:
    table = DigestRun.__table__  # type: ignore[attr-defined]
    statement = dialect_insert(session, table).values(
        fire_key=fire_key, status="claimed", lease_until=now + LEASE, created_at=now, **fields,
    ).on_conflict_do_nothing(index_elements=["fire_key"]).returning(table.c.id)
    row = session.execute(statement).first()
    return None if row is None else int(row[0])  # None: another replica (or an earlier tick) has this firing


def _reclaim_stale(session: Session, now: datetime) -> list[int]:
    """A replica that claimed a run and died leaves it claimed; after its lease anyone may take it over."""
    taken = []
    for run in session.exec(select(DigestRun).where(DigestRun.status == "claimed", DigestRun.lease_until < now)).all():
        result = session.execute(update(DigestRun)
                                 .where(col(DigestRun.id) == run.id, col(DigestRun.status) == "claimed",
                                        col(DigestRun.lease_until) == run.lease_until)
                                 .values(lease_until=now + LEASE))
        if result.rowcount:
            taken.append(run.id)
    return taken


@dataclass
class Prepared:
    """One period's digest, chart and narrative: computed, drawn and narrated (an LLM call) once for every channel
    it goes to in one sending."""

    digest: Digest
    chart: bytes | None
    story: narrative.Narrative
    spend_recorded: bool = False  # the narrative's own LLM spend is counted once, with the first post
    oversight_chart: bytes | None = None  # weekly: approval rate and speed per reviewer (services.oversight)


def prepare(*, ctx: AppContext, digest: Digest, narrate: bool = True, chart: bool = True) -> Prepared:
    """Draw and narrate a computed digest (outside any session: the narrative may be an OpenAI call).
    `narrate` False: the template's narrative, no call; `chart` False: no chart drawn."""
    story = narrative.write(ctx=ctx, digest=digest) if narrate else \
        narrative.Narrative(narrative.template(digest), "template")
    reviewers = oversight_chart(digest.oversight_weeks, title="Reviewers") if chart else None
    return Prepared(digest, render_chart(digest) if chart else None, story, oversight_chart=reviewers)


def show(*, ctx: AppContext, period: str = "day", so_far: bool = False, agent: str | None = None,
         chart: bool = True) -> Prepared:
    """A digest to read here and now (`countersign digest show`, the web app's digest page), computed as a posted
    one is, but sent nowhere and recorded nowhere. Its narrative is the template's: reading a digest neither
    spends on OpenAI nor uses up the hourly narrative calls that posted digests count on."""
    now, tz = ctx.clock.now(), ctx.settings.tz
    with ctx.read() as session:
        agent_id = require_agent(session=session, name=agent).id if agent else None
        digest = compute_digest(session=session, period=report_period(period, now, tz, so_far=so_far), now=now,
                                tz=tz, agent_id=agent_id)
    return prepare(ctx=ctx, digest=digest, narrate=False, chart=chart)


def deliver(*, ctx: AppContext, run_id: int, prepared: dict[tuple[str, str], Prepared] | None = None) -> bool:
    """Compute, draw and narrate outside any write transaction; then post only if the run is still ours.
    `prepared`: what this sending already made, by (period, start), shared by its runs."""
    prepared = {} if prepared is None else prepared
    with ctx.read() as session:
        run = session.get(DigestRun, run_id)
        if run is None or run.status != "claimed":
            return False
        key = (run.period, run.period_start)
        digest = None if key in prepared else compute_digest(
            session=session, period=period_containing(run.period, date.fromisoformat(run.period_start)),
            now=ctx.clock.now(), tz=ctx.settings.tz)
    if digest is not None:  # drawn and narrated outside the read session
        prepared[key] = prepare(ctx=ctx, digest=digest)
    ready = prepared[key]
    now = ctx.clock.now()
    with ctx.uow() as session:
        flipped = session.execute(update(DigestRun)
                                  .where(col(DigestRun.id) == run_id, col(DigestRun.status) == "claimed")
                                  .values(status="posted", posted_at=now, narrative_source=ready.story.source))
        if not flipped.rowcount:
            return False
        if not ready.spend_recorded:
            narrative.record_own_spend(session=session, ctx=ctx, narrative=ready.story, request_id=f"digest:{run_id}")
        ctx.notifier.digest(session=session, channel=run.channel, digest=ready.digest, narrative=ready.story.text,
                            chart_png=ready.chart, key=f"digest:{run_id}", now=now)
        if ready.oversight_chart:
            ctx.notifier.oversight_chart(session=session, channel=run.channel, chart_png=ready.oversight_chart,
                                         key=f"digest:{run_id}", now=now)
        record(session=session, actor=Actor.system("digests"), verb="digest.posted", subject=f"digest:{run_id}",
               now=now, details={"channel": run.channel, "period": run.period, "period_start": run.period_start,
                        "narrative": ready.story.source, "chart": ready.chart is not None})
    ready.spend_recorded = True
    return True


def send_now(*, ctx: AppContext, channel: str | None, period: str = "day", actor: Actor,
             so_far: bool = False) -> list[int]:
    """`countersign digest send` and `/countersign digest`: the last complete period (or, `so_far`, the period
    running now, up to now), to one channel or to every channel that has a schedule."""
    now = ctx.clock.now()
    with ctx.uow() as session:
        channels = [channel] if channel else sorted(set(session.exec(select(DigestSchedule.channel)).all()))
        if not channels:
            raise field_error("channel", "no channel given and no digest schedule exists; pass --channel C…")
        start = report_period(period, now, ctx.settings.tz, so_far=so_far).start.isoformat()
        runs = [_claim(session, fire_key=f"adhoc:{uuid.uuid4().hex}", schedule_id=None, channel=ch, period=period,
                       period_start=start, fire_at=now, now=now) for ch in channels]
        record(session=session, actor=actor, verb="digest.requested", subject="digest:adhoc", now=now,
               details={"channels": channels, "period": period, "so_far": so_far})
    prepared: dict[tuple[str, str], Prepared] = {}
    sent = [r for r in runs if r is not None and deliver(ctx=ctx, run_id=r, prepared=prepared)]
    return sent
