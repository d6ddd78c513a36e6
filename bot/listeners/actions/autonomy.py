"""Autonomy buttons: the owner's Promote / Not yet, and a reviewer's Looks right / Should not have passed.
Each handler commits the answer in a thread, then acks (bot.listeners.acking), then answers with an ephemeral
line; refusals are raised and answered by bot.listeners.replies."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot import ids
from bot.listeners.acking import decide_then_ack
from bot.listeners.replies import answering, tell
from services.autonomy import flows
from services.autonomy.models import LOOKS_RIGHT, SHOULD_NOT_HAVE_PASSED
from services.context import AppContext
from services.errors import ValidationFailed


def _clicked(body: dict[str, Any]) -> tuple[str, str]:
    return (body["actions"][0].get("value") or ""), body["user"]["id"]


Work = Callable[[dict[str, Any]], Awaitable[str]]


def _handler(work: Work) -> Callable[..., Awaitable[None]]:
    """Commit the answer, ack, then tell the clicker privately."""

    async def handle(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient,
                     context: AsyncBoltContext) -> None:
        await tell(respond, await decide_then_ack(ack, work(body)))

    return answering(handle)


def register(app: AsyncApp, ctx: AppContext) -> None:
    def answer(promote: bool) -> Work:
        async def work(body: dict[str, Any]) -> str:
            value, user = _clicked(body)
            if not value.isdigit():
                raise ValidationFailed("this button carries no proposal id; please use a newer card")
            return await asyncio.to_thread(flows.answer_proposal, ctx=ctx, state_id=int(value), user=user,
                                           promote=promote)

        return work

    def judge(verdict: str) -> Work:
        async def work(body: dict[str, Any]) -> str:
            draft_id, user = _clicked(body)
            return await asyncio.to_thread(flows.judge_sample, ctx=ctx, draft_id=draft_id, user=user,
                                           verdict=verdict)

        return work

    app.action(ids.AUTONOMY_PROMOTE)(_handler(answer(True)))
    app.action(ids.AUTONOMY_NOT_YET)(_handler(answer(False)))
    app.action(ids.AUTONOMY_LOOKS_RIGHT)(_handler(judge(LOOKS_RIGHT)))
    app.action(ids.AUTONOMY_SHOULD_NOT_PASS)(_handler(judge(SHOULD_NOT_HAVE_PASSED)))
