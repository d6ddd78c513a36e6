"""The away modal's submission: set the absence before the ack, so a refusal shows in the modal; then the
App Home is drawn again."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot import ids
from bot.listeners.events.home import publish_home
from bot.listeners.replies import answering
from services.audit.service import Actor
from services.context import AppContext
from services.errors import field_error
from services.people import flows


def _input(values: dict[str, Any], block: str, action: str) -> dict[str, Any]:
    return (values.get(block) or {}).get(action) or {}


def register(app: AsyncApp, ctx: AppContext) -> None:
    @app.view(ids.PEOPLE_AWAY_VIEW)
    @answering
    async def submitted(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient,
                        context: AsyncBoltContext) -> None:
        user = body["user"]["id"]
        values = ((body.get("view") or {}).get("state") or {}).get("values") or {}
        stamp = _input(values, ids.PEOPLE_UNTIL_BLOCK, ids.PEOPLE_UNTIL_INPUT).get("selected_date_time")
        delegate = _input(values, ids.PEOPLE_DELEGATE_BLOCK, ids.PEOPLE_DELEGATE_INPUT).get("selected_user")
        if not isinstance(stamp, int):
            raise field_error("until", "pick the day and time your absence ends")
        until = datetime.fromtimestamp(stamp, tz=timezone.utc)
        await asyncio.to_thread(flows.set_away, ctx=ctx, user_id=user, until=until, delegate=str(delegate or ""),
                                actor=Actor.slack_user(user), by=user)
        await ack()
        await publish_home(ctx, client, user)
