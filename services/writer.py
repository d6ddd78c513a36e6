"""Group commit: many requests' writes in one transaction, each answered only after that transaction commits.

A request first does its deciding reads (read sessions, small caches) and builds its rows; what is left is a
*unit*: a function of a session that writes a few rows and returns the answer. `run(unit)` hands it over and
blocks until it is durable.

On SQLite (one writer at a time) a writer thread drains the queue: it opens one BEGIN IMMEDIATE transaction,
runs every queued unit in it, each inside its own SAVEPOINT so a failing unit is rolled back alone and gets
its own exception, commits once, and only then answers each caller. If the commit itself fails, every unit
of the batch gets that error: nothing is answered as written unless it was committed. While one batch
commits, the next requests queue, so the batch grows with the load and the per-transaction cost (lock
hand-over, BEGIN, COMMIT, WAL append) is paid once per batch rather than once per request.

On PostgreSQL many transactions run side by side, so each unit is its own short transaction in the caller's
thread: the reads that decide already happened outside it.
"""

from __future__ import annotations

import threading
import weakref
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import Engine
from sqlmodel import Session

from services.db import NestedWriteScope, is_sqlite, session_scope, write_scope, write_scope_open

T = TypeVar("T")
Unit = Callable[[Session], T]
MAX_BATCH = 200  # units per transaction: enough to amortise a commit, small enough to keep a click's wait short
IDLE_S = 5.0  # an idle writer thread ends; the next unit starts another


@dataclass
class _Queued:
    unit: Unit[Any]
    carry: str | None = None
    future: Future[Any] = field(default_factory=Future)


class GroupCommitter:
    """The single writer of one SQLite database in this process."""

    def __init__(self, engine: Engine, *, max_batch: int = MAX_BATCH, idle_s: float = IDLE_S) -> None:
        self.engine, self.max_batch, self.idle_s = engine, max_batch, idle_s
        self._queue: deque[_Queued] = deque()
        self._cond = threading.Condition()
        self._running = False
        self.batches = 0  # commits made, and units carried: for tests and the benchmark's notes
        self.units = 0

    def run(self, unit: Unit[T]) -> T:
        return self.run_carrying(unit, None)[0]

    def run_carrying(self, unit: Unit[T], carry: str | None) -> tuple[T, list[Any]]:
        """`run`, also handing back what this unit (and only it) appended to the list `session.info[carry]`:
        work a unit leaves for after the commit (an after-commit follow-up), which its caller then runs.
        A unit that failed hands back nothing; its entries are dropped with its savepoint."""
        if write_scope_open():
            raise NestedWriteScope("a write unit was submitted from inside a write scope; it would wait for its own "
                                   "transaction to commit: pass the open session down instead")
        queued = _Queued(unit, carry)
        with self._cond:
            self._queue.append(queued)
            if not self._running:
                self._running = True
                threading.Thread(target=self._loop, name="countersign-writer", daemon=True).start()
            self._cond.notify()
        return queued.future.result()

    def _take(self) -> list[_Queued] | None:
        with self._cond:
            while not self._queue:
                if not self._cond.wait(timeout=self.idle_s) and not self._queue:
                    self._running = False
                    return None
            batch = []
            while self._queue and len(batch) < self.max_batch:
                batch.append(self._queue.popleft())
            return batch

    def _loop(self) -> None:
        while (batch := self._take()) is not None:
            try:
                self._commit(batch)
            except BaseException as exc:  # never leave a caller waiting, whatever went wrong
                for queued in batch:
                    if not queued.future.done():
                        queued.future.set_exception(exc)

    def _commit(self, batch: list[_Queued]) -> None:
        outcomes: list[tuple[_Queued, Any, BaseException | None]] = []
        try:
            with write_scope(), Session(self.engine, expire_on_commit=False) as session:
                if len(batch) == 1:  # alone in its transaction: a failure rolls back the whole of it, no savepoint
                    result = batch[0].unit(session)
                    outcomes.append((batch[0], (result, _carried(session, batch[0].carry, 0)), None))
                else:
                    for queued in batch:
                        mark = len(session.info.get(queued.carry, ())) if queued.carry else 0
                        try:
                            with session.begin_nested():
                                result = queued.unit(session)
                            outcomes.append((queued, (result, _carried(session, queued.carry, mark)), None))
                        except Exception as exc:  # this unit alone is rolled back; the others go on
                            if queued.carry and queued.carry in session.info:
                                del session.info[queued.carry][mark:]
                            outcomes.append((queued, None, exc))
                session.commit()
        except Exception as exc:  # the transaction failed as a whole: nobody's write is durable
            for queued in batch:
                queued.future.set_exception(exc)
            return
        self.batches += 1
        self.units += len(batch)
        for queued, result, error in outcomes:
            if error is not None:
                queued.future.set_exception(error)
            else:
                queued.future.set_result(result)


def _carried(session: Session, key: str | None, mark: int) -> list[Any]:
    """What the unit appended to session.info[key] since `mark`, taken out so later units don't see it."""
    if not key or key not in session.info:
        return []
    mine = list(session.info[key][mark:])
    del session.info[key][mark:]
    return mine


class DirectWriter:
    """PostgreSQL: each unit is its own short transaction in the calling thread."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def run(self, unit: Unit[T]) -> T:
        return self.run_carrying(unit, None)[0]

    def run_carrying(self, unit: Unit[T], carry: str | None) -> tuple[T, list[Any]]:
        with session_scope(self.engine) as session:
            result = unit(session)
        return result, _carried(session, carry, 0)


_writers: weakref.WeakKeyDictionary[Engine, GroupCommitter | DirectWriter] = weakref.WeakKeyDictionary()
_writers_lock = threading.Lock()


def writer_for(engine: Engine) -> GroupCommitter | DirectWriter:
    """The one writer of this engine in this process."""
    with _writers_lock:
        writer = _writers.get(engine)
        if writer is None:
            writer = GroupCommitter(engine) if is_sqlite(engine) else DirectWriter(engine)
            _writers[engine] = writer
        return writer


def writer_stats(engine: Engine) -> dict[str, float]:
    """For /metrics: how many units the group committer carried in how many transactions (SQLite only)."""
    writer = _writers.get(engine)
    if not isinstance(writer, GroupCommitter):
        return {}
    return {"transactions": float(writer.batches), "units": float(writer.units)}
