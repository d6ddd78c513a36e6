"""SQLite's single-writer path: writers queue in-process, readers never wait, and a failure frees the queue."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import text

from services.db import make_engine, read_scope, session_scope, urgent_writes, writer_queue


def _write(engine, value: str) -> None:
    with session_scope(engine) as session:
        session.exec(text("INSERT INTO server_keys (name, value) VALUES (:n, :v)").bindparams(n=value, v=value))  # type: ignore[call-overload]


def test_a_failed_transaction_frees_the_writer_lock(sqlite_url: str) -> None:
    """An error inside a write transaction rolls back and the next writer gets in at once."""
    engine = make_engine(sqlite_url)
    with pytest.raises(RuntimeError):
        with session_scope(engine) as session:
            session.exec(text("INSERT INTO server_keys (name, value) VALUES ('x', 'x')"))  # type: ignore[call-overload]
            raise RuntimeError("boom")
    started = time.monotonic()
    _write(engine, "after-failure")
    assert time.monotonic() - started < 1.0


def test_readers_do_not_wait_for_a_writer(sqlite_url: str) -> None:
    """While a write transaction is open, a read-only session still answers immediately."""
    engine = make_engine(sqlite_url)
    holding, release = threading.Event(), threading.Event()

    def slow_writer() -> None:
        with session_scope(engine) as session:
            session.exec(text("INSERT INTO server_keys (name, value) VALUES ('slow', 'x')"))  # type: ignore[call-overload]
            holding.set()
            release.wait(5)

    thread = threading.Thread(target=slow_writer)
    thread.start()
    assert holding.wait(5)
    started = time.monotonic()
    with read_scope(engine) as session:
        count = session.exec(text("SELECT count(*) FROM server_keys")).one()  # type: ignore[call-overload]
    assert time.monotonic() - started < 0.5 and count[0] >= 1
    release.set()
    thread.join()


def test_many_threads_write_without_errors(sqlite_url: str) -> None:
    """Sixteen threads writing at once all succeed, one at a time, with no 'database is locked'."""
    engine = make_engine(sqlite_url)
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for k in range(20):
                _write(engine, f"wr-{n}-{k}")
        except BaseException as exc:  # collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    with read_scope(engine) as session:
        assert session.exec(text("SELECT count(*) FROM server_keys WHERE name LIKE 'wr-%'")).one()[0] == 320  # type: ignore[call-overload]


def _queued(engine, count: int) -> None:
    """Wait until `count` writers are in line for the engine's writer lock."""
    queue = writer_queue(engine)
    assert queue is not None
    deadline = time.monotonic() + 10
    while queue.lock.waiting() < count:
        assert time.monotonic() < deadline, "the writers never queued"
        time.sleep(0.005)


def test_a_person_waiting_goes_ahead_of_queued_writers(sqlite_url: str) -> None:
    """Writers queue in arrival order, except that one begun inside urgent_writes() (a click being acked) goes
    ahead of every ordinary writer already waiting."""
    engine = make_engine(sqlite_url)
    holding, release = threading.Event(), threading.Event()

    def holder() -> None:
        with session_scope(engine) as session:
            session.exec(text("INSERT INTO server_keys (name, value) VALUES ('holder', 'x')"))  # type: ignore[call-overload]
            holding.set()
            release.wait(10)

    def urgent() -> None:
        with urgent_writes():
            _write(engine, "urgent")

    first = threading.Thread(target=holder)
    first.start()
    assert holding.wait(10)
    threads = [threading.Thread(target=_write, args=(engine, f"agent-{n}")) for n in range(2)]
    for n, thread in enumerate(threads):
        thread.start()
        _queued(engine, n + 1)
    threads.append(threading.Thread(target=urgent))
    threads[-1].start()
    _queued(engine, 3)
    release.set()
    for thread in [first, *threads]:
        thread.join()
    with read_scope(engine) as session:
        order = [row[0] for row in session.exec(text(  # type: ignore[call-overload]
            "SELECT name FROM server_keys WHERE name IN ('holder', 'urgent', 'agent-0', 'agent-1') ORDER BY rowid"))]
    assert order == ["holder", "urgent", "agent-0", "agent-1"]


def test_postgres_has_no_writer_queue() -> None:
    assert writer_queue(make_engine("postgresql://nobody@127.0.0.1:1/none")) is None
