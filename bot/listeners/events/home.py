"""app_home_opened: publish the person's App Home (bot.blocks.home) each time they open it."""

from __future__ import annotations

import asyncio
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.home import home_view
from bot.blocks.people import away_section
from bot.listeners.replies import answering
from services.context import AppContext
from services.drafts import inbox
from services.incidents import people
from services.incidents.models import IncidentPublic
from services.people import flows as away
from services.signin import addresses


async def publish_home(ctx: AppContext, client: AsyncWebClient, user: str) -> None:
    """Draw the person's App Home afresh (on opening it, and after they changed something from it)."""
    pending = await asyncio.to_thread(inbox.pending_for, ctx=ctx, user_id=user)
    incidents = await asyncio.to_thread(people.open_incidents_for_person, ctx=ctx, user=user)
    mine, standing_in = await asyncio.to_thread(away.status, ctx=ctx, user_id=user)
    web_url = await asyncio.to_thread(addresses.web_base_url, ctx=ctx)
    view = home_view(pending=pending, incidents=[IncidentPublic.of(i, []) for i in incidents], web_url=web_url,
                     now=ctx.clock.now(), away=away_section(mine=mine, standing_in=standing_in))
    await client.views_publish(user_id=user, view=view)


def register(app: AsyncApp, ctx: AppContext) -> None:
    @app.event("app_home_opened")
    @answering
    async def home_opened(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient,
                          context: AsyncBoltContext) -> None:
        event = body["event"]
        if event.get("tab", "home") != "home":  # the Messages tab: nothing to draw
            return
        await publish_home(ctx, client, event["user"])
