"""Digest schedules (per channel, a cron expression in a time zone) and the runs that claim each firing once."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator
from sqlmodel import Field as SQLField
from sqlmodel import SQLModel

from services.agents.models import CHANNEL_ID, Strict
from services.db import UTCDateTime

DEFAULT_SCHEDULES = (("0 9 * * *", "day"), ("0 9 * * mon", "week"))


class ScheduleCreate(Strict):
    channel: str = Field(pattern=CHANNEL_ID)
    cron: str | None = Field(None, max_length=100, description="5-field crontab; omitted: daily and weekly defaults")
    timezone: str | None = Field(None, max_length=64, description="IANA zone; default COUNTERSIGN_TIMEZONE")
    period: Literal["day", "week", "month"] | None = None

    @field_validator("cron")
    @classmethod
    def _parses(cls, value: str | None) -> str | None:
        if value is None:
            return None
        from apscheduler.triggers.cron import CronTrigger

        try:
            CronTrigger.from_crontab(value, timezone="UTC")
        except ValueError as exc:
            raise ValueError(f"not a crontab expression: {exc}") from None
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA time zone {value!r}") from None
        return value

    @model_validator(mode="after")
    def _period_needs_cron(self) -> ScheduleCreate:
        if self.period is not None and self.cron is None:
            raise ValueError("period goes with cron; without cron the daily and weekly defaults are created")
        return self


class DigestSendRequest(Strict):
    channel: str | None = Field(None, pattern=CHANNEL_ID)
    period: Literal["day", "week", "month"] = "day"
    so_far: bool = Field(False, description="the period running now, up to now, instead of the last complete one")


class SchedulePublic(BaseModel):
    id: int
    channel: str
    cron: str
    timezone: str
    period: str
    created_at: str


class DigestsSent(BaseModel):
    runs: list[int] = Field(description="the digest runs queued for posting")


class DigestSchedule(SQLModel, table=True):
    __tablename__ = "digest_schedules"

    id: int | None = SQLField(default=None, primary_key=True)
    channel: str = SQLField(max_length=32, index=True)
    cron: str = SQLField(max_length=100)
    timezone: str = SQLField(max_length=64)
    period: str = SQLField(max_length=8)  # what each digest covers: the last complete day, week or month
    created_at: datetime = SQLField(sa_type=UTCDateTime)


class DigestRun(SQLModel, table=True):
    """One digest sent (or being sent). `fire_key` is unique: one run per schedule and firing, on any replica."""

    __tablename__ = "digest_runs"

    id: int | None = SQLField(default=None, primary_key=True)
    fire_key: str = SQLField(max_length=128, unique=True, index=True)
    schedule_id: int | None = SQLField(default=None, index=True)
    channel: str = SQLField(max_length=32)
    period: str = SQLField(max_length=8)
    period_start: str = SQLField(max_length=10)
    fire_at: datetime = SQLField(sa_type=UTCDateTime)
    status: str = SQLField(default="claimed", max_length=16)  # claimed | posted
    lease_until: datetime = SQLField(sa_type=UTCDateTime)
    narrative_source: str | None = SQLField(default=None, max_length=32)
    created_at: datetime = SQLField(sa_type=UTCDateTime)
    posted_at: datetime | None = SQLField(default=None, sa_type=UTCDateTime)
