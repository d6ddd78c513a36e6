"""`/countersign <subcommand>`: ack at once with the answer when it is quick, else ack and respond after."""

from __future__ import annotations

import shlex
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot import ids
from bot.listeners.commands import autonomy as _autonomy  # noqa: F401  (registers itself)
from bot.listeners.commands import drafts as _drafts  # noqa: F401  (registers itself)
from bot.listeners.commands import help as _help  # noqa: F401  (registers itself)
from bot.listeners.commands import incidents as _incidents  # noqa: F401  (registers itself)
from bot.listeners.commands import spend as _spend  # noqa: F401  (registers itself)
from bot.listeners.commands import web as _web  # noqa: F401  (registers itself)
from bot.listeners.commands.registry import SUBCOMMANDS
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


def register(app: AsyncApp, ctx: AppContext) -> None:
    @app.command(ids.COMMAND)
    async def countersign(ack: AsyncAck, respond: AsyncRespond, command: dict[str, Any]) -> None:
        name, args = parse(command.get("text", ""))
        sub = SUBCOMMANDS.get(name)
        if sub is None:
            await ack(response_type="ephemeral",
                      text=f"I don't know `{name}`. Try `/countersign help` for the list of commands.")
            return
        if not sub.slow:
            await ack(**as_reply(await sub.handler(ctx, command, args)))
            return
        await ack(response_type="ephemeral", text="Working on it…")
        await respond(**as_reply(await sub.handler(ctx, command, args)))
