"""The write path's plumbing: nested write scopes fail at once, group commit isolates a failing unit, and no
unit is answered unless its transaction committed."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import text

from services.db import NestedWriteScope, make_engine, session_scope
from services.writer import GroupCommitter, writer_for


def _insert(name: str):  # noqa: ANN202 - a unit
    def unit(session):  # noqa: ANN001, ANN202
        session.execute(text("INSERT INTO server_keys (name, value) VALUES (:n, 'v')"), {"n": name})
        return name
    return unit


def _names(engine) -> set[str]:  # noqa: ANN001
    with engine.connect() as conn:
        return {row[0] for row in conn.execute(text("SELECT name FROM server_keys"))}


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


def test_a_unit_submitted_inside_a_uow_fails_at_once(db_url: str) -> None:
    """A write unit handed to the writer from inside a uow would wait on its own transaction; it raises."""
    engine = make_engine(db_url)
    started = time.monotonic()
    with pytest.raises(NestedWriteScope):
        with session_scope(engine):
            writer_for(engine).run(_insert("inner"))
    assert time.monotonic() - started < 2
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


def _hold_writer(committer: GroupCommitter, engine) -> tuple[threading.Event, threading.Event]:  # noqa: ANN001
    """Occupy the writer with one unit until released, so the next units queue up into one batch."""
    inside, release = threading.Event(), threading.Event()

    def blocker(session):  # noqa: ANN001, ANN202
        inside.set()
        release.wait(10)
        return "blocker"

    threading.Thread(target=committer.run, args=(blocker,), daemon=True).start()
    assert inside.wait(5)
    return inside, release


def test_group_commit_shares_a_transaction_and_isolates_a_failing_unit(sqlite_url: str) -> None:
    """Queued units commit together; the one that raises is rolled back alone and gets its own error."""
    engine = make_engine(sqlite_url)
    committer = GroupCommitter(engine)
    _, release = _hold_writer(committer, engine)

    def failing(session):  # noqa: ANN001, ANN202
        session.execute(text("INSERT INTO server_keys (name, value) VALUES ('doomed', 'v')"))
        raise ValueError("this unit fails")

    units = [_insert(f"ok-{i}") for i in range(5)] + [failing] + [_insert(f"ok-{i}") for i in range(5, 10)]
    with ThreadPoolExecutor(len(units)) as pool:
        futures = [pool.submit(committer.run, unit) for unit in units]
        while len(committer._queue) < len(units):  # every unit waits behind the blocker
            time.sleep(0.005)
        release.set()
        outcomes = [f.exception() or f.result() for f in futures]
    assert isinstance(outcomes[5], ValueError)
    assert [o for o in outcomes if not isinstance(o, Exception)] == [f"ok-{i}" for i in range(10)]
    assert committer.batches == 2 and committer.units == 12  # the blocker alone, then the eleven together
    names = _names(engine)
    assert {f"ok-{i}" for i in range(10)} <= names and "doomed" not in names
    engine.dispose()


def test_no_unit_is_answered_when_its_commit_fails(sqlite_url: str) -> None:
    """A commit that fails (a deferred foreign key) fails every unit of the batch: none is acknowledged."""
    engine = make_engine(sqlite_url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE parent (id INTEGER PRIMARY KEY)"))
        conn.execute(text("CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent(id))"))
    committer = GroupCommitter(engine)
    _, release = _hold_writer(committer, engine)

    def orphan(session):  # noqa: ANN001, ANN202
        session.execute(text("PRAGMA defer_foreign_keys = ON"))
        session.execute(text("INSERT INTO child (id, parent_id) VALUES (1, 42)"))
        return "orphan"

    with ThreadPoolExecutor(2) as pool:
        good = pool.submit(committer.run, _insert("innocent"))
        bad = pool.submit(committer.run, orphan)
        while len(committer._queue) < 2:
            time.sleep(0.005)
        release.set()
        assert good.exception() is not None and bad.exception() is not None
    assert "innocent" not in _names(engine)
    assert committer.run(_insert("next")) == "next"  # the writer carries on
    engine.dispose()


def test_each_unit_gets_back_only_what_it_left_for_after_the_commit(sqlite_url: str) -> None:
    """Work a unit leaves in session.info for after the commit (a follow-up) goes back to that unit's caller
    alone; a failed unit's is dropped with its savepoint."""
    engine = make_engine(sqlite_url)
    committer = GroupCommitter(engine)
    _, release = _hold_writer(committer, engine)

    def leaving(tag: str, fail: bool = False):  # noqa: ANN202
        def unit(session):  # noqa: ANN001, ANN202
            session.info.setdefault("later", []).extend([f"{tag}-1", f"{tag}-2"])
            if fail:
                raise ValueError(tag)
            return tag
        return unit

    units = [leaving("a"), leaving("b", fail=True), leaving("c")]
    with ThreadPoolExecutor(3) as pool:
        futures = [pool.submit(committer.run_carrying, unit, "later") for unit in units]
        while len(committer._queue) < 3:
            time.sleep(0.005)
        release.set()
        assert futures[0].result() == ("a", ["a-1", "a-2"])
        assert isinstance(futures[1].exception(), ValueError)
        assert futures[2].result() == ("c", ["c-1", "c-2"])
    assert committer.run_carrying(leaving("alone"), "later") == ("alone", ["alone-1", "alone-2"])
    engine.dispose()
