"""Two replicas on one PostgreSQL, short outbox leases and a slow Slack: draining one channel's backlog outlasts
many leases, yet every card is posted exactly once and every decision's callback arrives once by delivery id."""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from testkit.fakes.receiver import FakeAgentReceiver
from testkit.fakes.slack import FakeSlack
from testkit.live import countersign_server, pg_database, register_agent
from tests.postgres import PG_URL, pg_missing
from tests.soak import checks

PG = PG_URL
CARDS, CANCELLED = 60, 12
SLACK_DELAY_S = 0.1  # sixty cards take about 6 s to post: two leases
# Draining the channel takes several leases; the lease still outlasts the stalls of a loaded CI box.
SETTINGS = {"COUNTERSIGN_OUTBOX_LEASE_S": 3, "COUNTERSIGN_OUTBOX_HEARTBEAT_S": 1,
            "COUNTERSIGN_SLACK_CHANNEL_INTERVAL_S": 0, "COUNTERSIGN_SCHEDULER": "false"}


async def _post_drafts(bases: list[str], key: str, count: int) -> list[str]:
    limit = asyncio.Semaphore(16)

    async def one(client: httpx.AsyncClient, n: int) -> str:
        async with limit:
            response = await client.post(f"{bases[n % 2]}/v1/drafts", headers={"Authorization": f"Bearer {key}"},
                                         json={"action": "send_reply", "title": f"Card {n}", "body": "Hello"})
            assert response.status_code == 201, response.text
            return str(response.json()["id"])

    async with httpx.AsyncClient(timeout=30) as client:
        return list(await asyncio.gather(*(one(client, n) for n in range(count))))


async def _cancel(bases: list[str], key: str, ids: list[str]) -> None:
    async with httpx.AsyncClient(timeout=30) as client:
        for n, draft_id in enumerate(ids):
            response = await client.post(f"{bases[n % 2]}/v1/drafts/{draft_id}/cancel",
                                         headers={"Authorization": f"Bearer {key}"})
            assert response.status_code == 200, response.text


@pytest.mark.timeout(240)
def test_two_replicas_with_short_leases_post_each_card_once() -> None:
    """Sixty cards in one channel, a 3 s lease and a Slack that takes 100 ms a call: no card twice."""
    if not PG:
        pg_missing()
    with pg_database(PG) as url, FakeSlack(token=None) as slack, FakeAgentReceiver() as receiver:
        slack.set_delay(SLACK_DELAY_S)
        receiver.delay = 0.02
        first, second = (countersign_server(url, slack_url=slack.url, name=f"replica-{n}", **SETTINGS) for n in "ab")
        try:
            with ThreadPoolExecutor(2) as pool:  # side by side: migrations take an advisory lock
                list(pool.map(lambda server: server.start(), (first, second)))
            bases = [first.base_url, second.base_url]
            agent = register_agent(bases[0], "replicated", callback_url=receiver.url)
            ids = asyncio.run(_post_drafts(bases, agent["api_key"], CARDS))
            asyncio.run(_cancel(bases, agent["api_key"], ids[-CANCELLED:]))  # likely before their cards went out
            counts = checks.wait_drained(url, timeout=120)
            assert counts.get("dead", 0) == 0, counts
            logs = first.log_text() + second.log_text()
        finally:
            for server in (first, second):
                server.__exit__(None, None, None)
        # Both servers have stopped: every send that was in flight has landed.
        cards = checks.cards_by_draft(slack)
        posted = Counter({draft_id: len(cards.get(draft_id, [])) for draft_id in ids})
        twice = {draft_id: cards.get(draft_id) for draft_id, n in posted.items() if n != 1}
        assert not twice, (list(twice.items())[:5], [line for line in logs.splitlines() if "outbox" in line][:20])
        deliveries: dict[str, list[str]] = defaultdict(list)
        for delivery in receiver.ok_deliveries:
            deliveries[str(delivery.json["data"]["id"])].append(str(delivery.delivery_id))
        assert sorted(deliveries) == sorted(ids[-CANCELLED:])
        assert all(len(got) == 1 for got in deliveries.values()), {k: v for k, v in deliveries.items() if len(v) > 1}
        updates = Counter((c.args["channel"], c.args["ts"]) for c in slack.calls_to("chat.update", ok_only=True))
        assert len(updates) == CANCELLED and set(updates.values()) == {1}, updates.most_common(3)
        print(f"replicas: {CARDS} cards once each, {CANCELLED} callbacks once each, "
              f"{len(slack.calls)} Slack calls")
