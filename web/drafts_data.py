"""What the inbox and a draft's page show, gathered in one read transaction each (run in a worker thread)."""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session

from services import access
from services.access import Viewer
from services.agents.models import Agent
from services.audit.queries import trail
from services.context import AppContext
from services.drafts import queries, rules, service
from services.drafts.models import Draft, DraftCard, card
from services.outbox.queries import callbacks


@dataclass(frozen=True)
class DraftRow:
    """One row of a list: the draft as Slack draws it too (a DraftCard), and what it is to this viewer."""

    draft: DraftCard
    mine: bool  # this person asked for it
    voted: bool  # this person's approval stands beside the open stage's count ("1 of 2 approvals")


def rows(session: Session, found: list[tuple[Draft, Agent]], viewer: Viewer) -> list[DraftRow]:
    """The rows of a list, their approvals read in one query."""
    votes = service.votes_of_drafts(session=session, draft_ids=[d.id for d, _ in found])
    made = []
    for draft, agent in found:
        shown = card(draft, agent_name=agent.name, votes=votes[draft.id])
        made.append(DraftRow(draft=shown, mine=draft.requested_by == viewer.user_id,
                             voted=bool(draft.approvals) and viewer.user_id in shown.approved_by))
    return made


def inbox(ctx: AppContext, viewer: Viewer) -> dict[str, Any]:
    with ctx.read() as session:
        mine = service.pending_for(session=session, user_id=viewer.user_id, groups=set(viewer.groups), limit=200)
        visible = access.visible_agents(session=session, viewer=viewer)
        ids = {d.id for d, _ in mine}
        watching = [(d, a) for d, a in queries.pending_of(session=session, agents=visible) if d.id not in ids]
        return {"drafts": rows(session, mine, viewer), "watching": rows(session, watching, viewer),
                "recent": rows(session, queries.recent_decided(session=session, agents=visible, limit=15), viewer),
                "agents": len(visible)}


def readable(text: str | None, is_json: bool) -> str:
    """The text as a person should read it: JSON pretty-printed when it parses."""
    if text is None or not is_json:
        return text or ""
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        return text


def diff_lines(before: str, after: str) -> list[tuple[str, str]]:
    """(kind, line) pairs of a unified diff: kind is add, del, hunk or same."""
    lines = []
    for line in list(difflib.unified_diff(before.splitlines(), after.splitlines(), "agent", "edited", lineterm=""))[2:]:
        kind = {"+": "add", "-": "del", "@": "hunk"}.get(line[:1], "same")
        lines.append((kind, line))
    return lines


@dataclass(frozen=True)
class DraftPage:
    draft: DraftCard
    agent: Agent
    text: str  # under review now (the latest edit if any), readable
    diff: list[tuple[str, str]]
    votes: list[str]
    callbacks: list[Any]
    trail: list[Any]
    roles: list[str]
    may_decide: bool  # the drafts domain's rule (approvers, groups, never the requester), for this person
    neighbours: dict[str, str | None] = field(default_factory=dict)


def visible_draft(ctx: AppContext, viewer: Viewer, draft_id: str) -> tuple[Draft, Agent] | None:
    with ctx.read() as session:
        found = queries.with_agent(session=session, draft_id=draft_id)
    if found is None or not access.may_see(found[1], viewer):
        return None
    return found


def draft_page(ctx: AppContext, viewer: Viewer, draft_id: str) -> DraftPage | None:
    """Everything on a draft's page, or None when there is no such draft this person may see."""
    with ctx.read() as session:
        found = queries.with_agent(session=session, draft_id=draft_id)
        if found is None or not access.may_see(found[1], viewer):
            return None
        draft, agent = found
        shown = card(draft, agent_name=agent.name, votes=service.votes_of(session=session, draft_id=draft.id))
        original = readable(draft.body, draft.body_is_json)
        text = readable(draft.current_text, draft.body_is_json)
        order = [d.id for d, _ in service.pending_for(session=session, user_id=viewer.user_id,
                                                      groups=set(viewer.groups), limit=200)]
        return DraftPage(
            draft=shown, agent=agent, text=text, diff=diff_lines(original, text) if text != original else [],
            votes=shown.approved_by, callbacks=callbacks(session=session, order_key=f"callback:{draft.card_key}"),
            trail=trail(session=session, subject=draft.card_key), roles=access.roles(agent, viewer),
            may_decide=rules.may_decide(agent=agent, draft=draft, user_id=viewer.user_id, groups=viewer.groups),
            neighbours=_neighbours(order, draft.id))


def _neighbours(order: list[str], draft_id: str) -> dict[str, str | None]:
    """The previous and next draft of the person's inbox, for j/k and the links beside the title."""
    if draft_id not in order:
        return {"prev": None, "next": order[0] if order else None}
    at = order.index(draft_id)
    return {"prev": order[at - 1] if at > 0 else None, "next": order[at + 1] if at + 1 < len(order) else None}
