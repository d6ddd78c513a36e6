"""The owner's answers on a paused-for-budget card: raise the budget, resume once, or keep the agent paused.

Only the owner, a backup owner or a configured admin may answer, on the card itself. Each choice on a card
applies once: its first click claims it (a unique row in spend_alerts, so two replicas can't both win) and any
later click of it, a replay included, is refused. A raise applies only an amount the card offered, and only to
the limit the card showed. Each answer is audited, each refusal too (`budget.answer_refused`), and the card
is updated in place.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from services.agents import flows as agent_flows
from services.agents import service as agents
from services.agents.models import Agent
from services.audit.refusals import refuse
from services.audit.service import Actor, record
from services.context import AppContext
from services.errors import AlreadyDecided, Conflict, CountersignError, Forbidden, NotFound, field_error
from services.outbox.service import slack_message
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


Where = tuple[str | None, str | None]  # (channel, message ts) a click came from
Act = Callable[[Session, Agent, datetime], str]


def _refusal(session: Session, ctx: AppContext, agent: Agent, ref: CardRef, user_id: str,
             where: Where | None) -> CountersignError | None:
    if not agents.may_pause(agent=agent, user_id=user_id, admins=ctx.settings.admin_users):
        return Forbidden(f"only {agent.name}'s owner, its backup owners or an admin can change its budget")
    posted = slack_message(session=session, key=ref.card_key)
    if where is not None and (posted is None or where != (posted.channel, posted.ts)):
        return Forbidden("this button is not on the budget card it names, so it changes nothing")
    return None


def _claim_key(ref: CardRef, choice: str) -> str:
    """Every raise is the same choice: one raise per card, whatever its amount."""
    return f"answered:{choice.split()[0]}:{ref.alert_key}"[:128]


def _made(session: Session, ref: CardRef, choice: str) -> CountersignError | None:
    """Refused when this choice was already made on this card."""
    first = session.exec(select(SpendAlert).where(SpendAlert.key == _claim_key(ref, choice),
                                                  SpendAlert.threshold == 100,
                                                  SpendAlert.period_start == ref.period_start)).first()
    if first is None:
        return None
    by = f" by <@{first.waived_by}>" if first.waived_by else ""
    return AlreadyDecided(f"this choice on the budget card was already made{by}; see /countersign budget")


def _claim(session: Session, ref: CardRef, choice: str, user_id: str, now: datetime) -> CountersignError | None:
    """The first click of each choice claims it on this card (None: this one did); a click racing it on another
    replica meets the unique key and is refused like a replay."""
    try:
        with session.begin_nested():
            session.add(SpendAlert(key=_claim_key(ref, choice), threshold=100, period_start=ref.period_start,
                                   waived_by=user_id, created_at=now))
            session.flush()
    except IntegrityError:
        return _made(session, ref, choice) or AlreadyDecided("this choice on the budget card was already made")
    return None


def _answer(ctx: AppContext, ref: CardRef, user_id: str, where: Where | None, choice: str, act: Act,
            check: Callable[[Session, Agent], CountersignError | None] | None = None) -> str:
    """Check, claim the card, act and update the card in one transaction; a refusal is audited in its own."""
    now = ctx.clock.now()
    with ctx.uow() as session:
        agent = agents.require_agent(session=session, name=ref.agent_name)
        refusal = _refusal(session, ctx, agent, ref, user_id, where) or _made(session, ref, choice)
        if refusal is None and check is not None:
            refusal = check(session, agent)
        if refusal is None:
            refusal = _claim(session, ref, choice, user_id, now)
        if refusal is None:
            outcome = act(session, agent, now)
            ctx.notifier.budget_pause_resolved(session=session, agent=agent, card_key=ref.card_key, outcome=outcome,
                                               now=now)
            return outcome
    raise refuse(ctx=ctx, user=user_id, verb="budget.answer_refused", subject=f"agent:{ref.agent_name}",
                 why=refusal.detail, details={"choice": choice, "card": ref.card_key}, error=refusal)


def raise_budget(*, ctx: AppContext, ref: CardRef, percent: int, user_id: str, offered: str | None = None,
                 where: Where | None = None) -> str:
    """`offered`: the amount the pressed button carried in its value; it must agree with `percent`."""
    if percent not in RAISE_PRESETS or (offered is not None and offered != str(percent)):
        why = f"this card offers raises of {', '.join(f'{p}%' for p in RAISE_PRESETS)} only"
        raise refuse(ctx=ctx, user=user_id, verb="budget.answer_refused", subject=f"agent:{ref.agent_name}",
                     why=why, details={"choice": f"raise {percent}%", "offered": offered, "card": ref.card_key},
                     error=field_error("percent", why))

    def shown_limit(session: Session, agent: Agent) -> CountersignError | None:
        spec = _limit_holder(session, agent, ref.rule_key)
        now_usd = float(spec["limit_usd"] if isinstance(spec, dict) else spec.limit_usd)
        if round(now_usd, 2) != round(ref.limit_usd, 2):
            return Conflict(f"the budget is ${now_usd:,.2f} now, not the ${ref.limit_usd:,.2f} this card showed; "
                            "see /countersign budget")
        return None

    def act(session: Session, agent: Agent, now: datetime) -> str:
        old, new = _set_limit(session, agent, ref.rule_key, percent)
        record(session=session, actor=Actor.slack_user(user_id), verb="budget.raised", subject=f"agent:{agent.name}",
               now=now, details={"budget": ref.rule_key, "from_usd": old, "to_usd": new, "percent": percent})
        rule = next((r for r in budgets.rules_for(session=session, agent=agent) if r.key == ref.rule_key), None)
        resumed = False
        if rule is not None and agent.status == "paused" and agent.paused_by == "budget":
            period = current_period(rule.period, now, ctx.settings.tz)
            ids = budgets.member_ids(session=session, rule=rule, agent=agent)
            if budgets.spent(session=session, period=period, agent_ids=ids) < rule.limit_usd:
                resumed = agent_flows.resume_agent(session=session, ctx=ctx, agent=agent,
                                                   actor=Actor.slack_user(user_id))
        return (f"<@{user_id}> raised the budget by {percent}%: ${old:,.2f} → ${new:,.2f}."
                + (" The agent is running again." if resumed else ""))

    return _answer(ctx, ref, user_id, where, f"raise {percent}%", act, shown_limit)


def _limit_holder(session: Session, agent: Agent, rule_key: str) -> dict | ScopedBudget:
    """The agent's budget spec (a dict in agent.budgets) or the scoped budget row the rule key names."""
    scope, _, rest = rule_key.partition(":")
    if scope == "agent":
        index = int(rest.rpartition(":")[2]) if rest.rpartition(":")[2].isdigit() else -1
        if not 0 <= index < len(agent.budgets or []) or not rest.startswith(f"{agent.id}:"):
            raise NotFound("that budget no longer exists; see /countersign budget")
        return dict(agent.budgets[index])
    scope_key, _, period = rule_key.rpartition(":")
    row = session.exec(select(ScopedBudget).where(ScopedBudget.scope_key == scope_key,
                                                  ScopedBudget.period == period)).first()
    if row is None:
        raise NotFound("that budget no longer exists; see /countersign budget")
    return row


