"""Spend of the agents a person sees: per day per agent against its daily budget, cost per approved outcome,
and waste (spend on drafts that ended rejected or expired), as server-drawn SVG charts."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from services import access
from services.access import Viewer
from services.context import AppContext
from services.spend.report import report
from web import charts
from web.auth import ctx_of, signed_in
from web.render import money, page

router = APIRouter()
DAYS = 14


def _spend(ctx: AppContext, viewer: Viewer) -> dict[str, Any]:
    with ctx.read() as session:
        agents = access.visible_agents(session=session, viewer=viewer)
        data = report(session=session, agents=agents, now=ctx.clock.now(), tz=ctx.settings.tz, days=DAYS)
    daily = [charts.daily_bars(title=f"{line.name}: spend per day", days=data.days, cost=line.cost,
                               waste=line.waste, budget=line.daily_budget_usd) for line in data.agents]
    per_outcome = charts.hbars(title=f"Cost per approved outcome, last {DAYS} days", rows=[
        (line.name, line.cost_per_approved,
         money(line.cost_per_approved) if line.cost_per_approved is not None else "no approvals yet")
        for line in data.agents])
    waste = charts.hbars(title=f"Waste, last {DAYS} days (spend on rejected or expired drafts)", color=charts.WASTE,
                         rows=[(line.name, line.total_waste, f"{money(line.total_waste)}"
                                f"{f' ({line.total_waste / line.total:.0%} of spend)' if line.total else ''}")
                               for line in data.agents])
    return {"report": data, "daily": daily, "per_outcome": per_outcome, "waste": waste, "days": DAYS}


@router.get("/spend")
async def spend(request: Request) -> HTMLResponse:
    viewer = await signed_in(request)
    data = await asyncio.to_thread(_spend, ctx_of(request), viewer)
    return page(request, "spend/spend.html", nav="spend", **data)
