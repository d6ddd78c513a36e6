"""`/countersign budget [agent]` (spend and what is left, ephemeral) and `/countersign digest [period]` (post a
digest to this channel now). Both show spend, so both ask services.digests.access who may see it."""

from __future__ import annotations

import asyncio
from typing import Any

from bot.blocks import spend as blocks
from bot.blocks.common import escape, message
from bot.listeners.commands.registry import Subcommands
from services.agents import service as agents
from services.audit.service import Actor
from services.context import AppContext
from services.digests import access
from services.digests import flows as digests
from services.spend import service

PERIODS = ("day", "week", "month")
# What `/countersign digest` with no period posts: today so far (every digest from the command covers the
# current period up to now, so a mid-day digest shows today's spend and budgets rather than yesterday's).
DEFAULT_DIGEST_PERIOD = "day"


def _summaries(ctx: AppContext, agent_name: str | None, user_id: str) -> list[dict[str, Any]]:
    now, tz = ctx.clock.now(), ctx.settings.tz
    with ctx.read() as session:
        if agent_name:
            chosen = [agents.require_agent(session=session, name=agent_name)]
        else:
            chosen = service.agents_owned_by(session=session, user_id=user_id)
        return [service.spend_summary(session=session, agent=a, now=now, tz=tz) for a in chosen]


async def budget(ctx: AppContext, command: dict[str, Any], args: list[str]) -> str | dict[str, Any]:
    user = command["user_id"]
    if args:
        await asyncio.to_thread(access.require_may_see_budget, ctx=ctx, agent_name=args[0], user=user,
                                channel=command.get("channel_id"))
    found = await asyncio.to_thread(_summaries, ctx, args[0] if args else None, user)
    if not found:
        return "You own no agents. Name one: `/countersign budget <agent>`"
    cards = [blocks.budget_status(agent_name=s["agent"], status=s["status"], budgets=s["budgets"],
                                  today_usd=s["today_usd"], month_usd=s["month_usd"]) for s in found[:10]]
    every_block = [block for card in cards for block in card["blocks"]]
    return message("Budgets: " + ", ".join(escape(s["agent"]) for s in found[:10]), every_block)


async def digest(ctx: AppContext, command: dict[str, Any], args: list[str]) -> str:
    period = args[0].lower() if args else DEFAULT_DIGEST_PERIOD
    if period not in PERIODS:
        return f"Usage: `/countersign digest [day|week|month]` (not `{escape(period)}`)"
    user, channel = command["user_id"], command["channel_id"]
    await asyncio.to_thread(access.require_may_request_digest, ctx=ctx, user=user, channel=channel)
    runs = await asyncio.to_thread(digests.send_now, ctx=ctx, channel=channel, period=period,
                                   actor=Actor.slack_user(user), so_far=True)
    return f":bar_chart: Posting the {period} digest here." if runs else ":warning: The digest could not be posted."


def register(commands: Subcommands) -> None:
    commands.add("budget", "budget [agent]", "spend today and this month, and what is left of each budget", budget)
    commands.add("digest", "digest [day|week|month]", "post this period's digest so far to this channel", digest,
                 slow=True)
