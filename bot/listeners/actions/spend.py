"""The paused-for-budget card's buttons: raise the budget by a preset, resume once, keep paused.

Each handler commits the decision, then acks (bot.listeners.acking); the flow checks who may answer and updates the
card in place. A refusal (not the owner, a budget that no longer exists) comes back as a polite ephemeral.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot import ids
from bot.listeners.acking import decide_then_ack
from services.context import AppContext
from services.errors import CountersignError
from services.spend import decisions

RAISE = re.compile(rf"^{ids.SPEND_RAISE_PREFIX}(\d+)$")


async def tell(respond: AsyncRespond, text: str) -> None:
    await respond(response_type="ephemeral", replace_original=False, text=text)


async def answer(ack: AsyncAck, respond: AsyncRespond, body: dict[str, Any], fn: Any, **kwargs: Any) -> None:
    """Decode the card reference, commit the decision, ack, then tell the clicker how it went."""

    def decide() -> str:
        ref, _ = decisions.CardRef.decode(body["actions"][0].get("value") or "")
        return fn(ref=ref, user_id=body["user"]["id"], **kwargs)

    try:
        outcome = await decide_then_ack(ack, asyncio.to_thread(decide))
    except CountersignError as exc:
        await tell(respond, f":warning: {exc.detail}")
        return
    await tell(respond, f":white_check_mark: {outcome}")


def register(app: AsyncApp, ctx: AppContext) -> None:
    @app.action(RAISE)
    async def raise_budget(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        percent = int(RAISE.match(body["actions"][0]["action_id"]).group(1))  # type: ignore[union-attr]
        await answer(ack, respond, body, decisions.raise_budget, ctx=ctx, percent=percent)

    @app.action(ids.SPEND_RESUME_ONCE)
    async def resume_once(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await answer(ack, respond, body, decisions.resume_once, ctx=ctx)

    @app.action(ids.SPEND_KEEP_PAUSED)
    async def keep_paused(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await answer(ack, respond, body, decisions.keep_paused, ctx=ctx)
