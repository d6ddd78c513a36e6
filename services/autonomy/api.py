"""GET /v1/evals: the calling agent's decided drafts as JSON Lines, the same rows as `countersign evals export`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from services.agents.models import SLUG
from services.autonomy import evals
from services.deps import Ctx, CurrentAgent
from services.http.openapi import AGENT_READ_ERRORS
from services.http.parsedbody import ParsedBodyRoute

router = APIRouter(tags=["evals"], route_class=ParsedBodyRoute)
JSONL = "application/jsonl"


@router.get("/v1/evals", response_class=StreamingResponse,
            responses={200: {"content": {JSONL: {"schema": {"type": "string"}}},
                             "description": "one JSON object per decided draft, a line each"},
                       **AGENT_READ_ERRORS})
def export_evals(agent: CurrentAgent, ctx: Ctx,
                 action: Annotated[str | None, Query(pattern=SLUG, description="only this action")] = None,
                 since: Annotated[str | None, Query(description="decided at or after (ISO 8601)")] = None,
                 ) -> StreamingResponse:
    """Streamed in batches, so an export of any size neither times out nor holds the database."""
    when = evals.parse_since(since)
    lines = evals.lines(ctx.read, agent_id=agent.id, action=action, since=when)
    return StreamingResponse(lines, media_type=JSONL,
                             headers={"Content-Disposition": f'inline; filename="{agent.name}-evals.jsonl"'})
