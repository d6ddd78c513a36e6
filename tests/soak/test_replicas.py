"""Two replicas on one PostgreSQL taking alternate requests, both running every scheduled job: each escalation
step, draft reminder, budget alert and digest happens exactly once, and the soak promises still hold."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import text

from services.db import make_engine
from testkit.fakes.receiver import FakeAgentReceiver
from testkit.fakes.slack import FakeSlack
from testkit.live import ADMIN_TOKEN, ServerProcess, countersign_server, pg_database, register_agent
from tests.postgres import PG_URL, pg_missing
from tests.soak import checks
from tests.soak.traffic import ALICE, QUICK_CHAIN, REVIEW_CHANNEL, Traffic, warm_up_bolt

PG = PG_URL
BUDGET_OWNER, DIGEST_CHANNEL = "U0BUDGET1", "C0DIGEST1"
SETTINGS = {"COUNTERSIGN_TICK_SECONDS": 0.2, "COUNTERSIGN_DRAFT_REMINDER_AT": 0.005}  # reminders 3 s into 600
TRAFFIC_DRAFTS = 40  # traffic until this many drafts are accepted: a few seconds


@pytest.fixture
def replicas() -> Iterator[tuple[str, FakeSlack, FakeAgentReceiver, list[ServerProcess]]]:
    if not PG:
        pg_missing()
    with pg_database(PG) as url, FakeSlack(token=None) as slack, FakeAgentReceiver() as receiver:
        servers = [countersign_server(url, slack_url=slack.url, name=f"replica-{n}", **SETTINGS) for n in "ab"]
        try:
            with ThreadPoolExecutor(2) as pool:  # side by side: migrations take an advisory lock
                list(pool.map(lambda server: server.start(), servers))
            yield url, slack, receiver, servers
        finally:
            for server in servers:
                server.__exit__(None, None, None)


async def spend(servers: list[str], key: str, n: int) -> list[int]:
    """Usage hitting both replicas at once, so both race to send the same budget alert."""
    async with httpx.AsyncClient(timeout=15) as client:
        replies = await asyncio.gather(*(client.post(
            f"{servers[i % 2]}/v1/usage", headers={"Authorization": f"Bearer {key}"},
            json={"model": "gpt-4o-mini", "cost_usd": 0.01, "request_id": f"spend-{i}"}) for i in range(n)))
    return [r.status_code for r in replies]


def reminders(slack: FakeSlack) -> Counter[str]:
    """Draft reminders posted, by the card thread they went to."""
    return Counter(c.args["thread_ts"] for c in slack.calls_to("chat.postMessage", ok_only=True)
                   if c.response.get("channel") == REVIEW_CHANNEL and c.args.get("thread_ts")
                   and "remind" in str(c.args.get("text", "")).lower())


def db_execute(url: str, sql: str) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text(sql))
    finally:
        engine.dispose()


def db_count(url: str, sql: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(sql)).scalar() or 0)
    finally:
        engine.dispose()


@pytest.mark.timeout(300)  # live servers, drains (and a digest minute) can outlast 120 s on a busy box
def test_two_replicas_do_each_scheduled_thing_once(replicas) -> None:  # type: ignore[no-untyped-def]
    """Alternate requests over two replicas: steps, reminders, budget alerts and digests each happen once."""
    url, slack, receiver, servers = replicas
    bases = [s.base_url for s in servers]
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    schedule = httpx.post(f"{bases[0]}/v1/digests/schedules", headers=admin,
                          json={"channel": DIGEST_CHANNEL, "cron": "* * * * *", "period": "day"})
    assert schedule.status_code == 201, schedule.text
    # As if the schedule had been made two minutes ago: its last minute's firing is due at once, so both
    # replicas' digest jobs (every 10 s) race for it during the traffic instead of after a wait for the minute.
    db_execute(url, "UPDATE digest_schedules SET created_at = created_at - interval '2 minutes'")
    agents = [register_agent(bases[i % 2], f"replica-{i}", callback_url=receiver.url, approvers=[ALICE],
                             escalation_chain=QUICK_CHAIN, draft_expiry_s=600) for i in range(2)]
    budgeted = register_agent(bases[1], "budgeted", owner=BUDGET_OWNER, backup_owners=[],
                              budgets=[{"period": "day", "limit_usd": 0.05, "on_exceed": "alert",
                                        "thresholds": [0.5, 1.0]}])
    for base in bases:
        warm_up_bolt(base)
    assert set(asyncio.run(spend(bases, budgeted["api_key"], 20))) == {201}
    ledger = asyncio.run(Traffic(bases, agents, slack, seed=3).run(
        120, until=lambda ledger: len(ledger.drafts) >= TRAFFIC_DRAFTS))
    assert not ledger.errors, ledger.errors[:10]
    checks.wait_until(lambda: checks.incidents_done(bases[1], ledger, 3), 30, "escalations to finish")
    checks.check_incidents(bases[0], ledger, chain_steps=3)
    checks.wait_until(lambda: db_count(url, "SELECT count(*) FROM digest_runs WHERE status = 'posted'") >= 1,
                      60, "a scheduled digest")
    checks.wait_until(lambda: reminders(slack), 30, "a draft reminder")  # 3 s into a draft left pending
    counts = checks.wait_drained(url)
    assert counts.get("dead", 0) == 0, counts
    summary = checks.check_drafts(bases[1], ledger, slack, receiver)

    ok_posts = [c for c in slack.calls_to("chat.postMessage", ok_only=True)]
    budget_alerts = [c for c in ok_posts if c.response.get("channel") == slack.dm_channel_for(BUDGET_OWNER)]
    assert len(budget_alerts) == 2, [c.args.get("text") for c in budget_alerts]  # 50 % and 100 %, once each
    digests = [c for c in ok_posts if c.response.get("channel") == DIGEST_CHANNEL and not c.args.get("thread_ts")]
    runs = db_count(url, "SELECT count(*) FROM digest_runs")
    assert runs >= 1 and len(digests) == runs, (len(digests), runs)
    reminded = reminders(slack)
    assert reminded and max(reminded.values()) == 1, reminded.most_common(3)
    print(f"replicas: {summary}, reminders {len(reminded)}, digests {runs}, budget alerts {len(budget_alerts)}")
    assert "audit chain intact" in checks.audit_verify(url)
