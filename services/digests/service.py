"""A digest as plain data, computed from the database: spend from the rollups (never raw events), approvals
from drafts, incidents from incidents. Cost per approved outcome comes first because nothing else reports it."""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, true
from sqlmodel import Session, col, select

from services.agents.models import Agent
from services.digests.budgets import BudgetLine, budget_lines
from services.drafts.models import Draft
from services.incidents.models import Incident
from services.spend.models import INTERNAL_AGENT_ID, INTERNAL_AGENT_NAME, ScopedBudget, SpendRollup
from services.spend.periods import Period, local_day, period_containing

APPROVED = ("approved", "edited", "auto_approved")
HUMAN_DECISIONS = ("approved", "edited", "rejected")
CHART_MIN_DAYS = 14


@dataclass(frozen=True)
class SpendLine:
    name: str
    spend_usd: float
    previous_usd: float
    budget_usd: float | None = None
    unknown_events: int = 0

    @property
    def change(self) -> float | None:
        return None if not self.previous_usd else (self.spend_usd - self.previous_usd) / self.previous_usd


@dataclass(frozen=True)
class Approvals:
    counts: dict[str, int] = field(default_factory=dict)
    median_s: float | None = None
    p90_s: float | None = None
    oldest_pending_s: float | None = None
    oldest_pending: str | None = None  # "<agent>: <title>"


@dataclass(frozen=True)
class Incidents:
    opened: int = 0
    acknowledged: int = 0
    mtta_s: float | None = None
    mttr_s: float | None = None
    still_open: int = 0


@dataclass(frozen=True)
class Digest:
    period: Period
    previous: Period
    generated_at: datetime
    total_usd: float
    previous_usd: float
    approved_outcomes: int
    cost_per_approved_usd: float | None
    previous_cost_per_approved_usd: float | None
    waste_usd: float
    unknown_cost_events: int
    by_agent: list[SpendLine]
    by_team: list[SpendLine]
    by_model: list[SpendLine]
    approvals: Approvals
    incidents: Incidents
    paused: list[tuple[str, str | None, str | None]]  # (agent, paused by, reason)
    chart_days: list[date]
    daily: dict[str, list[float]]  # agent -> spend per chart day
    daily_budget: dict[str, float]  # agent -> its daily budget line, when it has one
    internal_usd: float = 0.0  # Countersign's own OpenAI spend in the period
    budgets: list[BudgetLine] = field(default_factory=list)  # every budget's state at the digest's moment
    so_far_until: str | None = None  # "HH:MM" local when the period is still running (figures up to then)

    @property
    def so_far(self) -> bool:
        return self.so_far_until is not None

    @property
    def period_label(self) -> str:
        if self.period.kind == "day":
            label = self.period.start.isoformat()
        else:
            label = f"{self.period.start.isoformat()} to {self.period.last_day.isoformat()}"
        if self.so_far_until:
            label += f", so far (to {self.so_far_until})"
        return label


def report_period(kind: str, fire_at: datetime, tz: ZoneInfo, *, so_far: bool = False) -> Period:
    """The last complete period before a firing: yesterday for a daily digest, last week for a weekly one; or,
    `so_far`, the period running now (today, this week)."""
    return period_containing(kind, local_day(fire_at, tz) - timedelta(days=0 if so_far else 1))


