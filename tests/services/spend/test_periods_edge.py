"""Period edges the digest header relies on (found by the block fuzzer: a label must never overflow)."""

from __future__ import annotations

from datetime import date

from services.spend.periods import Period, period_containing


def test_last_day_of_calendar_periods() -> None:
    """The label's last day is the day before the exclusive end: Sunday for a week, the 31st for January."""
    assert period_containing("week", date(2026, 1, 7)).last_day == date(2026, 1, 11)
    assert period_containing("month", date(2026, 1, 20)).last_day == date(2026, 1, 31)
    assert period_containing("day", date(2026, 1, 20)).last_day == date(2026, 1, 20)


def test_last_day_never_overflows() -> None:
    """An inverted period at the calendar's edge yields its start instead of raising OverflowError."""
    assert Period("week", date(2000, 1, 1), date.min).last_day == date(2000, 1, 1)
