"""The ceiling: a bare FastAPI app with one endpoint doing one insert into one table, on the same database
engine setup Countersign uses (WAL and BEGIN IMMEDIATE on SQLite, a pool on PostgreSQL) and the same kind of
sync route run in the threadpool. Our ingest rates are reported as a ratio to this."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import JSON, Column, DateTime, Integer, MetaData, String, Table, insert

from services.db import make_engine

metadata = MetaData()
rows = Table(
    "bench_bare_rows", metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("created_at", DateTime, nullable=False),
)


def create_app() -> FastAPI:
    # A benchmark fixture, not part of the service: it reads its one setting straight from the environment.
    engine = make_engine(os.environ["DATABASE_URL"])
    metadata.create_all(engine)
    app = FastAPI(title="bare")

    @app.get("/readyz")
    def ready() -> dict[str, str]:
        return {"status": "ready"}

    @app.post("/bare", status_code=201)
    def create(body: dict[str, Any]) -> JSONResponse:
        with engine.begin() as conn:
            new_id = conn.execute(insert(rows).values(name=str(body.get("title", ""))[:200], payload=body,
                                                      created_at=datetime.now(timezone.utc).replace(tzinfo=None))
                                  ).inserted_primary_key[0]
        return JSONResponse({"id": new_id}, status_code=201)

    return app
