"""Thin routes: an agent reports unexpected behaviour and reads back what people did about it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlmodel import Session

from services.agents import cache as agent_cache
from services.agents.models import AgentSnapshot
from services.audit.service import Actor
from services.db import require_id
from services.deps import CheckedWritingAgent, Ctx, CurrentAgent, IdempotencyKeyHeader, RowId, write_as
from services.http.idempotency import idempotent
from services.http.openapi import AGENT_READ_ERRORS, AGENT_WRITE_ERRORS
from services.http.parsedbody import ParsedBodyRoute
from services.incidents import flows, service
from services.incidents.models import IncidentCreate, IncidentPublic

router = APIRouter(tags=["incidents"], route_class=ParsedBodyRoute)


@router.post("/v1/incidents", status_code=201, response_model=IncidentPublic,
             responses={200: {"model": IncidentPublic,
                              "description": "an open incident with the same dedup_key took the report"},
                        **AGENT_WRITE_ERRORS})
def report_incident(body: IncidentCreate, agent: CheckedWritingAgent, ctx: Ctx,
                    idempotency_key: IdempotencyKeyHeader = None) -> JSONResponse:
    """The agent's version is checked inside the write (write_as), not read before it."""
    def attempt(agent: AgentSnapshot) -> JSONResponse:
        def create(session: Session) -> tuple[int, dict[str, Any]]:
            writer = agent_cache.in_session(session=session, agent=agent)
            result = flows.open_incident(session=session, ctx=ctx, agent=writer, kind=body.kind,
                                         severity=body.severity, summary=body.summary, details=body.details,
                                         dedup_key=body.dedup_key, run_id=body.run_id, trace_url=body.trace_url,
                                         actor=Actor.agent(agent.name))
            incident_id = require_id(result.incident.id)
            # A new incident's events were all written by this session: no read back of them.
            events = (service.events_written(session=session, incident_id=incident_id) if result.created
                      else service.events_of(session=session, incident_id=incident_id))
            public = IncidentPublic.of(result.incident, events).model_dump(mode="json")
            return (201 if result.created else 200), public

        return idempotent(ctx, scope=f"agent:{agent.id}:incidents", key=idempotency_key, body=body, create=create)

    return write_as(ctx, agent, attempt)


@router.get("/v1/incidents/{incident_id}", response_model=IncidentPublic, responses=AGENT_READ_ERRORS)
def show_incident(incident_id: RowId, agent: CurrentAgent, ctx: Ctx) -> IncidentPublic:
    with ctx.read() as session:
        incident = service.require_for_agent(session=session, agent_id=require_id(agent.id), incident_id=incident_id)
        return IncidentPublic.of(incident, service.events_of(session=session, incident_id=incident_id))
