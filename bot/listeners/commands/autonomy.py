"""`/countersign autonomy <agent>`: each action's level and the evidence behind it, per prompt version."""

from __future__ import annotations

import asyncio
from typing import Any

from bot.blocks import autonomy as blocks
from bot.listeners.commands.registry import Subcommands
from services.autonomy import flows
from services.context import AppContext


async def autonomy(ctx: AppContext, command: dict[str, Any], args: list[str]) -> str | dict[str, Any]:
    if len(args) != 1:
        return "Usage: `/countersign autonomy <agent>`, e.g. `/countersign autonomy quoter`."
    data = await asyncio.to_thread(flows.overview, ctx=ctx, name=args[0])
    return blocks.overview(data.model_dump())


def register(commands: Subcommands) -> None:
    commands.add("autonomy", "autonomy <agent>", "each action's autonomy level and the evidence behind it", autonomy)
