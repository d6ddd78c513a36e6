"""Digest over 1,000,000 usage events (50 agents, 90 days) and POST /v1/usage throughput.

`python -m bench.digest [--pg URL] [--events N] [--ingest N]` prints the figures for SQLite and, with a URL,
PostgreSQL. `run(url)` is what bench.run calls with a migrated, empty database: it seeds the raw events and
the rollups they imply (bulk: executemany on SQLite, COPY on PostgreSQL), times the digest computation (which
reads rollups, never raw events), then times ingestion against a live server on the same, now large, database.
"""

from __future__ import annotations

import argparse
import os
import random
import time
from collections import defaultdict
from datetime import date, datetime, timedelta, timezone
from typing import Any

from sqlmodel import Session

from services import migrations
from services.agents.models import AgentCreate
from services.agents.service import create_agent
from services.audit.service import Actor
from services.db import make_engine
from services.digests.chart import render_chart
from services.digests.service import compute_digest
from services.spend.periods import period_containing

AGENTS, DAYS = 50, 90
MODELS = {"gpt-4o-mini": (0.15, 0.6), "gpt-4o": (2.5, 10.0), "claude-3-5-haiku": (0.8, 4.0)}
TODAY = date(2026, 1, 5)
UTC = timezone.utc
COLUMNS = ("agent_id", "request_id", "model", "provider", "input_tokens", "output_tokens", "cached_tokens",
           "reasoning_tokens", "cost_usd", "cost_source", "price", "draft_id", "day", "created_at")


