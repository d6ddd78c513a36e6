"""Spend rules and queries: recording usage with its rollup, once-only claims, spikes. Keyword-only, session
first, no I/O beyond the database. Budgets live in services.spend.budgets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, func
from sqlmodel import Session, col, select

from services.agents.models import Agent
from services.db import dialect_insert, require_id
from services.drafts.models import Draft
from services.errors import NotFound
from services.spend.budgets import budget_states, spent
from services.spend.models import SpendAlert, SpendRollup, StoredEvent, UsageCreate, UsageEvent
from services.spend.periods import Period, local_day
from services.spend.pricing import price_call
from services.spend.shards import rollup_shard

WASTE_STATUSES = ("rejected", "expired")
SPIKE_MULTIPLIER = 3.0
SPIKE_FLOOR_USD = 1.0
SPIKE_WINDOW_DAYS = 7


@dataclass(frozen=True)
class Recorded:
    event: UsageEvent
    created: bool  # False: the request_id was seen before and this is the first event again
    draft_status: str | None = None


def record_usage(*, session: Session, agent_id: int, data: UsageCreate, now: datetime, tz: ZoneInfo,
                 draft_status: str | None = None) -> Recorded:
    """Store one event and fold it into its (agent, model, day) rollup, in the caller's transaction.

    One INSERT ... ON CONFLICT DO NOTHING decides whether a request_id is new: no read first, no savepoint,
    and two concurrent repeats meet on the unique key (the loser gets the winner's event).
    """
    priced = price_call(session=session, model=data.model, provider=data.provider, input_tokens=data.input_tokens,
                        output_tokens=data.output_tokens, cached_tokens=data.cached_tokens, cost_usd=data.cost_usd)
    fields = dict(agent_id=agent_id, request_id=data.request_id, model=data.model, provider=data.provider,
                  input_tokens=data.input_tokens, output_tokens=data.output_tokens, cached_tokens=data.cached_tokens,
                  reasoning_tokens=data.reasoning_tokens, cost_usd=priced.cost_usd, cost_source=priced.source,
                  price=priced.price, draft_id=None if data.draft_id is None else str(data.draft_id),
                  day=local_day(now, tz), created_at=now)
    table = UsageEvent.__table__  # type: ignore[attr-defined]
    inserted = session.execute(dialect_insert(session, table).values(**fields)
                               .on_conflict_do_nothing(index_elements=["agent_id", "request_id"])
                               .returning(table.c.id)).first()
    if inserted is None:
        existing = _by_request(session, agent_id, data.request_id or "")
        if existing is None:
            raise RuntimeError("usage insert skipped without a conflicting event")
        return Recorded(existing, False)
    event = UsageEvent(id=inserted[0], **fields)
    add_to_rollup(session=session, agent_id=agent_id, model=event.model, day=event.day, cost=event.cost_usd or 0.0,
                  events=1, unknown=int(event.cost_usd is None), input_tokens=event.input_tokens,
                  output_tokens=event.output_tokens, cached_tokens=event.cached_tokens)
    if draft_status in WASTE_STATUSES and event.cost_usd:
        add_to_rollup(session=session, agent_id=agent_id, model=event.model, day=event.day, waste=event.cost_usd)
    return Recorded(event, True, draft_status)


def _by_request(session: Session, agent_id: int, request_id: str) -> UsageEvent | None:
    return session.exec(select(UsageEvent).where(UsageEvent.agent_id == agent_id,
                                                 UsageEvent.request_id == request_id)).first()


def add_to_rollup(*, session: Session, agent_id: int, model: str, day: date, cost: float = 0.0, waste: float = 0.0,
                  events: int = 0, unknown: int = 0, input_tokens: int = 0, output_tokens: int = 0,
                  cached_tokens: int = 0) -> None:
    """One UPSERT into this connection's shard: writers sharing it add to its row instead of overwriting it."""
    table = SpendRollup.__table__  # type: ignore[attr-defined]
    values = {"cost_usd": cost, "waste_usd": waste, "events": events, "unknown_cost_events": unknown,
              "input_tokens": input_tokens, "output_tokens": output_tokens, "cached_tokens": cached_tokens}
    insert = dialect_insert(session, table).values(agent_id=agent_id, model=model, day=day,
                                                   shard=rollup_shard(session), **values)
    statement = insert.on_conflict_do_update(
        index_elements=["agent_id", "model", "day", "shard"],
        set_={name: table.c[name] + insert.excluded[name] for name in values},
    )
    session.execute(statement)


def claim_once(*, session: Session, key: str, threshold: int = 0, period_start: str = "", now: datetime,
               spent_usd: float | None = None, limit_usd: float | None = None) -> bool:
    """True for exactly one caller per (key, threshold, period_start), across transactions and replicas."""
    table = SpendAlert.__table__  # type: ignore[attr-defined]
    statement = dialect_insert(session, table).values(
        key=key, threshold=threshold, period_start=period_start, spent_usd=spent_usd, limit_usd=limit_usd,
        created_at=now,
    ).on_conflict_do_nothing(index_elements=["key", "threshold", "period_start"]).returning(table.c.id)
    # RETURNING, not rowcount: with implicit RETURNING some drivers report -1 rows for a skipped insert.
    return session.execute(statement).first() is not None


def draft_for(*, session: Session, agent_id: int, draft_id: str | int) -> Draft:
    """The agent's own draft, or 404 (another agent's draft is as invisible as a missing one)."""
    draft = session.get(Draft, str(draft_id))
    if draft is None or draft.agent_id != agent_id:
        raise NotFound(f"no draft {draft_id!r}")
    return draft


def add_waste_for_draft(*, session: Session, agent_id: int, draft_id: str | int, now: datetime, tz: ZoneInfo) -> float:
    """A draft ended rejected or expired: what was spent on it becomes waste, counted on today's rollup."""
    rows = session.exec(
        select(UsageEvent.model, func.sum(UsageEvent.cost_usd))
        .where(UsageEvent.agent_id == agent_id, UsageEvent.draft_id == str(draft_id),
               col(UsageEvent.cost_usd).is_not(None))
        .group_by(UsageEvent.model)
    ).all()
    total = 0.0
    for model, cost in rows:
        if cost:
            add_to_rollup(session=session, agent_id=agent_id, model=model, day=local_day(now, tz), waste=float(cost))
            total += float(cost)
    return total


def spend_between(*, session: Session, start: date, end: date, agent_ids: list[int] | None = None) -> float:
    return spent(session=session, period=Period("span", start, end), agent_ids=agent_ids)


# One agent's spend over [start, end): built once, since every usage write asks it (the spike check).
_AGENT_SPEND = select(func.coalesce(func.sum(SpendRollup.cost_usd), 0.0)).where(
    col(SpendRollup.agent_id) == bindparam("agent_id"), col(SpendRollup.day) >= bindparam("start"),
    col(SpendRollup.day) < bindparam("end"))


def agent_spend_between(*, session: Session, agent_id: int, start: date, end: date) -> float:
    return float(session.execute(_AGENT_SPEND, {"agent_id": agent_id, "start": start, "end": end}).scalar_one())


@dataclass(frozen=True)
class Spike:
    day: date
    today_usd: float
    trailing_avg_usd: float


def trailing_spend(*, session: Session, agent_id: int, today: date) -> float:
    """What the agent spent over the SPIKE_WINDOW_DAYS before `today`."""
    return agent_spend_between(session=session, agent_id=agent_id, start=today - timedelta(days=SPIKE_WINDOW_DAYS),
                               end=today)


def detect_spike(*, session: Session, agent_id: int, now: datetime, tz: ZoneInfo,
                 multiplier: float = SPIKE_MULTIPLIER, floor_usd: float = SPIKE_FLOOR_USD,
                 trailing_usd: float | None = None) -> Spike | None:
    """Today's spend above multiplier x the trailing 7-day daily average and above the floor.

    An agent with no spend in the trailing window has no baseline, so it cannot spike (its budgets still apply),
    and today's spend is not read. `trailing_usd`: `trailing_spend`, when the caller has it.
    """
    today = local_day(now, tz)
    if trailing_usd is None:
        trailing_usd = trailing_spend(session=session, agent_id=agent_id, today=today)
    trailing = trailing_usd / SPIKE_WINDOW_DAYS
    if trailing <= 0:
        return None
    spent_today = agent_spend_between(session=session, agent_id=agent_id, start=today, end=today + timedelta(days=1))
    if spent_today <= floor_usd or spent_today <= multiplier * trailing:
        return None
    return Spike(today, spent_today, trailing)


def usage_answer(*, event: UsageEvent | StoredEvent, budgets: list[dict[str, Any]]) -> dict[str, Any]:
    """`budgets`: the states' public forms, built once for all the events of a batch."""
    return {
        "id": event.id, "request_id": event.request_id, "model": event.model, "provider": event.provider,
        "cost_usd": event.cost_usd, "cost_source": event.cost_source, "cost_unknown": event.cost_usd is None,
        "price": event.price, "draft_id": event.draft_id, "day": event.day.isoformat(),
        "created_at": event.created_at.isoformat(), "budgets": budgets,
    }


def budget_state(*, session: Session, agent: Agent, now: datetime, tz: ZoneInfo) -> list[dict[str, Any]]:
    """Every budget that applies to the agent (its own, its team's, global) with spent and remaining now."""
    return [state.public() for state in budget_states(session=session, agent=agent, now=now, tz=tz)]


def agents_owned_by(*, session: Session, user_id: str) -> list[Agent]:
    """The agents a person owns or backs up: what `/countersign budget` shows when no agent is named."""
    return [a for a in session.exec(select(Agent).order_by(col(Agent.name))).all()
            if a.owner == user_id or user_id in (a.backup_owners or [])]


def spend_summary(*, session: Session, agent: Agent, now: datetime, tz: ZoneInfo) -> dict[str, Any]:
    today = local_day(now, tz)
    month = today.replace(day=1)
    ids = [require_id(agent.id)]
    return {"agent": agent.name, "status": agent.status,
            "today_usd": spend_between(session=session, start=today, end=today + timedelta(days=1), agent_ids=ids),
            "month_usd": spend_between(session=session, start=month, end=today + timedelta(days=1), agent_ids=ids),
            "budgets": budget_state(session=session, agent=agent, now=now, tz=tz)}
