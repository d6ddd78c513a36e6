"""Each budget's state for a digest: spent, limit, share used and the projection to the budget period's end.

A digest looks at its own moment: now for a digest of the period so far, the period's end for a complete one.
Spend is summed from the rollups up to that moment's day, so yesterday's digest doesn't count today's spend.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session

from services.agents.models import Agent
from services.spend.budgets import BudgetRule, member_ids, rules_for, spent
from services.spend.periods import Period, elapsed_fraction, local_day, period_containing


@dataclass(frozen=True)
class BudgetLine:
    name: str  # "quoter daily", "team freight weekly", "all agents monthly"
    period: Period
    spent_usd: float
    limit_usd: float
    projected_usd: float  # at the current pace, by the end of the budget's period
    complete: bool  # the budget's period had ended at the digest's moment: the projection is the total

    @property
    def share(self) -> float:
        return self.spent_usd / self.limit_usd if self.limit_usd else 0.0

    def public(self) -> dict[str, Any]:
        return {"name": self.name, "period_start": self.period.start.isoformat(), "spent_usd": round(self.spent_usd, 6),
                "limit_usd": self.limit_usd, "share_used": round(self.share, 4),
                "projected_usd": round(self.projected_usd, 6), "complete": self.complete}


ADJECTIVE = {"day": "daily", "week": "weekly", "month": "monthly"}


def _name(rule: BudgetRule, agent: Agent) -> str:
    who = {"agent": agent.name, "team": f"team {rule.team}", "global": "all agents"}[rule.scope]
    return f"{who} {ADJECTIVE.get(rule.period, rule.period)}"


def budget_lines(*, session: Session, agents: list[Agent], as_of: datetime, tz: ZoneInfo) -> list[BudgetLine]:
    """Every budget (each agent's own, each team's and the global ones once), as of `as_of`."""
    day = local_day(as_of - timedelta(microseconds=1), tz)  # a complete period ends at midnight: its last day
    seen: set[str] = set()
    lines: list[BudgetLine] = []
    for agent in agents:
        for rule in rules_for(session=session, agent=agent):
            if rule.key in seen:
                continue
            seen.add(rule.key)
            period = period_containing(rule.period, day)
            upto = Period(period.kind, period.start, min(period.end, day + timedelta(days=1)))
            total = spent(session=session, period=upto, agent_ids=member_ids(session=session, rule=rule, agent=agent))
            complete = as_of >= period.end_utc(tz)
            projected = total if complete else total / elapsed_fraction(period, as_of, tz)
            lines.append(BudgetLine(_name(rule, agent), period, total, rule.limit_usd, projected, complete))
    return sorted(lines, key=lambda line: (-line.share, line.name))
