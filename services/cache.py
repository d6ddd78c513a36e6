"""Small read caches for the reads that decide a write (the agent behind a key, its routing state, prices).

They belong to one app: `Caches` hangs off the AppContext and watches only the sessions that context's
`sessions` factory makes, so two apps in one process (tests run several) share no entry and no invalidation.

How they stay correct:
- In this app, a commit that wrote a watched table drops every entry loaded from it: a session records the
  tables its flushes and UPDATE/DELETE statements touched, and its `after_commit` bumps their generation.
- Across processes (another replica, the CLI) nothing tells us, so an entry also expires after a short TTL.
  Where a stale read could let a write through that must not happen (a paused agent, a rotated key), the
  write itself checks a version inside its transaction and raises StaleRead; the caller reloads and retries.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, sessionmaker

V = TypeVar("V")
TTL_S = 1.0
_TOUCHED = "countersign_touched_tables"


class StaleRead(Exception):  # noqa: N818 - a signal to retry, not an error anyone sees
    """A write found that what it was decided on changed meanwhile; read again and retry."""


class Caches:
    """One app's read caches, by name, and the generations of the tables they were loaded from."""

    def __init__(self, sessions: sessionmaker[Any]) -> None:
        self._generations: defaultdict[str, int] = defaultdict(int)
        self._caches: dict[str, ReadCache[Any]] = {}
        self._lock = threading.Lock()
        event.listen(sessions, "after_flush", _note_flushed)
        event.listen(sessions, "do_orm_execute", _note_statement)
        event.listen(sessions, "after_commit", self._bump_after_commit)
        event.listen(sessions, "after_rollback", _forget_after_rollback)

    def cache(self, name: str, *tables: str, ttl_s: float = TTL_S) -> ReadCache[Any]:
        """The cache called `name`, made on first use; its entries drop when `tables` are written."""
        found = self._caches.get(name)
        if found is None:
            with self._lock:
                found = self._caches.setdefault(name, ReadCache(self, tables, ttl_s))
        return found

    def generation(self, tables: tuple[str, ...]) -> int:
        return sum(self._generations[name] for name in tables)

    def touched(self, tables: set[str]) -> None:
        """Drop every cached entry read from these tables (called after a commit that wrote them)."""
        for name in tables:
            self._generations[name] += 1

    def _bump_after_commit(self, session: Session) -> None:
        names = session.info.pop(_TOUCHED, None)
        if names:
            self.touched(names)


def _note_flushed(session: Session, _context: Any) -> None:
    names = session.info.setdefault(_TOUCHED, set())
    # session.dirty also holds objects merely merged or assigned their own values; only a real change counts,
    # or every write that merges its agent would drop the agent cache that the next request reads.
    changed = [obj for obj in session.dirty if session.is_modified(obj, include_collections=False)]
    for obj in (*session.new, *changed, *session.deleted):
        table = getattr(obj, "__table__", None)
        if table is not None:
            names.add(table.name)


def _note_statement(state: ORMExecuteState) -> None:
    if state.is_update or state.is_delete or state.is_insert:
        table = getattr(state.statement, "table", None)
        if table is not None and getattr(table, "name", None):
            state.session.info.setdefault(_TOUCHED, set()).add(table.name)


def _forget_after_rollback(session: Session) -> None:
    session.info.pop(_TOUCHED, None)


class ReadCache(Generic[V]):
    """Values loaded from `tables`, each kept until a commit of this app writes one of them or `ttl_s` passes."""

    def __init__(self, caches: Caches, tables: tuple[str, ...], ttl_s: float = TTL_S,
                 max_entries: int = 10_000) -> None:
        self.caches, self.tables, self.ttl_s, self.max_entries = caches, tables, ttl_s, max_entries
        self._entries: dict[Hashable, tuple[V, int, float]] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, load: Callable[[], V]) -> V:
        now = time.monotonic()
        current = self.caches.generation(self.tables)
        entry = self._entries.get(key)
        if entry is not None and entry[1] == current and now - entry[2] < self.ttl_s:
            return entry[0]
        value = load()  # the generation was read first: a commit landing meanwhile makes this entry stale at once
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[key] = (value, current, now)
        return value

    def peek(self, key: Hashable) -> tuple[bool, V | None]:
        """(True, value) when a current entry is cached, without loading: for callers that must not block."""
        entry = self._entries.get(key)
        if entry is not None and entry[1] == self.caches.generation(self.tables) and \
                time.monotonic() - entry[2] < self.ttl_s:
            return True, entry[0]
        return False, None

    def forget(self, key: Hashable) -> None:
        with self._lock:
            self._entries.pop(key, None)
