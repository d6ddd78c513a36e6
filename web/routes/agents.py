"""Agents a person has a part in: owner, backups, approvers, the escalation chain, budgets with what is left,
and each action's autonomy level with the evidence behind it."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from services import access
from services.access import Viewer
from services.agents.service import get_agent_by_name
from services.autonomy import flows as autonomy
from services.context import AppContext
from services.spend.service import budget_state
from web.auth import WebRefusal, ctx_of, signed_in
from web.render import page

router = APIRouter()


def _listing(ctx: AppContext, viewer: Viewer) -> dict[str, Any]:
    with ctx.read() as session:
        agents = access.visible_agents(session=session, viewer=viewer)
        now, tz = ctx.clock.now(), ctx.settings.tz
        return {"agents": [{"agent": a, "roles": access.roles(a, viewer),
                            "budgets": budget_state(session=session, agent=a, now=now, tz=tz)} for a in agents]}


def _detail(ctx: AppContext, viewer: Viewer, name: str) -> dict[str, Any] | None:
    with ctx.read() as session:
        agent = get_agent_by_name(session=session, name=name[:63])
        if agent is None or not access.may_see(agent, viewer):
            return None
        budgets = budget_state(session=session, agent=agent, now=ctx.clock.now(), tz=ctx.settings.tz)
    return {"agent": agent, "roles": access.roles(agent, viewer), "budgets": budgets, "chain": agent.chain(),
            "levels": autonomy.overview(ctx=ctx, name=agent.name)}


@router.get("/agents")
async def agents(request: Request) -> HTMLResponse:
    viewer = await signed_in(request)
    data = await asyncio.to_thread(_listing, ctx_of(request), viewer)
    return page(request, "agents/list.html", nav="agents", **data)


@router.get("/agents/{name}")
async def agent(request: Request, name: str) -> HTMLResponse:
    viewer = await signed_in(request)
    data = await asyncio.to_thread(_detail, ctx_of(request), viewer, name)
    if data is None:
        raise WebRefusal(404, "No such agent", f"There is no agent {name[:63]!r} that you have a part in.",
                         "Pick one from the agents page.", audit=True, subject=f"agent:{name[:63]}")
    return page(request, "agents/agent.html", nav="agents", **data)
