"""Admin changes to spend settings: team and global budgets, per-model price overrides. Used by the admin API
and the CLI alike; every change is audited."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from services.audit.service import Actor, record
from services.errors import NotFound
from services.spend.models import PriceOverride, PriceOverrideIn, ScopedBudget, ScopedBudgetIn


def budget_public(row: ScopedBudget) -> dict[str, Any]:
    scope, _, team = row.scope_key.partition(":")
    return {"id": row.id, "scope": scope, "team": team or None, "period": row.period, "limit_usd": row.limit_usd,
            "on_exceed": row.on_exceed, "thresholds": row.thresholds, "updated_at": row.updated_at.isoformat()}


def set_budget(*, session: Session, data: ScopedBudgetIn, actor: Actor, now: datetime) -> tuple[dict[str, Any], bool]:
    """Create or replace the budget for (scope, team, period); returns (budget, created)."""
    scope_key = "global" if data.scope == "global" else f"team:{data.team}"
    row = session.exec(select(ScopedBudget).where(ScopedBudget.scope_key == scope_key,
                                                  ScopedBudget.period == data.period)).first()
    created = row is None
    if row is None:
        row = ScopedBudget(scope_key=scope_key, period=data.period, limit_usd=data.limit_usd, created_at=now,
                           updated_at=now)
    row.limit_usd, row.on_exceed, row.thresholds, row.updated_at = data.limit_usd, data.on_exceed, data.thresholds, now
    session.add(row)
    session.flush()
    record(session=session, actor=actor, verb="budget.set", subject=f"budget:{scope_key}:{data.period}", now=now,
           details=data.model_dump(mode="json"))
    return budget_public(row), created


def list_budgets(*, session: Session) -> list[dict[str, Any]]:
    rows = session.exec(select(ScopedBudget).order_by(col(ScopedBudget.scope_key), col(ScopedBudget.period)))
    return [budget_public(row) for row in rows]


def delete_budget(*, session: Session, budget_id: int, actor: Actor, now: datetime) -> None:
    row = session.get(ScopedBudget, budget_id)
    if row is None:
        raise NotFound(f"no budget {budget_id}")
    session.delete(row)
    record(session=session, actor=actor, verb="budget.deleted", subject=f"budget:{row.scope_key}:{row.period}",
           now=now)


def price_public(row: PriceOverride) -> dict[str, Any]:
    return {"model": row.model, "input_per_mtok": row.input_per_mtok, "output_per_mtok": row.output_per_mtok,
            "cached_input_per_mtok": row.cached_input_per_mtok, "updated_at": row.updated_at.isoformat()}


def set_price(*, session: Session, model: str, data: PriceOverrideIn, actor: Actor, now: datetime) -> dict[str, Any]:
    row = session.get(PriceOverride, model) or PriceOverride(model=model, input_per_mtok=0, output_per_mtok=0,
                                                              updated_at=now)
    row.input_per_mtok, row.output_per_mtok = data.input_per_mtok, data.output_per_mtok
    row.cached_input_per_mtok, row.updated_at = data.cached_input_per_mtok, now
    session.add(row)
    session.flush()
    record(session=session, actor=actor, verb="price.overridden", subject=f"model:{model}", now=now,
           details=data.model_dump(mode="json"))
    return price_public(row)


def list_prices(*, session: Session) -> list[dict[str, Any]]:
    return [price_public(row) for row in session.exec(select(PriceOverride).order_by(col(PriceOverride.model)))]


def delete_price(*, session: Session, model: str, actor: Actor, now: datetime) -> None:
    row = session.get(PriceOverride, model)
    if row is None:
        raise NotFound(f"no price override for {model!r}")
    session.delete(row)
    record(session=session, actor=actor, verb="price.override_removed", subject=f"model:{model}", now=now)
