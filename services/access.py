"""Who may see what in the people-facing views (the web app), decided in one place.

A person (a Slack user id) sees an agent, and everything of it (drafts, incidents, spend, audit entries), when
they own it, back it up, approve for it (by name, or through one of its approver user groups when the chat
layer can resolve them), or are an admin (COUNTERSIGN_ADMIN_USERS). Nobody else sees that the agent exists.
Deciding a draft stays the drafts domain's rule (approvers only, no self-approval); responding to an incident
is open to everyone who sees its agent, as the card reaches owner, backups and the review channel in Slack.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from services.agents.models import Agent
from services.context import AppContext
from services.directory import directory_of


@dataclass(frozen=True)
class Viewer:
    user_id: str
    groups: frozenset[str] = field(default_factory=frozenset)  # approver groups the person is a member of
    admin: bool = False


def roles(agent: Agent, viewer: Viewer) -> list[str]:
    """The person's parts in this agent, most accountable first; empty: they may not see it."""
    found = []
    if viewer.user_id == agent.owner:
        found.append("owner")
    if viewer.user_id in (agent.backup_owners or []):
        found.append("backup")
    if viewer.user_id in agent.deciders() or is_group_member(agent, viewer):
        found.append("approver")  # with no approvers named, the owner and backups decide
    if viewer.admin:
        found.append("admin")
    return found


def may_see(agent: Agent, viewer: Viewer) -> bool:
    return bool(roles(agent, viewer))


def is_group_member(agent: Agent, viewer: Viewer) -> bool:
    return bool(viewer.groups.intersection(agent.approver_groups or []))


def may_respond_to_incident(agent: Agent, viewer: Viewer) -> bool:
    """Whether the incident's page and buttons are shown: whoever sees the agent. Acting is then decided by the
    incident flows under the Slack rule (services.incidents.access: the people it was routed to, and admins)."""
    return may_see(agent, viewer)


def visible_agents(*, session: Session, viewer: Viewer) -> list[Agent]:
    return [a for a in session.exec(select(Agent).order_by(col(Agent.name))).all() if may_see(a, viewer)]


def all_approver_groups(*, ctx: AppContext) -> set[str]:
    with ctx.read() as session:
        rows = session.exec(select(Agent.approver_groups)).all()
    return {group for groups in rows for group in (groups or [])}


async def resolve_viewer(*, ctx: AppContext, user_id: str) -> Viewer:
    """The person with their admin flag and the approver groups they belong to (when resolvable)."""
    directory = directory_of(ctx)  # Slack's user groups, cached; nobody in any without Slack
    groups: set[str] = set()
    if directory.available:
        candidates = await asyncio.to_thread(all_approver_groups, ctx=ctx)
        if candidates:
            groups = set(await directory.member_of(user_id, candidates))
    return Viewer(user_id, frozenset(groups), user_id in ctx.settings.admin_users)
