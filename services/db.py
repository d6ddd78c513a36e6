"""Engine, sessions and the few SQL idioms every domain shares.

SQLite is the embedded default: WAL, a busy timeout, and every transaction opened with BEGIN IMMEDIATE so
writers queue instead of failing on a stale snapshot (our single-writer path). PostgreSQL is how several
replicas share one database: due work is claimed with FOR UPDATE SKIP LOCKED.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timezone
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

from sqlalchemy import DateTime, Engine, create_engine, event, func
from sqlalchemy.engine import make_url
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session, select

T = TypeVar("T")


class UTCDateTime(TypeDecorator):
    """Stores naive UTC, returns aware UTC: the same on SQLite and PostgreSQL."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc)


def normalize_url(url: str) -> str:
    """Accept plain postgres URLs and route them to psycopg 3."""
    parsed = make_url(url)
    if parsed.drivername in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


class NestedWriteScope(RuntimeError):
    """A write scope was opened inside another one in the same thread.

    On SQLite the inner one would wait for the writer lock its own thread holds (30 s, then fail); on
    PostgreSQL it would commit on its own, outside the outer transaction. Either way it is a bug, so it fails
    at once: pass the open session down instead.
    """


class WriteScopes(threading.local):
    """Which threads are inside a write scope: each app context keeps its own (services.context), so one app's
    open transaction never refuses another's; code given only an engine (the outbox's claims) shares a default."""

    depth = 0

    @contextmanager
    def open(self) -> Iterator[None]:
        """Mark this thread as writing; a second write scope inside it raises NestedWriteScope at once."""
        if self.depth:
            raise NestedWriteScope("a write scope (uow) is already open in this thread; pass its session down "
                                   "instead of opening another one inside it")
        self.depth = 1
        try:
            yield
        finally:
            self.depth = 0


_ENGINE_ONLY = WriteScopes()


class FairLock:
    """A lock handed to waiters in arrival order (threading.Lock lets a releasing thread barge back in, which
    starved a button click's decision behind a busy writer), except that an urgent waiter (a person waiting on
    the answer) goes ahead of every waiter that is not. Re-acquiring from the owning thread is a nested write
    scope and fails at once instead of waiting on itself."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._urgent: deque[threading.Lock] = deque()
        self._waiters: deque[threading.Lock] = deque()
        self._locked = False
        self._owner: int | None = None

    def acquire(self, timeout: float, *, urgent: bool = False) -> bool:
        me = threading.get_ident()
        with self._mutex:
            if self._locked and self._owner == me:
                raise NestedWriteScope("this thread already holds the database writer lock: a write transaction "
                                       "was opened inside another one")
            if not self._locked:
                self._locked, self._owner = True, me
                return True
            baton = threading.Lock()
            baton.acquire()
            line = self._urgent if urgent else self._waiters
            line.append(baton)
        if baton.acquire(timeout=timeout):
            self._owner = me
            return True
        with self._mutex:
            if baton in line:
                line.remove(baton)
                return False
        baton.acquire()  # handed over just as we gave up: take it after all
        self._owner = me
        return True

    def waiting(self) -> int:
        with self._mutex:
            return len(self._urgent) + len(self._waiters)

    def release(self) -> None:
        with self._mutex:
            self._owner = None
            line = self._urgent or self._waiters
            if line:
                line.popleft().release()  # ownership passes straight to the next waiter
            else:
                self._locked = False


_URGENT: ContextVar[bool] = ContextVar("countersign_urgent_writes", default=False)


@contextmanager
def urgent_writes() -> Iterator[None]:
    """Write transactions begun within the block, and in the tasks and worker threads it starts (asyncio copies
    context variables into both), go to the head of SQLite's writer queue: a person is waiting on them."""
    token = _URGENT.set(True)
    try:
        yield
    finally:
        _URGENT.reset(token)


def make_engine(url: str) -> Engine:
    url = normalize_url(url)
    if url.startswith("sqlite"):
        database = make_url(url).database
        pool = {} if database in (None, "", ":memory:") else {
            "pool_size": 20, "max_overflow": 20}  # request threads read beside the writer thread
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **pool)
        _configure_sqlite(engine)
        _WRITERS[engine] = WriterQueue(engine)
        return engine
    return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves (WriterQueue)
        cursor = dbapi_conn.cursor()
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


