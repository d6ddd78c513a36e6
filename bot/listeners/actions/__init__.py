"""Actions listeners: each feature module here has a register(app, ctx), called below."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.listeners.actions import autonomy, drafts, incidents, people, spend
from services.context import AppContext


def register(app: AsyncApp, ctx: AppContext) -> None:
    drafts.register(app, ctx)
    autonomy.register(app, ctx)
    incidents.register(app, ctx)
    spend.register(app, ctx)
    people.register(app, ctx)
