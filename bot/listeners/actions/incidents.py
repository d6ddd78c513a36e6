"""Incident card buttons: acknowledge, resolve (opens a modal), snooze, pause the agent, a halted run's choice;
and a storm card's (services.incidents.storms): acknowledge all, pause the agent.

State-changing handlers commit the change in a thread, then ack (bot.listeners.acking); the card redraws itself
through the outbox. Every button must be on one of the incident's own cards, pressed by someone it was routed
to (services.incidents.access). Refusals (already acted on, not allowed) are raised and answered by
bot.listeners.replies.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot import ids
from bot.blocks import incidents as blocks
from bot.listeners.acking import decide_then_ack
from bot.listeners.authorize import clicked_at, incident_reach, storm_reach
from bot.listeners.replies import answering, tell
from services.context import AppContext
from services.errors import field_error
from services.incidents import access, flows, people, storm_flows
from services.runs import flows as run_flows

SNOOZE = re.compile(rf"^{ids.INCIDENT_SNOOZE_PREFIX}(\d+)$")
HALT = re.compile(rf"^{ids.RUN_HALT_PREFIX}(resume|abort|handoff)$")


def clicked(body: dict[str, Any]) -> tuple[int, str, str]:
    """(incident id, user id, action id) from a block_actions payload."""
    action = body["actions"][0]
    value = action.get("value") or ""
    if not (value.isascii() and value.isdigit() and len(value) < 19):
        raise field_error("value", "this button does not name an incident")
    return int(value), body["user"]["id"], action["action_id"]


def register(app: AsyncApp, ctx: AppContext) -> None:
    async def reach(body: dict[str, Any], context: AsyncBoltContext, incident_id: int) -> access.Reach:
        return await incident_reach(ctx, body, context, incident_id, card=clicked_at(body))

    @app.action(ids.INCIDENT_ACK)
    @answering
    async def acknowledge(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient,
                          context: AsyncBoltContext) -> None:
        async def work() -> None:
            incident_id, user, _ = clicked(body)
            found = await reach(body, context, incident_id)
            await asyncio.to_thread(flows.acknowledge, ctx=ctx, incident_id=incident_id, user=user, reach=found)

        await decide_then_ack(ack, work())

    @app.action(ids.INCIDENT_RESOLVE)
    @answering
    async def resolve(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient,
                      context: AsyncBoltContext) -> None:
        await ack()
        incident_id, user, _ = clicked(body)
        found = await reach(body, context, incident_id)
        # Refused before the modal opens, so a stranger is not shown a form they can't submit.
        await asyncio.to_thread(access.require_may_act, ctx=ctx, incident_id=incident_id, user=user,
                                action="resolve", reach=found)
        channel, ts = clicked_at(body)
        summary = (body.get("message") or {}).get("text", "")
        await client.views_open(trigger_id=body["trigger_id"],
                                view=blocks.resolve_modal(incident_id, summary, channel=channel, ts=ts))

    @app.action(SNOOZE)
    @answering
    async def snooze(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient,
                     context: AsyncBoltContext) -> None:
        async def work() -> None:
            incident_id, user, action_id = clicked(body)
            seconds = int(SNOOZE.match(action_id).group(1))  # type: ignore[union-attr]
            found = await reach(body, context, incident_id)
            await asyncio.to_thread(flows.snooze, ctx=ctx, incident_id=incident_id, user=user, seconds=seconds,
                                    reach=found)

        await decide_then_ack(ack, work())

    @app.action(ids.INCIDENT_PAUSE)
    @answering
    async def pause(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient,
                    context: AsyncBoltContext) -> None:
        async def work() -> tuple[str, bool]:
            incident_id, user, _ = clicked(body)
            await reach(body, context, incident_id)  # the card check; pausing itself is for owners and admins
            return await asyncio.to_thread(people.pause_from_incident, ctx=ctx, incident_id=incident_id, user=user)

        name, changed = await decide_then_ack(ack, work())
        await tell(respond, f":double_vertical_bar: Paused *{name}*: its writes are refused until someone resumes "
                   "it." if changed else f"*{name}* was already paused.")

    @app.action(HALT)
    @answering
    async def halt_choice(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient,
                          context: AsyncBoltContext) -> None:
        choice = HALT.match(body["actions"][0]["action_id"]).group(1)  # type: ignore[union-attr]

        async def work() -> None:
            incident_id, user, _ = clicked(body)
            await reach(body, context, incident_id)
            await asyncio.to_thread(run_flows.decide_halt, ctx=ctx, incident_id=incident_id, choice=choice, user=user)

        await decide_then_ack(ack, work())
        await tell(respond, f"Sent *{blocks.HALT_LABELS.get(choice, choice)}* to the agent.")

    async def on_storm(body: dict[str, Any], context: AsyncBoltContext) -> tuple[int, str]:
        """(storm id, user) of a click that is on one of the storm's cards; a stranger is let through here and
        refused by the flow (the domain's rule, audited)."""
        storm_id, user, _ = clicked(body)
        await storm_reach(ctx, body, context, storm_id, card=clicked_at(body))
        return storm_id, user

    @app.action(ids.STORM_ACK_ALL)
    @answering
    async def acknowledge_all(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient,
                              context: AsyncBoltContext) -> None:
        async def work() -> storm_flows.AckAll:
            storm_id, user, _ = clicked(body)
            found = await storm_reach(ctx, body, context, storm_id, card=clicked_at(body))
            return await asyncio.to_thread(storm_flows.acknowledge_all, ctx=ctx, storm_id=storm_id, user=user,
                                           reach=found)

        done = await decide_then_ack(ack, work())
        await tell(respond, blocks.storm_acknowledged(acknowledged=done.acknowledged, already=done.already,
                                                      refused=done.refused))

    @app.action(ids.STORM_PAUSE)
    @answering
    async def pause_from_storm(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient,
                               context: AsyncBoltContext) -> None:
        async def work() -> tuple[str, bool]:
            storm_id, user = await on_storm(body, context)
            return await asyncio.to_thread(storm_flows.pause_agent, ctx=ctx, storm_id=storm_id, user=user)

        name, changed = await decide_then_ack(ack, work())
        await tell(respond, f":double_vertical_bar: Paused *{name}*: its writes are refused until someone resumes "
                   "it." if changed else f"*{name}* was already paused.")
