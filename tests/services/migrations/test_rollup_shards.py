"""The rollup shards migration: existing rows become shard 0 and read the same; going back adds each
(agent, model, day)'s shards into one row."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from services import migrations
from services.db import make_engine
from tests.services.migrations.steps import migrated

ROLLUP = ("INSERT INTO spend_rollups (agent_id, model, day, {shard}cost_usd, waste_usd, events, unknown_cost_events, "
          "input_tokens, output_tokens, cached_tokens) VALUES (:agent, :model, :day, {value}:cost, :waste, :events, 0, "
          ":tokens, 0, 0)")
OLD = ROLLUP.format(shard="", value="")
NEW = ROLLUP.format(shard="shard, ", value=":shard, ")
ROWS = [(1, "gpt-4o", "2026-01-05", 1.5, 0.25, 3, 300), (1, "gpt-4o", "2026-01-06", 2.0, 0.0, 4, 400),
        (2, "claude", "2026-01-05", 0.5, 0.0, 1, 100)]
SELECT = ("SELECT agent_id, model, CAST(day AS VARCHAR(10)), cost_usd, waste_usd, events, input_tokens "
          "FROM spend_rollups ORDER BY agent_id, model, day")


def _params(row: tuple, shard: int | None = None) -> dict:
    agent, model, day, cost, waste, events, tokens = row
    return {"agent": agent, "model": model, "day": day, "cost": cost, "waste": waste, "events": events,
            "tokens": tokens, "shard": shard}


def test_rows_become_shard_zero_and_shards_merge_on_the_way_back(empty_db: str) -> None:
    engine = make_engine(empty_db)
    with migrated(engine, up="0005_spend") as connection:  # the one-row-per-day rollups
        for row in ROWS:
            connection.execute(text(OLD), _params(row))
    migrations.upgrade(engine)
    with engine.begin() as connection:
        shards = connection.execute(text("SELECT DISTINCT shard FROM spend_rollups")).scalars().all()
        assert shards == [0]
        assert connection.execute(text(SELECT)).all() == ROWS
        # A second writer's shard of the first day, and a row that leaves the shard out (bench.digest's seed).
        connection.execute(text(NEW), _params((1, "gpt-4o", "2026-01-05", 1.0, 0.5, 2, 200), shard=7))
        connection.execute(text(OLD), _params((3, "gpt-4o", "2026-01-05", 4.0, 0.0, 1, 10)))
        with pytest.raises(Exception, match="(?i)unique|duplicate"), connection.begin_nested():
            connection.execute(text(NEW), _params(ROWS[0], shard=7))  # the key includes the shard

    with migrated(engine, down="0300_spend_rollup_shards-1") as connection:
        merged = connection.execute(text(SELECT)).all()
        with pytest.raises(Exception, match="(?i)unique|duplicate"), connection.begin_nested():
            connection.execute(text(OLD), _params(ROWS[1]))  # one row per (agent, model, day) again
    assert merged == [(1, "gpt-4o", "2026-01-05", 2.5, 0.75, 5, 500), ROWS[1], ROWS[2],
                      (3, "gpt-4o", "2026-01-05", 4.0, 0.0, 1, 10)]
    engine.dispose()
