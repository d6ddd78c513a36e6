"""Spend side effects, once events are stored (by services.spend.ingest): tell the owner once about unknown
models, open incidents for over-the-maximum calls and spikes, warn at thresholds, and pause at 100 % where the
budget says so."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from services.agents import flows as agent_flows
from services.agents.models import Agent
from services.audit.service import Actor, record
from services.context import AppContext
from services.db import require_id
from services.drafts.models import Draft
from services.incidents import flows as incidents
from services.spend import admin, budgets, service
from services.spend.budgets import BudgetState, BudgetWarning
from services.spend.models import PriceOverrideIn, ScopedBudgetIn, StoredEvent, UsageCreate, UsageEvent
from services.spend.periods import local_day

BUDGET_ACTOR = Actor.system("budget")
TRAILING_TTL_S = 300.0


def after_spend(*, session: Session, ctx: AppContext, agent: Agent, event: UsageEvent,
                states: list[BudgetState]) -> None:
    after_spend_many(session=session, ctx=ctx, agent=agent, events=[event], states=states)


def after_spend_many(*, session: Session, ctx: AppContext, agent: Agent, events: list[UsageEvent] | list[StoredEvent],
                     states: list[BudgetState]) -> None:
    """React to newly stored events: each unknown model and each over-the-maximum call once per event (the
    once-only keys and incident dedup keep repeats quiet), then thresholds and spikes once, on the new totals."""
    now = ctx.clock.now()
    for model in dict.fromkeys(e.model for e in events if e.cost_usd is None):
        if service.claim_once(session=session, key=f"unknown-model:{agent.id}:{model}"[:128], now=now):
            ctx.notifier.spend_unknown_model(session=session, agent=agent, model=model, now=now)
    cap = agent.max_cost_per_request_usd
    for event in events:
        if cap is None or event.cost_usd is None or event.cost_usd <= cap:
            continue
        subject = f"draft {event.draft_id}" if event.draft_id else f"request {event.request_id or event.id}"
        open_incident(session=session, ctx=ctx, agent=agent, kind="budget_exceeded", severity="high",
                      summary=f"{agent.name}: {subject} cost ${event.cost_usd:.4f}, over the per-request "
                              f"maximum of ${cap:.4f}",
                      details={"usage_event_id": event.id, "cost_usd": event.cost_usd, "max_cost_per_request_usd": cap,
                               "draft_id": event.draft_id, "model": event.model},
                      dedup_key=f"max-per-request:{agent.id}")
    for state in states:
        warn_if_crossed(session=session, ctx=ctx, agent=agent, state=state)
    check_spike(session=session, ctx=ctx, agent=agent)


def warn_if_crossed(*, session: Session, ctx: AppContext, agent: Agent, state: BudgetState) -> None:
    """Each (budget, threshold, period) speaks once: the unique key picks the one writer that does."""
    now = ctx.clock.now()
    start = state.period.start.isoformat()
    fresh = [t for t in budgets.crossed(state)
             if service.claim_once(session=session, key=state.rule.alert_key, threshold=round(t * 100),
                                   period_start=start, now=now, spent_usd=state.spent_usd,
                                   limit_usd=state.rule.limit_usd)]
    # A pause budget pauses every agent that spends against it once it is reached (each agent once a period):
    # a team budget used up by one agent stops its teammates too, whatever thresholds it warns at.
    pause = (state.exceeded and state.rule.on_exceed == "pause" and not state.waived
             and service.claim_once(session=session, key=f"{state.rule.alert_key}>pause:{agent.id}"[:128],
                                    threshold=100, period_start=start, now=now, spent_usd=state.spent_usd,
                                    limit_usd=state.rule.limit_usd))
    if not fresh and not pause:
        return
    top = max(fresh) if fresh else 1.0
    warning = BudgetWarning(
        agent_name=agent.name, rule=state.rule, threshold=top, spent_usd=state.spent_usd,
        projected_usd=state.projected_usd(now, ctx.settings.tz), period=state.period,
        top_spenders=budgets.top_spenders(session=session, rule=state.rule, agent=agent, period=state.period),
        paused=pause)
    record(session=session, actor=BUDGET_ACTOR, verb="budget.threshold_crossed", subject=f"agent:{agent.name}", now=now,
           details={"budget": state.rule.key, "threshold": top, "spent_usd": round(state.spent_usd, 6),
                    "limit_usd": state.rule.limit_usd, "period_start": start})
    if pause:
        reason = f"{state.rule.describe()} reached: ${state.spent_usd:.2f} of ${state.rule.limit_usd:.2f}"
        agent_flows.pause_agent(session=session, ctx=ctx, agent=agent, actor=BUDGET_ACTOR, reason=reason)
        ctx.notifier.budget_paused(session=session, agent=agent, warning=warning, now=now)
    else:
        ctx.notifier.budget_warning(session=session, agent=agent, warning=warning, now=now)


def check_spike(*, session: Session, ctx: AppContext, agent: Agent) -> None:
    now = ctx.clock.now()
    agent_id, tz = require_id(agent.id), ctx.settings.tz
    today = local_day(now, tz)
    # The trailing days are past: events land on today, so their spend is read once a day per agent (the TTL
    # bounds how long a rollup written past the ingest, by hand or by an import, goes unseen).
    trailing = ctx.caches.cache("spend.trailing", ttl_s=TRAILING_TTL_S).get(
        (agent_id, today), lambda: service.trailing_spend(session=session, agent_id=agent_id, today=today))
    spike = service.detect_spike(session=session, agent_id=agent_id, now=now, tz=tz, trailing_usd=trailing)
    if spike is None:
        return
    if not service.claim_once(session=session, key=f"spike:{agent.id}", period_start=spike.day.isoformat(), now=now,
                              spent_usd=spike.today_usd):
        return
    ratio = spike.today_usd / spike.trailing_avg_usd
    open_incident(session=session, ctx=ctx, agent=agent, kind="anomaly", severity="high",
                  summary=f"{agent.name} spent ${spike.today_usd:.2f} today, {ratio:.1f}x its 7-day daily average "
                          f"of ${spike.trailing_avg_usd:.2f}",
                  details={"day": spike.day.isoformat(), "today_usd": round(spike.today_usd, 6),
                           "trailing_avg_usd": round(spike.trailing_avg_usd, 6)},
                  dedup_key=f"spike:{agent.id}:{spike.day.isoformat()}")


def open_incident(*, session: Session, ctx: AppContext, agent: Agent, **fields: Any) -> None:
    incidents.open_incident(session=session, ctx=ctx, agent=agent, actor=BUDGET_ACTOR, **fields)


def draft_cost(*, session: Session, ctx: AppContext, agent: Agent, draft: Draft) -> None:
    """A draft's cost_usd counts exactly like a usage event (request id draft:<id> keeps it to once)."""
    if draft.cost_usd is None:
        return
    data = UsageCreate(model=(draft.model or "unspecified")[:128], cost_usd=draft.cost_usd,
                       request_id=f"draft:{draft.id}", draft_id=str(draft.id))
    now, tz = ctx.clock.now(), ctx.settings.tz
    recorded = service.record_usage(session=session, agent_id=require_id(agent.id), data=data, now=now, tz=tz)
    if recorded.created:
        rules = budgets.rules_for(session=session, agent=agent)
        budgets.hold_for_thresholds(session=session, rules=rules)
        states = budgets.budget_states(session=session, agent=agent, now=now, tz=tz, rules=rules)
        after_spend(session=session, ctx=ctx, agent=agent, event=recorded.event, states=states)


