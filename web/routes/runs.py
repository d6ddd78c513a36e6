"""Runs of the agents a person sees, halted ones first; a run's page with its last step and history, and the
halted run's choices (resume, abort, hand over).

Each button calls the flow the Slack card's buttons call (services.runs.flows.decide_halt), whose rule decides
who may answer (the agent's owner, a backup owner or an admin) and audits a refusal.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from services import access
from services.access import Viewer
from services.context import AppContext
from services.db import require_id
from services.errors import CountersignError
from services.runs import flows, queries, service
from services.runs.models import CHOICE_LABELS, Run
from services.signin import flows as signin
from web.auth import WebRefusal, changing, ctx_of, signed_in
from web.render import page, see_other

router = APIRouter()


def _listing(ctx: AppContext, viewer: Viewer) -> dict[str, Any]:
    with ctx.read() as session:
        agents = access.visible_agents(session=session, viewer=viewer)
        return {"runs": queries.listing(session=session, agent_ids=[require_id(a.id) for a in agents])}


def _detail(ctx: AppContext, viewer: Viewer, ref: str) -> dict[str, Any] | None:
    with ctx.read() as session:
        run = session.get(Run, ref[:40])
        found = queries.detail(session=session, run=run) if run is not None else None
    if found is None or not access.may_see(found.agent, viewer):
        return None
    may = service.may_decide(agent=found.agent, user=viewer.user_id, admins=ctx.settings.admin_users)
    return {"found": found, "run": found.run, "may_decide": may, "labels": CHOICE_LABELS}


def _missing(ref: str) -> WebRefusal:
    return WebRefusal(404, "No such run", f"There is no run {ref[:40]!r} of an agent you have a part in.",
                      "Pick one from the runs page.", audit=True, subject=f"run:{ref[:40]}")


@router.get("/runs")
async def runs(request: Request) -> HTMLResponse:
    viewer = await signed_in(request)
    data = await asyncio.to_thread(_listing, ctx_of(request), viewer)
    return page(request, "runs/list.html", nav="runs", **data)


@router.get("/runs/{ref}")
async def run(request: Request, ref: str) -> HTMLResponse:
    viewer = await signed_in(request)
    data = await asyncio.to_thread(_detail, ctx_of(request), viewer, ref)
    if data is None:
        raise _missing(ref)
    return page(request, "runs/run.html", nav="runs", error=None, done=request.query_params.get("done"), **data)


@router.post("/runs/{ref}/decide")
async def decide(request: Request, ref: str) -> Response:
    viewer, form = await changing(request)
    ctx = ctx_of(request)
    data = await asyncio.to_thread(_detail, ctx, viewer, ref)
    if data is None:
        raise _missing(ref)
    choice = form.get("choice")
    if choice not in CHOICE_LABELS:
        raise WebRefusal(400, "Not a choice", f"{choice[:20]!r} is not something a halted run can be told to do.",
                         "Use the buttons on the run's page.")
    try:
        await asyncio.to_thread(flows.decide_run, ctx=ctx, run_ref=data["run"].id, choice=choice,
                                user=viewer.user_id, via="web")
    except CountersignError as exc:
        if exc.status == 409:  # someone answered first: a refusal of this person, so it leaves a trace
            await asyncio.to_thread(signin.refused, ctx=ctx, user_id=viewer.user_id, subject=f"run:{ref[:40]}",
                                    why=exc.detail, details={"choice": choice})
        fresh = await asyncio.to_thread(_detail, ctx, viewer, ref)
        return page(request, "runs/run.html", status=exc.status, nav="runs", error=exc.detail, done=None,
                    **(fresh or data))
    return see_other(f"/app/runs/{data['run'].id}?done={choice}")
