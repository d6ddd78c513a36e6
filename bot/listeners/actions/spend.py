"""The paused-for-budget card's buttons: raise the budget by an offered amount, resume once, keep paused.

Each handler commits the decision, then acks (bot.listeners.acking); the flow checks who may answer, that the
click is on the card and that the card is answered once, and updates the card in place. Refusals are raised and
answered by bot.listeners.replies.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot import ids
from bot.listeners.acking import decide_then_ack
from bot.listeners.authorize import clicked_at
from bot.listeners.replies import answering, tell
from services.context import AppContext
from services.spend import decisions

RAISE = re.compile(rf"^{ids.SPEND_RAISE_PREFIX}(\d{{1,4}})$")


async def answer(ack: AsyncAck, respond: AsyncRespond, body: dict[str, Any], fn: Any, **kwargs: Any) -> None:
    """Decode the card reference, commit the decision, ack, then tell the clicker how it went."""

    def decide() -> str:
        ref, extra = decisions.CardRef.decode(body["actions"][0].get("value") or "")
        if fn is decisions.raise_budget:
            kwargs["offered"] = extra  # the amount the button itself carries, checked against its action id
        return fn(ref=ref, user_id=body["user"]["id"], where=clicked_at(body), **kwargs)

    await tell(respond, f":white_check_mark: {await decide_then_ack(ack, asyncio.to_thread(decide))}")


def register(app: AsyncApp, ctx: AppContext) -> None:
    @app.action(RAISE)
    @answering
    async def raise_budget(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient,
                           context: AsyncBoltContext) -> None:
        percent = int(RAISE.match(body["actions"][0]["action_id"]).group(1))  # type: ignore[union-attr]
        await answer(ack, respond, body, decisions.raise_budget, ctx=ctx, percent=percent)

    @app.action(ids.SPEND_RESUME_ONCE)
    @answering
    async def resume_once(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient,
                          context: AsyncBoltContext) -> None:
        await answer(ack, respond, body, decisions.resume_once, ctx=ctx)

    @app.action(ids.SPEND_KEEP_PAUSED)
    @answering
    async def keep_paused(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient,
                          context: AsyncBoltContext) -> None:
        await answer(ack, respond, body, decisions.keep_paused, ctx=ctx)
