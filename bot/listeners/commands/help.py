"""`/countersign help`: the list of subcommands, read from the registry so it never goes stale, and who may use
the ones that show spend."""

from __future__ import annotations

from typing import Any

from bot.blocks.common import message, section
from bot.listeners.commands.registry import Subcommands
from services.context import AppContext

WHO_SEES_SPEND = ("_`budget <agent>` answers the agent's owner, its backup owners and admins "
                  "(COUNTERSIGN_ADMIN_USERS), or anyone in a channel that gets digests. `digest` posts every agent's "
                  "spend: admins anywhere, owners and backup owners in a channel that gets digests._")


def help_message(commands: Subcommands) -> dict[str, Any]:
    lines = [f"`/countersign {cmd.usage}` — {cmd.summary}" for cmd in commands.all()]
    return message("Countersign commands",
                   [section("*Countersign commands*\n" + "\n".join(lines)), section(WHO_SEES_SPEND)])


def register(commands: Subcommands) -> None:
    async def show_help(ctx: AppContext, command: dict[str, Any], args: list[str]) -> dict[str, Any]:
        return help_message(commands)

    commands.add("help", "help", "list these commands", show_help)
