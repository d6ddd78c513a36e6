"""`/countersign incidents | owner | pause | resume`: who is accountable, and the kill switch from Slack."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from bot.blocks import incidents as blocks
from bot.blocks.common import escape, message, section
from bot.listeners.commands.registry import Subcommands
from services.context import AppContext
from services.incidents import people
from services.incidents.models import IncidentPublic

MENTION = re.compile(r"^<@([UW][A-Z0-9]{2,20})(?:\|[^>]*)?>$|^@?([UW][A-Z0-9]{2,20})$")


def parse_user(text: str) -> str | None:
    """`<@U123|name>` (how Slack sends a mention), `<@U123>` or a bare id -> U123."""
    found = MENTION.match(text.strip())
    return (found.group(1) or found.group(2)) if found else None


async def pause(ctx: AppContext, command: dict[str, Any], args: list[str]) -> str:
    if not args:
        return "Usage: `/countersign pause <agent> [reason]`"
    result = await asyncio.to_thread(people.pause, ctx=ctx, agent_name=args[0], user=command["user_id"],
                                     reason=" ".join(args[1:]) or None)
    return (f":double_vertical_bar: Paused *{escape(args[0])}*. Its writes get 423 until someone resumes it."
            if result else f"*{escape(args[0])}* was already paused.")


async def resume(ctx: AppContext, command: dict[str, Any], args: list[str]) -> str:
    if not args:
        return "Usage: `/countersign resume <agent>`"
    result = await asyncio.to_thread(people.resume, ctx=ctx, agent_name=args[0], user=command["user_id"])
    return f":arrow_forward: Resumed *{escape(args[0])}*." if result else f"*{escape(args[0])}* was not paused."


async def owner(ctx: AppContext, command: dict[str, Any], args: list[str]) -> str | dict[str, Any]:
    if not args:
        return "Usage: `/countersign owner <agent>` or `/countersign owner <agent> @new-owner`"
    if len(args) > 1:
        new_owner = parse_user(" ".join(args[1:]))
        if new_owner is None:
            return "I couldn't read the new owner: mention them, e.g. `/countersign owner quoter @dana`."
        result = await asyncio.to_thread(people.hand_over, ctx=ctx, agent_name=args[0],
                                         user=command["user_id"], new_owner=new_owner)
        return f":handshake: <@{new_owner}> now owns *{escape(args[0])}* (was <@{result}>)."
    info = await asyncio.to_thread(people.accountability, ctx=ctx, agent_name=args[0])
    return blocks.accountability(info)


async def incidents(ctx: AppContext, command: dict[str, Any], args: list[str]) -> dict[str, Any]:
    found = await asyncio.to_thread(people.open_incidents_for_person, ctx=ctx, user=command["user_id"])
    if not found:
        return message("No open incidents", [section("No open incidents for the agents you own or back up.")])
    return blocks.incident_list([IncidentPublic.of(i, []) for i in found])


def register(commands: Subcommands) -> None:
    commands.add("pause", "pause <agent> [reason]", "pause an agent: its writes are refused until resumed", pause)
    commands.add("resume", "resume <agent>", "resume a paused agent", resume)
    commands.add("owner", "owner <agent> [@new-owner]", "who is accountable for an agent, or hand it over", owner)
    commands.add("incidents", "incidents", "open incidents of the agents you own or back up", incidents)
