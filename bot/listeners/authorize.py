"""What only Slack can tell, checked one way for every listener: the workspace a request came from, the card a
click was on, and whether a person is in a user group or a channel. Who may act is the domain's rule
(services/drafts, services/incidents/access); this module only gathers the facts it needs from Slack.
A click from another workspace or off the card is refused and audited (`slack.click_refused`).
"""

from __future__ import annotations

import asyncio
from typing import Any

from services.audit.refusals import refuse
from services.context import AppContext
from services.directory import directory_of
from services.drafts import cards
from services.drafts.models import draft_key
from services.incidents import access, storm_flows

CLICK_REFUSED = "slack.click_refused"


def clicked_at(body: dict[str, Any]) -> tuple[str | None, str | None]:
    """(channel, message ts) of the message a button was on."""
    container = body.get("container") or {}
    return container.get("channel_id") or (body.get("channel") or {}).get("id"), container.get("message_ts")


def _refuse_click(ctx: AppContext, body: dict[str, Any], subject: str, why: str) -> Exception:
    channel, ts = clicked_at(body)
    return refuse(ctx=ctx, user=body["user"]["id"], verb=CLICK_REFUSED, subject=subject, why=why,
                  details={"channel": channel, "ts": ts, "team": _team(body)})


def _team(body: dict[str, Any]) -> str | None:
    return (body.get("team") or {}).get("id") or (body.get("user") or {}).get("team_id")


async def _check_workspace(ctx: AppContext, body: dict[str, Any], context: Any, subject: str, what: str) -> None:
    ours = getattr(getattr(context, "authorize_result", None), "team_id", None)
    team = _team(body)
    if team and ours and team != ours:
        raise await asyncio.to_thread(_refuse_click, ctx, body, subject,
                                      f"this request comes from another Slack workspace, so it can't {what}")


CARD_RECORD_WAIT_S = 2.0  # within the ack budget, leaving a modal's trigger (3 s) time to open


async def check_draft_click(ctx: AppContext, body: dict[str, Any], context: Any, draft_id: str, *,
                            card: tuple[str | None, str | None]) -> None:
    """The request comes from our workspace and from the draft's own card (`card`: where the button was, or the
    card a modal says it was opened from); a payload naming another channel or message decides nothing. Who may
    decide is the drafts flow's rule, settled when the listener calls it."""
    who = await asyncio.to_thread(cards.deciders, ctx=ctx, draft_id=draft_id)
    subject = draft_key(draft_id)
    await _check_workspace(ctx, body, context, subject, "decide this draft")
    # Slack shows the card the moment it is posted; the outbox records where it landed a moment later (seconds on
    # a busy host). A click in between waits for that record rather than being refused as coming from elsewhere.
    loop = asyncio.get_running_loop()
    deadline = loop.time() + CARD_RECORD_WAIT_S
    while who.card_posting and card[1] is not None and loop.time() < deadline:
        await asyncio.sleep(0.05)
        who = await asyncio.to_thread(cards.deciders, ctx=ctx, draft_id=draft_id)
    if card in who.earlier_cards:
        raise await asyncio.to_thread(_refuse_click, ctx, body, subject,
                                      f"this card's stage has already passed; the draft is now at {who.stage_label}, "
                                      "so decide it on that stage's card")
    if card != (who.card_channel, who.card_ts) and card not in who.also_cards:
        raise await asyncio.to_thread(_refuse_click, ctx, body, subject,
                                      "this button is not on the draft's card, so it can't decide it")


async def incident_reach(ctx: AppContext, body: dict[str, Any], context: Any, incident_id: int, *,
                         card: tuple[str | None, str | None] | None) -> access.Reach:
    """The request comes from our workspace and from one of the incident's own cards (`card`: where the click
    or the modal's button was); returns the routed groups and channels the person is in."""
    route = await asyncio.to_thread(access.routing, ctx=ctx, incident_id=incident_id)
    return await _reach(ctx, body, context, route, f"incident:{incident_id}", card=card, what="incident")


async def storm_reach(ctx: AppContext, body: dict[str, Any], context: Any, storm_id: int, *,
                      card: tuple[str | None, str | None]) -> access.Reach:
    """As incident_reach, for a storm card: routed as the storm's lead, clicked on one of the storm's cards."""
    route = await asyncio.to_thread(storm_flows.routing, ctx=ctx, storm_id=storm_id)
    return await _reach(ctx, body, context, route, f"incident_storm:{storm_id}", card=card, what="storm")


async def _reach(ctx: AppContext, body: dict[str, Any], context: Any, route: access.Routing, subject: str, *,
                 card: tuple[str | None, str | None] | None, what: str) -> access.Reach:
    await _check_workspace(ctx, body, context, subject, f"act on this {what}")
    if card is not None and card not in route.cards:
        raise await asyncio.to_thread(_refuse_click, ctx, body, subject,
                                      f"this button is not on one of the {what}'s cards, so it can't act on it")
    user = body["user"]["id"]
    found = directory_of(ctx)
    if user in route.people or not found.available:
        return access.Reach()
    groups, channels = await asyncio.gather(found.member_of(user, route.groups),
                                            found.in_channels(user, route.channels))
    return access.Reach(frozenset(groups), frozenset(channels))
