"""What people and agents list: the pending drafts a person may decide (`/countersign pending`, App Home), each
saying where its card is, and pages of drafts (`GET /v1/drafts`, `countersign drafts list`). Read-only."""

from __future__ import annotations

from sqlmodel import col, select

from services import directory
from services.agents.models import Agent
from services.context import AppContext
from services.db import require_id
from services.drafts import listing, service, stages
from services.drafts.models import PENDING, Draft, DraftCard, DraftList, card
from services.outbox.service import slack_message


def pending_for(*, ctx: AppContext, user_id: str) -> list[DraftCard]:
    """The pending drafts this person may decide, oldest first, each saying where its card was posted (the chat
    layer draws the link). Their approver groups are asked of the directory here."""
    with ctx.read() as session:
        candidates = service.groups_with_pending(session=session)
    groups = directory.groups_of(ctx, user_id, candidates)
    with ctx.read() as session:
        rows = service.pending_for(session=session, user_id=user_id, groups=groups)
        found = []
        for d, a in rows:
            posted = slack_message(session=session, key=d.card_key)
            found.append(card(d, agent_name=a.name, votes=service.votes_of(session=session, draft_id=d.id),
                              card_channel=posted.channel if posted else None, card_ts=posted.ts if posted else None))
        return found


def list_drafts(*, ctx: AppContext, agent: Agent | None, status: str | None = None, action: str | None = None,
                limit: int = listing.DEFAULT_LIMIT, cursor: str | None = None) -> DraftList:
    """`GET /v1/drafts` (one agent's) and `countersign drafts list` (agent None: every agent's), newest first:
    a DraftList. Read-only: never waits for the writer."""
    with ctx.read() as session:
        agents = {require_id(a.id, "agent"): a for a in ([agent] if agent else session.exec(select(Agent)))}
        rows, next_cursor = listing.page(session=session, agent_ids=list(agents) if agent else None,
                                         status=status, action=action, limit=limit, cursor=cursor)
        return DraftList(data=listing.as_public(session=session, drafts=rows, agents=agents), next_cursor=next_cursor)


def who_decides(*, ctx: AppContext, draft_ids: list[str]) -> dict[str, list[str]]:
    """For each pending draft of `draft_ids`, who may decide its open stage now: people, then `group S…`."""
    with ctx.read() as session:
        rows = session.exec(select(Draft, Agent).join(Agent, col(Agent.id) == col(Draft.agent_id)).where(
            col(Draft.id).in_(draft_ids), Draft.status == PENDING)).all()
        found = {}
        for draft, agent in rows:
            people, groups = stages.deciders(agent, stages.open_stage(draft))
            found[draft.id] = people + [f"group {g}" for g in groups]
        return found
