"""Listeners registered per kind; each kind's package has a register(app, ctx)."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.listeners import actions, commands, events, views
from services.context import AppContext


def register_listeners(app: AsyncApp, ctx: AppContext) -> None:
    commands.register(app, ctx)
    actions.register(app, ctx)
    views.register(app, ctx)
    events.register(app, ctx)
