"""Repeated refusals from one source, counted so the audit log gets at most one entry per source per minute.

A flood of failed sign-ins or made-up keys would otherwise write an audit row per attempt (200 a second from one
client). The first refusal from a source is written at once; those that follow within WINDOW_S are counted, and
the count goes into that source's next entry: written by the next refusal after the window, or by the
`audit.repeated_refusals` job once the window has passed. Per process, like the rate limiter's buckets.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

WINDOW_S = 60.0
MAX_SOURCES = 100_000


@dataclass
class Refusal:
    """What one refusal was: enough to write its audit entry."""

    actor: Any  # services.audit.service.Actor
    verb: str
    subject: str
    why: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Window:
    written_at: datetime
    unwritten: int  # refusals since the last entry that no entry has counted yet
    last: Refusal


class RefusalTally:
    def __init__(self) -> None:
        self._lock = threading.Lock()  # refusals are noted from request threads and the event loop
        self._by: dict[tuple[str, str], _Window] = {}

    def note(self, source: str, refusal: Refusal, now: datetime) -> int | None:
        """The count for an entry to write now (this refusal and those not yet written), or None: counted."""
        key = (source, refusal.verb)
        with self._lock:
            window = self._by.get(key)
            if window is not None and (now - window.written_at).total_seconds() < WINDOW_S:
                window.unwritten += 1
                window.last = refusal
                return None
            if window is None and len(self._by) >= MAX_SOURCES:
                self._forget_quiet(now)
            self._by[key] = _Window(now, 0, refusal)
            return 1 + (window.unwritten if window else 0)

    def due(self, now: datetime) -> list[tuple[str, int, Refusal]]:
        """(source, count, the latest refusal) for each source whose counted refusals have waited a window."""
        out = []
        with self._lock:
            for (source, _verb), window in list(self._by.items()):
                if (now - window.written_at).total_seconds() < WINDOW_S:
                    continue
                if window.unwritten:
                    out.append((source, window.unwritten, window.last))
                    window.written_at, window.unwritten = now, 0
            self._forget_quiet(now)
        return out

    def _forget_quiet(self, now: datetime) -> None:
        """Sources with nothing to write whose window has passed need no memory (the lock is held)."""
        for key, window in list(self._by.items()):
            if not window.unwritten and (now - window.written_at).total_seconds() >= WINDOW_S:
                del self._by[key]
