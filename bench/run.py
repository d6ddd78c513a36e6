"""The one command for the figures: `python -m bench.run [--pg URL] [--quick] [--out bench/RESULTS.md]`.

Starts the real server (its own process) and the bare one-insert app (bench/bare.py) side by side on the same
database, SQLite and then PostgreSQL, drives them over loopback and prints one table: at concurrency 1 and 16,
the bare endpoint first and then each of ours right after it, with rates, p50/p99 and our ratios to the bare
figures; usage batches in events per second; p99 Slack ack time for button clicks while drafts pour in;
digest and escalation-tick times; resident memory after the run. The aims are checked in `aims` (a table
after the figures, each aim met or missed, from this run's own ratios).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from bench import machine
from services import migrations
from services.db import make_engine
from testkit.clicks import click_request, pick_button
from testkit.fakes.receiver import FakeAgentReceiver
from testkit.fakes.slack import FakeSlack
from testkit.live import bare_server, countersign_server, pg_database, register_agent, sqlite_database
from testkit.load import LoadResult, Request, drive, run_load

REVIEW_CHANNEL = "C056REVIEW"
INCIDENTS = "incident storm (new dedup keys)"  # one agent failing fast: every report a new incident
CONCURRENCY = (1, 16)
BATCH = 1000  # events per POST /v1/usage/batch: the aim is set for full batches


def _bodies() -> dict[str, tuple[str, Callable[[int], dict[str, Any]]]]:
    run = uuid.uuid4().hex[:8]  # unique ids per run, so idempotent endpoints really insert
    return {
        "drafts": ("/v1/drafts", lambda i: {"action": "bench_reply", "title": f"Bench draft {i}",
                                             "body": "Hello, this is a benchmark draft. " * 8,
                                             "context": {"ticket": i}, "requested_by": "bench"}),
        "usage": ("/v1/usage", lambda i: {"model": "gpt-4o-mini", "provider": "openai", "input_tokens": 1200,
                                          "output_tokens": 300, "request_id": f"bench-{run}-{i}"}),
        f"usage batch ({BATCH} events)": ("/v1/usage/batch", lambda i: {"events": [
            {"model": "gpt-4o-mini", "provider": "openai", "input_tokens": 1200, "output_tokens": 300,
             "request_id": f"bench-{run}-b{i}-{k}"} for k in range(BATCH)]}),
        INCIDENTS: ("/v1/incidents", lambda i: {"kind": "bench", "severity": "low",
                                                  "summary": f"Bench incident {i}",
                                                  "dedup_key": f"bench-{run}-{i}"}),
    }


class Figures:
    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self.extras: dict[str, dict[str, Any]] = {}
        self.peer: list[Any] = []  # bench.peer cells: our draft create against awaithumans' task create

    def add(self, backend: str, what: str, concurrency: int, result: LoadResult | None,
            bare: LoadResult | None = None, note: str = "", per_request: int = 1, cpu_ms: float | None = None) -> None:
        self.rows.append({"backend": backend, "what": what, "c": concurrency, "result": result, "bare": bare,
                          "note": note, "per": per_request, "cpu_ms": cpu_ms})

    def table(self) -> str:
        """One table: ingest rows with rates and latencies, then one row per other figure (its value in `note`)."""
        lines = ["| backend | measure | concurrency | per second | p50 ms | p99 ms | rate vs bare | p99 vs bare "
                 "| server CPU ms/request | note |", "|---|---|---:|---:|---:|---:|---:|---:|---:|---|"]
        for row in self.rows:
            r: LoadResult | None = row["result"]
            if r is None:
                lines.append(f"| {row['backend']} | {row['what']} | {row['c']} | n/a | n/a | n/a | n/a | n/a | n/a | "
                             f"{row['note']} |")
                continue
            bare: LoadResult | None = row["bare"]
            rate = r.throughput * row["per"]
            ratio = f"{r.throughput / bare.throughput:.2f}" if bare and row["per"] == 1 else "—"
            p99 = f"{r.p99_ms / bare.p99_ms:.2f}" if bare and bare.p99_ms else "—"
            bad = r.n - r.ok
            note = f"{bad} of {r.n} failed" if bad else row["note"]
            cpu = f"{row['cpu_ms']:.2f}" if row["cpu_ms"] is not None else "—"
            lines.append(f"| {row['backend']} | {row['what']} | {row['c']} | {rate:.0f} | {r.p50_ms:.1f} | "
                         f"{r.p99_ms:.1f} | {ratio} | {p99} | {cpu} | {note} |")
        for backend, extra in self.extras.items():
            click = extra.get("click_result")
            if isinstance(click, LoadResult):
                lines.append(f"| {backend} | button click ack, under drafts load at 16 | 4 | — | {click.p50_ms:.1f} | "
                             f"{click.p99_ms:.1f} | — | — | — | {len(click.latencies)} clicks |")
            else:
                lines.append(f"| {backend} | button click ack, under drafts load at 16 | 4 | n/a | n/a | n/a | — | — "
                             "| — | |")
            for key, label in (("digest", "digest over 1,000,000 usage events"),
                               ("escalation", "escalation tick, 10,000 open incidents (100 due)"),
                               ("rss", "server resident memory after the run")):
                if key in extra:
                    lines.append(f"| {backend} | {label} | | | | | | | | {extra[key]} |")
        return "\n".join(lines)


# (measure, concurrency, what is compared, the aim): "ratio" is our rate over the bare endpoint's in the same
# run; "rate" an absolute rate; "p99" the click's ack in ms.
AIMS = (("drafts", 16, "ratio", 0.5), ("drafts", 1, "ratio", 0.5), (INCIDENTS, 16, "ratio", 0.5),
        (INCIDENTS, 1, "ratio", 0.5), ("usage", 16, "ratio", 0.5), ("usage", 1, "ratio", 0.5),
        (f"usage batch ({BATCH} events), events/s", 16, "rate", 20_000), ("button click ack", 4, "p99", 100.0))
PEER_AIM = 3.0  # draft create against the peer's task create, same run (bench.peer)


def aims(figures: Figures) -> str:
    """Each aim against this run's figure, per backend: met or missed."""
    lines = ["| backend | aim | measured | met |", "|---|---|---:|---|"]
    for backend in dict.fromkeys(row["backend"] for row in figures.rows):
        for what, c, kind, target in AIMS:
            measured: float | None = None
            if kind == "p99":
                click = figures.extras.get(backend, {}).get("click_result")
                measured = click.p99_ms if isinstance(click, LoadResult) and click.latencies else None
                label = f"button click ack p99 under drafts load < {target:.0f} ms"
            else:
                row = next((r for r in figures.rows if r["backend"] == backend and r["what"] == what
                            and r["c"] == c and r["result"] is not None), None)
                if row is not None and kind == "ratio" and row["bare"] is not None:
                    measured = row["result"].throughput / row["bare"].throughput
                elif row is not None and kind == "rate":
                    measured = row["result"].throughput * row["per"]
                label = (f"{what}, c={c}: ≥ {target}× bare" if kind == "ratio"
                         else f"{what}, c={c}: ≥ {target:,.0f}")
            if measured is None:
                lines.append(f"| {backend} | {label} | n/a | — |")
                continue
            met = measured < target if kind == "p99" else measured >= target
            shown = f"{measured:.2f}×" if kind == "ratio" else f"{measured:,.0f}"
            lines.append(f"| {backend} | {label} | {shown} | {'yes' if met else '**no**'} |")
    if figures.peer:
        from bench.peer import PEER, VERSION, ratio_at
        measured = ratio_at(figures.peer, 16)
        shown = f"{measured:.2f}×" if measured is not None else "n/a"
        met = "—" if measured is None else "yes" if measured >= PEER_AIM else "**no**"
        lines.append(f"| sqlite | drafts, c=16: ≥ {PEER_AIM:.0f}× {PEER} {VERSION}'s task create | {shown} | {met} |")
        peer_rate = next((c.result.throughput for c in figures.peer if c.who == PEER and c.concurrency == 16), None)
        bare = next((r["bare"].throughput for r in figures.rows if r["backend"] == "sqlite" and r["c"] == 16
                     and r["bare"] is not None), None)
        if peer_rate and bare:  # the aim beside the ceiling: no endpoint that writes at least one row beats bare
            lines.append(f"\n{PEER_AIM:.0f}× {PEER}'s rate is {PEER_AIM * peer_rate:,.0f} drafts/s; the bare "
                         f"one-insert endpoint did {bare:,.0f}/s at c=16 on SQLite in this run.")
    return "\n".join(lines)


