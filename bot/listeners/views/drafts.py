"""Edit and Reject modal submissions. Form mistakes are answered in the modal (before the ack closes it); the
decision is committed before the ack (bot.listeners.acking), and a refusal reaches the person as an ephemeral
under the card (bot.listeners.replies).

A submission is only as trustworthy as its signature: its private_metadata could have been written by anyone
holding a view. So the card it names must be the draft's own card, an edit must carry the revision it was
opened at, and the reason is held to the modal's own limit.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot import ids
from bot.listeners.acking import decide_then_ack
from bot.listeners.authorize import check_draft_click
from bot.listeners.replies import MODAL_ERROR_MAX, answering, tell_in
from services.context import AppContext
from services.drafts import flows, rules
from services.errors import ValidationFailed


def _edited_text(values: dict[str, Any]) -> str:
    """The edited text back from the modal: the parts (draft_text_0, draft_text_1…) joined in order."""
    parts = []
    for block, inputs in values.items():
        prefix, _, index = block.rpartition("_")
        if prefix == ids.DRAFT_EDIT_BLOCK and index.isascii() and index.isdigit() and isinstance(inputs, dict):
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


def _sentence(problem: ValidationFailed) -> str:
    """A field's message as a sentence for under the modal's input."""
    message = problem.errors[0].message if problem.errors else problem.detail
    return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")


def _values(view: dict[str, Any]) -> dict[str, Any]:
    return (view.get("state") or {}).get("values") or {}


async def _decide(ctx: AppContext, ack: AsyncAck, client: AsyncWebClient, body: dict[str, Any],
                  context: AsyncBoltContext,
                  meta: dict[str, Any], **decision: Any) -> None:
    draft_id, user = str(meta.get("d") or ""), body["user"]["id"]
    revision = meta.get("r")

    # The card check comes first and before the ack, so its refusal shows in the modal: until it passes, the
    # channel the metadata names is not one an answer may be posted to.
    await check_draft_click(ctx, body, context, draft_id, card=(meta.get("c"), meta.get("t")))

    async def work() -> flows.DecisionResult:
        return await asyncio.to_thread(flows.decide, ctx=ctx, draft_id=draft_id, user_id=user,
                                       revision=revision, **decision)

    result = await decide_then_ack(ack, work())
    if result.notice:  # oversight: a canary's decider learns at once that it was a test
        await tell_in(client, channel=meta.get("c"), user=user, text=f":test_tube: {result.notice}")
    elif not result.final:
        await tell_in(client, channel=meta.get("c"), user=user, text=f":ballot_box_with_check: {result.message}")


def register(app: AsyncApp, ctx: AppContext) -> None:
    @app.view(ids.DRAFT_EDIT_VIEW)
    @answering
    async def edited(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient,
                     context: AsyncBoltContext) -> None:
        view = body["view"]
        meta = _metadata(view)
        text = _edited_text(_values(view))
        first = f"{ids.DRAFT_EDIT_BLOCK}_0"
        if not isinstance(meta.get("r"), int) or isinstance(meta.get("r"), bool):
            # Without it the edited-since check is skipped: an old text could overwrite a newer edit.
            raise ValidationFailed("This form lost the revision it was opened at; press Edit on the card again.")
        try:  # the domain's rule, answered inside the modal while it is still open
            rules.check_edit(text=text, is_json=bool(meta.get("j")))
        except ValidationFailed as problem:
            await ack(response_action="errors", errors={first: _sentence(problem)[:MODAL_ERROR_MAX]})
            return
        await _decide(ctx, ack, client, body, context, meta, verdict="edit", final_body=text)

    @app.view(ids.DRAFT_REJECT_VIEW)
    @answering
    async def rejected(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient,
                       context: AsyncBoltContext) -> None:
        view = body["view"]
        reason = _reason(_values(view)).strip()
        try:  # the domain's rule, answered inside the modal while it is still open
            rules.check_request(verdict="reject", final_body=None, reason=reason)
        except ValidationFailed as problem:
            await ack(response_action="errors", errors={ids.DRAFT_REASON_BLOCK: _sentence(problem)})
            return
        await _decide(ctx, ack, client, body, context, _metadata(view), verdict="reject", reason=reason)
