"""Time, passed in: the app and jobs read `clock.now()`, so tests can hand in a clock they move by hand
(testkit.clock.FakeClock)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc)
