"""App Home's people-away buttons: Set away… opens the modal (it needs the click's trigger id, so it acks
first); I'm back ends the absence, then the Home is drawn again."""

from __future__ import annotations

import asyncio
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot import ids
from bot.blocks.people import away_modal
from bot.listeners.events.home import publish_home
from bot.listeners.replies import answering
from services.audit.service import Actor
from services.context import AppContext
from services.people import flows


def register(app: AsyncApp, ctx: AppContext) -> None:
    @app.action(ids.PEOPLE_SET_AWAY)
    @answering
    async def set_away(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient,
                       context: AsyncBoltContext) -> None:
        await ack()
        await client.views_open(trigger_id=body["trigger_id"], view=away_modal(now=ctx.clock.now()))

    @app.action(ids.PEOPLE_BACK)
    @answering
    async def back(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient,
                   context: AsyncBoltContext) -> None:
        user = body["user"]["id"]
        await asyncio.to_thread(flows.set_back, ctx=ctx, user_id=user, actor=Actor.slack_user(user), by=user)
        await ack()
        await publish_home(ctx, client, user)
