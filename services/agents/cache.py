"""The agent behind an API key, cached, and the version check a write makes against it.

Every agent request starts with this lookup, so it is served from the app's ReadCache (services.cache, on the
context): a commit of this app that writes the agents table drops it at once, and otherwise it lives `TTL_S`.
What is cached, and handed to every request that presents the key, is an AgentSnapshot built once as the entry
loads: frozen, so no request can change what the others see, nor add it to a session (a write gets a row of its
own from `in_session`).

A paused agent is never refused from the cache alone, nor a write let through from it unchecked: a request to
write looks at the cached agent's version (`current`, one indexed read) before it is let through, except on the
routes whose write checks that version itself (below), where only a cached "paused" is looked at again. So a
pause or a resume made on another replica or from the CLI holds from the next request. In the write itself,
`in_session` reads the fields that decide whether the write may happen at all
(status, key, last update) inside the write transaction, one indexed row, and raises StaleRead if they moved,
here or on another replica; the caller reloads with `reload` (401 or 423 if it must) and tries again. It then
hands the write an Agent row of its own, built from the snapshot without a load, so the write may change it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam
from sqlalchemy.orm import make_transient_to_detached
from sqlmodel import Session, select

from services.agents import secrets
from services.agents.models import Agent, AgentSnapshot
from services.cache import ReadCache, StaleRead

if TYPE_CHECKING:
    from services.context import AppContext

TTL_S = 2.0


def version(agent: Agent | AgentSnapshot) -> tuple[Any, ...]:
    """What a write checks: a pause, a resume, a key rotation and any admin change all move one of these."""
    return (agent.status, agent.api_key_hash, agent.updated_at)


def _by_key(ctx: AppContext) -> ReadCache[AgentSnapshot | None]:
    return ctx.caches.cache("agents.by_key", "agents", ttl_s=TTL_S)


def _cache_key(api_key: str) -> str | None:
    return secrets.hash_api_key(api_key) if api_key.startswith(secrets.API_KEY_PREFIX) else None


def cached(*, ctx: AppContext, api_key: str) -> tuple[bool, AgentSnapshot | None]:
    """(True, agent or None) when the answer is cached; (False, None) when `by_key` must read the database."""
    key = _cache_key(api_key)
    return (True, None) if key is None else _by_key(ctx).peek(key)


def by_key(*, ctx: AppContext, api_key: str) -> AgentSnapshot | None:
    key = _cache_key(api_key)
    if key is None:
        return None

    def load() -> AgentSnapshot | None:
        with ctx.read() as session:
            row = session.exec(select(Agent).where(Agent.api_key_hash == key)).first()
            return None if row is None else AgentSnapshot.of(row)

    return _by_key(ctx).get(key, load)


_VERSION = select(Agent.status, Agent.api_key_hash, Agent.updated_at).where(  # type: ignore[call-overload]
    Agent.id == bindparam("agent_id"))  # built once: every write runs it


def current(*, ctx: AppContext, api_key: str, agent: AgentSnapshot) -> AgentSnapshot | None:
    """The cached `agent` if its version still holds (one indexed read), else the agent behind the key read
    again (None: the key no longer works)."""
    with ctx.read() as session:
        row = session.execute(_VERSION, {"agent_id": agent.id}).first()
    if row is not None and tuple(row) == version(agent):
        return agent
    key = _cache_key(api_key)
    if key is not None:
        _by_key(ctx).forget(key)
    return by_key(ctx=ctx, api_key=api_key)


def in_session(*, session: Session, agent: AgentSnapshot) -> Agent:
    """The agent's row for this write transaction, the write's own to change; StaleRead if it is not the one the
    request was decided on."""
    row = session.execute(_VERSION, {"agent_id": agent.id}).first()
    if row is None or tuple(row) != version(agent):
        raise StaleRead(f"agent {agent.name!r} changed since it was read")
    return own_row(session=session, agent=agent)


def version_params(agent: AgentSnapshot) -> dict[str, Any]:
    """For a write whose own statement checks the version (`WHERE EXISTS` the agent row with these); when that
    statement does nothing, the write calls `in_session`, which raises StaleRead if the version was the cause."""
    status, key_hash, updated_at = version(agent)
    return {"agent_id": agent.id, "agent_status": status, "agent_key_hash": key_hash, "agent_updated_at": updated_at}


def own_row(*, session: Session, agent: AgentSnapshot) -> Agent:
    """The agent's row for this write, without a read: only for a write that checks `version_params` itself."""
    own = Agent(**agent.model_dump())
    make_transient_to_detached(own)  # as if just loaded: the version check (read or in the write) stands for it
    return session.merge(own, load=False)


def reload(*, ctx: AppContext, agent: AgentSnapshot) -> AgentSnapshot | None:
    """The agent read again, past the cache: None if its key no longer works (rotated, or the agent is gone)."""
    _by_key(ctx).forget(agent.api_key_hash)
    with ctx.read() as session:
        row = session.exec(select(Agent).where(Agent.id == agent.id,
                                               Agent.api_key_hash == agent.api_key_hash)).first()
        return None if row is None else AgentSnapshot.of(row)
