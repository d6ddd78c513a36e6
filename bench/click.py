"""The click cell of bench.run alone, for A/B work on the ack path: `python -m bench.click [--pg URL] [--clicks 300]`.

Posts drafts until there are enough cards, then presses Approve on each card (4 at a time) while drafts pour in
at concurrency 16, and prints the click's p50/p99 next to the drafts' own rate during the same seconds: an ack
bought by starving the agents shows here as a falling drafts rate.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import uuid

from bench import machine
from bench.run import _bodies, _wait_for_cards
from testkit.clicks import click_request, pick_button
from testkit.fakes.receiver import FakeAgentReceiver
from testkit.fakes.slack import FakeSlack
from testkit.live import countersign_server, pg_database, register_agent, sqlite_database
from testkit.load import LoadResult, Request, drive, run_load


def measure(db_url: str, clicks: int, load: int) -> tuple[LoadResult, LoadResult]:
    body = _bodies()["drafts"][1]
    with FakeSlack(token=None) as slack, FakeAgentReceiver() as receiver, \
            countersign_server(db_url, slack_url=slack.url) as server:
        agent = register_agent(server.base_url, f"click-{uuid.uuid4().hex[:6]}", callback_url=receiver.url)
        auth = {"Authorization": f"Bearer {agent['api_key']}"}
        run_load(server.base_url, lambda i: Request("POST", "/v1/drafts", json=body(i), headers=auth),
                 n=clicks, concurrency=16)
        cards = _wait_for_cards(slack, want=clicks, timeout=60)[:clicks]

        def make_click(i: int) -> Request:
            card = cards[i % len(cards)]
            return click_request(card, pick_button(card) or {}, user="U078ALICE",
                                 response_url=slack.response_url(f"bench-click-{i}"))

        async def both() -> tuple[LoadResult, LoadResult]:
            drafts = asyncio.create_task(drive(server.base_url, lambda i: Request(
                "POST", "/v1/drafts", json=body(10 * clicks + i), headers=auth), n=load, concurrency=16))
            await asyncio.sleep(0.2)
            pressed = await drive(server.base_url, make_click, n=len(cards), concurrency=4)
            return pressed, await drafts

        return asyncio.run(both())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg", default=None, help="a fresh PostgreSQL database next to this URL (default: SQLite)")
    parser.add_argument("--clicks", type=int, default=300)
    parser.add_argument("--load", type=int, default=1000, help="drafts posted at 16 while the clicks run")
    args = parser.parse_args()
    before = machine.loadavg()
    with (pg_database(args.pg) if args.pg else sqlite_database()) as url:
        clicks, drafts = measure(url, args.clicks, args.load)
    backend = "postgres" if args.pg else "sqlite"
    failed = f", {clicks.n - clicks.ok} failed" if clicks.ok < clicks.n else ""
    print(f"{backend}: click p50 {clicks.p50_ms:.1f} ms, p99 {clicks.p99_ms:.1f} ms ({clicks.ok} clicks{failed}); "
          f"drafts meanwhile {drafts.throughput:.0f}/s, p99 {drafts.p99_ms:.0f} ms; "
          f"load {before} -> {machine.loadavg()} (pid {os.getpid()})")


if __name__ == "__main__":
    main()