def compute_digest(*, session: Session, period: Period, now: datetime, tz: ZoneInfo,
                   agent_id: int | None = None) -> Digest:
    """`agent_id`: one agent's digest (its spend, drafts, incidents and the budgets that bind it); None: all."""
    previous = period.previous()
    agents = {a.id: a for a in session.exec(select(Agent))}
    chosen = [a for a in agents.values() if a.id != INTERNAL_AGENT_ID and agent_id in (None, a.id)]
    only = [] if agent_id is None else [col(SpendRollup.agent_id) == agent_id]
    current = col(SpendRollup.day) >= period.start

    def this_period(column: Any) -> Any:
        return func.sum(case((current, column), else_=0))

    rows = session.exec(
        select(SpendRollup.agent_id, SpendRollup.model, this_period(SpendRollup.cost_usd),
               func.sum(case((current, 0), else_=SpendRollup.cost_usd)), this_period(SpendRollup.waste_usd),
               this_period(SpendRollup.unknown_cost_events))
        .where(col(SpendRollup.day) >= previous.start, col(SpendRollup.day) < period.end, *only)
        .group_by(SpendRollup.agent_id, SpendRollup.model)
    ).all()
    spend: dict[str, dict[Any, list[float]]] = {"agent": defaultdict(lambda: [0.0, 0.0, 0]),
                                                "team": defaultdict(lambda: [0.0, 0.0, 0]),
                                                "model": defaultdict(lambda: [0.0, 0.0, 0])}
    waste = internal = 0.0
    unknown = 0
    for row_agent, model, cost, previous_cost, wasted, unknown_n in rows:
        if row_agent == INTERNAL_AGENT_ID:
            internal += float(cost or 0)
            continue
        agent = agents.get(row_agent)
        keys = {"agent": agent.name if agent else f"agent #{row_agent}", "model": model,
                "team": (agent.team if agent and agent.team else "(no team)")}
        for kind, key in keys.items():
            line = spend[kind][key]
            line[0] += float(cost or 0)
            line[1] += float(previous_cost or 0)
            line[2] += int(unknown_n or 0)
        waste += float(wasted or 0)
        unknown += int(unknown_n or 0)
    by_agent = _lines(spend["agent"], _agent_budgets(agents.values(), period.kind))
    by_team = _lines(spend["team"], _team_budgets(session, period.kind) if agent_id is None else {})
    by_model = _lines(spend["model"], {})
    total, prev_total = sum(x.spend_usd for x in by_agent), sum(x.previous_usd for x in by_agent)
    approvals = approvals_in(session=session, period=period, now=now, tz=tz, agent_id=agent_id)
    prev_approved = _approved_count(session, previous, tz, agent_id)
    approved = sum(approvals.counts.get(s, 0) for s in APPROVED)
    chart_days, daily = _daily(session, period, agents, only)
    as_of = min(now, period.end_utc(tz))
    budgets = budget_lines(session=session, agents=chosen, as_of=as_of, tz=tz)
    return Digest(
        period=period, previous=previous, generated_at=now, total_usd=total, previous_usd=prev_total,
        approved_outcomes=approved, cost_per_approved_usd=total / approved if approved else None,
        previous_cost_per_approved_usd=prev_total / prev_approved if prev_approved else None,
        waste_usd=waste, unknown_cost_events=unknown, by_agent=by_agent, by_team=by_team, by_model=by_model,
        approvals=approvals, incidents=incidents_in(session=session, period=period, tz=tz, agent_id=agent_id),
        paused=[(a.name, a.paused_by, a.paused_reason) for a in chosen if a.status == "paused"],
        chart_days=chart_days, daily=daily, daily_budget=_agent_budgets(chosen, "day"),
        internal_usd=internal, budgets=budgets,
        so_far_until=now.astimezone(tz).strftime("%H:%M") if now < period.end_utc(tz) else None,
    )


def _lines(table: dict[Any, list[float]], budgets: dict[str, float]) -> list[SpendLine]:
    lines = [SpendLine(str(k), v[0], v[1], budgets.get(str(k)), int(v[2])) for k, v in table.items()]
    return sorted(lines, key=lambda line: (-line.spend_usd, line.name))


