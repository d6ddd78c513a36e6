"""spend_rollups: a shard column in the key, so concurrent writers of one agent, model and day add to rows of
their own (services.spend.shards) instead of queueing on one row's lock

Existing rows become shard 0. Downgrading adds each (agent, model, day)'s shards back into one row.

Revision ID: 0300_spend_rollup_shards
Revises: 0005_spend
"""
import sqlalchemy as sa
from alembic import op

revision = '0300_spend_rollup_shards'
down_revision = '0005_spend'
branch_labels = None
depends_on = None

_SUMS = "cost_usd, waste_usd, events, unknown_cost_events, input_tokens, output_tokens, cached_tokens"
_SUMMED = ", ".join(f"SUM({name}) AS {name}" for name in _SUMS.split(", "))
_KEY = "agent_id, model, day"


def _sqlite_table(name: str, key: str, shard: bool) -> str:
    """The table as services.spend.models declares it (SQLite changes a primary key by copying the table)."""
    return (f"CREATE TABLE {name} (agent_id INTEGER NOT NULL, model VARCHAR(128) NOT NULL, day DATE NOT NULL, "
            + ("shard SMALLINT DEFAULT '0' NOT NULL, " if shard else "")
            + "cost_usd FLOAT NOT NULL, waste_usd FLOAT NOT NULL, events INTEGER NOT NULL, "
            "unknown_cost_events INTEGER NOT NULL, input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL, "
            f"cached_tokens INTEGER NOT NULL, PRIMARY KEY ({key}))")


def _sqlite_swap(select: str, key: str, shard: bool) -> None:
    op.execute(sa.text(_sqlite_table("spend_rollups_next", key, shard)))
    columns = f"{_KEY}, {'shard, ' if shard else ''}{_SUMS}"
    op.execute(sa.text(f"INSERT INTO spend_rollups_next ({columns}) {select}"))
    op.execute(sa.text("DROP TABLE spend_rollups"))  # its index goes with it
    op.execute(sa.text("ALTER TABLE spend_rollups_next RENAME TO spend_rollups"))
    op.execute(sa.text("CREATE INDEX ix_spend_rollups_day ON spend_rollups (day)"))


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_swap(f"SELECT {_KEY}, 0, {_SUMS} FROM spend_rollups", f"{_KEY}, shard", shard=True)
        return
    op.execute(sa.text("ALTER TABLE spend_rollups ADD COLUMN shard SMALLINT NOT NULL DEFAULT 0"))
    op.execute(sa.text("ALTER TABLE spend_rollups DROP CONSTRAINT spend_rollups_pkey"))
    op.execute(sa.text(f"ALTER TABLE spend_rollups ADD CONSTRAINT spend_rollups_pkey PRIMARY KEY ({_KEY}, shard)"))


def downgrade() -> None:
    merged = f"SELECT {_KEY}, {_SUMMED} FROM spend_rollups GROUP BY {_KEY}"
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_swap(merged, _KEY, shard=False)
        return
    op.execute(sa.text(f"CREATE TEMPORARY TABLE spend_rollups_merged AS {merged}"))
    op.execute(sa.text("DELETE FROM spend_rollups"))
    op.execute(sa.text("ALTER TABLE spend_rollups DROP CONSTRAINT spend_rollups_pkey"))
    op.execute(sa.text("ALTER TABLE spend_rollups DROP COLUMN shard"))
    op.execute(sa.text(f"ALTER TABLE spend_rollups ADD CONSTRAINT spend_rollups_pkey PRIMARY KEY ({_KEY})"))
    op.execute(sa.text(f"INSERT INTO spend_rollups ({_KEY}, {_SUMS}) SELECT {_KEY}, {_SUMS} "
                       "FROM spend_rollups_merged"))
    op.execute(sa.text("DROP TABLE spend_rollups_merged"))