def _events(agent_ids: list[int], n: int, seed: int = 7) -> Any:
    """n events spread over the last DAYS days; yields rows in COLUMNS order."""
    rng = random.Random(seed)
    names = list(MODELS)
    for i in range(n):
        agent = agent_ids[i % len(agent_ids)]
        model = names[(i // len(agent_ids)) % len(names)]
        day = TODAY - timedelta(days=1 + rng.randrange(DAYS))
        tokens_in, tokens_out = rng.randrange(200, 4000), rng.randrange(50, 800)
        rate_in, rate_out = MODELS[model]
        cost = (tokens_in * rate_in + tokens_out * rate_out) / 1_000_000
        at = datetime(day.year, day.month, day.day, rng.randrange(24), rng.randrange(60), tzinfo=UTC)
        yield (agent, f"seed-{i}", model, "openai", tokens_in, tokens_out, 0, 0, cost, "genai-prices", None, None,
               day, at.replace(tzinfo=None))


def seed(url: str, n: int, shards: int = 1) -> dict[str, float]:
    """`shards`: each (agent, model, day)'s rollup split over this many shard rows, as busy days on PostgreSQL
    end up (services.spend.shards): 16 is the worst case for the digest's reads."""
    engine = make_engine(url)
    started = time.perf_counter()
    with Session(engine) as session:
        ids = []
        for k in range(AGENTS):
            budgets = [{"period": "day", "limit_usd": 5.0}] if k % 3 == 0 else []
            agent, _ = create_agent(session=session, data=AgentCreate(name=f"bench-agent-{k:02d}", owner="U012OWNER",
                                                                       team=f"team-{k % 5}", budgets=budgets),
                                    actor=Actor.system("bench"), now=datetime.now(UTC), secret_key=None)
            ids.append(agent.id)
        session.commit()
    rollups: dict[tuple[int, str, date], list[float]] = defaultdict(lambda: [0.0, 0, 0, 0])
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        batch: list[tuple[Any, ...]] = []

        def tally(row: tuple[Any, ...]) -> tuple[Any, ...]:
            total = rollups[(row[0], row[2], row[12])]
            total[0] += row[8]
            total[1] += 1
            total[2] += row[4]
            total[3] += row[5]
            return row

        if engine.dialect.name == "postgresql":
            with cursor.copy(f"COPY usage_events ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                for row in _events(ids, n):
                    copy.write_row(tally(row))
        else:
            sql = f"INSERT INTO usage_events ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
            cursor.execute("BEGIN")
            for row in _events(ids, n):
                batch.append(tuple(str(v) if isinstance(v, (date, datetime)) else v for v in tally(row)))
                if len(batch) >= 50_000:
                    cursor.executemany(sql, batch)
                    batch.clear()
            cursor.executemany(sql, batch)
        rows = [(a, m, d if engine.dialect.name == "postgresql" else str(d), s, c / shards, 0.0, e, 0, i, o, 0)
                for (a, m, d), (c, e, i, o) in rollups.items() for s in range(shards)]
        marker = "%s" if engine.dialect.name == "postgresql" else "?"
        cursor.executemany("INSERT INTO spend_rollups (agent_id, model, day, shard, cost_usd, waste_usd, events, "
                           "unknown_cost_events, input_tokens, output_tokens, cached_tokens) VALUES "
                           f"({', '.join([marker] * 11)})", rows)
        raw.commit()
    finally:
        raw.close()
    engine.dispose()
    return {"events": n, "rollup_rows": len(rows), "seed_seconds": round(time.perf_counter() - started, 1)}


def time_digests(url: str) -> dict[str, float]:
    from zoneinfo import ZoneInfo

    engine = make_engine(url)
    now = datetime(TODAY.year, TODAY.month, TODAY.day, 9, tzinfo=UTC)
    out = {}
    for kind in ("day", "week", "month"):
        period = period_containing(kind, TODAY - timedelta(days=1))
        best = float("inf")
        for _ in range(3):  # best of three: the first run also warms the connection pool
            started = time.perf_counter()
            with Session(engine) as session:
                digest = compute_digest(session=session, period=period, now=now, tz=ZoneInfo("UTC"))
            best = min(best, time.perf_counter() - started)
        out[f"digest_{kind}_s"] = round(best, 4)
    started = time.perf_counter()
    png = render_chart(digest)
    out["chart_s"] = round(time.perf_counter() - started, 3)
    out["chart_bytes"] = len(png or b"")
    out["month_total_usd"] = round(digest.total_usd, 2)
    engine.dispose()
    return out


def time_ingest(url: str, n: int) -> dict[str, Any]:
    from testkit.live import countersign_server, register_agent
    from testkit.load import Request, run_load

    out: dict[str, Any] = {}
    with countersign_server(url, name="digest-bench") as server:
        key = register_agent(server.base_url, "bench-ingest",
                             budgets=[{"period": "month", "limit_usd": 1e6}])["api_key"]
        headers = {"Authorization": f"Bearer {key}"}
        stamp = time.time_ns()
        for concurrency in (1, 16):
            result = run_load(server.base_url, lambda i, c=concurrency: Request(
                "POST", "/v1/usage", headers=headers, json={
                "model": "gpt-4o-mini", "provider": "openai", "input_tokens": 1200, "output_tokens": 300,
                "cached_tokens": 200, "request_id": f"ingest-{stamp}-{c}-{i}"}), n=n, concurrency=concurrency)
            if result.ok != n:
                raise RuntimeError(f"ingest failed: {result.statuses} {result.error_samples}")
            out[f"ingest_c{concurrency}"] = {"per_s": round(result.throughput, 1), "p50_ms": round(result.p50_ms, 1),
                                             "p99_ms": round(result.p99_ms, 1)}
    return out


def run(url: str, *, events: int = 1_000_000, ingest: int = 1000, shards: int = 1) -> dict[str, Any]:
    """Seed, time the digest, time ingestion; `seconds` is the daily digest's computation time."""
    figures: dict[str, Any] = {"backend": make_engine(url).dialect.name}
    figures.update(seed(url, events, shards))
    figures.update(time_digests(url))
    if ingest:
        figures.update(time_ingest(url, ingest))
    figures["seconds"] = figures["digest_day_s"]
    return figures


def main() -> None:
    from testkit.live import pg_database, sqlite_database

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg", default=os.environ.get("COUNTERSIGN_TEST_POSTGRES_URL"))
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--ingest", type=int, default=1000, help="requests per concurrency level (0: skip)")
    parser.add_argument("--shards", type=int, default=1,
                        help="rollup rows per (agent, model, day); 16 is the worst case of services.spend.shards")
    args = parser.parse_args()
    databases = [sqlite_database] + ([lambda: pg_database(args.pg)] if args.pg else [])
    for database in databases:
        with database() as url:
            engine = make_engine(url)
            migrations.upgrade(engine)
            engine.dispose()
            print(run(url, events=args.events, ingest=args.ingest, shards=args.shards), flush=True)


if __name__ == "__main__":
    main()
