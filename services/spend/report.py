"""Spend over a window for a set of agents, as the web app's charts draw it: cost and waste per local day per
agent, each agent's daily budget line, and cost per approved outcome. Reads rollups and drafts only."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlmodel import Session, col, select

from services.agents.models import Agent
from services.drafts.models import Draft
from services.spend.models import SpendRollup
from services.spend.periods import local_day

APPROVED = ("approved", "edited", "auto_approved")


@dataclass
class AgentSpend:
    name: str
    cost: list[float]  # one per day of the window
    waste: list[float]
    daily_budget_usd: float | None  # the agent's own daily limit, if it has one
    approved: int = 0

    @property
    def total(self) -> float:
        return sum(self.cost)

    @property
    def total_waste(self) -> float:
        return sum(self.waste)

    @property
    def cost_per_approved(self) -> float | None:
        return self.total / self.approved if self.approved else None


@dataclass
class SpendReport:
    days: list[date]
    agents: list[AgentSpend] = field(default_factory=list)


def report(*, session: Session, agents: list[Agent], now: datetime, tz: ZoneInfo, days: int = 14) -> SpendReport:
    """The last `days` local days, today included, for these agents only."""
    end = local_day(now, tz) + timedelta(days=1)
    start = end - timedelta(days=days)
    window = [start + timedelta(days=i) for i in range(days)]
    index = {d: i for i, d in enumerate(window)}
    by_id = {a.id: AgentSpend(a.name, [0.0] * days, [0.0] * days, _daily_limit(a)) for a in agents}
    if not by_id:
        return SpendReport(window)
    rows = session.exec(
        select(SpendRollup.agent_id, SpendRollup.day, func.sum(SpendRollup.cost_usd), func.sum(SpendRollup.waste_usd))
        .where(col(SpendRollup.day) >= start, col(SpendRollup.day) < end, col(SpendRollup.agent_id).in_(list(by_id)))
        .group_by(SpendRollup.agent_id, SpendRollup.day)
    ).all()
    for agent_id, day, cost, waste in rows:
        line = by_id[agent_id]
        line.cost[index[day]] += float(cost or 0)
        line.waste[index[day]] += float(waste or 0)
    since = datetime.combine(start, datetime.min.time(), tzinfo=tz)
    counts = session.exec(select(Draft.agent_id, func.count()).where(
        col(Draft.agent_id).in_(list(by_id)), col(Draft.status).in_(APPROVED), col(Draft.decided_at) >= since,
        col(Draft.is_canary).is_(False),  # oversight: a missed canary is no approved outcome
    ).group_by(Draft.agent_id)).all()
    for agent_id, count in counts:
        by_id[agent_id].approved = int(count)
    return SpendReport(window, sorted(by_id.values(), key=lambda s: s.name))


def _daily_limit(agent: Agent) -> float | None:
    limits = [float(b["limit_usd"]) for b in agent.budgets or [] if b.get("period") == "day"]
    return min(limits) if limits else None
