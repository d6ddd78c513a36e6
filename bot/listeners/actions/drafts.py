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
from services.drafts import claims, flows
from services.errors import ValidationFailed


def _number(text: str) -> int | None:
    return int(text) if text.isascii() and text.isdigit() and len(text) < 10 else None


def _target(body: dict[str, Any]) -> tuple[str, int | None, str, int | None]:
    """The button's value is "<draft id>:<revision the clicker saw>[:<stage it was on>, when not the first]"."""
    draft_id, _, rest = str(body["actions"][0].get("value") or "").partition(":")
    revision, _, stage = rest.partition(":")
    return draft_id, _number(revision), body["user"]["id"], _number(stage) if stage else 0


def register(app: AsyncApp, ctx: AppContext) -> None:
    async def approve(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient,
                      context: AsyncBoltContext) -> None:
        draft_id, revision, user, stage = _target(body)

        async def work() -> flows.DecisionResult:
            await check_draft_click(ctx, body, context, draft_id, card=clicked_at(body))
            return await asyncio.to_thread(flows.decide, ctx=ctx, draft_id=draft_id, user_id=user,
                                           verdict="approve", revision=revision, stage=stage)

        result = await decide_then_ack(ack, work())
        if result.notice:  # oversight: a canary's approver learns at once that it was a test
            await tell(respond, f":test_tube: {result.notice}")
        elif not result.final:
            await tell(respond, f":ballot_box_with_check: {result.message}")

    async def open_modal(body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient, context: Any,
                         verdict: str) -> None:
        draft_id, _revision, user, _stage = _target(body)
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

    async def claiming(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient,
                       context: AsyncBoltContext) -> None:
        """Claim, Release and Assign to…: the claims flow's rules; the card shows the change."""
        action = body["actions"][0]
        user = body["user"]["id"]
        if action.get("action_id") == ids.DRAFT_ASSIGN:
            draft_id = str(action.get("block_id") or "").partition(":")[2]
            to = str(action.get("selected_user") or "")
        else:
            draft_id, to = str(action.get("value") or ""), ""

        async def work() -> str:
            await check_draft_click(ctx, body, context, draft_id, card=clicked_at(body))
            if action.get("action_id") == ids.DRAFT_CLAIM:
                await asyncio.to_thread(claims.claim, ctx=ctx, draft_id=draft_id, user_id=user)
                return "You have claimed this draft: others see you are on it."
            if action.get("action_id") == ids.DRAFT_RELEASE:
                await asyncio.to_thread(claims.release, ctx=ctx, draft_id=draft_id, user_id=user)
                return "Released: the draft is free for anyone to claim."
            await asyncio.to_thread(claims.assign, ctx=ctx, draft_id=draft_id, user_id=user, to=to)
            return f"Assigned to <@{to}>, who gets the card by DM."

        await tell(respond, f":raising_hand: {await decide_then_ack(ack, work())}")

    app.action(ids.DRAFT_CLAIM)(answering(claiming))
    app.action(ids.DRAFT_RELEASE)(answering(claiming))
    app.action(ids.DRAFT_ASSIGN)(answering(claiming))
    app.action(ids.DRAFT_APPROVE)(answering(approve))
    app.action(ids.DRAFT_EDIT)(answering(edit))
    app.action(ids.DRAFT_REJECT)(answering(reject))
