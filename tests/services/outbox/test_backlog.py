"""The head-of-line bug, end to end: a real server, the fake Slack over HTTP, 120 cards queued in one review
channel at Slack's pace of one a second; then a critical incident and an approval. The owner's DM and the agent's
callback must not wait behind the cards."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from testkit.clicks import click_request, pick_button
from testkit.fakes.receiver import FakeAgentReceiver
from testkit.fakes.slack import FakeSlack
from testkit.live import countersign_server, pg_database, register_agent, sqlite_database
from tests.postgres import PG_URL, pg_missing
from tests.soak.traffic import ALICE, REVIEW_CHANNEL, warm_up_bolt

PG = PG_URL
OWNER = "U012OWNER"  # testkit.live.register_agent's default owner
BACKLOG = 120


@pytest.fixture(params=["sqlite", "postgres"])
def live_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        with sqlite_database(tmp_path) as url:
            yield url
        return
    if not PG:
        pg_missing()
    with pg_database(PG) as url:
        yield url


async def _drafts(base_url: str, key: str, count: int) -> None:
    limit = asyncio.Semaphore(16)

    async def one(client: httpx.AsyncClient, n: int) -> None:
        async with limit:
            response = await client.post(f"{base_url}/v1/drafts", headers={"Authorization": f"Bearer {key}"},
                                         json={"action": "send_reply", "title": f"Backlog {n}", "body": "Hello"})
            assert response.status_code == 201, response.text

    async with httpx.AsyncClient(timeout=30) as client:
        await asyncio.gather(*(one(client, n) for n in range(count)))


@pytest.mark.timeout(180)
def test_a_page_and_a_callback_overtake_a_120_card_backlog(live_db: str) -> None:
    """Under 120 cards queued in one channel, a critical incident's DM and a decision's callback arrive in 5 s."""
    with FakeSlack(token=None) as slack, FakeAgentReceiver() as receiver, \
            countersign_server(live_db, slack_url=slack.url, COUNTERSIGN_SLACK_CHANNEL_INTERVAL_S=1.0) as server:
        base = server.base_url
        agent = register_agent(base, "busy", callback_url=receiver.url)
        auth = {"Authorization": f"Bearer {agent['api_key']}"}
        warm_up_bolt(base)
        earlier = httpx.post(f"{base}/v1/drafts", headers=auth, timeout=15,
                             json={"action": "send_reply", "title": "Earlier", "body": "Approve me"}).json()
        [card_call] = slack.wait_for("chat.postMessage", ok_only=True, timeout=15)
        card = slack.message(card_call.response["channel"], card_call.response["ts"])
        assert card is not None and card["channel"] == REVIEW_CHANNEL

        asyncio.run(_drafts(base, agent["api_key"], BACKLOG))
        began = time.time()
        incident = httpx.post(f"{base}/v1/incidents", headers=auth, timeout=15,
                              json={"kind": "error", "severity": "critical", "summary": "refunds doubled"})
        assert incident.status_code == 201, incident.text
        button = pick_button(card)
        assert button is not None
        click = click_request(card, button, user=ALICE, response_url=slack.response_url("approve-earlier"))
        answer = httpx.post(f"{base}{click.path}", content=click.content, headers=click.headers, timeout=15)
        assert answer.status_code == 200, answer.text

        owner_dm = slack.dm_channel_for(OWNER)
        # The page's first post (its thread line may follow it within the same poll).
        dm = slack.wait_for(lambda c: c.method == "chat.postMessage" and c.time >= began and not c.failed
                            and c.response.get("channel") == owner_dm, timeout=10)[0]
        [callback] = receiver.wait_for(timeout=10, ok_only=True,
                                       predicate=lambda d: d.json and d.json["data"]["id"] == earlier["id"])
        cards_so_far = [c for c in slack.calls_to("chat.postMessage", ok_only=True)
                        if c.response.get("channel") == REVIEW_CHANNEL and not c.args.get("thread_ts")]
        print(f"backlog: DM after {dm.time - began:.2f}s, callback after {callback.time - began:.2f}s, "
              f"{len(cards_so_far)} of {BACKLOG + 1} cards posted by then")
        assert dm.time - began <= 5 and callback.time - began <= 5
        assert len(cards_so_far) < BACKLOG  # the backlog was still draining: the page did overtake it