def _set_limit(session: Session, agent: Agent, rule_key: str, percent: int) -> tuple[float, float]:
    holder = _limit_holder(session, agent, rule_key)
    if isinstance(holder, dict):
        index = int(rule_key.rpartition(":")[2])
        specs = [dict(b) for b in agent.budgets or []]
        old = float(specs[index]["limit_usd"])
        specs[index]["limit_usd"] = new = round(old * (1 + percent / 100), 2)
        agent.budgets = specs  # a new list, so the JSON column is written
        session.add(agent)
        return old, new
    old = holder.limit_usd
    holder.limit_usd = new = round(old * (1 + percent / 100), 2)
    session.add(holder)
    return old, new


def resume_once(*, ctx: AppContext, ref: CardRef, user_id: str, where: Where | None = None) -> str:
    """Let the agent run past this budget until the period ends; the next period is enforced again."""

    def act(session: Session, agent: Agent, now: datetime) -> str:
        session.execute(update(SpendAlert).where(
            col(SpendAlert.key) == ref.alert_key, col(SpendAlert.threshold) == 100,
            col(SpendAlert.period_start) == ref.period_start).values(waived_by=user_id))
        record(session=session, actor=Actor.slack_user(user_id), verb="budget.waived", subject=f"agent:{agent.name}",
               now=now, details={"budget": ref.rule_key, "period_start": ref.period_start})
        agent_flows.resume_agent(session=session, ctx=ctx, agent=agent, actor=Actor.slack_user(user_id))
        return f"<@{user_id}> resumed the agent once: this budget is not enforced until the period ends."

    return _answer(ctx, ref, user_id, where, "resume once", act)


def keep_paused(*, ctx: AppContext, ref: CardRef, user_id: str, where: Where | None = None) -> str:
    def act(session: Session, agent: Agent, now: datetime) -> str:
        record(session=session, actor=Actor.slack_user(user_id), verb="budget.kept_paused",
               subject=f"agent:{agent.name}", now=now, details={"budget": ref.rule_key})
        return f"<@{user_id}> kept the agent paused."

    return _answer(ctx, ref, user_id, where, "keep paused", act)