def _paths(base_url: str) -> set[str]:
    return set(httpx.get(f"{base_url}/openapi.json", timeout=10).json().get("paths", {}))


def _wait_for_cards(slack: FakeSlack, want: int, timeout: float) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    cards: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        cards = [m for m in slack.messages_in(REVIEW_CHANNEL) if pick_button(m)]
        if len(cards) >= want:
            break
        time.sleep(0.2)
    return cards


def _clicks_under_load(base_url: str, slack: FakeSlack, key: str, cards: list[dict[str, Any]], n_load: int,
                       make_draft: Callable[[int], Request]) -> LoadResult:
    """Press one button on each card while drafts pour in at concurrency 16; the ack time is what Slack sees."""
    def make_click(i: int) -> Request:
        card = cards[i % len(cards)]
        return click_request(card, pick_button(card) or {}, user="U078ALICE",
                             response_url=slack.response_url(f"bench-click-{i}"))

    async def both() -> LoadResult:
        load = asyncio.create_task(drive(base_url, make_draft, n=n_load, concurrency=16))
        await asyncio.sleep(0.2)
        clicks = await drive(base_url, make_click, n=len(cards), concurrency=4)
        await load
        return clicks

    return asyncio.run(both())


def bench_side_by_side(backend: str, db_url: str, n: int, figures: Figures, *, only: list[str] | None = None,
                       concurrency: tuple[int, ...] = CONCURRENCY) -> None:
    """Both servers up on one database; at each concurrency the bare endpoint runs, then each of ours.
    `only`: the measures to run (a measure runs when its name starts with one of them); the click and Slack-off
    cells run only in a full run."""
    extra = figures.extras.setdefault(backend, {})
    wanted = lambda what: only is None or any(what.startswith(o) for o in only)  # noqa: E731
    with FakeSlack(token=None) as slack, FakeAgentReceiver() as receiver, \
            countersign_server(db_url, slack_url=slack.url) as server, bare_server(db_url) as bare:
        agent = register_agent(server.base_url, f"bench-{uuid.uuid4().hex[:6]}", callback_url=receiver.url)
        auth = {"Authorization": f"Bearer {agent['api_key']}"}
        paths = _paths(server.base_url)
        bodies = {what: made for what, made in _bodies().items() if wanted(what)}
        for c in concurrency:
            cpu = Cpu(bare)
            ceiling = run_load(bare.base_url, lambda i, c=c: Request("POST", "/bare", json={
                "title": f"Bench draft {i}", "body": "Hello, this is a benchmark draft. " * 8}), n=n, concurrency=c)
            figures.add(backend, "bare insert (ceiling)", c, ceiling, cpu_ms=cpu.per_request(ceiling))
            bare16 = ceiling
            for what, (path, body) in bodies.items():
                per = BATCH if path.endswith("/batch") else 1
                if path not in paths:
                    figures.add(backend, what, c, None, note="endpoint not built yet")
                    continue
                count = max(n // per * 5, 20) if per > 1 else n
                cpu = Cpu(server)
                result = run_load(server.base_url, lambda i, p=path, b=body, c=c: Request(
                    "POST", p, json=b(i + c * n), headers=auth), n=count, concurrency=c)
                figures.add(backend, what + (", events/s" if per > 1 else ""), c, result, ceiling,
                            per_request=per, cpu_ms=cpu.per_request(result))
        if "/v1/drafts" in paths and "drafts" in bodies and only is None:
            cards = _wait_for_cards(slack, want=min(n, 300), timeout=30)
            if cards:
                make_draft = lambda i: Request("POST", "/v1/drafts", json=bodies["drafts"][1](10 * n + i), headers=auth)  # noqa: E731
                clicks = _clicks_under_load(server.base_url, slack, agent["api_key"], cards[:300], n, make_draft)
                extra["click_result"] = clicks
            _drafts_without_delivery(backend, db_url, n, figures, bare_result=bare16)
        rss = server.rss_kib()
        extra["rss"] = f"{rss / 1024:.0f} MiB" if rss else "n/a"


def _drafts_without_delivery(backend: str, db_url: str, n: int, figures: Figures, bare_result: LoadResult) -> None:
    """Drafts at 16 with Slack off (the cards wait in the outbox): the write path alone, without the same
    process also posting every card, so the two costs can be told apart."""
    with countersign_server(db_url, name="countersign-quiet") as quiet:
        agent = register_agent(quiet.base_url, f"quiet-{uuid.uuid4().hex[:6]}")
        auth = {"Authorization": f"Bearer {agent['api_key']}"}
        body = _bodies()["drafts"][1]
        cpu = Cpu(quiet)
        result = run_load(quiet.base_url, lambda i: Request("POST", "/v1/drafts", json=body(20 * n + i), headers=auth),
                          n=n, concurrency=16)
        figures.add(backend, "drafts, Slack off (write path alone)", 16, result, bare_result,
                    cpu_ms=cpu.per_request(result))


class Cpu:
    """The server's own CPU time over one cell, per answered request: a figure the machine's load bends less
    than the rate (the server still pays for contention, and on PostgreSQL the database's CPU is not in it).
    Work the server does in the background meanwhile (delivering cards) is counted: it is part of the cost."""

    def __init__(self, server: Any) -> None:
        self.server, self.start = server, server.cpu_seconds()

    def per_request(self, result: LoadResult) -> float | None:
        end = self.server.cpu_seconds()
        if self.start is None or end is None or not result.ok:
            return None
        return (end - self.start) * 1000 / result.ok


def hook(module: str, db_url: str) -> str:
    """bench.digest.run(url) and bench.escalation_tick.run(url) are written by their domains; n/a until then.
    They get a migrated, empty database and return seconds (a float) or a dict with "seconds"."""
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name != module:
            raise
        return "n/a"
    engine = make_engine(db_url)
    migrations.upgrade(engine)
    engine.dispose()
    result = mod.run(db_url)
    seconds = result.get("seconds") if isinstance(result, dict) else result
    return f"{float(seconds):.2f} s" if seconds is not None else str(result)


def run(backends: list[tuple[str, Callable[[], Any]]], n: int, *, jobs: bool = True, peer: bool = True,
        only: list[str] | None = None, concurrency: tuple[int, ...] = CONCURRENCY) -> Figures:
    figures = Figures()
    if peer and (only is None or "peer" in only):
        from bench.peer import compare
        figures.peer = compare(n)
    for backend, database in backends:
        with database() as url:
            bench_side_by_side(backend, url, n, figures, only=only, concurrency=concurrency)
        if not jobs:
            continue
        for key, module in (("digest", "bench.digest"), ("escalation", "bench.escalation_tick")):
            if only is None or key in only:
                with database() as url:
                    figures.extras[backend][key] = hook(module, url)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg", default=os.environ.get("COUNTERSIGN_TEST_POSTGRES_URL"),
                        help="PostgreSQL server URL; a fresh database is created per part (default: "
                             "$COUNTERSIGN_TEST_POSTGRES_URL)")
    parser.add_argument("--quick", action="store_true", help="200 requests per cell instead of 1,000")
    parser.add_argument("--n", type=int, default=None, help="requests per cell (overrides --quick)")
    parser.add_argument("--out", type=Path, default=None,
                        help="default bench/RESULTS.md; a partial run (--only) is printed and written only here")
    parser.add_argument("--no-jobs", action="store_true", help="skip the digest and escalation-tick figures")
    parser.add_argument("--no-peer", action="store_true",
                        help="skip draft create against awaithumans (bench.peer; installs it on first use)")
    parser.add_argument("--only", action="append", default=None, metavar="MEASURE",
                        help="run only the measures whose names start with this (repeatable: drafts, usage, "
                             "'usage batch', incident); leaves out clicks, Slack-off drafts, jobs and the peer")
    parser.add_argument("--concurrency", type=int, action="append", default=None,
                        help=f"repeatable; default {' and '.join(map(str, CONCURRENCY))}")
    args = parser.parse_args()
    n = args.n or (200 if args.quick else 1000)
    backends: list[tuple[str, Callable[[], Any]]] = [("sqlite", sqlite_database)]
    if args.pg:
        backends.append(("postgres", lambda: pg_database(args.pg)))
    before = machine.loadavg()
    started = time.monotonic()
    with machine.LoadSampler() as load:
        figures = run(backends, n, jobs=not (args.no_jobs or args.only), peer=not (args.no_peer or args.only),
                      only=args.only, concurrency=tuple(args.concurrency or CONCURRENCY))
    tables = figures.table() + "\n\n"
    if figures.peer:
        from bench.peer import table as peer_table
        tables += f"Draft create against a peer on SQLite, same run (`bench.peer`):\n\n{peer_table(figures.peer)}\n\n"
    report = machine.report(tables + aims(figures), n=n, pg_url=args.pg, load_before=before,
                            minutes=(time.monotonic() - started) / 60, load_during=load.summary())
    print(report)
    out = args.out or (None if args.only else Path(__file__).with_name("RESULTS.md"))
    if out is not None:
        out.write_text(report)


if __name__ == "__main__":
    main()
