"""The audit log, filtered by agent and subject, with the chain check naming the first broken entry.

A person sees the entries about the agents they have a part in (their drafts and incidents too); admins see
every entry. The chain check walks the whole chain, since a break anywhere matters to everyone.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from services import access
from services.access import Viewer
from services.audit.queries import entries
from services.audit.service import verify
from services.context import AppContext
from web.auth import WebRefusal, ctx_of, signed_in
from web.render import page

router = APIRouter()
PAGE = 100


def _log(ctx: AppContext, viewer: Viewer, agent: str, subject: str, before: int | None) -> dict[str, Any] | None:
    with ctx.read() as session:
        visible = access.visible_agents(session=session, viewer=viewer)
        chosen = [a for a in visible if a.name == agent] if agent else visible
        if agent and not chosen:
            return None
        scope = None if viewer.admin and not agent else chosen
        rows = entries(session=session, agents=scope, subject=subject or None, before=before, limit=PAGE)
        check = verify(session=session)
    return {"entries": rows, "agents": [a.name for a in visible], "check": check,
            "older": rows[-1].id if len(rows) == PAGE else None}


@router.get("/audit")
async def audit(request: Request) -> HTMLResponse:
    viewer = await signed_in(request)
    query = request.query_params
    agent, subject = query.get("agent", "")[:63], query.get("subject", "").strip()[:128]
    before = query.get("before", "")
    if before and not (before.isascii() and before.isdigit() and len(before) < 19):
        raise WebRefusal(400, "Bad page", "The 'before' part of this address must be an entry number.",
                         "Start again from the audit page.")
    data = await asyncio.to_thread(_log, ctx_of(request), viewer, agent, subject, int(before) if before else None)
    if data is None:
        raise WebRefusal(404, "No such agent", f"There is no agent {agent!r} that you have a part in.",
                         "Pick an agent from the list.", audit=True, subject=f"agent:{agent}")
    return page(request, "audit/log.html", nav="audit", agent=agent, subject=subject, **data)
