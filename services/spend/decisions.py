"""The owner's answers on a paused-for-budget card: raise the budget, resume once, or keep the agent paused.

Only the owner, a backup owner or a configured admin may answer. Each answer is audited and the card is
updated in place to say who did what.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import update
from sqlmodel import Session, col, select

from services.agents import flows as agent_flows
from services.agents import service as agents
from services.agents.models import Agent
from services.audit.service import Actor, record
from services.context import AppContext
from services.errors import Forbidden, NotFound, field_error
from services.spend import budgets
from services.spend.models import ScopedBudget, SpendAlert
from services.spend.periods import current_period

RAISE_PRESETS = (25, 50, 100)  # percent


@dataclass(frozen=True)
class CardRef:
    """What a card's buttons carry: enough to find the budget and the card again."""

    agent_name: str
    rule_key: str
    limit_usd: float
    period_start: str

    def encode(self, extra: str = "") -> str:
        return "|".join([self.agent_name, self.rule_key, f"{self.limit_usd:g}", self.period_start, extra])

    @classmethod
    def decode(cls, value: str) -> tuple[CardRef, str]:
        parts = value.split("|")
        if len(parts) != 5:
            raise field_error("value", "this button's value is not one Countersign made")
        try:
            limit = float(parts[2])
        except ValueError:
            raise field_error("value", "this button's value is not one Countersign made") from None
        return cls(parts[0], parts[1], limit, parts[3]), parts[4]

    @property
    def alert_key(self) -> str:
        return f"{self.rule_key}@{self.limit_usd:g}"

    @property
    def card_key(self) -> str:
        return budgets.card_key(self.agent_name, self.alert_key, self.period_start)


def _authorized(session: Session, ctx: AppContext, ref: CardRef, user_id: str) -> Agent:
    agent = agents.require_agent(session=session, name=ref.agent_name)
    if not agents.may_pause(agent=agent, user_id=user_id, admins=ctx.settings.admin_users):
        raise Forbidden(f"only {agent.name}'s owner, its backup owners or an admin can change its budget")
    return agent


def raise_budget(*, ctx: AppContext, ref: CardRef, percent: int, user_id: str) -> str:
    if percent not in RAISE_PRESETS and not 1 <= percent <= 1000:
        raise field_error("percent", "raise by 1 to 1000 percent")
    now = ctx.clock.now()
    with ctx.uow() as session:
        agent = _authorized(session, ctx, ref, user_id)
        old, new = _set_limit(session, agent, ref.rule_key, percent)
        record(session=session, actor=Actor.slack_user(user_id), verb="budget.raised", subject=f"agent:{agent.name}",
               now=now, details={"budget": ref.rule_key, "from_usd": old, "to_usd": new, "percent": percent})
        rule = next((r for r in budgets.rules_for(session=session, agent=agent) if r.key == ref.rule_key), None)
        resumed = False
        if rule is not None and agent.status == "paused" and agent.paused_by == "budget":
            period = current_period(rule.period, now, ctx.settings.tz)
            ids = budgets.member_ids(session=session, rule=rule, agent=agent)
            if budgets.spent(session=session, period=period, agent_ids=ids) < rule.limit_usd:
                resumed = agent_flows.resume_agent(session=session, ctx=ctx, agent=agent, actor=Actor.slack_user(user_id))
        outcome = (f"<@{user_id}> raised the budget by {percent}%: ${old:,.2f} → ${new:,.2f}."
                   + (" The agent is running again." if resumed else ""))
        ctx.notifier.budget_pause_resolved(session=session, agent=agent, card_key=ref.card_key, outcome=outcome, now=now)
    return outcome


def _set_limit(session: Session, agent: Agent, rule_key: str, percent: int) -> tuple[float, float]:
    scope, _, rest = rule_key.partition(":")
    if scope == "agent":
        index = int(rest.rpartition(":")[2]) if rest.rpartition(":")[2].isdigit() else -1
        specs = [dict(b) for b in agent.budgets or []]
        if not 0 <= index < len(specs) or not rest.startswith(f"{agent.id}:"):
            raise NotFound("that budget no longer exists; see /countersign budget")
        old = float(specs[index]["limit_usd"])
        specs[index]["limit_usd"] = new = round(old * (1 + percent / 100), 2)
        agent.budgets = specs  # a new list, so the JSON column is written
        session.add(agent)
        return old, new
    scope_key, _, period = rule_key.rpartition(":")
    row = session.exec(select(ScopedBudget).where(ScopedBudget.scope_key == scope_key,
                                                  ScopedBudget.period == period)).first()
    if row is None:
        raise NotFound("that budget no longer exists; see /countersign budget")
    old = row.limit_usd
    row.limit_usd = new = round(old * (1 + percent / 100), 2)
    session.add(row)
    return old, new


def resume_once(*, ctx: AppContext, ref: CardRef, user_id: str) -> str:
    """Let the agent run past this budget until the period ends; the next period is enforced again."""
    now = ctx.clock.now()
    with ctx.uow() as session:
        agent = _authorized(session, ctx, ref, user_id)
        session.execute(update(SpendAlert).where(
            col(SpendAlert.key) == ref.alert_key, col(SpendAlert.threshold) == 100,
            col(SpendAlert.period_start) == ref.period_start).values(waived_by=user_id))
        record(session=session, actor=Actor.slack_user(user_id), verb="budget.waived", subject=f"agent:{agent.name}",
               now=now, details={"budget": ref.rule_key, "period_start": ref.period_start})
        agent_flows.resume_agent(session=session, ctx=ctx, agent=agent, actor=Actor.slack_user(user_id))
        outcome = f"<@{user_id}> resumed the agent once: this budget is not enforced until the period ends."
        ctx.notifier.budget_pause_resolved(session=session, agent=agent, card_key=ref.card_key, outcome=outcome, now=now)
    return outcome


def keep_paused(*, ctx: AppContext, ref: CardRef, user_id: str) -> str:
    now = ctx.clock.now()
    with ctx.uow() as session:
        agent = _authorized(session, ctx, ref, user_id)
        record(session=session, actor=Actor.slack_user(user_id), verb="budget.kept_paused",
               subject=f"agent:{agent.name}", now=now, details={"budget": ref.rule_key})
        outcome = f"<@{user_id}> kept the agent paused."
        ctx.notifier.budget_pause_resolved(session=session, agent=agent, card_key=ref.card_key, outcome=outcome, now=now)
    return outcome
