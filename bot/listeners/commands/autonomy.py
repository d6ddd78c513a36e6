"""`/countersign autonomy <agent>`: each action's level and the evidence behind it, per prompt version."""

from __future__ import annotations

import asyncio
from typing import Any

from bot.blocks import autonomy as blocks
from bot.listeners.commands.registry import subcommand
from services.autonomy import flows
from services.context import AppContext
from services.errors import CountersignError


@subcommand("autonomy", "autonomy <agent>", "each action's autonomy level and the evidence behind it")
async def autonomy(ctx: AppContext, command: dict[str, Any], args: list[str]) -> str | dict[str, Any]:
    if len(args) != 1:
        return "Usage: `/countersign autonomy <agent>`, e.g. `/countersign autonomy quoter`."
    try:
        data = await asyncio.to_thread(flows.overview, ctx=ctx, name=args[0])
    except CountersignError as exc:
        return f":warning: {exc.detail}"
    return blocks.overview(data.model_dump())
