"""Thin routes for runs: start, beat, finish, read. Writes from a paused agent are 423 (WritingAgent)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlmodel import Session

from services.db import require_id
from services.deps import Ctx, CurrentAgent, IdempotencyKeyHeader, WritingAgent
from services.http.idempotency import idempotent
from services.http.openapi import AGENT_READ_ERRORS, AGENT_WRITE_ERRORS
from services.http.parsedbody import ParsedBodyRoute
from services.runs import flows, service
from services.runs.models import Finish, Heartbeat, RunCreate, RunPublic

router = APIRouter(tags=["runs"], route_class=ParsedBodyRoute)


@router.post("/v1/runs", status_code=201, response_model=RunPublic,
             responses={200: {"model": RunPublic, "description": "that run_id is already open: the run"},
                        **AGENT_WRITE_ERRORS})
def start_run(body: RunCreate, agent: WritingAgent, ctx: Ctx,
              idempotency_key: IdempotencyKeyHeader = None) -> JSONResponse:
    """201 with a new run; 200 with the open run when the agent's own `run_id` is already running."""
    def create(session: Session) -> tuple[int, dict[str, Any]]:
        run, created = flows.start_run(session=session, ctx=ctx, agent=agent, data=body)
        return 201 if created else 200, RunPublic.of(run).model_dump(mode="json")

    return idempotent(ctx, scope=f"agent:{agent.id}:runs", key=idempotency_key, body=body,
                      create=create)


@router.post("/v1/runs/{run_id}/heartbeat", response_model=RunPublic, responses=AGENT_WRITE_ERRORS)
def heartbeat(run_id: str, agent: WritingAgent, ctx: Ctx, body: Heartbeat | None = None) -> RunPublic:
    return RunPublic.of(flows.heartbeat(ctx=ctx, agent=agent, run_id=run_id, step=body.step if body else None))


@router.post("/v1/runs/{run_id}/finish", response_model=RunPublic, responses=AGENT_WRITE_ERRORS)
def finish(run_id: str, body: Finish, agent: WritingAgent, ctx: Ctx) -> RunPublic:
    return RunPublic.of(flows.finish_run(ctx=ctx, agent=agent, run_id=run_id, data=body))


@router.get("/v1/runs/{run_id}", response_model=RunPublic, responses=AGENT_READ_ERRORS)
def show_run(run_id: str, agent: CurrentAgent, ctx: Ctx) -> RunPublic:
    with ctx.read() as session:
        return RunPublic.of(service.require_for_agent(session=session, agent_id=require_id(agent.id), run_id=run_id))
