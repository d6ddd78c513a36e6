"""The `/countersign` subcommands: each feature module adds its own in its register(commands), called in order
by bot.listeners.commands.register, and `help` lists them all."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from services.context import AppContext

# A handler gets the context, the slash-command payload and the words after the subcommand, and returns the
# ephemeral reply (text or a message dict). It runs after the ack when `slow` is set. A refusal is raised (a
# services.errors error) and answered by bot.listeners.replies.
Handler = Callable[[AppContext, dict[str, Any], list[str]], Awaitable[str | dict[str, Any]]]


@dataclass(frozen=True)
class Subcommand:
    name: str
    usage: str
    summary: str
    handler: Handler
    slow: bool = False


class Subcommands:
    def __init__(self) -> None:
        self._by_name: dict[str, Subcommand] = {}

    def add(self, name: str, usage: str, summary: str, handler: Handler, *, slow: bool = False) -> None:
        if name in self._by_name:
            raise ValueError(f"/countersign {name} is registered twice")
        self._by_name[name] = Subcommand(name, usage, summary, handler, slow)

    def get(self, name: str) -> Subcommand | None:
        return self._by_name.get(name)

    def all(self) -> list[Subcommand]:
        return sorted(self._by_name.values(), key=lambda c: c.name)
