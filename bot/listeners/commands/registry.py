"""The `/countersign` subcommands: each feature registers its own here and `help` lists them all."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from services.context import AppContext

# A handler gets the context, the slash-command payload and the words after the subcommand, and returns the
# ephemeral reply (text or a message dict). It runs after the ack when `slow` is set.
Handler = Callable[[AppContext, dict[str, Any], list[str]], Awaitable[str | dict[str, Any]]]


@dataclass(frozen=True)
class Subcommand:
    name: str
    usage: str
    summary: str
    handler: Handler
    slow: bool = False


SUBCOMMANDS: dict[str, Subcommand] = {}


def subcommand(name: str, usage: str, summary: str, *, slow: bool = False) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        SUBCOMMANDS[name] = Subcommand(name, usage, summary, handler, slow)
        return handler

    return register
