"""Admin routes for people away: `PUT` and `DELETE /v1/people/{user}/away`, and who is away now."""

from __future__ import annotations

from fastapi import APIRouter

from services.audit.service import Actor
from services.deps import Admin, Ctx
from services.http.openapi import ADMIN_ERRORS
from services.http.parsedbody import ParsedBodyRoute
from services.people import flows
from services.people.models import AwayPublic, AwayRequest

router = APIRouter(tags=["people"], route_class=ParsedBodyRoute)


@router.put("/v1/people/{user}/away", response_model=AwayPublic, dependencies=[Admin], responses=ADMIN_ERRORS)
def set_away(user: str, body: AwayRequest, ctx: Ctx) -> AwayPublic:
    """Mark `user` away until `until`; DMs, reminders, pages and escalations meant for them go to `delegate`."""
    return flows.set_away(ctx=ctx, user_id=user, until=body.until, delegate=body.delegate, actor=Actor.admin())


@router.delete("/v1/people/{user}/away", response_model=AwayPublic, dependencies=[Admin], responses=ADMIN_ERRORS)
def set_back(user: str, ctx: Ctx) -> AwayPublic:
    """End an absence early: 404 when the person is not away."""
    return flows.set_back(ctx=ctx, user_id=user, actor=Actor.admin())


@router.get("/v1/people/away", response_model=list[AwayPublic], dependencies=[Admin], responses=ADMIN_ERRORS)
def list_away(ctx: Ctx) -> list[AwayPublic]:
    return flows.list_away(ctx=ctx)