class WriterQueue:
    """This process's SQLite writers, in line for the one writer lock, one queue per engine (make_engine).

    SQLite's own wait for its writer lock is a sleep-and-retry loop (sleeps of up to 100 ms, no queue), which
    gives long, unfair tails when this process's threads compete. They queue here first (FairLock: in arrival
    order, a person's writes first) and meet SQLite's lock only against other processes (the CLI, a second
    server). Readers take no lock (WAL lets them run beside the writer). The queue is held from BEGIN to just
    before the COMMIT/ROLLBACK runs: the next writer may then wait briefly on SQLite's own lock, which still
    guards correctness; this one only orders the line.
    """

    HELD = "countersign_writer"  # on a connection's info while it holds the lock
    WAIT_S = 30.0

    def __init__(self, engine: Engine) -> None:
        self.lock = FairLock()
        event.listen(engine, "begin", self._begin)
        event.listen(engine, "commit", self._release)
        event.listen(engine, "rollback", self._release)
        # The listeners take each event's whole current signature: SQLAlchemy calls one with an older,
        # shorter signature through a shim that issues a deprecation warning on every connection check-in.
        event.listen(engine.pool, "reset", self._end_open_transaction)
        event.listen(engine.pool, "reset", self._release_on_reset)
        event.listen(engine.pool, "invalidate", self._release_on_invalidate)

    def _begin(self, conn: Any) -> None:
        if conn.get_execution_options().get(READ_ONLY):
            conn.exec_driver_sql("BEGIN")
            return
        if not self.lock.acquire(timeout=self.WAIT_S, urgent=_URGENT.get()):
            raise TimeoutError(f"waited {self.WAIT_S:.0f} s for the database writer lock")
        conn.info[self.HELD] = True
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            self._release(conn)
            raise

    def _release(self, conn: Any) -> None:
        if conn.info.pop(self.HELD, False):
            self.lock.release()

    def _release_record(self, record: Any) -> None:
        # A connection reset or invalidated by the pool without a Connection-level rollback must not keep it.
        if record is not None and record.info.pop(self.HELD, False):
            self.lock.release()

    def _release_on_reset(self, _dbapi_conn: Any, record: Any, _reset_state: Any) -> None:
        self._release_record(record)

    def _release_on_invalidate(self, _dbapi_conn: Any, record: Any, _exception: Any) -> None:
        self._release_record(record)

    @staticmethod
    def _end_open_transaction(dbapi_conn: Any, _record: Any, _reset_state: Any) -> None:
        # A COMMIT refused by a deferred constraint leaves SQLite's transaction open while SQLAlchemy thinks it
        # ended, so the pool would hand out a connection still inside it ("cannot start a transaction within a
        # transaction"). End it on the way back to the pool.
        if dbapi_conn is not None and getattr(dbapi_conn, "in_transaction", False):
            dbapi_conn.execute("ROLLBACK")


_WRITERS: WeakKeyDictionary[Engine, WriterQueue] = WeakKeyDictionary()


def writer_queue(engine: Engine) -> WriterQueue | None:
    """The engine's writer queue; None on PostgreSQL, whose own locks order its writers."""
    return _WRITERS.get(engine)


READ_ONLY = "countersign_read_only"


@contextmanager
def read_scope(engine: Engine) -> Iterator[Session]:
    """A session for reads only: on SQLite it doesn't queue behind writers. Never write in it."""
    with Session(engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False) as session:
        yield session  # leaving the block closes the session: its transaction ends, loaded objects stay usable


@contextmanager
def session_scope(engine: Engine, *, sessions: Callable[[], Session] | None = None,
                  scopes: WriteScopes = _ENGINE_ONLY) -> Iterator[Session]:
    """A unit of work: commit on success, roll back on any error. Not nestable (NestedWriteScope).
    `sessions` makes the session (an app's factory, whose listeners keep its caches current)."""
    with scopes.open(), (sessions() if sessions else Session(engine, expire_on_commit=False)) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def dialect_insert(session: Session, table: Any) -> Any:
    """INSERT with ON CONFLICT support on whichever database we are on (both spell it the same)."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)


def claim_due(session: Session, statement: Any, *, limit: int = 100,
              params: dict[str, Any] | None = None) -> list[Any]:
    """Rows of `statement` this replica may work on now.

    On PostgreSQL the rows are locked FOR UPDATE SKIP LOCKED, so another replica running the same job
    skips them until this transaction ends. On SQLite the BEGIN IMMEDIATE transaction already excludes
    every other writer.
    """
    statement = statement.limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update(skip_locked=True)
    return list(session.exec(statement, params=params).all())


def advisory_lock(session: Session, key: int) -> None:
    """Serialise one kind of write across replicas (PostgreSQL); SQLite's writer lock already does."""
    if session.get_bind().dialect.name == "postgresql":
        session.exec(select(func.pg_advisory_xact_lock(key)))  # type: ignore[call-overload]



def require_id(value: int | None, what: str = "row") -> int:
    """A stored row's id. A row not yet flushed has none, and `id or 0` would quietly point at nothing."""
    if value is None:
        raise RuntimeError(f"this {what} has no id yet: flush it before using its id")
    return value
