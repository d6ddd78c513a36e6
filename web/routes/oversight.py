"""Oversight in the web app: the reviewers' report with its chart, and the prompt (or model) change page with
its diff and Approve version / Reject version under the Slack card's rule.

Who sees what: the owner, backup owners and admins see every reviewer of their agents; anyone else sees their
own rows only (a reviewer's figures are about a person, so they go to the people accountable for the agent).
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from services import access
from services.access import Viewer
from services.context import AppContext
from services.errors import CountersignError
from services.oversight import flows
from services.oversight.chart import render_chart
from services.oversight.models import Report
from services.oversight.service import weekly
from web.auth import WebRefusal, changing, ctx_of, signed_in
from web.render import SECURITY_HEADERS, page, see_other

router = APIRouter()
ACCOUNTABLE = {"owner", "backup", "admin"}


def _days(request: Request) -> int:
    value = request.query_params.get("days", "30")
    return int(value) if value.isascii() and value.isdigit() and 1 <= int(value) <= flows.MAX_DAYS else 30


def _report(ctx: AppContext, viewer: Viewer, days: int) -> Report:
    with ctx.read() as session:
        agents = access.visible_agents(session=session, viewer=viewer)
        accountable = {a.name for a in agents if ACCOUNTABLE.intersection(access.roles(a, viewer))}
    report = flows.oversight_report(ctx=ctx, days=days, agents=agents)
    rows = [r for r in report.rows if r.agent in accountable or r.reviewer == viewer.user_id]
    return report.model_copy(update={"rows": rows, "weekly": [
        p for p in report.weekly if any(r.reviewer == p.reviewer for r in rows)]})


@router.get("/oversight")
async def oversight(request: Request) -> HTMLResponse:
    viewer = await signed_in(request)
    days = _days(request)
    report = await asyncio.to_thread(_report, ctx_of(request), viewer, days)
    pending = await asyncio.to_thread(flows.pending_changes, ctx=ctx_of(request), viewer=viewer)
    return page(request, "oversight/report.html", nav="oversight", report=report, days=days, pending=pending)


@router.get("/oversight/chart.png")
async def chart(request: Request) -> Response:
    viewer = await signed_in(request)
    report = await asyncio.to_thread(_report, ctx_of(request), viewer, _days(request))
    png = await asyncio.to_thread(render_chart, report.weekly or weekly([]))
    if png is None:
        return Response(status_code=204, headers=SECURITY_HEADERS)
    return Response(png, media_type="image/png", headers={**SECURITY_HEADERS, "Cache-Control": "no-store"})


def _change_id(value: str) -> int:
    if not (value.isascii() and value.isdigit() and len(value) < 19):
        raise WebRefusal(404, "No such change", "There is no prompt change at this address.",
                         "Open it from the oversight page.")
    return int(value)


async def _change_page(request: Request, viewer: Viewer, change_id: int, **extra: Any) -> HTMLResponse:
    found = await asyncio.to_thread(flows.change_for, ctx=ctx_of(request), change_id=change_id, viewer=viewer)
    if found is None:
        raise WebRefusal(404, "No such change", f"There is no prompt change #{change_id} of an agent you have a "
                         "part in.", "Open it from the oversight page.", audit=True, subject=f"change:{change_id}")
    change, may_answer = found
    extra.setdefault("error", None)
    extra.setdefault("done", request.query_params.get("done"))
    return page(request, "oversight/change.html", status=extra.pop("status", 200), nav="oversight", change=change,
                may_answer=may_answer, **extra)


@router.get("/prompts/{change_id}")
async def change(request: Request, change_id: str) -> HTMLResponse:
    viewer = await signed_in(request)
    return await _change_page(request, viewer, _change_id(change_id))


@router.post("/prompts/{change_id}/{verdict}")
async def answer(request: Request, change_id: str, verdict: str) -> Response:
    viewer, _form = await changing(request)
    number = _change_id(change_id)
    if verdict not in ("approve", "reject"):
        raise WebRefusal(404, "No such action", "A prompt change can be approved or rejected.",
                         "Use the buttons on the change's page.")
    if await asyncio.to_thread(flows.change_for, ctx=ctx_of(request), change_id=number, viewer=viewer) is None:
        return await _change_page(request, viewer, number)  # the same refusal as the page
    try:
        await asyncio.to_thread(flows.answer_change, ctx=ctx_of(request), change_id=number, user=viewer.user_id,
                                approve=verdict == "approve", via="web")
    except CountersignError as exc:  # the flow audited a refusal; show its own sentence
        return await _change_page(request, viewer, number, status=exc.status, error=exc.detail)
    return see_other(f"/app/prompts/{number}?done={verdict}")
