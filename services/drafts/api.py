"""Thin routes for drafts: ask for approval, read the decision (polling or long-poll), cancel."""

from __future__ import annotations

import asyncio
import time
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from services.agents.models import Agent
from services.deps import Ctx, CurrentAgent, IdempotencyKeyHeader, WritingAgent, write_as
from services.drafts import create, flows
from services.drafts.models import PENDING, CancelRequest, DraftCreate
from services.http.idempotency import idempotent_write
from services.http.problems import PROBLEM

router = APIRouter(tags=["drafts"])
POLL_S = 0.25  # a decision made on another replica is noticed within this long, without a local wake-up
MAX_WAIT_S = 60


@router.post("/v1/drafts", status_code=201)
def create_draft(body: DraftCreate, agent: WritingAgent, ctx: Ctx,
                 idempotency_key: IdempotencyKeyHeader = None) -> JSONResponse:
    """Decided outside the writer, written in a few inserts by it (services.drafts.create)."""
    def attempt(agent: Agent) -> JSONResponse:
        planned = create.plan(ctx=ctx, agent=agent, request=body)
        return idempotent_write(ctx, scope=f"agent:{agent.id}:drafts", key=idempotency_key,
                                body=body.model_dump(mode="json"),
                                unit=lambda session: create.unit(session=session, ctx=ctx, plan=planned))

    response = write_as(ctx, agent, attempt)
    if response.status_code >= 400:
        response.headers["content-type"] = PROBLEM
    return response


WaitSeconds = Annotated[float | None, Query(ge=0, le=MAX_WAIT_S, description="hold until decided, up to S seconds")]


@router.get("/v1/drafts/{draft_id}")
async def get_draft(draft_id: str, agent: CurrentAgent, ctx: Ctx, wait: WaitSeconds = None) -> dict[str, Any]:
    """Each read is its own short transaction: nothing is held open while the request waits."""
    wakeup = ctx.decision_wakeup.subscribe()
    try:
        deadline = time.monotonic() + (wait or 0)
        while True:
            wakeup.clear()
            data = await asyncio.to_thread(flows.read, ctx=ctx, agent=agent, draft_id=draft_id)
            remaining = deadline - time.monotonic()
            if data["status"] != PENDING or remaining <= 0:
                return data
            try:
                await asyncio.wait_for(wakeup.wait(), timeout=min(POLL_S, remaining))
            except asyncio.TimeoutError:
                pass
    finally:
        ctx.decision_wakeup.unsubscribe(wakeup)


@router.post("/v1/drafts/{draft_id}/cancel")
def cancel_draft(draft_id: str, agent: WritingAgent, ctx: Ctx, body: CancelRequest | None = None) -> dict[str, Any]:
    return flows.cancel(ctx=ctx, agent=agent, draft_id=draft_id, reason=body.reason if body else None)
