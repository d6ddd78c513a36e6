"""Thin routes for oversight: the report (admin), canaries (admin), prompt versions (the agent)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from services.agents.models import SLUG
from services.deps import Admin, Ctx, IdempotencyKeyHeader, WritingAgent
from services.http.idempotency import idempotent
from services.http.openapi import ADMIN_ERRORS, AGENT_WRITE_ERRORS
from services.http.parsedbody import ParsedBodyRoute
from services.oversight import flows
from services.oversight.models import CanaryCreate, CanaryPublic, ChangePublic, PromptCreate, Report

router = APIRouter(tags=["oversight"], route_class=ParsedBodyRoute)


@router.get("/v1/oversight", response_model=Report, dependencies=[Admin], responses=ADMIN_ERRORS)
def oversight(ctx: Ctx, agent: Annotated[str | None, Query(pattern=SLUG, description="only this agent")] = None,
              days: Annotated[int, Query(description="the window, in days back from now (1 to 366)")] = 30) -> Report:
    """Per agent, action and reviewer: decisions, approval and edit rates, time to decision, canaries caught and
    missed, and the rubber-stamp flag with its evidence."""
    return flows.oversight_report(ctx=ctx, agent_name=agent, days=days)


@router.post("/v1/agents/{name}/canaries", status_code=201, response_model=CanaryPublic, dependencies=[Admin],
             responses=ADMIN_ERRORS)
def create_canary(name: str, body: CanaryCreate, ctx: Ctx,
                  idempotency_key: IdempotencyKeyHeader = None) -> JSONResponse:
    """A known-bad draft, posted among the agent's real drafts at its `canary_rate`."""
    def create(session: Any) -> tuple[int, dict[str, Any]]:
        return 201, flows.register_canary(session=session, ctx=ctx, name=name, data=body).model_dump(mode="json")

    return idempotent(ctx, scope=f"admin:canaries:{name}", key=idempotency_key, body=body.model_dump(mode="json"),
                      create=create)


@router.post("/v1/prompts", status_code=201, response_model=ChangePublic, responses=AGENT_WRITE_ERRORS)
def register_prompt(body: PromptCreate, agent: WritingAgent, ctx: Ctx,
                    idempotency_key: IdempotencyKeyHeader = None) -> JSONResponse:
    """A prompt version's text: 201 and a card for the owner with the diff, or 200 when this version was
    registered before with the same text (409 with other text)."""
    def create(session: Any) -> tuple[int, dict[str, Any]]:
        status, change = flows.register_prompt(session=session, ctx=ctx, agent=agent, data=body)
        return status, change.model_dump(mode="json")

    return idempotent(ctx, scope=f"agent:{agent.id}:prompts", key=idempotency_key, body=body.model_dump(mode="json"),
                      create=create)
