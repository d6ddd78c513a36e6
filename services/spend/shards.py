"""Which shard of an (agent, model, day) rollup a write adds to.

On PostgreSQL every event of one agent and model on one day used to add to one row, so concurrent writers
queued on that row's lock from their UPSERT to their commit. Each pooled connection now adds to a shard of its
own, drawn round-robin as it is first used (at most SHARDS rows per agent, model and day), and every read sums
over the shards: the rollup holds sums only, so a sum over more rows is the same figure. Two connections that
share a shard (more connections than shards, or two replicas) only wait for each other, as before.

SQLite lets one writer in at a time, so nothing waits on a row there: one shard, no extra rows.
"""

from __future__ import annotations

import itertools
import random

from sqlmodel import Session

SHARDS = 16
_INFO_KEY = "countersign_rollup_shard"
# Replicas start at different shards, so their first connections seldom share one.
_next_shard = itertools.count(random.randrange(SHARDS))


def rollup_shard(session: Session) -> int:
    """The shard this session's connection adds to; it stays with the connection for its life in the pool."""
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        return 0
    info = connection.connection.info  # the pooled DBAPI connection's own dict, kept across checkouts
    shard = info.get(_INFO_KEY)
    if shard is None:
        shard = info[_INFO_KEY] = next(_next_shard) % SHARDS
    return int(shard)
