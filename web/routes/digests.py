"""The digest without Slack: the same digest Slack gets (services.digests.flows.show: computed, drawn and
narrated as a posted one, sent nowhere), with its chart inline. Every agent's for admins; one agent's for whoever
sees it (services.digests.access decides, and audits a refusal)."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from services import access
from services.access import Viewer
from services.context import AppContext
from services.digests import flows
from services.digests import text as words
from services.digests.access import require_may_read_digest
from web.auth import WebRefusal, ctx_of, signed_in
from web.render import page

router = APIRouter()
PERIODS = ("day", "week", "month")


def _digest(ctx: AppContext, viewer: Viewer, period: str, so_far: bool, agent: str | None) -> dict[str, Any]:
    with ctx.read() as session:
        names = [a.name for a in access.visible_agents(session=session, viewer=viewer)]
    if agent is None and not viewer.admin:
        if not names:
            return {"names": [], "agent": None, "ready": None}
        agent = names[0]  # a person who is not an admin reads one agent's digest at a time
    require_may_read_digest(ctx=ctx, viewer=viewer, agent_name=agent)
    ready = flows.show(ctx=ctx, period=period, so_far=so_far, agent=agent)
    d = ready.digest
    chart = f"data:image/png;base64,{base64.b64encode(ready.chart).decode()}" if ready.chart else None
    return {"names": names, "agent": agent, "ready": ready, "title": words.title(d, agent),
            "headline": words.headline(d), "sections": words.sections(d), "footnote": words.footnote(d),
            "chart": chart}


@router.get("/digests")
async def digests(request: Request) -> HTMLResponse:
    viewer = await signed_in(request)
    query = request.query_params
    period = query.get("period", "day")
    if period not in PERIODS:
        raise WebRefusal(400, "Not a period", f"{period[:20]!r} is not a digest period.",
                         "Choose day, week or month on the digests page.")
    so_far = query.get("so_far") in ("1", "on", "true")
    agent = query.get("agent", "").strip()[:63] or None
    data = await asyncio.to_thread(_digest, ctx_of(request), viewer, period, so_far, agent)
    return page(request, "digests/digest.html", nav="digests", period=period, periods=PERIODS, so_far=so_far,
                **data)
