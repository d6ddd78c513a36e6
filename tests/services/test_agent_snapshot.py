"""The agent a request is handed is the key cache's frozen snapshot: shared by every request, changed by none."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from sqlalchemy.orm.exc import UnmappedInstanceError

from services.agents import cache as agent_cache
from services.agents.models import Agent, AgentSnapshot
from tests.harness import Harness


def test_the_snapshot_carries_every_column_of_the_agent_row() -> None:
    """A column added to Agent and not to the snapshot would read as missing on every request."""
    assert set(AgentSnapshot.model_fields) == set(Agent.__table__.columns.keys())  # type: ignore[attr-defined]


def test_requests_share_one_frozen_snapshot_and_a_write_gets_a_row_of_its_own(h: Harness) -> None:
    key = h.register("frozen-agent")["api_key"]
    first = agent_cache.by_key(ctx=h.ctx, api_key=key)
    assert isinstance(first, AgentSnapshot)
    assert agent_cache.by_key(ctx=h.ctx, api_key=key) is first  # one snapshot for every request with the key
    with pytest.raises(ValidationError):
        first.status = "paused"  # type: ignore[misc]
    with h.ctx.uow() as session:
        with pytest.raises(UnmappedInstanceError):
            session.add(first)  # type: ignore[arg-type]
        row = agent_cache.in_session(session=session, agent=first)
        row.paused_reason = "changed in this write only"
        session.flush()
        assert first.paused_reason is None
