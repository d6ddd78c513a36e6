"""Alembic one step at a time, for tests that build tables as an older version wrote them and go back."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from alembic import command
from sqlalchemy import Connection, Engine

from services import migrations


@contextmanager
def migrated(engine: Engine, *, up: str | None = None, down: str | None = None) -> Iterator[Connection]:
    """One transaction: alembic runs up to `up` (or down to `down`) in it, then it stays open for the caller's old
    rows and reads, and commits when the block ends."""
    config = migrations.alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        if up is not None:
            command.upgrade(config, up)
        if down is not None:
            command.downgrade(config, down)
        yield connection
