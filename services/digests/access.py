"""Who may see spend in chat: `/countersign budget <agent>` and `/countersign digest` (the web app asks the same).

An agent's budget: its owner, its backups and admins (COUNTERSIGN_ADMIN_USERS), or anyone in a channel that
already receives digests (a channel with a digest schedule sees every agent's spend anyway).
A digest (every agent's spend, and an OpenAI call for its narrative): admins anywhere; in a channel with a
digest schedule, anyone who owns or backs up an agent. Refusals are audited.
Reading a digest in the web app: every agent's, admins; one agent's, whoever sees that agent (services.access:
owner, backups, approvers, admins), as on its spend page.
"""

from __future__ import annotations

from sqlmodel import Session, select

from services import access
from services.access import Viewer
from services.agents import service as agents
from services.agents.models import Agent
from services.audit.refusals import refuse
from services.context import AppContext
from services.digests.models import DigestSchedule
from services.errors import NotFound
from services.spend import service as spend


def has_schedule(*, session: Session, channel: str | None) -> bool:
    if not channel:
        return False
    return session.exec(select(DigestSchedule.id).where(DigestSchedule.channel == channel).limit(1)).first() is not None


def _accountable(agent: Agent, user: str) -> bool:
    return user == agent.owner or user in (agent.backup_owners or [])


def require_may_see_budget(*, ctx: AppContext, agent_name: str, user: str, channel: str | None) -> None:
    with ctx.read() as session:
        agent = agents.require_agent(session=session, name=agent_name)
        allowed = (_accountable(agent, user) or user in ctx.settings.admin_users
                   or has_schedule(session=session, channel=channel))
    if not allowed:
        raise refuse(ctx=ctx, user=user, verb="budget.view_refused", subject=f"agent:{agent_name}",
                     details={"channel": channel},
                     why=f"Sorry, only {agent_name}'s owner, its backup owners or an admin can see its budget "
                         "(or anyone, in a channel that gets digests).")


def require_may_request_digest(*, ctx: AppContext, user: str, channel: str | None) -> None:
    if user in ctx.settings.admin_users:
        return
    with ctx.read() as session:
        scheduled = has_schedule(session=session, channel=channel)
        owns = bool(spend.agents_owned_by(session=session, user_id=user))
    if not (scheduled and owns):
        raise refuse(ctx=ctx, user=user, verb="digest.refused", subject=f"channel:{channel}",
                     details={"channel": channel},
                     why="Sorry, a digest shows every agent's spend: admins can post one anywhere, and owners or "
                         "backup owners of an agent in a channel that already gets digests.")


def require_may_read_digest(*, ctx: AppContext, viewer: Viewer, agent_name: str | None) -> None:
    """`agent_name` None: every agent's digest. An agent the person does not see reads as missing."""
    if viewer.admin:
        return
    if agent_name is None:
        raise refuse(ctx=ctx, user=viewer.user_id, verb="digest.view_refused", subject="digest:all",
                     why="Sorry, the digest of every agent is for admins; pick one of your agents.")
    with ctx.read() as session:
        agent = agents.get_agent_by_name(session=session, name=agent_name)
        allowed = agent is not None and access.may_see(agent, viewer)
    if not allowed:
        raise refuse(ctx=ctx, user=viewer.user_id, verb="digest.view_refused", subject=f"agent:{agent_name[:63]}",
                     why="", error=NotFound(f"no agent named {agent_name[:63]!r} that you have a part in"))
