"""People away: set your own absence and delegate, end it, and see who stands in for whom. An admin may set
anyone's; the rule is services.people.flows', and its refusals are audited there."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from services.audit.service import Actor
from services.context import AppContext
from services.errors import CountersignError, field_error
from services.people import flows
from web.auth import Form, changing, ctx_of, signed_in
from web.render import page, see_other

router = APIRouter()


def _overview(ctx: AppContext, user: str) -> dict[str, Any]:
    mine, standing_in = flows.status(ctx=ctx, user_id=user)
    return {"mine": mine, "standing_in": standing_in, "away": flows.list_away(ctx=ctx)}


def _until(value: str) -> datetime:
    """The form's datetime-local field, read as UTC (the page says so)."""
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise field_error("until", "pick the day and time your absence ends") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _set(ctx: AppContext, user: str, form: Form) -> str:
    target = form.get("user").strip() or user
    flows.set_away(ctx=ctx, user_id=target, until=_until(form.get("until")), delegate=form.get("delegate").strip(),
                   actor=Actor.slack_user(user), by=user)
    return "away"


def _back(ctx: AppContext, user: str, form: Form) -> str:
    target = form.get("user").strip() or user
    flows.set_back(ctx=ctx, user_id=target, actor=Actor.slack_user(user), by=user)
    return "back"


@router.get("/people")
async def people(request: Request) -> HTMLResponse:
    viewer = await signed_in(request)
    data = await asyncio.to_thread(_overview, ctx_of(request), viewer.user_id)
    return page(request, "people/people.html", nav="people", done=request.query_params.get("done"), error=None,
                **data)


@router.post("/people/{action}")
async def change(request: Request, action: str) -> Response:
    viewer, form = await changing(request)
    act = {"away": _set, "back": _back}.get(action)
    try:
        if act is None:
            raise field_error("action", "is away or back")
        done = await asyncio.to_thread(act, ctx_of(request), viewer.user_id, form)
    except CountersignError as exc:
        data = await asyncio.to_thread(_overview, ctx_of(request), viewer.user_id)
        return page(request, "people/people.html", status=exc.status, nav="people", done=None, error=exc.detail,
                    **data)
    return see_other(f"/app/people?done={done}")
