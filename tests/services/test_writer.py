"""The write path's plumbing: a write scope opened inside another fails at once instead of waiting on itself."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import text

from services.db import NestedWriteScope, make_engine, session_scope


def _names(engine) -> set[str]:  # noqa: ANN001
    with engine.connect() as conn:
        return {row[0] for row in conn.execute(text("SELECT name FROM server_keys"))}


@pytest.mark.postgres_too
def test_nested_uow_fails_at_once_on_both_backends(db_url: str) -> None:
    """uow() inside uow() used to hang 30 s on SQLite and commit separately on PostgreSQL; now it raises."""
    engine = make_engine(db_url)
    started = time.monotonic()
    with pytest.raises(NestedWriteScope, match="already open"):
        with session_scope(engine) as outer:
            outer.execute(text("INSERT INTO server_keys (name, value) VALUES ('outer', 'v')"))
            with session_scope(engine):
                pass
    assert time.monotonic() - started < 2
    assert "outer" not in _names(engine)  # the outer scope rolled back with the error
    with session_scope(engine) as session:  # and the writer is free again
        session.execute(text("INSERT INTO server_keys (name, value) VALUES ('after', 'v')"))
    assert "after" in _names(engine)
    engine.dispose()


def test_a_raw_transaction_inside_a_uow_fails_at_once_on_sqlite(sqlite_url: str) -> None:
    """engine.begin() inside a uow asks for the writer lock the thread holds: refused, not a 30 s wait."""
    engine = make_engine(sqlite_url)
    started = time.monotonic()
    with pytest.raises(NestedWriteScope):
        with session_scope(engine) as session:
            session.execute(text("INSERT INTO server_keys (name, value) VALUES ('outer', 'v')"))
            with engine.begin() as conn:
                conn.execute(text("SELECT 1"))
    assert time.monotonic() - started < 2
    engine.dispose()
