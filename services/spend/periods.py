"""Calendar periods in the configured zone: a day, a week starting Monday, a month."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Period:
    kind: str  # day | week | month
    start: date  # first local day, inclusive
    end: date  # first local day of the next period, exclusive

    @property
    def last_day(self) -> date:
        """The last day inside the period (its start for an empty or inverted one, which is never built)."""
        return self.end - timedelta(days=1) if self.end > self.start else self.start

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    def previous(self) -> Period:
        return period_containing(self.kind, self.start - timedelta(days=1))

    def start_utc(self, tz: ZoneInfo) -> datetime:
        return datetime.combine(self.start, time(0), tzinfo=tz)

    def end_utc(self, tz: ZoneInfo) -> datetime:
        return datetime.combine(self.end, time(0), tzinfo=tz)


def local_day(when: datetime, tz: ZoneInfo) -> date:
    return when.astimezone(tz).date()


def period_containing(kind: str, day: date) -> Period:
    if kind == "day":
        return Period(kind, day, day + timedelta(days=1))
    if kind == "week":
        start = day - timedelta(days=day.weekday())
        return Period(kind, start, start + timedelta(days=7))
    if kind == "month":
        start = day.replace(day=1)
        end = (start + timedelta(days=32)).replace(day=1)
        return Period(kind, start, end)
    raise ValueError(f"unknown period {kind!r}")


def current_period(kind: str, now: datetime, tz: ZoneInfo) -> Period:
    return period_containing(kind, local_day(now, tz))


def elapsed_fraction(period: Period, now: datetime, tz: ZoneInfo) -> float:
    """How much of the period has passed, for projecting spend to its end (never below one hour's worth)."""
    total = (period.end_utc(tz) - period.start_utc(tz)).total_seconds()
    passed = (now - period.start_utc(tz)).total_seconds()
    return min(1.0, max(passed, 3600.0) / total)
