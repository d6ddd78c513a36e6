"""DraftNotifier over the outbox: one card per draft under the key `draft:<id>`, edited in place."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from bot import notifier as outbox  # module access: bot.notifier imports this mixin at its top
from bot.blocks import drafts as blocks
from services.agents.models import Agent


def card_key(draft: dict[str, Any]) -> str:
    return f"draft:{draft['id']}"


def view(draft: dict[str, Any]) -> blocks.DraftView:
    return blocks.DraftView.model_validate(draft)


class DraftSlackNotifier:
    def draft_posted(self, *, session: Session, agent: Agent, draft: dict[str, Any], now: datetime) -> None:
        # No review channel: the owner reviews in a DM rather than the draft going nowhere.
        outbox.post(session, channel=agent.review_channel or agent.owner, msg=blocks.draft_card(view(draft)), now=now,
                key=card_key(draft))

    def draft_changed(self, *, session: Session, agent: Agent, draft: dict[str, Any], now: datetime) -> None:
        outbox.update(session, key=card_key(draft), msg=blocks.draft_card(view(draft)), now=now,
                      channel=agent.review_channel or agent.owner)

    def draft_reminder(self, *, session: Session, agent: Agent, draft: dict[str, Any], now: datetime) -> None:
        # In the card's thread, broadcast so the channel sees it; and the owner hears it directly (once, when the
        # card itself is in the owner's DM for want of a review channel).
        if agent.review_channel:
            reply = {**blocks.reminder(view(draft)), "reply_broadcast": True}
            outbox.post(session, channel=agent.review_channel, msg=reply, now=now, thread_key=card_key(draft))
        outbox.post(session, channel=agent.owner, msg=blocks.owner_reminder(view(draft)), now=now)
