"""The lanes migration: rows queued by the previous version get the lane new rows would get."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text

from services import migrations
from services.db import make_engine
from testkit.live import pg_database
from tests.postgres import PG_URL, pg_missing

PG = PG_URL
OLD_ROW = ("INSERT INTO outbox (kind, method, payload, message_key, order_key, channel, status, attempts, "
           "next_attempt_at, created_at, give_up_at, agent_id) VALUES (:kind, :method, '{}', :key, :order_key, "
           ":channel, 'pending', 0, '2026-01-01 00:00:00', '2026-01-01 00:00:00', '2026-01-02 00:00:00', :agent)")


@pytest.fixture(params=["sqlite", "postgres"])
def empty_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    if not PG:
        pg_missing()
    with pg_database(PG) as url:
        yield url


def test_rows_queued_before_lanes_get_theirs(empty_db: str) -> None:
    """A callback joins its agent's lane, a post its channel's, an update without a channel a lane of its own; each
    gets the priority a new row of its kind gets."""
    engine = make_engine(empty_db)
    config = migrations.alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001_foundation")
        for kind, method, key, channel, agent in [("callback", "draft.decided", None, None, 7),
                                                  ("slack", "chat.postMessage", "draft:1", "C0REVIEW", None),
                                                  ("slack", "chat.update", "draft:2", None, None),
                                                  ("slack", "chat.postMessage", None, "U0OWNER", None)]:
            connection.execute(text(OLD_ROW), {"kind": kind, "method": method, "key": key, "channel": channel,
                                               "order_key": key or f"x:{method}", "agent": agent})
    migrations.upgrade(engine)
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT lane, priority, claim_token FROM outbox ORDER BY id")).all()
    engine.dispose()
    assert [tuple(row) for row in rows] == [("callback:7", 0, None), ("slack:C0REVIEW", 2, None),
                                            ("slack:draft:2", 1, None), ("slack:U0OWNER", 0, None)]
