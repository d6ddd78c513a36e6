"""Admin routes for digests: schedules per channel, and sending one now."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from services.audit.service import Actor
from services.deps import Admin, Ctx, RowId
from services.digests import flows
from services.digests.models import DigestSendRequest, DigestsSent, ScheduleCreate, SchedulePublic
from services.http.openapi import ADMIN_ERRORS
from services.http.parsedbody import ParsedBodyRoute

router = APIRouter(tags=["digests"], dependencies=[Admin], responses=ADMIN_ERRORS, route_class=ParsedBodyRoute)
ADMIN = Actor.admin()


@router.get("/v1/digests/schedules", response_model=list[SchedulePublic])
def list_schedules(ctx: Ctx) -> list[dict[str, Any]]:
    return flows.all_schedules(ctx=ctx)


@router.post("/v1/digests/schedules", status_code=201, response_model=list[SchedulePublic])
def add_schedules(body: ScheduleCreate, ctx: Ctx) -> JSONResponse:
    """One schedule from `cron`, or without it the defaults (daily 09:00, weekly Monday 09:00); returns a list."""
    return JSONResponse(flows.create_schedules(ctx=ctx, data=body, actor=ADMIN), status_code=201)


@router.delete("/v1/digests/schedules/{schedule_id}", status_code=204)
def remove_schedule(schedule_id: RowId, ctx: Ctx) -> Response:
    flows.delete_schedule(ctx=ctx, schedule_id=schedule_id, actor=ADMIN)
    return Response(status_code=204)


@router.post("/v1/digests/send", status_code=202, response_model=DigestsSent)
def send_now(body: DigestSendRequest, ctx: Ctx) -> dict[str, Any]:
    runs = flows.send_now(ctx=ctx, channel=body.channel, period=body.period, actor=ADMIN, so_far=body.so_far)
    return {"runs": runs}
