"""Usage ingest, one event or a thousand: priced before the write, then a few batched statements in it.

`price_all` runs before the write (genai-prices and the cached overrides are pure lookups). `write_many`
is the write unit: it checks the agent is still the one the request was decided on, inserts the new events
in one statement (a repeated `request_id`, in the batch or from before, gets the first event back), folds
them into the rollups with one UPSERT per (model, day), reads the budgets once, and reacts once per batch.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlmodel import Session, col, select

from services.agents import cache as agent_cache
from services.agents.models import AgentSnapshot
from services.cache import StaleRead
from services.context import AppContext
from services.db import dialect_insert, require_id
from services.drafts.models import Draft
from services.errors import NotFound, field_error
from services.spend import budgets, bulk, flows, service, shards
from services.spend.models import PriceOverride, SpendRollup, StoredEvent, UsageCreate, UsageEvent
from services.spend.periods import local_day
from services.spend.pricing import Priced, from_genai_prices, from_override

_TOKENS = ("input_tokens", "output_tokens", "cached_tokens")
# Rate limits count work: a batch takes one token per this many events, rounded up (the contract).
EVENTS_PER_TOKEN = 100


def batch_tokens(document: Any) -> int:
    """What a `POST /v1/usage/batch` body costs in rate-limit tokens, from its parsed JSON (None when it is not
    JSON), before any event is validated or priced: an invalid batch of 1,000 events is as much work to refuse
    as a valid one to store."""
    events = document.get("events") if isinstance(document, dict) else None
    return max(1, math.ceil(len(events) / EVENTS_PER_TOKEN)) if isinstance(events, list) else 1


def price_all(*, ctx: AppContext, events: list[UsageCreate]) -> list[Priced]:
    """What each event cost: the agent's figure, else an override (cached), else genai-prices, else unknown."""
    def load() -> dict[str, PriceOverride]:
        with ctx.read() as session:
            return {row.model: row for row in session.exec(select(PriceOverride)).all()}

    overrides = ctx.caches.cache("spend.price_overrides", "price_overrides").get("all", load)
    priced = []
    for e in events:
        if e.cost_usd is not None:
            priced.append(Priced(e.cost_usd, "agent", None))
        elif e.model in overrides:
            priced.append(from_override(overrides[e.model], e.input_tokens, e.output_tokens, e.cached_tokens))
        else:
            priced.append(from_genai_prices(e.model, e.provider, e.input_tokens, e.output_tokens, e.cached_tokens))
    return priced


@dataclass(frozen=True)
class Ingested:
    answer: dict[str, Any]
    created: bool


def write_many(*, session: Session, ctx: AppContext, agent: AgentSnapshot, events: list[UsageCreate],
               priced: list[Priced], batch: bool) -> list[Ingested]:
    """The write unit. `batch`: errors name `events[i].<field>`; a single event's unknown draft is a 404."""
    snapshot = agent
    # The INSERT checks the agent's version itself (bulk); a draft lookup goes first, and so does the check then.
    names_drafts = any(e.draft_id is not None for e in events)
    agent = (agent_cache.in_session if names_drafts else agent_cache.own_row)(session=session, agent=snapshot)
    agent_id = require_id(agent.id)
    now, tz = ctx.clock.now(), ctx.settings.tz
    day = local_day(now, tz)
    statuses = _draft_statuses(session, agent_id, events, batch)
    rules = budgets.rules_for(session=session, agent=agent, scoped=_scoped_rules(ctx))
    first_of: dict[str, int] = {}
    fresh: list[int] = []  # positions whose event is inserted now (others repeat an earlier request_id)
    for i, e in enumerate(events):
        if e.request_id is not None:
            if e.request_id in first_of:
                continue
            first_of[e.request_id] = i
        fresh.append(i)
    rows = {i: _row(agent_id, events[i], priced[i], day, now) for i in fresh}
    stored = _insert(session, snapshot, day, now, rows)
    if not stored and not names_drafts:  # repeats only, or the agent changed: in_session raises StaleRead then
        agent_cache.in_session(session=session, agent=snapshot)
        if any(row["request_id"] is None for row in rows.values()):  # an unkeyed event repeats nothing
            raise StaleRead(f"agent {snapshot.name!r} changed since it was read")
    repeats = [e.request_id for i, e in enumerate(events) if e.request_id is not None and i not in stored]
    earlier = _by_requests(session, agent_id, [r for r in repeats if r is not None])
    new_events = [stored[i] for i in sorted(stored)]
    _fold(session, agent_id, new_events, statuses)
    if new_events:  # after the writes, before the spend reads: the threshold-once rule (no lock without budgets)
        budgets.hold_for_thresholds(session=session, rules=rules)
    states = budgets.budget_states(session=session, agent=agent, now=now, tz=tz, rules=rules)
    if new_events:
        flows.after_spend_many(session=session, ctx=ctx, agent=agent, events=new_events, states=states)
    public = [s.public() for s in states]
    out = []
    for i, e in enumerate(events):
        created = i in stored
        event = stored[i] if created else (stored.get(first_of.get(e.request_id or "", -1))
                                            or earlier[e.request_id or ""])
        answer = service.usage_answer(event=event, budgets=public)
        if batch:  # each result says whether it is new (a single event says it with 201 or 200)
            answer["created"] = created
        out.append(Ingested(answer, created))
    return out


