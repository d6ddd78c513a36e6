"""Thin routes for spend: usage, budget checks, and the admin's team/global budgets and price overrides.

`POST /v1/usage` answers 201 for a new event and 200 for a repeated `request_id`: the same event (id, cost,
price) as the first time, with the budget state as it is now. Like every agent write, usage from a paused
agent is refused with 423 (the contract); the answer says who paused it, so the agent stops calling models.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from services.agents.models import Agent
from services.audit.service import Actor
from services.deps import Admin, CheckedWritingAgent, Ctx, CurrentAgent, IdempotencyKeyHeader, RowId, write_as
from services.errors import field_error
from services.http.idempotency import idempotent
from services.http.openapi import ADMIN_ERRORS, AGENT_READ_ERRORS, AGENT_WRITE_ERRORS
from services.http.parsedbody import ParsedBodyRoute
from services.spend import flows, ingest
from services.spend.models import BudgetCheck, PriceOverrideIn, ScopedBudgetIn, UsageBatch, UsageCreate
from services.spend.public import BudgetCheckResult, PricePublic, ScopedBudgetPublic, UsageBatchRecorded, UsageRecorded

router = APIRouter(tags=["spend"], route_class=ParsedBodyRoute)
ADMIN = Actor.admin()


@router.post("/v1/usage", status_code=201, response_model=UsageRecorded,
             responses={200: {"model": UsageRecorded, "description": "a repeated request_id: the first event"},
                        **AGENT_WRITE_ERRORS})
def record_usage(body: UsageCreate, agent: CheckedWritingAgent, ctx: Ctx,
                 idempotency_key: IdempotencyKeyHeader = None) -> JSONResponse:
    priced = ingest.price_all(ctx=ctx, events=[body])

    def attempt(agent: Agent) -> JSONResponse:
        def unit(session: Any) -> tuple[int, dict[str, Any]]:
            [done] = ingest.write_many(session=session, ctx=ctx, agent=agent, events=[body], priced=priced,
                                       batch=False)
            return (201 if done.created else 200), done.answer

        return idempotent(ctx, scope=f"agent:{agent.id}:usage", key=idempotency_key,
                                body=body, create=unit)

    return write_as(ctx, agent, attempt)


@router.post("/v1/usage/batch", response_model=UsageBatchRecorded, responses=AGENT_WRITE_ERRORS)
def record_usage_batch(body: UsageBatch, agent: CheckedWritingAgent, ctx: Ctx,
                       idempotency_key: IdempotencyKeyHeader = None) -> JSONResponse:
    """Up to 1,000 events in one call and one write: one result per event, in order, each with `created`
    (False: its request_id was seen before, and the result is that first event). Budgets are as after the batch."""
    priced = ingest.price_all(ctx=ctx, events=body.events)

    def attempt(agent: Agent) -> JSONResponse:
        def unit(session: Any) -> tuple[int, dict[str, Any]]:
            done = ingest.write_many(session=session, ctx=ctx, agent=agent, events=body.events, priced=priced,
                                     batch=True)
            return 200, {"object": "list", "results": [d.answer for d in done]}

        return idempotent(ctx, scope=f"agent:{agent.id}:usage-batch", key=idempotency_key,
                                body=body, create=unit)

    return write_as(ctx, agent, attempt)


@router.post("/v1/budget/check", response_model=BudgetCheckResult, responses=AGENT_READ_ERRORS)
def budget_check(body: BudgetCheck, agent: CurrentAgent, ctx: Ctx) -> dict[str, Any]:
    return flows.check_budget(ctx=ctx, agent=agent, estimate=body.estimated_cost_usd)


@router.get("/v1/budgets", dependencies=[Admin], response_model=list[ScopedBudgetPublic], responses=ADMIN_ERRORS)
def list_budgets(ctx: Ctx) -> list[dict[str, Any]]:
    return flows.list_budgets(ctx=ctx)


@router.put("/v1/budgets", dependencies=[Admin], response_model=ScopedBudgetPublic,
            responses={201: {"model": ScopedBudgetPublic, "description": "a new budget"}, **ADMIN_ERRORS})
def set_budget(body: ScopedBudgetIn, ctx: Ctx) -> JSONResponse:
    """Create or replace the team or global budget for one period (201 when new, 200 when replaced)."""
    budget, created = flows.set_budget(ctx=ctx, data=body, actor=ADMIN)
    return JSONResponse(budget, status_code=201 if created else 200)


@router.delete("/v1/budgets/{budget_id}", status_code=204, dependencies=[Admin], responses=ADMIN_ERRORS)
def delete_budget(budget_id: RowId, ctx: Ctx) -> Response:
    flows.delete_budget(ctx=ctx, budget_id=budget_id, actor=ADMIN)
    return Response(status_code=204)


@router.get("/v1/prices", dependencies=[Admin], response_model=list[PricePublic], responses=ADMIN_ERRORS)
def list_prices(ctx: Ctx) -> list[dict[str, Any]]:
    return flows.list_prices(ctx=ctx)


@router.put("/v1/prices/{model:path}", dependencies=[Admin], response_model=PricePublic, responses=ADMIN_ERRORS)
def set_price(model: str, body: PriceOverrideIn, ctx: Ctx) -> dict[str, Any]:
    """A negotiated or internal rate for a model, checked before genai-prices."""
    if not 1 <= len(model) <= 128:
        raise field_error("model", "1 to 128 characters")
    return flows.set_price(ctx=ctx, model=model, data=body, actor=ADMIN)


@router.delete("/v1/prices/{model:path}", status_code=204, dependencies=[Admin], responses=ADMIN_ERRORS)
def delete_price(model: str, ctx: Ctx) -> Response:
    flows.delete_price(ctx=ctx, model=model, actor=ADMIN)
    return Response(status_code=204)
