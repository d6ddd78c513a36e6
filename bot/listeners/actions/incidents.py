"""Incident card buttons: acknowledge, resolve (opens a modal), snooze, pause the agent, a halted run's choice.

Each handler acks first, then does the database work in a thread; the card redraws itself through the outbox.
Refusals (already acted on, not allowed) reach the clicker as an ephemeral via the app's error handler.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot import ids
from bot.blocks import incidents as blocks
from bot.listeners.acking import decide_then_ack
from services.context import AppContext
from services.errors import field_error
from services.incidents import flows, people
from services.runs import flows as run_flows

SNOOZE = re.compile(rf"^{ids.INCIDENT_SNOOZE_PREFIX}(\d+)$")
HALT = re.compile(rf"^{ids.RUN_HALT_PREFIX}(resume|abort|handoff)$")


def clicked(body: dict[str, Any]) -> tuple[int, str, str]:
    """(incident id, user id, action id) from a block_actions payload."""
    action = body["actions"][0]
    try:
        incident_id = int(action.get("value") or "")
    except ValueError:
        raise field_error("value", "this button does not name an incident") from None
    return incident_id, body["user"]["id"], action["action_id"]


async def say(respond: AsyncRespond, text: str) -> None:
    await respond(response_type="ephemeral", replace_original=False, text=text)


def register(app: AsyncApp, ctx: AppContext) -> None:
    @app.action(ids.INCIDENT_ACK)
    async def acknowledge(ack: AsyncAck, body: dict[str, Any]) -> None:
        async def work() -> None:
            incident_id, user, _ = clicked(body)
            await asyncio.to_thread(flows.acknowledge, ctx=ctx, incident_id=incident_id, user=user)

        await decide_then_ack(ack, work())

    @app.action(ids.INCIDENT_RESOLVE)
    async def resolve(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        incident_id, _, _ = clicked(body)
        await client.views_open(trigger_id=body["trigger_id"], view=blocks.resolve_modal(incident_id, (body.get("message") or {}).get("text", "")))

    @app.action(SNOOZE)
    async def snooze(ack: AsyncAck, body: dict[str, Any]) -> None:
        async def work() -> None:
            incident_id, user, action_id = clicked(body)
            seconds = int(SNOOZE.match(action_id).group(1))  # type: ignore[union-attr]
            await asyncio.to_thread(flows.snooze, ctx=ctx, incident_id=incident_id, user=user, seconds=seconds)

        await decide_then_ack(ack, work())

    @app.action(ids.INCIDENT_PAUSE)
    async def pause(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        async def work() -> tuple[str, bool]:
            incident_id, user, _ = clicked(body)
            return await asyncio.to_thread(people.pause_from_incident, ctx=ctx, incident_id=incident_id, user=user)

        name, changed = await decide_then_ack(ack, work())
        await say(respond, f":double_vertical_bar: Paused *{name}*: its writes are refused until someone resumes it."
                  if changed else f"*{name}* was already paused.")

    @app.action(HALT)
    async def halt_choice(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        choice = HALT.match(body["actions"][0]["action_id"]).group(1)  # type: ignore[union-attr]

        async def work() -> None:
            incident_id, user, _ = clicked(body)
            await asyncio.to_thread(run_flows.decide_halt, ctx=ctx, incident_id=incident_id, choice=choice, user=user)

        await decide_then_ack(ack, work())
        await say(respond, f"Sent *{blocks.HALT_LABELS.get(choice, choice)}* to the agent.")