def _scoped_rules(ctx: AppContext) -> list[budgets.BudgetRule]:
    """The team and global budgets, cached: a change made here applies from the next event, one made on another
    replica within the cache's TTL (the next event then warns of any threshold crossed meanwhile)."""
    def load() -> list[budgets.BudgetRule]:
        with ctx.read() as session:
            return budgets.scoped_rules(session=session)

    return ctx.caches.cache("spend.scoped_budgets", "spend_budgets").get("all", load)


def _draft_statuses(session: Session, agent_id: int, events: list[UsageCreate], batch: bool) -> dict[str, str]:
    """The status of each draft the events name; one that is missing or another agent's is refused."""
    wanted = {str(e.draft_id) for e in events if e.draft_id is not None}
    if not wanted:
        return {}
    found = {d: (a, s) for d, a, s in session.exec(select(Draft.id, Draft.agent_id, Draft.status)
                                                   .where(col(Draft.id).in_(wanted))).all()}
    for i, e in enumerate(events):
        if e.draft_id is not None and found.get(str(e.draft_id), (None,))[0] != agent_id:
            if batch:
                raise field_error(f"events[{i}].draft_id", f"no draft {str(e.draft_id)[:60]!r} of this agent")
            raise NotFound(f"no draft {str(e.draft_id)[:60]!r}")
    return {d: s for d, (_, s) in found.items()}


def _row(agent_id: int, e: UsageCreate, p: Priced, day: date, now: Any) -> dict[str, Any]:
    return dict(agent_id=agent_id, request_id=e.request_id, model=e.model, provider=e.provider,
                input_tokens=e.input_tokens, output_tokens=e.output_tokens, cached_tokens=e.cached_tokens,
                reasoning_tokens=e.reasoning_tokens, cost_usd=p.cost_usd, cost_source=p.source, price=p.price,
                draft_id=None if e.draft_id is None else str(e.draft_id), day=day, created_at=now)


def _insert(session: Session, agent: AgentSnapshot, day: date, now: Any,
            rows: dict[int, dict[str, Any]]) -> dict[int, StoredEvent]:
    """New events by position, in one statement (services.spend.bulk): a keyed one whose request_id was stored
    before is left out, and all are if the agent changed since the request was decided."""
    ids = bulk.insert_events(session, agent=agent_cache.version_params(agent), day=day, now=now,
                             rows=list(rows.values()))
    return {i: StoredEvent(id=id_, **row) for (i, row), id_ in zip(rows.items(), ids, strict=True) if id_ is not None}


def _by_requests(session: Session, agent_id: int, request_ids: list[str]) -> dict[str, UsageEvent]:
    if not request_ids:
        return {}
    found = session.exec(select(UsageEvent).where(UsageEvent.agent_id == agent_id,
                                                  col(UsageEvent.request_id).in_(set(request_ids)))).all()
    return {e.request_id or "": e for e in found}


def _fold(session: Session, agent_id: int, events: list[StoredEvent], statuses: dict[str, str]) -> None:
    """One UPSERT per (model, day) into this connection's shard: writers sharing a shard add to its row
    instead of overwriting it."""
    sums: dict[tuple[str, date], dict[str, Any]] = defaultdict(lambda: dict.fromkeys(_ROLLUP_SUMS, 0))
    for e in events:
        total = sums[(e.model, e.day)]
        total["cost_usd"] += e.cost_usd or 0.0
        total["events"] += 1
        total["unknown_cost_events"] += int(e.cost_usd is None)
        for name in _TOKENS:
            total[name] += getattr(e, name)
        if e.draft_id is not None and statuses.get(e.draft_id) in service.WASTE_STATUSES:
            total["waste_usd"] += e.cost_usd or 0.0
    if not sums:
        return
    shard = shards.rollup_shard(session)
    rows = [{"agent_id": agent_id, "model": model, "day": day, "shard": shard, **values}
            for (model, day), values in sums.items()]
    session.execute(_rollup_upsert(session.get_bind().dialect.name, session), rows)


_ROLLUP_SUMS = ("cost_usd", "waste_usd", "events", "unknown_cost_events", "input_tokens", "output_tokens",
                "cached_tokens")
_upserts: dict[str, Any] = {}


def _rollup_upsert(dialect: str, session: Session) -> Any:
    """Built once per dialect: constructing the statement each time showed up in the profile."""
    if dialect not in _upserts:
        table = SpendRollup.__table__  # type: ignore[attr-defined]
        insert = dialect_insert(session, table)
        _upserts[dialect] = insert.on_conflict_do_update(
            index_elements=["agent_id", "model", "day", "shard"],
            set_={name: table.c[name] + insert.excluded[name] for name in _ROLLUP_SUMS})
    return _upserts[dialect]
