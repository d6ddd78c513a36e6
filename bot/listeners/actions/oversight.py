"""The owner's prompt (or model) change card: Approve version / Reject version. Each commits the answer, then
acks (bot.listeners.acking), then answers privately; refusals (audited by the flow) are raised and answered by
bot.listeners.replies."""

from __future__ import annotations

import asyncio
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot import ids
from bot.listeners.acking import decide_then_ack
from bot.listeners.replies import answering, tell
from services.context import AppContext
from services.errors import ValidationFailed
from services.oversight import flows


def register(app: AsyncApp, ctx: AppContext) -> None:
    def answer(approve: bool) -> Any:
        async def handle(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient,
                         context: AsyncBoltContext) -> None:
            value, user = str(body["actions"][0].get("value") or ""), body["user"]["id"]
            if not (value.isascii() and value.isdigit() and len(value) < 19):
                raise ValidationFailed("this button carries no change id; please use a newer card")
            work = asyncio.to_thread(flows.answer_change, ctx=ctx, change_id=int(value), user=user, approve=approve)
            await tell(respond, await decide_then_ack(ack, work))

        return answering(handle)

    app.action(ids.OVERSIGHT_APPROVE_VERSION)(answer(True))
    app.action(ids.OVERSIGHT_REJECT_VERSION)(answer(False))
