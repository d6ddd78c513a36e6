"""The agent behind an API key, cached, and the version check a write makes against it.

Every agent request starts with this lookup, so it is served from a ReadCache (services.cache): a local
commit that writes the agents table drops it at once, and otherwise it lives `TTL_S`. A write does not trust
it: `in_session` loads the agent again inside the write transaction and compares the fields that decide
whether the write may happen at all (status, key, last update). Anything changed, here or on another
replica, raises StaleRead and the caller reloads with `reload` (which raises 401 or 423 if it must).
"""

from __future__ import annotations

import copy
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import make_transient_to_detached
from sqlmodel import Session, select

from services.agents import secrets
from services.agents.models import Agent
from services.cache import ReadCache, StaleRead
from services.db import read_scope

TTL_S = 2.0
_COLUMNS = [column.name for column in Agent.__table__.columns]  # type: ignore[attr-defined]
_by_key: ReadCache[dict[str, Any] | None] = ReadCache("agents", ttl_s=TTL_S)


def version(agent: Agent) -> tuple[Any, ...]:
    """What a write checks: a pause, a resume, a key rotation and any admin change all move one of these."""
    return (agent.status, agent.api_key_hash, agent.updated_at)


def _snapshot(agent: Agent) -> dict[str, Any]:
    return {name: getattr(agent, name) for name in _COLUMNS}


def _copy(values: dict[str, Any]) -> Agent:
    """A fresh detached Agent per caller: nobody can mutate (or attach to a session) the cached one."""
    agent = Agent(**copy.deepcopy(values))
    make_transient_to_detached(agent)
    return agent


def by_key(*, engine: Engine, api_key: str) -> Agent | None:
    if not api_key.startswith(secrets.API_KEY_PREFIX):
        return None
    key_hash = secrets.hash_api_key(api_key)

    def load() -> dict[str, Any] | None:
        with read_scope(engine) as session:
            agent = session.exec(select(Agent).where(Agent.api_key_hash == key_hash)).first()
            return _snapshot(agent) if agent is not None else None

    values = _by_key.get((str(engine.url), key_hash), load)
    return _copy(values) if values is not None else None


def in_session(*, session: Session, agent: Agent) -> Agent:
    """The agent as this write transaction sees it; StaleRead if it is not the one the request was decided on."""
    current = session.get(Agent, agent.id, populate_existing=True)
    if current is None or version(current) != version(agent):
        raise StaleRead(f"agent {agent.name!r} changed since it was read")
    return current


def reload(*, engine: Engine, agent: Agent) -> Agent | None:
    """The agent read again, past the cache: None if its key no longer works (rotated, or the agent is gone)."""
    _by_key.forget((str(engine.url), agent.api_key_hash))
    with read_scope(engine) as session:
        fresh = session.exec(select(Agent).where(Agent.id == agent.id,
                                                 Agent.api_key_hash == agent.api_key_hash)).first()
        return _copy(_snapshot(fresh)) if fresh is not None else None
