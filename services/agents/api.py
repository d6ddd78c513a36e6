"""Thin routes for agents: parse, call a flow, shape the answer."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from services.agents import flows
from services.agents.models import (
    AgentCreate,
    AgentCreated,
    AgentMe,
    AgentPublic,
    AgentUpdate,
    KeyRotated,
    PauseRequest,
    WebhookSecretRotated,
)
from services.audit.service import Actor
from services.deps import Admin, Ctx, CurrentAgent, IdempotencyKeyHeader
from services.http.idempotency import idempotent
from services.http.openapi import ADMIN_ERRORS, AGENT_READ_ERRORS
from services.http.parsedbody import ParsedBodyRoute

router = APIRouter(tags=["agents"], route_class=ParsedBodyRoute)
ADMIN = Actor.admin()


@router.post("/v1/agents", status_code=201, response_model=AgentCreated, dependencies=[Admin], responses=ADMIN_ERRORS)
def register_agent(body: AgentCreate, ctx: Ctx, idempotency_key: IdempotencyKeyHeader = None) -> JSONResponse:
    def create(session: Any) -> tuple[int, dict[str, Any]]:
        created = flows.register_agent(session=session, ctx=ctx, data=body, actor=ADMIN)
        return 201, created.model_dump(mode="json")

    return idempotent(ctx, scope="admin:agents", key=idempotency_key, body=body, create=create)


@router.get("/v1/agents", response_model=list[AgentPublic], dependencies=[Admin], responses=ADMIN_ERRORS)
def list_agents(ctx: Ctx) -> list[AgentPublic]:
    return flows.list_agents(ctx=ctx)


@router.get("/v1/agents/me", response_model=AgentMe, responses=AGENT_READ_ERRORS)
def me(agent: CurrentAgent, ctx: Ctx) -> dict[str, Any]:
    """The agent as the server sees it, with every budget that applies and what is left of it."""
    return flows.me(ctx=ctx, agent=agent)


@router.get("/v1/agents/{name}", response_model=AgentPublic, dependencies=[Admin], responses=ADMIN_ERRORS)
def show_agent(name: str, ctx: Ctx) -> AgentPublic:
    return flows.show_agent(ctx=ctx, name=name)


@router.patch("/v1/agents/{name}", response_model=AgentPublic, dependencies=[Admin], responses=ADMIN_ERRORS)
def update_agent(name: str, body: AgentUpdate, ctx: Ctx) -> AgentPublic:
    return flows.update_agent(ctx=ctx, name=name, data=body, actor=ADMIN)


@router.post("/v1/agents/{name}/pause", response_model=AgentPublic, dependencies=[Admin], responses=ADMIN_ERRORS)
def pause_agent(name: str, ctx: Ctx, body: PauseRequest | None = None) -> AgentPublic:
    return flows.pause_by_name(ctx=ctx, name=name, actor=ADMIN, reason=body.reason if body else None)


@router.post("/v1/agents/{name}/resume", response_model=AgentPublic, dependencies=[Admin], responses=ADMIN_ERRORS)
def resume_agent(name: str, ctx: Ctx) -> AgentPublic:
    return flows.resume_by_name(ctx=ctx, name=name, actor=ADMIN)


@router.post("/v1/agents/{name}/rotate-key", response_model=KeyRotated, dependencies=[Admin], responses=ADMIN_ERRORS)
def rotate_key(name: str, ctx: Ctx) -> dict[str, str]:
    return flows.rotate_key(ctx=ctx, name=name, actor=ADMIN)


@router.post("/v1/agents/{name}/rotate-webhook-secret", response_model=WebhookSecretRotated, dependencies=[Admin],
             responses=ADMIN_ERRORS)
def rotate_webhook_secret(name: str, ctx: Ctx) -> WebhookSecretRotated:
    """A new webhook secret, shown once. For 24 hours callbacks are signed with the old and the new secret, so the
    agent can switch without a missed call."""
    return flows.rotate_webhook_secret(ctx=ctx, name=name, actor=ADMIN)
