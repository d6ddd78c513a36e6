"""The draft card's buttons. Approve commits its decision (or its vote towards quorum), then acks
(bot.listeners.acking); Edit and Reject ack at once and open a modal (see views/drafts.py), which must happen
within the 3 s the trigger_id lives. Who may decide is settled by the flow; bot.listeners.authorize only
resolves what needs Slack. Refusals are raised and answered by bot.listeners.replies.
"""

from __future__ import annotations

import asyncio
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot import ids
from bot.blocks import drafts as blocks
from bot.listeners.acking import decide_then_ack
from bot.listeners.authorize import check_draft_click, clicked_at
from bot.listeners.replies import answering, tell
from services.context import AppContext
from services.drafts import flows
from services.errors import ValidationFailed


def _target(body: dict[str, Any]) -> tuple[str, int | None, str]:
    """The button's value is "<draft id>:<revision the clicker saw>"."""
    draft_id, _, revision = str(body["actions"][0].get("value") or "").partition(":")
    return draft_id, int(revision) if revision.isascii() and revision.isdigit() else None, body["user"]["id"]


def register(app: AsyncApp, ctx: AppContext) -> None:
    async def approve(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient,
                      context: AsyncBoltContext) -> None:
        draft_id, revision, user = _target(body)

        async def work() -> flows.DecisionResult:
            await check_draft_click(ctx, body, context, draft_id, card=clicked_at(body))
            return await asyncio.to_thread(flows.decide, ctx=ctx, draft_id=draft_id, user_id=user,
                                           verdict="approve", revision=revision)

        result = await decide_then_ack(ack, work())
        if not result.final:
            await tell(respond, f":ballot_box_with_check: {result.message}")

    async def open_modal(body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient, context: Any,
                         verdict: str) -> None:
        draft_id, _revision, user = _target(body)
        await check_draft_click(ctx, body, context, draft_id, card=clicked_at(body))
        card = await asyncio.to_thread(flows.check_decider, ctx=ctx, draft_id=draft_id, user_id=user,
                                       verdict=verdict)
        channel, ts = clicked_at(body)
        if verdict == "reject":
            view = blocks.reject_modal(card, channel=channel, ts=ts)
        else:
            view = blocks.edit_modal(card, channel=channel, ts=ts)
            if view is None:
                raise ValidationFailed(blocks.too_long_to_edit(card))
        await client.views_open(trigger_id=body["trigger_id"], view=view)

    async def edit(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient,
                   context: AsyncBoltContext) -> None:
        await ack()
        await open_modal(body, respond, client, context, "edit")

    async def reject(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient,
                     context: AsyncBoltContext) -> None:
        await ack()
        await open_modal(body, respond, client, context, "reject")

    app.action(ids.DRAFT_APPROVE)(answering(approve))
    app.action(ids.DRAFT_EDIT)(answering(edit))
    app.action(ids.DRAFT_REJECT)(answering(reject))
