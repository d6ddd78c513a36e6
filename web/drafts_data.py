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
from services.drafts import queries, rules, service, stages
from services.drafts.models import Draft, DraftCard, card
from services.outbox.queries import callbacks


def summary(session: Session, draft: Draft, agent: Agent, viewer: Viewer) -> dict[str, Any]:
    """One row of a list: the facts a reviewer scans before opening a draft."""
    voters = service.approvers_of(session=session, draft_id=draft.id) if draft.approvals else []
    return {"id": draft.id, "agent": agent.name, "action": draft.action, "title": draft.title,
            "status": draft.status, "cost_usd": draft.cost_usd, "confidence": draft.confidence,
            "created_at": draft.created_at, "expires_at": draft.expires_at, "decided_at": draft.decided_at,
            "decided_by": list(draft.decided_by or []), "high_risk": draft.high_risk,
            "approvals": draft.approvals, "approvals_required": draft.approvals_required,
            "mine": draft.requested_by == viewer.user_id, "voted": viewer.user_id in voters,
            "stage": stages.open_stage(draft)["name"], "stage_label": stages.label(draft),
            "claimed_by": draft.claimed_by, "stage_opened": stages.open_stage(draft).get("opened_at"),
            "sla_s": stages.open_stage(draft).get("sla_s")}


def inbox(ctx: AppContext, viewer: Viewer) -> dict[str, Any]:
    with ctx.read() as session:
        mine = service.pending_for(session=session, user_id=viewer.user_id, groups=set(viewer.groups), limit=200)
        visible = access.visible_agents(session=session, viewer=viewer)
        ids = {d.id for d, _ in mine}
        watching = [(d, a) for d, a in queries.pending_of(session=session, agents=visible) if d.id not in ids]
        return {"drafts": [summary(session, d, a, viewer) for d, a in mine],
                "watching": [summary(session, d, a, viewer) for d, a in watching],
                "recent": [summary(session, d, a, viewer)
                           for d, a in queries.recent_decided(session=session, agents=visible, limit=15)],
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
