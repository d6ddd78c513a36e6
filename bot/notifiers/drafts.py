"""DraftNotifier over the outbox: one card per draft under the key `draft:<id>`, edited in place."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from bot.blocks import drafts as blocks
from bot.notifiers import outbox
from services.agents.models import Agent
from services.drafts.models import DraftCard, draft_key, stage_card_key
from services.outbox.service import posting, slack_message


def card_key(draft: DraftCard) -> str:
    return draft_key(draft.id)


def stage_channel(agent: Agent, draft: DraftCard, stage: int) -> str:
    """A stage's own channel, else the review channel, else the owner's DM (rather than nowhere)."""
    own = draft.stages[stage].channel if stage < len(draft.stages) else None
    return own or agent.review_channel or agent.owner


class DraftSlackNotifier:
    def draft_posted(self, *, session: Session, agent: Agent, draft: DraftCard, now: datetime) -> None:
        # No review channel: the owner reviews in a DM rather than the draft going nowhere.
        outbox.post(session, channel=stage_channel(agent, draft, 0), msg=blocks.draft_card(draft, 0), now=now,
                key=card_key(draft))

    def draft_changed(self, *, session: Session, agent: Agent, draft: DraftCard, now: datetime) -> None:
        # Every stage's card so far: the open one shows the change, earlier ones where the draft went.
        for stage in range(draft.stage_index + 1):
            outbox.update(session, key=stage_card_key(draft.id, stage), msg=blocks.draft_card(draft, stage), now=now,
                          channel=stage_channel(agent, draft, stage))

    def draft_stage_opened(self, *, session: Session, agent: Agent, draft: DraftCard, now: datetime) -> None:
        stage = draft.stage_index
        outbox.post(session, channel=stage_channel(agent, draft, stage), msg=blocks.draft_card(draft, stage),
                    now=now, key=stage_card_key(draft.id, stage))

    def draft_assigned(self, *, session: Session, agent: Agent, draft: DraftCard, to: str, now: datetime) -> None:
        # The card itself, buttons and all, in the assignee's DM: it is theirs to decide now.
        outbox.post(session, channel=to, msg=blocks.draft_card(draft, draft.stage_index), now=now,
                    key=f"{stage_card_key(draft.id, draft.stage_index)}:to:{to}")

    def draft_escalated(self, *, session: Session, agent: Agent, draft: DraftCard, to: str, now: datetime) -> None:
        # Waiting past its SLA: the card with its buttons, by DM (once per person per stage; later steps remind).
        key = f"{stage_card_key(draft.id, draft.stage_index)}:to:{to}"
        if slack_message(session=session, key=key) is None and not posting(session=session, key=key):
            outbox.post(session, channel=to, msg=blocks.draft_card(draft, draft.stage_index), now=now, key=key)
        else:
            outbox.post(session, channel=to, msg=blocks.reminder(draft), now=now, thread_key=key)

    def draft_reminder(self, *, session: Session, agent: Agent, draft: DraftCard, to: list[str], broadcast: bool,
                       now: datetime) -> None:
        # `broadcast`: in the card's thread, broadcast so the channel sees it; each of `to` hears it directly
        # (the owner as the agent's owner, a claimer as the one working on it).
        if broadcast and agent.review_channel:
            reply = {**blocks.reminder(draft), "reply_broadcast": True}
            outbox.post(session, channel=agent.review_channel, msg=reply, now=now, thread_key=card_key(draft))
        for person in to:
            msg = blocks.owner_reminder(draft) if person == agent.owner else blocks.claimer_reminder(draft)
            outbox.post(session, channel=person, msg=msg, now=now)
