"""Incidents of the agents a person sees, with Acknowledge / Resolve / Snooze / Pause agent.

Each button calls the flow its Slack twin calls (services.incidents.flows, and people.pause_from_incident,
whose owner-backups-admins rule decides who may pause). Who may respond at all is services.access's rule.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from services import access
from services.access import Viewer
from services.agents.models import Agent
from services.context import AppContext
from services.db import require_id
from services.errors import CountersignError
from services.incidents import flows, people, queries, storms
from services.incidents.models import SNOOZE_CHOICES_S
from services.incidents.service import get as get_incident
from services.signin import flows as signin
from web.auth import Form, WebRefusal, changing, ctx_of, signed_in
from web.render import page, see_other

router = APIRouter()
ACTIONS = ("acknowledge", "resolve", "snooze", "pause")


def _listing(ctx: AppContext, viewer: Viewer, agent_name: str | None = None) -> dict[str, Any]:
    """`agent_name`: only that agent's incidents (a storm card links here)."""
    with ctx.read() as session:
        agents = access.visible_agents(session=session, viewer=viewer)
        shown = [a for a in agents if agent_name is None or a.name == agent_name]
        incidents = queries.of_agents(session=session, agent_ids=[require_id(a.id) for a in shown])
        events = queries.history(session=session, incident_ids=[require_id(i.id) for i in incidents])
        grouped = storms.sizes(session=session, storm_ids=sorted({i.storm_id for i in incidents if i.storm_id}))
    return {"incidents": incidents, "events": events, "snooze_choices": SNOOZE_CHOICES_S, "storms": grouped,
            "agent_name": agent_name,
            "pausable": {a.id for a in agents if a.owner == viewer.user_id or viewer.user_id in a.backup_owners
                         or viewer.admin}}


@router.get("/incidents")
async def incidents(request: Request) -> HTMLResponse:
    viewer = await signed_in(request)
    agent_name = (request.query_params.get("agent") or "")[:63] or None
    data = await asyncio.to_thread(_listing, ctx_of(request), viewer, agent_name)
    return page(request, "incidents/list.html", nav="incidents", error=None,
                done=request.query_params.get("done"), **data)


def _visible_incident(ctx: AppContext, viewer: Viewer, incident_id: int) -> Agent | None:
    with ctx.read() as session:
        incident = get_incident(session=session, incident_id=incident_id)
        agent = session.get(Agent, incident.agent_id) if incident is not None else None
    return agent if agent is not None and access.may_respond_to_incident(agent, viewer) else None


def _act(ctx: AppContext, user: str, incident_id: int, action: str, form: Form) -> str:
    if action == "acknowledge":
        flows.acknowledge(ctx=ctx, incident_id=incident_id, user=user)
        return "acknowledged"
    if action == "resolve":
        flows.resolve(ctx=ctx, incident_id=incident_id, user=user, note=form.get("note").strip()[:3000] or None)
        return "resolved"
    if action == "snooze":
        minutes = form.get("minutes")
        seconds = int(minutes) * 60 if minutes.isascii() and minutes.isdigit() and len(minutes) < 6 else -1
        flows.snooze(ctx=ctx, incident_id=incident_id, user=user, seconds=seconds)
        return "snoozed"
    name, changed = people.pause_from_incident(ctx=ctx, incident_id=incident_id, user=user)
    return "paused" if changed else "already-paused"


@router.post("/incidents/{incident_id}/{action}")
async def act(request: Request, incident_id: str, action: str) -> Response:
    viewer, form = await changing(request)
    number = int(incident_id) if incident_id.isascii() and incident_id.isdigit() and len(incident_id) < 12 else 0
    agent = await asyncio.to_thread(_visible_incident, ctx_of(request), viewer, number) if number else None
    if action not in ACTIONS or agent is None:
        raise WebRefusal(404, "No such incident", f"There is no incident #{incident_id[:20]} that you can act on.",
                         "Go back to the incidents page.", audit=True, subject=f"incident:{incident_id[:20]}")
    try:
        done = await asyncio.to_thread(_act, ctx_of(request), viewer.user_id, number, action, form)
    except CountersignError as exc:
        if exc.status == 403:  # the incident flows hold the Slack rule (who it was routed to); say no, leave a trace
            title = "Not yours to pause" if action == "pause" else "Not routed to you"
            raise WebRefusal(403, title, exc.detail, "Ask the agent's owner or an admin.",
                             audit=True, subject=f"incident:{number}") from None
        if exc.status == 409:  # already acted on by someone else: a refusal, so it leaves a trace
            await asyncio.to_thread(signin.refused, ctx=ctx_of(request), user_id=viewer.user_id,
                                    subject=f"incident:{number}", why=exc.detail, details={"action": action})
        data = await asyncio.to_thread(_listing, ctx_of(request), viewer)
        return page(request, "incidents/list.html", status=exc.status, nav="incidents", error=exc.detail,
                    done=None, **data)
    return see_other(f"/app/incidents?done={done}#incident-{number}")
