"""People away: while someone is away until a moment, what was meant for them goes to their delegate."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict
from sqlmodel import Field, SQLModel

from services.agents.models import UserId
from services.db import UTCDateTime


class Away(SQLModel, table=True):
    __tablename__ = "people_away"

    user_id: str = Field(primary_key=True, max_length=32)
    delegate: str = Field(max_length=32, index=True)
    until: datetime = Field(sa_type=UTCDateTime, index=True)  # away ends by itself at this moment
    set_by: str = Field(max_length=64)  # who said so: the person, an admin, or the CLI's operator
    set_at: datetime = Field(sa_type=UTCDateTime)


class AwayRequest(BaseModel):
    """`PUT /v1/people/{user}/away`."""

    model_config = ConfigDict(extra="forbid")

    until: datetime
    delegate: UserId


class AwayPublic(BaseModel):
    user: str
    delegate: str
    until: datetime
    set_by: str
    set_at: datetime

    @classmethod
    def of(cls, row: Away) -> AwayPublic:
        return cls(user=row.user_id, delegate=row.delegate, until=row.until, set_by=row.set_by, set_at=row.set_at)
