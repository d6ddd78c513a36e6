"""The firsthour migration moves stored escalation_repeat values to num_loops and gives old runs a run_id."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from alembic import command
from sqlalchemy import text

from services import migrations
from services.db import make_engine

pytestmark = pytest.mark.postgres_too  # see tests/conftest.py: which tests run on PostgreSQL


def test_stored_repeat_counts_become_loops_and_runs_keep_their_ids(db_url: str) -> None:
    """Old rows (1 = once, 3 = three passes, 10 = the old maximum) read as 0, 2 and 9; a run keeps its id
    (on SQLite and PostgreSQL, starting from a migrated database taken back to before this migration)."""
    engine = make_engine(db_url)
    config = migrations.alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0004_runs")  # the schema as it was before this migration
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    with engine.begin() as connection:
        for i, repeat in enumerate((1, 3, 10)):
            connection.execute(text(
                "INSERT INTO agents (name, owner, backup_owners, approvers, approver_groups, approvals_required, "
                "draft_expiry_s, escalation_repeat, budgets, actions, autonomy_rule, status, api_key_hash, "
                "api_key_prefix, webhook_secret_enc, created_at, updated_at) VALUES (:n, 'U1', '[]', '[]', '[]', 1, "
                "60, :r, '[]', '{}', '{}', 'active', :h, 'cs', 'x', :t, :t)"),
                {"n": f"a{i}", "r": repeat, "h": str(i), "t": now})
        connection.execute(text(
            "INSERT INTO runs (id, agent_id, metadata, expect_heartbeat_every_s, grace_s, halt_policy, status, beats, "
            "started_at, halts) VALUES ('run_abc', 1, '{}', 10, 5, '[]', 'running', 0, :t, 0)"), {"t": now})
    migrations.upgrade(engine)
    with engine.connect() as connection:
        loops = connection.execute(text("SELECT escalation_repeat FROM agents ORDER BY name")).scalars().all()
        run_id = connection.execute(text("SELECT run_id FROM runs WHERE id = 'run_abc'")).scalar_one()
    assert loops == [0, 2, 9] and run_id == "run_abc"
    engine.dispose()
