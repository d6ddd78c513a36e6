"""Small read caches for the reads that decide a write (the agent behind a key, its routing state, prices).

How they stay correct:
- In this process, a commit that wrote a watched table drops every entry loaded from it: a session records
  the tables its flushes and UPDATE/DELETE statements touched, and `after_commit` bumps their generation.
- Across processes (another replica, the CLI) nothing tells us, so an entry also expires after a short TTL.
  Where a stale read could let a write through that must not happen (a paused agent, a rotated key), the
  write itself checks a version inside its transaction and raises StaleRead; the caller reloads and retries.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections import defaultdict
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

from sqlalchemy import Engine, event
from sqlalchemy.orm import ORMExecuteState, Session

V = TypeVar("V")
TTL_S = 1.0
_TOUCHED = "countersign_touched_tables"
_generations: defaultdict[str, int] = defaultdict(int)


_engine_keys: weakref.WeakKeyDictionary[Engine, str] = weakref.WeakKeyDictionary()


def engine_key(engine: Engine) -> str:
    """Which database a cached value came from (rendering the URL each request showed up in profiles)."""
    key = _engine_keys.get(engine)
    if key is None:
        key = _engine_keys[engine] = engine.url.render_as_string(hide_password=True)
    return key


class StaleRead(Exception):  # noqa: N818 - a signal to retry, not an error anyone sees
    """A write found that what it was decided on changed meanwhile; read again and retry."""


def generation(tables: tuple[str, ...]) -> int:
    return sum(_generations[name] for name in tables)


def touched(tables: set[str]) -> None:
    """Drop every cached entry read from these tables (called after a commit that wrote them)."""
    for name in tables:
        _generations[name] += 1


@event.listens_for(Session, "after_flush")
def _note_flushed(session: Session, _context: Any) -> None:
    names = session.info.setdefault(_TOUCHED, set())
    # session.dirty also holds objects merely merged or assigned their own values; only a real change counts,
    # or every write that merges its agent would drop the agent cache that the next request reads.
    changed = [obj for obj in session.dirty if session.is_modified(obj, include_collections=False)]
    for obj in (*session.new, *changed, *session.deleted):
        table = getattr(obj, "__table__", None)
        if table is not None:
            names.add(table.name)


@event.listens_for(Session, "do_orm_execute")
def _note_statement(state: ORMExecuteState) -> None:
    if state.is_update or state.is_delete or state.is_insert:
        table = getattr(state.statement, "table", None)
        if table is not None and getattr(table, "name", None):
            state.session.info.setdefault(_TOUCHED, set()).add(table.name)


@event.listens_for(Session, "after_commit")
def _bump_after_commit(session: Session) -> None:
    names = session.info.pop(_TOUCHED, None)
    if names:
        touched(names)


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(_TOUCHED, None)


class ReadCache(Generic[V]):
    """Values loaded from `tables`, each kept until a local commit writes one of them or `ttl_s` passes."""

    def __init__(self, *tables: str, ttl_s: float = TTL_S, max_entries: int = 10_000) -> None:
        self.tables, self.ttl_s, self.max_entries = tables, ttl_s, max_entries
        self._entries: dict[Hashable, tuple[V, int, float]] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, load: Callable[[], V]) -> V:
        now = time.monotonic()
        current = generation(self.tables)
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
        if entry is not None and entry[1] == generation(self.tables) and time.monotonic() - entry[2] < self.ttl_s:
            return True, entry[0]
        return False, None

    def forget(self, key: Hashable) -> None:
        with self._lock:
            self._entries.pop(key, None)
