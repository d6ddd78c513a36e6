"""`/countersign pending`: the pending drafts the caller may decide, oldest first, linked to their cards."""

from __future__ import annotations

import asyncio
from typing import Any

from bot.blocks import drafts as blocks
from bot.listeners.commands.registry import Subcommands
from services.context import AppContext
from services.drafts import inbox


async def pending(ctx: AppContext, command: dict[str, Any], args: list[str]) -> dict[str, Any]:
    items = await asyncio.to_thread(inbox.pending_for, ctx=ctx, user_id=command["user_id"])
    return blocks.pending_list(items)


def register(commands: Subcommands) -> None:
    commands.add("pending", "pending", "the pending drafts you may decide, oldest first", pending, slow=True)
