"""The paused-for-budget card's buttons: raise the budget by a preset, resume once, keep paused.

Each handler acks first, then runs the decision in a thread; the flow checks who may answer and updates the
card in place. A refusal (not the owner, a budget that no longer exists) comes back as a polite ephemeral.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot import ids
from services.context import AppContext
from services.errors import CountersignError
from services.spend import decisions

RAISE = re.compile(rf"^{ids.SPEND_RAISE_PREFIX}(\d+)$")


async def tell(respond: AsyncRespond, text: str) -> None:
    await respond(response_type="ephemeral", replace_original=False, text=text)


async def answer(respond: AsyncRespond, fn: Any, **kwargs: Any) -> None:
    try:
        outcome = await asyncio.to_thread(fn, **kwargs)
    except CountersignError as exc:
        await tell(respond, f":warning: {exc.detail}")
        return
    await tell(respond, f":white_check_mark: {outcome}")


def register(app: AsyncApp, ctx: AppContext) -> None:
    @app.action(RAISE)
    async def raise_budget(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        action = body["actions"][0]
        ref, _ = decisions.CardRef.decode(action.get("value") or "")
        percent = int(RAISE.match(action["action_id"]).group(1))  # type: ignore[union-attr]
        await answer(respond, decisions.raise_budget, ctx=ctx, ref=ref, percent=percent, user_id=body["user"]["id"])

    @app.action(ids.SPEND_RESUME_ONCE)
    async def resume_once(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        ref, _ = decisions.CardRef.decode(body["actions"][0].get("value") or "")
        await answer(respond, decisions.resume_once, ctx=ctx, ref=ref, user_id=body["user"]["id"])

    @app.action(ids.SPEND_KEEP_PAUSED)
    async def keep_paused(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        ref, _ = decisions.CardRef.decode(body["actions"][0].get("value") or "")
        await answer(respond, decisions.keep_paused, ctx=ctx, ref=ref, user_id=body["user"]["id"])
