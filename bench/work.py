"""What one request costs the database, whatever the machine's load: `python -m bench.work [--pg URL] [--n 50]`.

Runs the whole app in process (outbox sender on, fake Slack answering at once), sends each ingest path one
request at a time, waits for every card to be delivered, and counts per request: SQL statements, write
transactions (BEGIN IMMEDIATE on SQLite; transactions that wrote, on PostgreSQL, are not told apart here, so
the SQLite figure is the one to read) and the statements run most. Counts don't move with a busy machine, so
they show what a change saved when the rates of a shared host can't.
"""

from __future__ import annotations

import argparse
import collections
import time
import uuid
from typing import Any

from sqlalchemy import event

from bench.run import INCIDENTS, _bodies
from testkit.fakes.receiver import FakeAgentReceiver
from testkit.fakes.slack import FakeSlack
from testkit.live import pg_database, sqlite_database

PATHS = ("drafts", "usage", INCIDENTS)


def measure(db_url: str, n: int, top: int) -> str:
    from services import migrations
    from services.db import make_engine
    from tests.harness import Harness  # the in-process app the tests drive

    engine = make_engine(db_url)
    migrations.upgrade(engine)
    engine.dispose()
    counts: collections.Counter[str] = collections.Counter()
    on = [False]
    lines = []
    with FakeSlack(token=None) as slack, FakeAgentReceiver() as receiver, \
            Harness(db_url, slack=slack, receiver=receiver, COUNTERSIGN_TICK_SECONDS=30) as h:

        def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            if on[0]:
                counts[" ".join(statement.split())[:80]] += 1

        event.listen(h.ctx.engine, "before_cursor_execute", count)
        auth = h.bearer(h.register(f"work-{uuid.uuid4().hex[:6]}")["api_key"])
        for what in PATHS:
            path, body = _bodies()[what]
            for i in range(3):  # warm the caches and the lanes
                h.client.post(path, json=body(10_000 + i), headers=auth)
            h.drain()
            counts.clear()
            on[0] = True
            cpu = time.process_time()
            for i in range(n):
                response = h.client.post(path, json=body(i), headers=auth)
                assert response.status_code < 300, response.text
                time.sleep(0.01)  # one request at a time, as at c=1, with the sender given its turn
            h.drain()
            on[0] = False
            cpu_ms = (time.process_time() - cpu) * 1000 / n
            writes = sum(v for k, v in counts.items() if k.startswith("BEGIN IMMEDIATE"))
            lines.append(f"{what}: {sum(counts.values()) / n:.1f} statements and {writes / n:.2f} write "
                         f"transactions per request, delivery included ({cpu_ms:.1f} ms of CPU, this process: app, "
                         "client and fake Slack)")
            lines += [f"    {v / n:5.2f}  {k}" for k, v in counts.most_common(top)]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg", default=None)
    parser.add_argument("--n", type=int, default=50)
    parser.add_argument("--top", type=int, default=8)
    args = parser.parse_args()
    with (pg_database(args.pg) if args.pg else sqlite_database()) as url:
        print(measure(url, args.n, args.top))


if __name__ == "__main__":
    main()
