"""The resolve modal's submission: resolve with the note before the ack, so a refusal shows in the modal."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot import ids
from bot.listeners.authorize import incident_reach
from bot.listeners.replies import answering
from services.context import AppContext
from services.errors import ValidationFailed
from services.incidents import flows


def _card(view: dict[str, Any]) -> tuple[int, tuple[str | None, str | None]]:
    """The incident and the card the modal was opened from, as the Resolve button wrote them."""
    try:
        meta = json.loads(view.get("private_metadata") or "")
        incident_id, card = int(meta["i"]), (meta.get("c"), meta.get("t"))
    except (ValueError, TypeError, KeyError):
        raise ValidationFailed("This form lost its incident card; please press Resolve on the card again.") from None
    return incident_id, card


def register(app: AsyncApp, ctx: AppContext) -> None:
    @app.view(ids.INCIDENT_RESOLVE_VIEW)
    @answering
    async def resolve(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient,
                      context: AsyncBoltContext) -> None:
        view = body["view"]
        values = (view.get("state") or {}).get("values") or {}
        note = (((values.get(ids.INCIDENT_NOTE_BLOCK) or {}).get(ids.INCIDENT_NOTE_INPUT) or {}).get("value")
                or "").strip()
        incident_id, card = _card(view)
        # One quick UPDATE, so it runs before the ack: a refusal then shows in the modal (bot.listeners.replies).
        reach = await incident_reach(ctx, body, context, incident_id, card=card)
        await asyncio.to_thread(flows.resolve, ctx=ctx, incident_id=incident_id, user=body["user"]["id"],
                                note=note or None, reach=reach)
        await ack()