def draft_decided(*, session: Session, ctx: AppContext, agent: Agent, draft: Draft) -> None:
    if draft.status in service.WASTE_STATUSES:
        service.add_waste_for_draft(session=session, agent_id=require_id(agent.id), draft_id=draft.id,
                                    now=ctx.clock.now(), tz=ctx.settings.tz)


# --- the admin API's reads and changes, each owning its transaction (routes only call these) -------------------
def check_budget(*, ctx: AppContext, agent: Agent, estimate: float) -> dict[str, Any]:
    with ctx.read() as session:
        states = budgets.budget_states(session=session, agent=agent, now=ctx.clock.now(), tz=ctx.settings.tz)
    answer = budgets.check(agent=agent, states=states, estimate=estimate)
    return {"allowed": answer.allowed, "reason": answer.reason, "remaining_usd": answer.remaining_usd,
            "budgets": [s.public() for s in states]}


def list_budgets(*, ctx: AppContext) -> list[dict[str, Any]]:
    with ctx.read() as session:
        return admin.list_budgets(session=session)


def set_budget(*, ctx: AppContext, data: ScopedBudgetIn, actor: Actor) -> tuple[dict[str, Any], bool]:
    with ctx.uow() as session:
        return admin.set_budget(session=session, data=data, actor=actor, now=ctx.clock.now())


def delete_budget(*, ctx: AppContext, budget_id: int, actor: Actor) -> None:
    with ctx.uow() as session:
        admin.delete_budget(session=session, budget_id=budget_id, actor=actor, now=ctx.clock.now())


def list_prices(*, ctx: AppContext) -> list[dict[str, Any]]:
    with ctx.read() as session:
        return admin.list_prices(session=session)


def set_price(*, ctx: AppContext, model: str, data: PriceOverrideIn, actor: Actor) -> dict[str, Any]:
    with ctx.uow() as session:
        return admin.set_price(session=session, model=model, data=data, actor=actor, now=ctx.clock.now())


def delete_price(*, ctx: AppContext, model: str, actor: Actor) -> None:
    with ctx.uow() as session:
        admin.delete_price(session=session, model=model, actor=actor, now=ctx.clock.now())
