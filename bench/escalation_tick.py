"""One escalation tick with 10,000 open incidents of which 100 are due: wall time and SQL statements.

`python -m bench.escalation_tick [--pg URL]` prints the figures for SQLite (a temporary file) and, when a
PostgreSQL URL is given (or COUNTERSIGN_TEST_POSTGRES_URL is set), for a fresh PostgreSQL database too.
`run(url)` is what bench.run calls: it seeds the (migrated, empty) database at `url` and returns the figures.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event, insert

from bot.notifier import SlackNotifier
from services import migrations
from services.agents.models import AgentCreate
from services.agents.service import create_agent
from services.assembly import build_context
from services.audit.service import Actor
from services.config import Settings
from services.context import AppContext
from services.db import make_engine, session_scope
from services.incidents.escalation import escalation_tick
from services.incidents.models import Incident
from testkit.clock import FakeClock

OPEN, DUE, WARM = 10_000, 100, 5
CHAIN = [{"notify": "owner"}, {"wait_s": 600}, {"notify": "backups"}, {"wait_s": 900}, {"notify": "channel"}]


def seed(ctx: AppContext, *, open_: int = OPEN, due: int = DUE, warm: int = WARM) -> None:
    """Ten agents; `open_` incidents waiting at 'notify backups': `warm` due now (the warm-up tick), `due` due
    in ten seconds (the measured tick), the rest later."""
    now = ctx.clock.now()
    with session_scope(ctx.engine) as session:
        agents = [create_agent(session=session, now=now, secret_key=None, actor=Actor.system("bench"), data=AgentCreate(
            name=f"bench-{n}", owner="U012OWNER", backup_owners=["U034BACKUP"], review_channel="C056REVIEW",
            escalation_chain=CHAIN))[0] for n in range(10)]
        rows = []
        for i in range(open_):
            agent = agents[i % len(agents)]
            at = now + timedelta(seconds=0 if i < warm else 10 if i < warm + due else 60 + i)
            rows.append(dict(agent_id=agent.id, agent_name=agent.name, kind="error", severity="high",
                             summary=f"bench incident {i}", details={}, status="triggered", occurrences=1,
                             chain=CHAIN, chain_repeat=1, step_index=2, round=0, next_step_at=at,
                             cards={"U012OWNER": "U012OWNER"}, thread_owner="U012OWNER", opened_by="bench",
                             created_at=now, updated_at=now, last_occurred_at=now))
        for start in range(0, len(rows), 2000):
            session.execute(insert(Incident), rows[start:start + 2000])


def run(url: str) -> dict[str, Any]:
    engine = make_engine(url)
    migrations.upgrade(engine)
    settings = Settings(_env_file=None, DATABASE_URL=url)  # type: ignore[call-arg]
    clock = FakeClock()
    ctx = build_context(settings, engine=engine, clock=clock, notifier=SlackNotifier())
    seed(ctx)
    escalation_tick(ctx)  # warm-up on a few incidents: compiled statements and imports, as in a running server
    clock.advance(10)
    statements = 0

    def count(*_: Any) -> None:
        nonlocal statements
        statements += 1

    event.listen(engine, "before_cursor_execute", count)
    started, cpu = time.perf_counter(), time.process_time()
    taken = escalation_tick(ctx)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu  # cpu: ours, steady on a busy host
    event.remove(engine, "before_cursor_execute", count)
    engine.dispose()
    return {"seconds": seconds, "cpu_seconds": cpu, "statements": statements, "steps_taken": taken, "open": OPEN,
            "due": DUE}


def _postgres(base_url: str) -> dict[str, Any]:
    from testkit.live import pg_database

    with pg_database(base_url) as url:
        return run(url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg", default=os.environ.get("COUNTERSIGN_TEST_POSTGRES_URL"), help="PostgreSQL server URL")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cs-esc-") as tmp:
        results = [("sqlite", run(f"sqlite:///{Path(tmp) / 'bench.db'}"))]
    if args.pg:
        results.append(("postgres", _postgres(args.pg)))
    print(f"escalation tick: {OPEN:,} open incidents, {DUE} due")
    for backend, r in results:
        print(f"  {backend:8} {r['seconds'] * 1000:7.1f} ms wall  {r['cpu_seconds'] * 1000:7.1f} ms cpu  "
              f"{r['statements']:4d} SQL statements  {r['steps_taken']} steps taken")


if __name__ == "__main__":
    main()
