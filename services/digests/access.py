"""Who may see spend in chat: `/countersign budget <agent>` and `/countersign digest` (the web app asks the same).

An agent's budget: its owner, its backups and admins (COUNTERSIGN_ADMIN_USERS), or anyone in a channel that
already receives digests (a channel with a digest schedule sees every agent's spend anyway).
A digest (every agent's spend, and an OpenAI call for its narrative): admins anywhere; in a channel with a
digest schedule, anyone who owns or backs up an agent. Refusals are audited.
"""

from __future__ import annotations

from sqlmodel import Session, select

from services.agents import service as agents
from services.agents.models import Agent
from services.audit.refusals import refuse
from services.context import AppContext
from services.digests.models import DigestSchedule
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
