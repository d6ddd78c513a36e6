"""A stored draft's card data, and recording a created draft: shared by every create path (the API's fast
path, `flows.create_draft`, oversight's canaries) and by everything that redraws a card."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from services.agents.models import Agent
from services.audit.service import Actor, record
from services.context import AppContext
from services.drafts import service
from services.drafts.models import Draft, DraftCard, card
from services.drafts.routing import Route
from services.outbox.service import slack_message


def card_data(session: Session, draft: Draft, agent: Agent, *, fresh: bool = False,
              where: bool = False) -> DraftCard:
    """The public draft plus what only the card needs: the text under review, whether it is JSON.
    `fresh`: a draft just stored has no votes, so there is nothing to look up. `where`: say where its card
    was posted (for a message that links to it)."""
    votes = [] if fresh else service.votes_of(session=session, draft_id=draft.id)
    posted = slack_message(session=session, key=draft.card_key) if where else None
    return card(draft, agent_name=agent.name, votes=votes, card_channel=posted.channel if posted else None,
                card_ts=posted.ts if posted else None)


def record_created(*, session: Session, ctx: AppContext, agent: Agent, draft: Draft, route: Route,
                   now: datetime) -> DraftCard | None:
    """Everything a stored draft brings, on every create path (services.drafts.create's, `flows.create_draft` and
    oversight's canaries): the row, `draft.created`, its card (for review) and its audit entry. Returns the card
    data, None when auto. A canary publishes nothing: no spend or model change derives from oversight's test."""
    session.add(draft)
    session.flush()
    if not draft.is_canary:
        ctx.events.publish("draft.created", session=session, ctx=ctx, agent=agent, draft=draft)
    posted = None
    if route.mode == "review":
        posted = card_data(session, draft, agent, fresh=True)
        ctx.notifier.draft_posted(session=session, agent=agent, draft=posted, now=now)
    # A plain INSERT in this transaction: no lock is taken; the sealer job chains the entry after it commits.
    record(session=session, actor=Actor.agent(agent.name), verb="draft.created", subject=draft.card_key, now=now,
           details={"action": draft.action, "route": route.mode, "reasons": route.reasons,
                    "approvals_required": draft.approvals_required})
    return posted
