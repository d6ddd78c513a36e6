"""Budgets: which apply to an agent (its own, its team's, the global ones), how much of each is spent, what a
check answers, and which thresholds a new event crossed. Reads rollups only, never raw events."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, func
from sqlmodel import Session, col, select

from services.agents.models import Agent
from services.db import advisory_lock, require_id
from services.spend.models import ScopedBudget, SpendAlert, SpendRollup
from services.spend.periods import Period, current_period, elapsed_fraction

DEFAULT_THRESHOLDS = [0.5, 0.8, 1.0]


@dataclass(frozen=True)
class BudgetRule:
    key: str  # stable name: agent:<id>:<index>, team:<name>:<period>, global:<period>
    scope: str  # agent | team | global
    period: str
    limit_usd: float
    on_exceed: str = "alert"
    thresholds: list[float] = field(default_factory=lambda: list(DEFAULT_THRESHOLDS))
    team: str | None = None

    @property
    def alert_key(self) -> str:
        """Warnings are keyed by the limit too: raising a budget re-arms its thresholds at the new limit."""
        return f"{self.key}@{self.limit_usd:g}"

    def describe(self) -> str:
        where = {"agent": "agent", "team": f"team {self.team}", "global": "all agents"}[self.scope]
        return f"{self.period}ly budget ({where})" if self.period != "day" else f"daily budget ({where})"


@dataclass(frozen=True)
class BudgetState:
    rule: BudgetRule
    period: Period
    spent_usd: float
    waived: bool = False  # "Resume once" for the rest of this period

    @property
    def remaining_usd(self) -> float:
        return max(0.0, self.rule.limit_usd - self.spent_usd)

    @property
    def exceeded(self) -> bool:
        return self.spent_usd >= self.rule.limit_usd

    def projected_usd(self, now: datetime, tz: ZoneInfo) -> float:
        return self.spent_usd / elapsed_fraction(self.period, now, tz)

    def public(self) -> dict[str, Any]:
        return {"key": self.rule.key, "scope": self.rule.scope, "team": self.rule.team, "period": self.rule.period,
                "limit_usd": self.rule.limit_usd, "spent_usd": round(self.spent_usd, 6),
                "remaining_usd": round(self.remaining_usd, 6), "exceeded": self.exceeded,
                "on_exceed": self.rule.on_exceed, "thresholds": self.rule.thresholds, "waived": self.waived,
                "period_start": self.period.start.isoformat(), "period_end": self.period.end.isoformat()}


def rules_for(*, session: Session, agent: Agent, scoped: list[BudgetRule] | None = None) -> list[BudgetRule]:
    """`scoped`: every team and global rule, from a cache (`scoped_rules`); read here when not given."""
    rules = [BudgetRule(key=f"agent:{agent.id}:{i}", scope="agent", period=b["period"],
                        limit_usd=float(b["limit_usd"]), on_exceed=b.get("on_exceed", "alert"),
                        thresholds=list(b.get("thresholds") or DEFAULT_THRESHOLDS))
             for i, b in enumerate(agent.budgets or [])]
    if scoped is not None:
        return rules + [r for r in scoped if r.scope == "global" or (agent.team and r.team == agent.team)]
    scopes = ["global"] + ([f"team:{agent.team}"] if agent.team else [])
    for row in session.exec(_SCOPED, params={"scopes": scopes}):
        rules.append(scoped_rule(row))
    return rules


# Built once: every usage write asks it.
_SCOPED = select(ScopedBudget).where(col(ScopedBudget.scope_key).in_(bindparam("scopes", expanding=True)))


def scoped_rules(*, session: Session) -> list[BudgetRule]:
    """Every team and global budget (a handful of rows): what ingest caches instead of reading per event."""
    return [scoped_rule(row) for row in session.exec(select(ScopedBudget)).all()]


def hold_for_thresholds(*, session: Session, rules: list[BudgetRule]) -> None:
    """Take the spend lock of every budget scope in `rules`, after this transaction's rollup writes and before
    its spend reads; held to its commit.

    The rule it keeps: a threshold alert fires once, and a crossing is not missed. The once is the unique key of
    claim_once. Not missing one needs the writers that spend against a budget to read its total one after the
    other: two that each read before the other committed would both see it short of a threshold that their
    sum crosses. Under this lock the next writer reads after the previous one's commit (READ COMMITTED takes a
    new snapshot per statement), so the last of them sees every committed event. The lock covers only the reads
    and the reactions, not the writes, and only writers of agents with a budget take it; the rollup's shards
    keep the others from waiting on one another. Scopes are locked in one order, so no two writers deadlock.
    SQLite lets one writer in at a time: the writer lock already does this.
    """
    for scope in sorted({rule.key.rsplit(":", 1)[0] for rule in rules}):  # agent:<id>, team:<name>, global
        advisory_lock(session, _lock_key(scope))


def _lock_key(scope: str) -> int:
    return int.from_bytes(hashlib.sha1(f"spend-budget:{scope}".encode()).digest()[:8], "big", signed=True)


def scoped_rule(row: ScopedBudget) -> BudgetRule:
    scope, _, team = row.scope_key.partition(":")
    return BudgetRule(key=f"{row.scope_key}:{row.period}", scope=scope, team=team or None, period=row.period,
                      limit_usd=row.limit_usd, on_exceed=row.on_exceed, thresholds=list(row.thresholds))


def member_ids(*, session: Session, rule: BudgetRule, agent: Agent) -> list[int] | None:
    """The agents whose spend counts against a rule; None means every (non-internal) agent."""
    if rule.scope == "agent":
        return [require_id(agent.id)]
    if rule.scope == "team":
        return [i for i in session.exec(select(Agent.id).where(Agent.team == rule.team)) if i is not None]
    return None


def spent(*, session: Session, period: Period, agent_ids: list[int] | None) -> float:
    statement = select(func.coalesce(func.sum(SpendRollup.cost_usd), 0.0)).where(
        col(SpendRollup.day) >= period.start, col(SpendRollup.day) < period.end)
    if agent_ids is not None:
        statement = statement.where(col(SpendRollup.agent_id).in_(agent_ids))
    else:
        statement = statement.where(col(SpendRollup.agent_id) != 0)
    return float(session.exec(statement).one())


def budget_states(*, session: Session, agent: Agent, now: datetime, tz: ZoneInfo,
                  rules: list[BudgetRule] | None = None) -> list[BudgetState]:
    """`rules`: when the caller has them (ingest takes them from its cache, and holds their scopes' locks
    before these reads: `hold_for_thresholds`)."""
    states = []
    for rule in rules_for(session=session, agent=agent) if rules is None else rules:
        period = current_period(rule.period, now, tz)
        total = spent(session=session, period=period, agent_ids=member_ids(session=session, rule=rule, agent=agent))
        states.append(BudgetState(rule, period, total, waived=is_waived(session=session, rule=rule, period=period)))
    return states


def is_waived(*, session: Session, rule: BudgetRule, period: Period) -> bool:
    row = session.exec(select(SpendAlert.id).where(
        SpendAlert.key == rule.alert_key, SpendAlert.threshold == 100,
        SpendAlert.period_start == period.start.isoformat(), col(SpendAlert.waived_by).is_not(None))).first()
    return row is not None


@dataclass(frozen=True)
class CheckAnswer:
    allowed: bool
    reason: str
    remaining_usd: float | None


def check(*, agent: Agent, states: list[BudgetState], estimate: float) -> CheckAnswer:
    """The same rules as ingest: over the per-request maximum, or any budget reached (>=) or about to be
    overrun, says no. With several budgets the most restrictive (least remaining) decides."""
    live = [s for s in states if not s.waived]
    remaining = min((s.remaining_usd for s in live), default=None)
    if agent.status == "paused":
        return CheckAnswer(False, f"agent is paused: {agent.paused_reason or 'by ' + str(agent.paused_by)}", remaining)
    cap = agent.max_cost_per_request_usd
    if cap is not None and estimate > cap:
        return CheckAnswer(False, f"estimate ${estimate:.4f} is over the per-request maximum ${cap:.4f}", remaining)
    if not live:
        return CheckAnswer(True, "no budget applies" if not states else "budget waived for this period", remaining)
    tightest = min(live, key=lambda s: s.remaining_usd)
    if tightest.exceeded:
        return CheckAnswer(False, f"{tightest.rule.describe()} is used up: ${tightest.spent_usd:.2f} of "
                                  f"${tightest.rule.limit_usd:.2f}", 0.0)
    if estimate > tightest.remaining_usd:
        return CheckAnswer(False, f"estimate ${estimate:.4f} is more than the ${tightest.remaining_usd:.4f} left "
                                  f"in the {tightest.rule.describe()}", tightest.remaining_usd)
    return CheckAnswer(True, f"within budget; the {tightest.rule.describe()} is the tightest", tightest.remaining_usd)


@dataclass(frozen=True)
class BudgetWarning:
    """What the owner is told when a threshold is crossed (and, at 100 % with pause, on the paused card)."""

    agent_name: str
    rule: BudgetRule
    threshold: float
    spent_usd: float
    projected_usd: float
    period: Period
    top_spenders: list[tuple[str, float]]
    paused: bool = False

    @property
    def card_key(self) -> str:
        return card_key(self.agent_name, self.rule.alert_key, self.period.start.isoformat())


def card_key(agent_name: str, alert_key: str, period_start: str) -> str:
    """The paused-for-budget card's outbox message key, so a button click can update it in place."""
    return f"budget-pause:{agent_name}:{alert_key}:{period_start}"[:128]


