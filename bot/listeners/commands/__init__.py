"""`/countersign <subcommand>`: ack at once with the answer when it is quick, else ack and respond after.
Each feature module adds its subcommands in its register(commands), called below like every other kind."""

from __future__ import annotations

import shlex
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot import ids
from bot.listeners.commands import autonomy, drafts, incidents, spend, web
from bot.listeners.commands import help as help_command
from bot.listeners.commands.registry import Subcommands
from bot.listeners.replies import answering
from services.context import AppContext


def parse(text: str) -> tuple[str, list[str]]:
    try:
        words = shlex.split(text or "")
    except ValueError:
        words = (text or "").split()
    if not words:
        return "help", []
    return words[0].lower(), words[1:]


def as_reply(result: str | dict[str, Any]) -> dict[str, Any]:
    reply = {"text": result} if isinstance(result, str) else dict(result)
    reply.setdefault("response_type", "ephemeral")
    return reply


def subcommands() -> Subcommands:
    commands = Subcommands()
    for module in (help_command, drafts, incidents, spend, autonomy, web):
        module.register(commands)
    return commands


def register(app: AsyncApp, ctx: AppContext) -> None:
    commands = subcommands()

    @app.command(ids.COMMAND)
    @answering
    async def countersign(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient,
                          context: AsyncBoltContext) -> None:
        command = body
        name, args = parse(command.get("text", ""))
        sub = commands.get(name)
        if sub is None:
            await ack(response_type="ephemeral",
                      text=f"I don't know `{name}`. Try `/countersign help` for the list of commands.")
            return
        if not sub.slow:
            await ack(**as_reply(await sub.handler(ctx, command, args)))
            return
        await ack(response_type="ephemeral", text="Working on it…")
        await respond(**as_reply(await sub.handler(ctx, command, args)))
