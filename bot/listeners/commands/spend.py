"""`/countersign budget [agent]` (spend and what is left, ephemeral) and `/countersign digest [period]` (post a
digest to this channel now)."""

from __future__ import annotations

import asyncio
from typing import Any

from bot.blocks import spend as blocks
from bot.blocks.common import escape, message
from bot.listeners.commands.registry import subcommand
from services.agents import service as agents
from services.audit.service import Actor
from services.context import AppContext
from services.digests import flows as digests
from services.errors import CountersignError
from services.spend import service

PERIODS = ("day", "week", "month")


def _summaries(ctx: AppContext, agent_name: str | None, user_id: str) -> list[dict[str, Any]]:
    now, tz = ctx.clock.now(), ctx.settings.tz
    with ctx.read() as session:
        if agent_name:
            chosen = [agents.require_agent(session=session, name=agent_name)]
        else:
            chosen = service.agents_owned_by(session=session, user_id=user_id)
        return [service.spend_summary(session=session, agent=a, now=now, tz=tz) for a in chosen]


@subcommand("budget", "budget [agent]", "spend today and this month, and what is left of each budget")
async def budget(ctx: AppContext, command: dict[str, Any], args: list[str]) -> str | dict[str, Any]:
    try:
        found = await asyncio.to_thread(_summaries, ctx, args[0] if args else None, command["user_id"])
    except CountersignError as exc:
        return f":warning: {exc.detail}"
    if not found:
        return "You own no agents. Name one: `/countersign budget <agent>`"
    cards = [blocks.budget_status(agent_name=s["agent"], status=s["status"], budgets=s["budgets"],
                                  today_usd=s["today_usd"], month_usd=s["month_usd"]) for s in found[:10]]
    every_block = [block for card in cards for block in card["blocks"]]
    return message("Budgets: " + ", ".join(s["agent"] for s in found[:10]), every_block)


@subcommand("digest", "digest [day|week|month]", "post this period's digest so far to this channel", slow=True)
async def digest(ctx: AppContext, command: dict[str, Any], args: list[str]) -> str:
    period = args[0].lower() if args else "day"
    if period not in PERIODS:
        return f"Usage: `/countersign digest [day|week|month]` (not `{escape(period)}`)"
    try:
        runs = await asyncio.to_thread(digests.send_now, ctx=ctx, channel=command["channel_id"], period=period,
                                       actor=Actor.slack_user(command["user_id"]), so_far=True)
    except CountersignError as exc:
        return f":warning: {exc.detail}"
    return f":bar_chart: Posting the {period} digest here." if runs else ":warning: The digest could not be posted."