def crossed(state: BudgetState) -> list[float]:
    """Thresholds at or below the spend, highest last (checks use >=)."""
    return [t for t in sorted(state.rule.thresholds) if state.spent_usd >= t * state.rule.limit_usd]


def top_spenders(*, session: Session, rule: BudgetRule, agent: Agent, period: Period, limit: int = 5
                 ) -> list[tuple[str, float]]:
    """For an agent budget: its most expensive models; for a team or global one: its most expensive agents."""
    ids = member_ids(session=session, rule=rule, agent=agent)
    where = [col(SpendRollup.day) >= period.start, col(SpendRollup.day) < period.end]
    where.append(col(SpendRollup.agent_id).in_(ids) if ids is not None else col(SpendRollup.agent_id) != 0)
    total = func.sum(SpendRollup.cost_usd)
    if rule.scope == "agent":
        rows = session.exec(select(SpendRollup.model, total).where(*where).group_by(SpendRollup.model)
                            .order_by(total.desc()).limit(limit)).all()
        return [(str(m), float(c or 0)) for m, c in rows]
    rows = session.exec(select(Agent.name, total).join(Agent, Agent.id == SpendRollup.agent_id).where(*where)  # type: ignore[arg-type]
                        .group_by(Agent.name).order_by(total.desc()).limit(limit)).all()
    return [(str(n), float(c or 0)) for n, c in rows]
