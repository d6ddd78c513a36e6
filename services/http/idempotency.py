"""Idempotency-Key for every create endpoint: the same key and body replays the first response; the same
key with another body is 409. The key row is written in the creating transaction, so a crash can't leave
one without the other; concurrent duplicates meet on the primary key and the loser replays."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import JSON, Column, delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel

from services.context import AppContext
from services.db import UTCDateTime
from services.errors import Conflict, field_error

KEEP_FOR = timedelta(hours=24)
Created = tuple[int, dict[str, Any]]


class IdempotencyKey(SQLModel, table=True):
    __tablename__ = "idempotency_keys"

    scope: str = Field(primary_key=True, max_length=128)
    key: str = Field(primary_key=True, max_length=255)
    request_hash: str = Field(max_length=64)
    status_code: int
    response: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(sa_type=UTCDateTime, index=True)


def body_hash(body: Any) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str, separators=(",", ":")).encode()).hexdigest()


def idempotent(
    ctx: AppContext, *, scope: str, key: str | None, body: Any, create: Callable[[Session], Created]
) -> JSONResponse:
    """Answer a create endpoint: `create(session)` runs in one `ctx.uow()` and returns (status, payload).
    `body`: the request (its model, or what it hashes as); a repeat must match it to replay.

    With a key, a stored answer is looked for first in a read (no writer lock), and the key row is written in
    `create`'s transaction, so it commits (or not) with the answer it stores. A concurrent duplicate that
    committed first makes ours fail on the key's primary key: everything ours wrote rolls back and we answer
    what the first one answered."""
    if key is None:
        with ctx.uow() as session:
            status, payload = create(session)
        return JSONResponse(payload, status_code=status)
    digest = _checked_digest(key, body)
    with ctx.read() as session:
        replay = _replay(session, scope, key, digest)
    if replay is not None:
        return replay
    try:
        with ctx.uow() as session:
            status, payload = create(session)
            _remember(session, ctx, scope=scope, key=key, digest=digest, status=status, payload=payload)
    except IntegrityError:
        with ctx.read() as session:
            replay = _replay(session, scope, key, digest)
        if replay is None:
            raise
        return replay
    return JSONResponse(payload, status_code=status)


def _checked_digest(key: str, body: Any) -> str:
    if not key or len(key) > 255 or not key.isprintable():
        raise field_error("Idempotency-Key", "must be 1 to 255 printable characters")
    # A request model is dumped only here, when a key asks for its hash: most creates carry no key.
    return body_hash(body.model_dump(mode="json") if isinstance(body, BaseModel) else body)


def _remember(session: Session, ctx: AppContext, *, scope: str, key: str, digest: str, status: int,
              payload: Any) -> None:
    """Store the first answer under its key, as strict JSON, in the transaction that made it."""
    session.add(IdempotencyKey(scope=scope, key=key, request_hash=digest, status_code=status,
                               response=json.loads(json.dumps(payload, default=str, allow_nan=False)),
                               created_at=ctx.clock.now()))
    session.flush()


def _replay(session: Session, scope: str, key: str, digest: str) -> JSONResponse | None:
    row = session.get(IdempotencyKey, (scope, key))
    if row is None:
        return None
    if row.request_hash != digest:
        raise Conflict("this Idempotency-Key was already used with a different request body")
    return JSONResponse(row.response, status_code=row.status_code, headers={"Idempotent-Replayed": "true"})


def purge_expired(*, session: Session, now: datetime) -> int:
    result = session.exec(delete(IdempotencyKey).where(IdempotencyKey.created_at < now - KEEP_FOR))  # type: ignore[call-overload]
    return int(result.rowcount or 0)
