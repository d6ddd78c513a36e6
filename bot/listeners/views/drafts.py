"""Edit and Reject modal submissions. Form mistakes are answered in the modal (before the ack closes it);
the decision is committed before the ack (bot.listeners.acking), and a refusal reaches the person as an
ephemeral under the card."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot import ids
from bot.listeners.acking import decide_then_ack
from bot.listeners.actions.drafts import authorize
from services.context import AppContext
from services.drafts import flows
from services.errors import CountersignError


def _edited_text(values: dict[str, Any]) -> str:
    """The edited text back from the modal: the parts (draft_text_0, draft_text_1…) joined in order."""
    parts = []
    for block, inputs in values.items():
        prefix, _, index = block.rpartition("_")
        if prefix == ids.DRAFT_EDIT_BLOCK and index.isascii() and index.isdigit():
            parts.append((int(index), (inputs.get(ids.DRAFT_EDIT_INPUT) or {}).get("value") or ""))
    return "".join(text for _, text in sorted(parts))


def _reason(values: dict[str, Any]) -> str:
    return ((values.get(ids.DRAFT_REASON_BLOCK) or {}).get(ids.DRAFT_REASON_INPUT) or {}).get("value") or ""


def _metadata(view: dict[str, Any]) -> dict[str, Any]:
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        meta = {}
    return meta if isinstance(meta, dict) else {}


async def _decide(ctx: AppContext, ack: AsyncAck, client: AsyncWebClient, body: dict[str, Any], context: Any,
                  meta: dict[str, Any], **decision: Any) -> None:
    draft_id, user = str(meta.get("d") or ""), body["user"]["id"]

    async def work() -> flows.DecisionResult:
        member = await authorize(ctx, body, context, draft_id, from_card=False)
        return await asyncio.to_thread(flows.decide, ctx=ctx, draft_id=draft_id, user_id=user,
                                       is_group_member=member, revision=meta.get("r"), **decision)

    try:
        result = await decide_then_ack(ack, work())
    except CountersignError as exc:
        text = f":warning: {exc.detail}"
    else:
        if result.final:
            return
        text = f":ballot_box_with_check: {result.message}"
    if meta.get("c"):
        await client.chat_postEphemeral(channel=meta["c"], user=user, text=text)


def register(app: AsyncApp, ctx: AppContext) -> None:
    @app.view(ids.DRAFT_EDIT_VIEW)
    async def edited(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient,
                     context: Any) -> None:
        meta = _metadata(view)
        text = _edited_text((view.get("state") or {}).get("values") or {})
        first = f"{ids.DRAFT_EDIT_BLOCK}_0"
        if not text.strip():
            await ack(response_action="errors", errors={first: "The edited draft can't be empty."})
            return
        if meta.get("j"):
            try:
                json.loads(text)
            except ValueError as exc:
                await ack(response_action="errors", errors={first: f"This draft must stay valid JSON: {exc}"[:150]})
                return
        await _decide(ctx, ack, client, body, context, meta, verdict="edit", final_body=text)

    @app.view(ids.DRAFT_REJECT_VIEW)
    async def rejected(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient,
                       context: Any) -> None:
        reason = _reason((view.get("state") or {}).get("values") or {}).strip()
        if not reason:
            await ack(response_action="errors", errors={ids.DRAFT_REASON_BLOCK: "Please say why, for the agent."})
            return
        await _decide(ctx, ack, client, body, context, _metadata(view), verdict="reject", reason=reason)
