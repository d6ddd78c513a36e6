"""Agent changes that reach beyond the database: the owner hears about pauses through the notifier."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from services.agents import service
from services.agents.models import Agent, AgentCreate, AgentCreated, AgentPublic, AgentUpdate, WebhookSecretRotated
from services.audit.service import Actor
from services.context import AppContext
from services.errors import field_error
from services.outbox.urls import HostUnresolved, UnsafeCallbackURL, check_delivery_target
from services.spend.service import budget_state


def _check_callback_url(ctx: AppContext, url: str | None) -> None:
    """The schema refuses what is never allowed; here the deployment's COUNTERSIGN_CALLBACK_DENY_PRIVATE applies and
    a name is resolved, so a target refused by policy is refused now rather than given up on at delivery. A name
    that does not resolve yet is accepted: deliveries to it are retried until it does."""
    if url is None:
        return
    try:
        check_delivery_target(url, deny_private=ctx.settings.callback_deny_private, resolver=ctx.resolver)
    except HostUnresolved:
        return
    except UnsafeCallbackURL as exc:
        raise field_error("callback_url", str(exc)) from exc


def register_agent(*, session: Session, ctx: AppContext, data: AgentCreate, actor: Actor) -> AgentCreated:
    _check_callback_url(ctx, data.callback_url)
    agent, creds = service.create_agent(session=session, data=data, actor=actor, now=ctx.clock.now(),
                                        secret_key=ctx.secret_key)
    public = AgentPublic.of(agent).model_dump()
    return AgentCreated(**public, api_key=creds.api_key, webhook_secret=creds.webhook_secret,
                        warnings=agent.warnings())


def list_agents(*, ctx: AppContext) -> list[AgentPublic]:
    with ctx.read() as session:  # a read: it never queues behind writers
        return [AgentPublic.of(agent) for agent in service.list_agents(session=session)]


def show_agent(*, ctx: AppContext, name: str) -> AgentPublic:
    with ctx.read() as session:
        return AgentPublic.of(service.require_agent(session=session, name=name))


def me(*, ctx: AppContext, agent: Agent) -> dict[str, Any]:
    """The agent as the server sees it, with every budget that applies and what is left of it."""
    public = AgentPublic.of(agent).model_dump(mode="json")
    with ctx.read() as session:
        public["budgets"] = budget_state(session=session, agent=agent, now=ctx.clock.now(), tz=ctx.settings.tz)
    return public


def update_agent(*, ctx: AppContext, name: str, data: AgentUpdate, actor: Actor) -> AgentPublic:
    _check_callback_url(ctx, data.callback_url)
    with ctx.uow() as session:
        agent = service.require_agent(session=session, name=name)
        service.update_agent(session=session, agent=agent, data=data, actor=actor, now=ctx.clock.now())
        return AgentPublic.of(agent)


def pause_agent(*, session: Session, ctx: AppContext, agent: Agent, actor: Actor, reason: str | None) -> bool:
    now = ctx.clock.now()
    changed = service.pause_agent(session=session, agent=agent, actor=actor, reason=reason, now=now)
    if changed:
        ctx.notifier.agent_paused(session=session, agent=agent, by=actor.id, reason=reason, now=now)
    return changed


def resume_agent(*, session: Session, ctx: AppContext, agent: Agent, actor: Actor) -> bool:
    now = ctx.clock.now()
    changed = service.resume_agent(session=session, agent=agent, actor=actor, now=now)
    if changed:
        ctx.notifier.agent_resumed(session=session, agent=agent, by=actor.id, now=now)
    return changed


def pause_by_name(*, ctx: AppContext, name: str, actor: Actor, reason: str | None) -> AgentPublic:
    with ctx.uow() as session:
        agent = service.require_agent(session=session, name=name)
        pause_agent(session=session, ctx=ctx, agent=agent, actor=actor, reason=reason)
        return AgentPublic.of(agent)


def resume_by_name(*, ctx: AppContext, name: str, actor: Actor) -> AgentPublic:
    with ctx.uow() as session:
        agent = service.require_agent(session=session, name=name)
        resume_agent(session=session, ctx=ctx, agent=agent, actor=actor)
        return AgentPublic.of(agent)


def rotate_key(*, ctx: AppContext, name: str, actor: Actor) -> dict[str, str]:
    with ctx.uow() as session:
        agent = service.require_agent(session=session, name=name)
        return {"name": agent.name, "api_key": service.rotate_key(session=session, agent=agent, actor=actor,
                                                                   now=ctx.clock.now())}


def rotate_webhook_secret(*, ctx: AppContext, name: str, actor: Actor) -> WebhookSecretRotated:
    with ctx.uow() as session:
        agent = service.require_agent(session=session, name=name)
        secret, until = service.rotate_webhook_secret(session=session, agent=agent, actor=actor, now=ctx.clock.now(),
                                                      secret_key=ctx.secret_key)
        return WebhookSecretRotated(name=agent.name, webhook_secret=secret, previous_valid_until=until)
