"""`/countersign help`: the list of subcommands, built from the registry so it never goes stale."""

from __future__ import annotations

from typing import Any

from bot.blocks.common import message, section
from bot.listeners.commands.registry import SUBCOMMANDS, subcommand
from services.context import AppContext


def help_message() -> dict[str, Any]:
    lines = [f"`/countersign {cmd.usage}` — {cmd.summary}" for cmd in sorted(SUBCOMMANDS.values(), key=lambda c: c.name)]
    return message("Countersign commands", [section("*Countersign commands*\n" + "\n".join(lines))])


@subcommand("help", "help", "list these commands")
async def show_help(ctx: AppContext, command: dict[str, Any], args: list[str]) -> dict[str, Any]:
    return help_message()
