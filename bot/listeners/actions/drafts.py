"""The draft card's buttons. Each handler acks first, then does the database work in a thread.

Approve decides (or counts towards quorum) at once; Edit and Reject open a modal (see views/drafts.py). Who
may decide is settled by the flow; this layer only resolves user-group membership, which needs Slack.
"""

from __future__ import annotations

import asyncio
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot import ids
from bot.blocks import drafts as blocks
from bot.listeners.acking import decide_then_ack
from services.context import AppContext, GroupDirectory
from services.drafts import flows
from services.errors import CountersignError, Forbidden


def approver_groups(ctx: AppContext) -> GroupDirectory | None:
    return ctx.approver_groups


async def authorize(ctx: AppContext, body: dict[str, Any], context: Any, draft_id: str, *,
                    from_card: bool) -> bool:
    """What only Slack can tell: the request comes from our workspace and, for a button, from the draft's own
    card (a payload naming another channel or message decides nothing). Returns whether the user is an approver
    through one of the agent's user groups (not asked when they are listed by name)."""
    who = await asyncio.to_thread(flows.deciders, ctx=ctx, draft_id=draft_id)
    team = (body.get("team") or {}).get("id") or (body.get("user") or {}).get("team_id")
    ours = getattr(getattr(context, "authorize_result", None), "team_id", None)
    if team and ours and team != ours:
        raise Forbidden("this request comes from another Slack workspace, so it can't decide this draft")
    if from_card and _where(body) != (who.card_channel, who.card_ts):
        raise Forbidden("this button is not on the draft's card, so it can't decide it")
    user = body["user"]["id"]
    cache = approver_groups(ctx)
    if user in who.approvers or not who.approver_groups or cache is None:
        return False
    return bool(await cache.member_of(user, who.approver_groups))


async def tell(respond: AsyncRespond, text: str) -> None:
    await respond(response_type="ephemeral", replace_original=False, text=text)


def _target(body: dict[str, Any]) -> tuple[str, int | None, str]:
    """The button's value is "<draft id>:<revision the clicker saw>"."""
    draft_id, _, revision = str(body["actions"][0].get("value") or "").partition(":")
    return draft_id, int(revision) if revision.isascii() and revision.isdigit() else None, body["user"]["id"]


def _where(body: dict[str, Any]) -> tuple[str | None, str | None]:
    container = body.get("container") or {}
    return container.get("channel_id") or (body.get("channel") or {}).get("id"), container.get("message_ts")


def register(app: AsyncApp, ctx: AppContext) -> None:
    @app.action(ids.DRAFT_APPROVE)
    async def approve(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, context: Any) -> None:
        draft_id, revision, user = _target(body)

        async def work() -> flows.DecisionResult:
            member = await authorize(ctx, body, context, draft_id, from_card=True)
            return await asyncio.to_thread(flows.decide, ctx=ctx, draft_id=draft_id, user_id=user,
                                           verdict="approve", revision=revision, is_group_member=member)

        try:
            result = await decide_then_ack(ack, work())
        except CountersignError as exc:
            await tell(respond, f":warning: {exc.detail}")
            return
        if not result.final:
            await tell(respond, f":ballot_box_with_check: {result.message}")

    async def open_modal(body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient, context: Any,
                         verdict: str) -> None:
        draft_id, _revision, user = _target(body)
        try:
            member = await authorize(ctx, body, context, draft_id, from_card=True)
            found = await asyncio.to_thread(flows.check_decider, ctx=ctx, draft_id=draft_id, user_id=user,
                                           verdict=verdict, is_group_member=member)
        except CountersignError as exc:
            await tell(respond, f":warning: {exc.detail}")
            return
        card = found
        channel, ts = _where(body)
        if verdict == "reject":
            view = blocks.reject_modal(card, channel=channel, ts=ts)
        else:
            view = blocks.edit_modal(card, channel=channel, ts=ts)
            if view is None:
                await tell(respond, f":warning: {blocks.too_long_to_edit(card)}")
                return
        await client.views_open(trigger_id=body["trigger_id"], view=view)

    @app.action(ids.DRAFT_EDIT)
    async def edit(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient,
                   context: Any) -> None:
        await ack()
        await open_modal(body, respond, client, context, "edit")

    @app.action(ids.DRAFT_REJECT)
    async def reject(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient,
                   context: Any) -> None:
        await ack()
        await open_modal(body, respond, client, context, "reject")
