"""Login links and web sessions. Tokens are kept only as SHA-256 hashes."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from services.db import UTCDateTime


class LoginLink(SQLModel, table=True):
    __tablename__ = "web_login_links"

    token_hash: str = Field(primary_key=True, max_length=64)
    user_id: str = Field(max_length=32)
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime, index=True)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # set once: the link is single use


class WebSession(SQLModel, table=True):
    __tablename__ = "web_sessions"

    token_hash: str = Field(primary_key=True, max_length=64)
    user_id: str = Field(max_length=32, index=True)
    csrf_token: str = Field(max_length=64)  # every state change carries it; compared in constant time
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime, index=True)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # signed out


class ListenAddress(SQLModel, table=True):
    """An address a running `countersign serve` bound on this database: what links name when
    COUNTERSIGN_PUBLIC_URL is unset (services.signin.addresses)."""

    __tablename__ = "listen_addresses"

    url: str = Field(primary_key=True, max_length=300)
    started_at: datetime = Field(sa_type=UTCDateTime)
