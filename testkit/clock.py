"""A clock tests (and the benchmarks) move by hand, handed to the app in place of services.clock.SystemClock."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone


class FakeClock:
    """A clock tests advance explicitly; thread-safe because jobs read it from worker threads."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, seconds: float = 0, **kwargs: float) -> datetime:
        with self._lock:
            self._now += timedelta(seconds=seconds, **kwargs)
            return self._now

    def set(self, when: datetime) -> None:
        with self._lock:
            self._now = when