def _agent_budgets(agents: Any, kind: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for agent in agents:
        limits = [float(b["limit_usd"]) for b in agent.budgets or [] if b.get("period") == kind]
        if limits:
            out[agent.name] = min(limits)
    return out


def _team_budgets(session: Session, kind: str) -> dict[str, float]:
    rows = session.exec(select(ScopedBudget).where(ScopedBudget.period == kind,
                                                   col(ScopedBudget.scope_key).startswith("team:")))
    return {row.scope_key.removeprefix("team:"): row.limit_usd for row in rows}


def _daily(session: Session, period: Period, agents: dict[Any, Agent],
           only: list[Any]) -> tuple[list[date], dict[str, list[float]]]:
    start = min(period.start, period.end - timedelta(days=CHART_MIN_DAYS))
    days = [start + timedelta(days=i) for i in range((period.end - start).days)]
    index = {d: i for i, d in enumerate(days)}
    series: dict[str, list[float]] = {}
    rows = session.exec(
        select(SpendRollup.agent_id, SpendRollup.day, func.sum(SpendRollup.cost_usd))
        .where(col(SpendRollup.day) >= start, col(SpendRollup.day) < period.end, *only)
        .group_by(SpendRollup.agent_id, SpendRollup.day)
    ).all()
    for agent_id, day, cost in rows:
        agent = agents.get(agent_id)
        name = INTERNAL_AGENT_NAME if agent_id == INTERNAL_AGENT_ID else (agent.name if agent else f"agent #{agent_id}")
        series.setdefault(name, [0.0] * len(days))[index[day]] += float(cost or 0)
    return days, series


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1]


def approvals_in(*, session: Session, period: Period, now: datetime, tz: ZoneInfo,
                 agent_id: int | None = None) -> Approvals:
    start, end = period.start_utc(tz), period.end_utc(tz)
    decided = (col(Draft.decided_at) >= start) & (col(Draft.decided_at) < end) & _of(Draft.agent_id, agent_id)
    counts = {s: int(n) for s, n in session.exec(select(Draft.status, func.count()).where(decided)
                                                 .group_by(Draft.status)).all()}
    waits = [(d - c).total_seconds() for d, c in session.exec(
        select(Draft.decided_at, Draft.created_at).where(decided, col(Draft.status).in_(HUMAN_DECISIONS))).all()]
    waits.sort()
    oldest = session.exec(select(Draft.created_at, Draft.agent_id, Draft.title)
                          .where(Draft.status == "pending", _of(Draft.agent_id, agent_id))
                          .order_by(col(Draft.created_at)).limit(1)).first()
    label = None
    if oldest is not None:
        agent = session.get(Agent, oldest[1])
        label = f"{agent.name if agent else oldest[1]}: {oldest[2]}"
    waited = (now - oldest[0]).total_seconds() if oldest else None
    return Approvals(counts=counts, median_s=statistics.median(waits) if waits else None,
                     p90_s=_percentile(waits, 0.9), oldest_pending_s=waited, oldest_pending=label)


def _of(column: Any, agent_id: int | None) -> Any:
    """A WHERE term: rows of this agent, or every row when no agent is chosen."""
    return true() if agent_id is None else col(column) == agent_id


def _approved_count(session: Session, period: Period, tz: ZoneInfo, agent_id: int | None = None) -> int:
    return int(session.exec(select(func.count()).select_from(Draft).where(
        col(Draft.decided_at) >= period.start_utc(tz), col(Draft.decided_at) < period.end_utc(tz),
        col(Draft.status).in_(APPROVED), _of(Draft.agent_id, agent_id))).one())


def incidents_in(*, session: Session, period: Period, tz: ZoneInfo, agent_id: int | None = None) -> Incidents:
    start, end = period.start_utc(tz), period.end_utc(tz)

    def within(column: Any) -> Any:
        return (col(column) >= start) & (col(column) < end) & _of(Incident.agent_id, agent_id)

    opened = int(session.exec(select(func.count()).select_from(Incident).where(within(Incident.created_at))).one())
    acks = [(a - c).total_seconds() for a, c in session.exec(
        select(Incident.acked_at, Incident.created_at).where(within(Incident.acked_at))).all()]
    fixes = [(r - c).total_seconds() for r, c in session.exec(
        select(Incident.resolved_at, Incident.created_at).where(within(Incident.resolved_at))).all()]
    still_open = int(session.exec(select(func.count()).select_from(Incident)
                                  .where(Incident.status != "resolved", _of(Incident.agent_id, agent_id))).one())
    return Incidents(opened=opened, acknowledged=len(acks),
                     mtta_s=statistics.fmean(acks) if acks else None, mttr_s=statistics.fmean(fixes) if fixes else None,
                     still_open=still_open)
