"""Thin routes for drafts: ask for approval, read the decision (polling or long-poll), cancel."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from services.agents.models import AgentSnapshot
from services.db import require_id
from services.deps import CheckedWritingAgent, Ctx, CurrentAgent, IdempotencyKeyHeader, WritingAgent, write_as
from services.drafts import create, flows, inbox
from services.drafts.models import PENDING, CancelRequest, DraftCreate, DraftList, DraftPublic
from services.drafts.waiter import waiter_for
from services.http.idempotency import idempotent
from services.http.openapi import AGENT_READ_ERRORS, AGENT_WRITE_ERRORS, problems
from services.http.parsedbody import ParsedBodyRoute
from services.http.problems import PROBLEM

router = APIRouter(tags=["drafts"], route_class=ParsedBodyRoute)
MAX_WAIT_S = 60


@router.post("/v1/drafts", status_code=201, response_model=DraftPublic, responses=problems(403) | AGENT_WRITE_ERRORS)
def create_draft(body: DraftCreate, agent: CheckedWritingAgent, ctx: Ctx,
                 idempotency_key: IdempotencyKeyHeader = None) -> JSONResponse:
    """Decided in a read, then written in a few inserts (services.drafts.create)."""
    def attempt(agent: AgentSnapshot) -> JSONResponse:
        planned = create.plan(ctx=ctx, agent=agent, request=body)
        return idempotent(ctx, scope=f"agent:{agent.id}:drafts", key=idempotency_key,
                                body=body,
                                create=lambda session: create.unit(session=session, ctx=ctx, plan=planned))

    response = write_as(ctx, agent, attempt)
    if response.status_code >= 400:
        response.headers["content-type"] = PROBLEM
    return response


@router.get("/v1/drafts", response_model=DraftList, responses=AGENT_READ_ERRORS)
def list_drafts(agent: CurrentAgent, ctx: Ctx, status: str | None = None, action: str | None = None,
                limit: int = 50, cursor: str | None = None) -> DraftList:
    """The agent's drafts, newest first; pass `next_cursor` back as `cursor` for the next page."""
    return inbox.list_drafts(ctx=ctx, agent=agent, status=status, action=action, limit=limit, cursor=cursor)


WaitSeconds = Annotated[float | None, Query(ge=0, le=MAX_WAIT_S, description="hold until decided, up to S seconds")]


@router.get("/v1/drafts/{draft_id}", responses=AGENT_READ_ERRORS)
async def get_draft(draft_id: str, agent: CurrentAgent, ctx: Ctx, request: Request,
                    wait: WaitSeconds = None) -> DraftPublic:
    """A pending draft with ?wait parks on the process's one waiter (no thread, no polling per request), then
    reads once more; each read is its own short transaction. A caller that hangs up frees its place at once."""
    data = await asyncio.to_thread(flows.read, ctx=ctx, agent=agent, draft_id=draft_id)
    if data.status != PENDING or not wait:
        return data
    waiting = asyncio.ensure_future(waiter_for(ctx).wait(agent_id=require_id(agent.id), draft_id=draft_id,
                                                         timeout=wait))
    gone = asyncio.ensure_future(_hung_up(request))
    try:
        await asyncio.wait({waiting, gone}, return_when=asyncio.FIRST_COMPLETED)
        if gone.done():
            return data  # nobody is listening; what we send no longer matters
        waiting.result()  # a 429 from the per-agent cap is raised here
    finally:
        for task in (waiting, gone):
            task.cancel()
    return await asyncio.to_thread(flows.read, ctx=ctx, agent=agent, draft_id=draft_id)


async def _hung_up(request: Request) -> None:
    """Returns when the client disconnects (a GET has no body, so the next message is the disconnect)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


@router.post("/v1/drafts/{draft_id}/cancel", responses=AGENT_WRITE_ERRORS)
def cancel_draft(draft_id: str, agent: WritingAgent, ctx: Ctx, body: CancelRequest | None = None) -> DraftPublic:
    return flows.cancel(ctx=ctx, agent=agent, draft_id=draft_id, reason=body.reason if body else None)
