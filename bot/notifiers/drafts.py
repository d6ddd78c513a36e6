"""DraftNotifier over the outbox: one card per draft under the key `draft:<id>`, edited in place."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from bot.blocks import drafts as blocks
from bot.notifiers import outbox
from services.agents.models import Agent
from services.drafts.models import DraftCard, draft_key


def card_key(draft: DraftCard) -> str:
    return draft_key(draft.id)


class DraftSlackNotifier:
    def draft_posted(self, *, session: Session, agent: Agent, draft: DraftCard, now: datetime) -> None:
        # No review channel: the owner reviews in a DM rather than the draft going nowhere.
        outbox.post(session, channel=agent.review_channel or agent.owner, msg=blocks.draft_card(draft), now=now,
                key=card_key(draft))

    def draft_changed(self, *, session: Session, agent: Agent, draft: DraftCard, now: datetime) -> None:
        outbox.update(session, key=card_key(draft), msg=blocks.draft_card(draft), now=now,
                      channel=agent.review_channel or agent.owner)

    def draft_reminder(self, *, session: Session, agent: Agent, draft: DraftCard, now: datetime) -> None:
        # In the card's thread, broadcast so the channel sees it; and the owner hears it directly (once, when the
        # card itself is in the owner's DM for want of a review channel).
        if agent.review_channel:
            reply = {**blocks.reminder(draft), "reply_broadcast": True}
            outbox.post(session, channel=agent.review_channel, msg=reply, now=now, thread_key=card_key(draft))
        outbox.post(session, channel=agent.owner, msg=blocks.owner_reminder(draft), now=now)
