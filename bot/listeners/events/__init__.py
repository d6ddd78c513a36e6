"""Events listeners: each feature module here has a register(app, ctx), called below."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.listeners.events import home
from services.context import AppContext


def register(app: AsyncApp, ctx: AppContext) -> None:
    home.register(app, ctx)
