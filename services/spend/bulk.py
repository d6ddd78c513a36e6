"""Usage events inserted in one statement with one parameter: the rows as one JSON array, unpacked by the
database (json_array_elements on PostgreSQL, json_each on SQLite).

Why not a multi-row VALUES: 1,000 events are 14,000 bind parameters, and every one of them is processed in
Python on each call (SQLAlchemy's bind processors, and psycopg re-parses a statement that long each time
instead of caching it). One JSON text is encoded in C and parsed by the database. The batch's agent, day and
timestamp are the same for every row, so they are bound once.

The agent's version (services.agents.cache.version_params) is checked by the INSERT itself, as a WHERE
EXISTS on its row: nothing is inserted for an agent paused, re-keyed or changed since the request was decided,
and the caller, finding nothing inserted, tells that apart from repeats with one read.

Keyed rows skip a request_id stored before (ON CONFLICT DO NOTHING) and come back by request_id. Unkeyed rows
come back in their order: the SELECT is ordered by position, so their ids are drawn in that order, and sorting
the returned ids restores it.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, bindparam, text
from sqlmodel import Session

from services.db import UTCDateTime

# Per row, in this order; agent_id, day and created_at are bound once per statement.
COLUMNS = ("request_id", "model", "provider", "input_tokens", "output_tokens", "cached_tokens", "reasoning_tokens",
           "cost_usd", "cost_source", "price", "draft_id")
_CASTS = {"input_tokens": "integer", "output_tokens": "integer", "cached_tokens": "integer",
          "reasoning_tokens": "integer", "cost_usd": "double precision"}
_TARGET = f"INSERT INTO usage_events (agent_id, {', '.join(COLUMNS)}, day, created_at) "
_TAIL = " ON CONFLICT (agent_id, request_id) DO NOTHING RETURNING id, request_id"
_AGENT_UNCHANGED = ("EXISTS (SELECT 1 FROM agents WHERE agents.id = :agent_id AND agents.status = :agent_status "
                    "AND agents.api_key_hash = :agent_key_hash AND {updated} = {bound})")
# SQLite keeps timestamps as text, and a row written by another process may spell the same instant otherwise
# ('12:00:00' against the bound '12:00:00.000000'): compared as instants (julianday, to the millisecond).
_UNCHANGED = {"postgresql": _AGENT_UNCHANGED.format(updated="agents.updated_at", bound=":agent_updated_at"),
              "sqlite": _AGENT_UNCHANGED.format(updated="julianday(agents.updated_at)",
                                                bound="julianday(:agent_updated_at)")}


def _postgres_item(i: int, name: str) -> str:
    if name == "price":
        return f"e.v -> {i}"
    cast = _CASTS.get(name)
    return f"CAST(e.v ->> {i} AS {cast})" if cast else f"e.v ->> {i}"


_STATEMENTS = {
    "postgresql": _TARGET + "SELECT :agent_id, "
    + ", ".join(_postgres_item(i, name) for i, name in enumerate(COLUMNS))
    + ", :day, :created_at FROM json_array_elements(CAST(:rows AS json)) WITH ORDINALITY AS e(v, n) WHERE "
    + _UNCHANGED["postgresql"] + " ORDER BY e.n"
    + _TAIL,
    # A WHERE clause is needed anyway: SQLite would read ON CONFLICT right after FROM as a join's ON (its
    # documented ambiguity).
    "sqlite": _TARGET + "SELECT :agent_id, "
    + ", ".join(f"json_extract(value, '$[{i}]')" for i in range(len(COLUMNS)))
    + ", :day, :created_at FROM json_each(:rows) WHERE " + _UNCHANGED["sqlite"] + " ORDER BY key" + _TAIL,
}
_compiled: dict[str, Any] = {}


def _statement(dialect: str) -> Any:
    if dialect not in _compiled:
        _compiled[dialect] = text(_STATEMENTS[dialect]).bindparams(
            bindparam("day", type_=Date), bindparam("created_at", type_=UTCDateTime),
            bindparam("agent_updated_at", type_=UTCDateTime))
    return _compiled[dialect]


def insert_events(session: Session, *, agent: dict[str, Any], day: date, now: datetime,
                  rows: list[dict[str, Any]]) -> list[int | None]:
    """Insert `rows` (dicts with COLUMNS) if the agent is unchanged (`agent`: its version_params); the new id of
    each in order, None where its request_id was stored before or the agent changed. Rows must not repeat a
    request_id among themselves (the caller keeps the first)."""
    if not rows:
        return []
    payload = json.dumps([[row[name] for name in COLUMNS] for row in rows], allow_nan=False,
                         separators=(",", ":"))
    statement = _statement(session.get_bind().dialect.name)
    returned = session.execute(statement, {**agent, "day": day, "created_at": now, "rows": payload}).all()
    by_request = {rid: id_ for id_, rid in returned if rid is not None}
    unkeyed = iter(sorted(id_ for id_, rid in returned if rid is None))  # empty when the agent check refused
    return [next(unkeyed, None) if row["request_id"] is None else by_request.get(row["request_id"]) for row in rows]
