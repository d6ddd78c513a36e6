"""Agent rules and queries: keyword-only, session first, no I/O beyond the database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from services.agents import secrets
from services.agents.models import Agent, AgentCreate, AgentUpdate
from services.audit.service import Actor, record
from services.errors import Conflict, NotFound, field_error

PREVIOUS_SECRET_GRACE = timedelta(hours=24)  # the contract: both secrets sign for 24 hours


@dataclass(frozen=True)
class IssuedCredentials:
    api_key: str
    webhook_secret: str


def create_agent(
    *, session: Session, data: AgentCreate, actor: Actor, now: datetime, secret_key: str | None
) -> tuple[Agent, IssuedCredentials]:
    require_owner(data)
    if get_agent_by_name(session=session, name=data.name) is not None:
        raise Conflict(f"an agent named {data.name!r} already exists")
    api_key, webhook_secret = secrets.new_api_key(), secrets.new_webhook_secret()
    box = secrets.fernet(session, secret_key)
    fields = data.model_dump(mode="json", exclude={"name", "owner"})
    agent = Agent(
        name=data.name,
        owner=data.owner,
        **fields,
        api_key_hash=secrets.hash_api_key(api_key),
        api_key_prefix=api_key[: len(secrets.API_KEY_PREFIX) + 4],
        webhook_secret_enc=secrets.encrypt(box, webhook_secret),
        created_at=now,
        updated_at=now,
    )
    session.add(agent)
    try:
        session.flush()
    except IntegrityError as exc:  # a concurrent registration of the same name
        raise Conflict(f"an agent named {data.name!r} already exists") from exc
    record(session=session, actor=actor, verb="agent.created", subject=f"agent:{agent.name}", now=now,
           details={"owner": agent.owner, "review_channel": agent.review_channel})
    return agent, IssuedCredentials(api_key, webhook_secret)


def require_owner(data: AgentCreate) -> None:
    if not data.owner:
        raise field_error("owner", "no owner, no agent: every agent needs an accountable person (a Slack user id)")


def get_agent_by_name(*, session: Session, name: str) -> Agent | None:
    return session.exec(select(Agent).where(Agent.name == name)).first()


def require_agent(*, session: Session, name: str) -> Agent:
    agent = get_agent_by_name(session=session, name=name)
    if agent is None:
        raise NotFound(f"no agent named {name!r}")
    return agent


def list_agents(*, session: Session) -> list[Agent]:
    return list(session.exec(select(Agent).order_by(col(Agent.name))).all())


def update_agent(*, session: Session, agent: Agent, data: AgentUpdate, actor: Actor, now: datetime) -> Agent:
    changes = data.model_dump(mode="json", exclude_unset=True)
    if "owner" in changes and not changes["owner"]:
        raise field_error("owner", "no owner, no agent: the owner cannot be removed, only handed over")
    for key, value in changes.items():
        setattr(agent, key, value)
    agent.updated_at = now
    session.add(agent)
    record(session=session, actor=actor, verb="agent.updated", subject=f"agent:{agent.name}", now=now,
           details={"fields": sorted(changes)})
    return agent


def pause_agent(*, session: Session, agent: Agent, actor: Actor, reason: str | None, now: datetime) -> bool:
    """Pause; returns False when it already was (pausing twice is harmless, not an error)."""
    if agent.status == "paused":
        return False
    agent.status, agent.paused_by, agent.paused_reason, agent.paused_at = "paused", actor.id, reason, now
    agent.updated_at = now
    session.add(agent)
    record(session=session, actor=actor, verb="agent.paused", subject=f"agent:{agent.name}", now=now,
           details={"reason": reason})
    return True


def resume_agent(*, session: Session, agent: Agent, actor: Actor, now: datetime) -> bool:
    if agent.status != "paused":
        return False
    agent.status, agent.paused_by, agent.paused_reason, agent.paused_at = "active", None, None, None
    agent.updated_at = now
    session.add(agent)
    record(session=session, actor=actor, verb="agent.resumed", subject=f"agent:{agent.name}", now=now)
    return True


def rotate_key(*, session: Session, agent: Agent, actor: Actor, now: datetime) -> str:
    api_key = secrets.new_api_key()
    agent.api_key_hash = secrets.hash_api_key(api_key)
    agent.api_key_prefix = api_key[: len(secrets.API_KEY_PREFIX) + 4]
    agent.updated_at = now
    session.add(agent)
    record(session=session, actor=actor, verb="agent.key_rotated", subject=f"agent:{agent.name}", now=now)
    return api_key


def webhook_secret(*, session: Session, agent: Agent, secret_key: str | None) -> str:
    return secrets.decrypt(secrets.fernet(session, secret_key), agent.webhook_secret_enc)


def rotate_webhook_secret(*, session: Session, agent: Agent, actor: Actor, now: datetime,
                          secret_key: str | None) -> tuple[str, datetime]:
    """A new webhook secret; the one it replaces keeps signing next to it for PREVIOUS_SECRET_GRACE. Rotating
    again within that time retires the older one at once (only the last two secrets ever sign)."""
    secret, until = secrets.new_webhook_secret(), now + PREVIOUS_SECRET_GRACE
    box = secrets.fernet(session, secret_key)
    agent.previous_webhook_secret_enc = agent.webhook_secret_enc
    agent.previous_webhook_secret_expires_at = until
    agent.webhook_secret_enc = secrets.encrypt(box, secret)
    agent.updated_at = now
    session.add(agent)
    record(session=session, actor=actor, verb="agent.webhook_secret_rotated", subject=f"agent:{agent.name}", now=now,
           details={"previous_valid_until": until.isoformat()})
    return secret, until


def signing_secrets(*, session: Session, agent: Agent, secret_key: str | None, now: datetime) -> list[str]:
    """The secrets a callback is signed with now: the current one, then the previous one while it is honoured."""
    box = secrets.fernet(session, secret_key)
    found = [secrets.decrypt(box, agent.webhook_secret_enc)]
    until = agent.previous_webhook_secret_expires_at
    if agent.previous_webhook_secret_enc and until is not None and now < until:
        found.append(secrets.decrypt(box, agent.previous_webhook_secret_enc))
    return found


def may_pause(*, agent: Agent, user_id: str, admins: list[str]) -> bool:
    """The owner, backups and configured admins may pause or resume an agent; nobody else."""
    return user_id == agent.owner or user_id in agent.backup_owners or user_id in admins
