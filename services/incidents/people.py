"""Who is accountable, from Slack: pause and resume by the people allowed to, hand ownership over, and the
open incidents a person owns or backs up. Refusals are Forbidden with a sentence fit to show the person, and
audited (services.audit.refusals)."""

from __future__ import annotations

from sqlmodel import Session

from services.agents import flows as agent_flows
from services.agents import service as agents
from services.agents.models import Agent, AgentUpdate
from services.audit.refusals import refuse
from services.audit.service import Actor
from services.context import AppContext
from services.db import require_id
from services.errors import CountersignError, Forbidden, field_error
from services.incidents import flows, service
from services.incidents.models import Accountability, Incident
from services.people import service as away


def _may_pause(ctx: AppContext, session: Session, agent: Agent, user: str, doing: str) -> Forbidden | None:
    """Why `user` may not pause or resume the agent (None: they may). The caller leaves its transaction, then
    raises `_refused(...)`, so the refusal is audited in a transaction of its own."""
    admins, now = ctx.settings.admin_users, ctx.clock.now()
    acting_as = [user, *away.stands_in_for(session=session, user_id=user, now=now)]  # a delegate acts as they could
    if any(agents.may_pause(agent=agent, user_id=who, admins=admins) for who in acting_as):
        return None
    return Forbidden(f"Sorry, only {agent.name}'s owner, its backup owners or an admin can {doing} it.")


def _refused(ctx: AppContext, refusal: Forbidden, *, user: str, verb: str, subject: str) -> CountersignError:
    return refuse(ctx=ctx, user=user, verb=verb, subject=subject, why=refusal.detail)


def pause(*, ctx: AppContext, agent_name: str, user: str, reason: str | None) -> bool:
    with ctx.uow() as session:
        agent = agents.require_agent(session=session, name=agent_name)
        refusal = _may_pause(ctx, session, agent, user, "pause")
        if refusal is None:
            return agent_flows.pause_agent(session=session, ctx=ctx, agent=agent, actor=Actor.slack_user(user),
                                           reason=reason)
    raise _refused(ctx, refusal, user=user, verb="agent.pause_refused", subject=f"agent:{agent_name}")


def resume(*, ctx: AppContext, agent_name: str, user: str) -> bool:
    with ctx.uow() as session:
        agent = agents.require_agent(session=session, name=agent_name)
        refusal = _may_pause(ctx, session, agent, user, "resume")
        if refusal is None:
            return agent_flows.resume_agent(session=session, ctx=ctx, agent=agent, actor=Actor.slack_user(user))
    raise _refused(ctx, refusal, user=user, verb="agent.resume_refused", subject=f"agent:{agent_name}")


def pause_from_incident(*, ctx: AppContext, incident_id: int, user: str) -> tuple[str, bool]:
    """The card's Pause agent button: returns the agent's name and whether this click paused it."""
    with ctx.uow() as session:
        incident = service.require(session=session, incident_id=incident_id)
        agent = session.get(Agent, incident.agent_id)
        if agent is None:
            raise field_error("agent", f"the agent of incident #{incident_id} no longer exists")
        refusal = _may_pause(ctx, session, agent, user, "pause")
        if refusal is None:
            changed = agent_flows.pause_agent(session=session, ctx=ctx, agent=agent, actor=Actor.slack_user(user),
                                              reason=f"from incident #{incident_id}: {incident.summary}"[:500])
            if changed:
                flows.note_on_incident(session=session, ctx=ctx, incident_id=incident_id, verb="paused", actor=user)
            return agent.name, changed
    raise _refused(ctx, refusal, user=user, verb="agent.pause_refused", subject=f"incident:{incident_id}")


def accountability(*, ctx: AppContext, agent_name: str) -> Accountability:
    with ctx.read() as session:
        agent = agents.require_agent(session=session, name=agent_name)
        return Accountability(agent=agent.name, owner=agent.owner, backups=list(agent.backup_owners),
                              review_channel=agent.review_channel, repeat=1 + agent.escalation_repeat,
                              chain=[{k: v for k, v in s.items() if v is not None} for s in agent.chain()],
                              status=agent.status)


def hand_over(*, ctx: AppContext, agent_name: str, user: str, new_owner: str) -> str:
    """Only the current owner or an admin may hand an agent to someone else; returns the previous owner."""
    with ctx.uow() as session:
        agent = agents.require_agent(session=session, name=agent_name)
        previous = agent.owner
        if user == previous or user in ctx.settings.admin_users:
            if new_owner != previous:
                agents.update_agent(session=session, agent=agent, data=AgentUpdate(owner=new_owner),
                                    actor=Actor.slack_user(user), now=ctx.clock.now())
                ctx.notifier.owner_handed_over(session=session, agent=agent, previous=previous, by=user,
                                               now=ctx.clock.now())
            return previous
    raise _refused(ctx, Forbidden(f"Sorry, only {agent_name}'s current owner or an admin can hand it over."),
                   user=user, verb="agent.handover_refused", subject=f"agent:{agent_name}")


def open_incidents_for_person(*, ctx: AppContext, user: str) -> list[Incident]:
    """Open incidents of every agent the person owns or backs up."""
    with ctx.read() as session:
        who = {user, *away.stands_in_for(session=session, user_id=user, now=ctx.clock.now())}
        mine = [require_id(a.id) for a in agents.list_agents(session=session)
                if a.owner in who or who & set(a.backup_owners or [])]
        return service.open_incidents_of_agents(session=session, agent_ids=mine)
