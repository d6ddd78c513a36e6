"""The resolve modal's submission: resolve with the note, or show why not inside the modal."""

from __future__ import annotations

import asyncio
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot import ids
from services.context import AppContext
from services.errors import CountersignError
from services.incidents import flows


def register(app: AsyncApp, ctx: AppContext) -> None:
    @app.view(ids.INCIDENT_RESOLVE_VIEW)
    async def resolve(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        values = view.get("state", {}).get("values", {})
        note = (values.get(ids.INCIDENT_NOTE_BLOCK, {}).get(ids.INCIDENT_NOTE_INPUT, {}).get("value") or "").strip()
        try:
            incident_id = int(view.get("private_metadata") or "")
        except ValueError:
            await ack(response_action="errors", errors={ids.INCIDENT_NOTE_BLOCK: "This form lost its incident."})
            return
        # The resolve is one quick UPDATE, so it runs before the ack: a refusal can then show in the modal.
        try:
            await asyncio.to_thread(flows.resolve, ctx=ctx, incident_id=incident_id, user=body["user"]["id"],
                                    note=note or None)
        except CountersignError as exc:
            await ack(response_action="errors", errors={ids.INCIDENT_NOTE_BLOCK: exc.detail[:150]})
            return
        await ack()
