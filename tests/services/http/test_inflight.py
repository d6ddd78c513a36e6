"""The per-agent in-flight cap (services.http.inflight): one key's writes past the cap wait their turn in arrival
order and are refused with 429 and Retry-After when none comes in time; another key, reads, requests with no key
and the admin token never wait behind it; the gate forgets a key once nothing of it is in progress."""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

import httpx

from services.http.inflight import InflightGate, InflightMiddleware
from tests.harness import ADMIN_TOKEN, make_settings

FLOODER, OTHER = "cs_agent_flooder", "cs_agent_other"


async def until(condition: Any) -> None:
    """Yield to the loop until `condition()` holds: the requests under test run on this same loop."""
    for _ in range(10_000):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("the condition never held")


class HeldApp:
    """Answers 200 once `release` is set; counts the requests inside it, per Authorization header."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.inside: dict[str, int] = {}

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        who = dict(scope["headers"]).get(b"authorization", b"").decode()
        self.inside[who] = self.inside.get(who, 0) + 1
        await self.release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


def client_for(app: HeldApp, gate: InflightGate) -> httpx.AsyncClient:
    middleware = InflightMiddleware(app, make_settings("sqlite://"), gate=gate)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=middleware), base_url="http://countersign")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_writes_past_the_cap_wait_while_others_pass() -> None:
    """Five writes of one key with a cap of 4: four inside, one waiting. Another key's write, the same key's read,
    a request with no key and the admin's write go in meanwhile; when the four end, the fifth goes in."""
    async def scenario() -> None:
        app, gate = HeldApp(), InflightGate(4, wait_s=60)
        key = hashlib.sha256(FLOODER.encode()).digest()
        async with client_for(app, gate) as client:
            flood = [asyncio.create_task(client.post("/v1/drafts", headers=bearer(FLOODER))) for _ in range(5)]
            await until(lambda: key in gate.lanes and len(gate.lanes[key].waiting) == 1)
            assert app.inside == {f"Bearer {FLOODER}": 4}
            others = [asyncio.create_task(request) for request in (
                client.post("/v1/drafts", headers=bearer(OTHER)),
                client.get("/v1/drafts/x", headers=bearer(FLOODER)),
                client.post("/slack/events"),
                client.post("/v1/agents", headers=bearer(ADMIN_TOKEN)))]
            await until(lambda: sum(app.inside.values()) == 8)
            assert app.inside[f"Bearer {FLOODER}"] == 5  # four writes and the read
            app.release.set()
            answers = await asyncio.gather(*flood, *others)
        assert [a.status_code for a in answers] == [200] * 9
        assert gate.lanes == {}  # nothing in progress: no lane kept

    asyncio.run(scenario())


def test_a_write_that_gets_no_turn_in_time_is_a_429_with_retry_after() -> None:
    async def scenario() -> None:
        app, gate = HeldApp(), InflightGate(1, wait_s=0.01)
        async with client_for(app, gate) as client:
            inside = asyncio.create_task(client.post("/v1/usage", headers=bearer(FLOODER)))
            await until(lambda: app.inside)
            refused = await client.post("/v1/usage", headers=bearer(FLOODER))
            assert refused.status_code == 429 and refused.headers["retry-after"].isdigit()
            assert refused.headers["content-type"].startswith("application/problem+json")
            assert "writes in progress" in refused.json()["detail"]
            app.release.set()
            assert (await inside).status_code == 200
        assert gate.lanes == {}

    asyncio.run(scenario())


def test_turns_go_in_arrival_order_and_a_cancelled_waiter_gives_up_its_place() -> None:
    async def scenario() -> None:
        gate = InflightGate(1, wait_s=60)
        order: list[str] = []
        assert await gate.enter(b"k")

        async def write(name: str) -> None:
            if await gate.enter(b"k"):
                order.append(name)
                gate.leave(b"k")

        first, gone, last = (asyncio.create_task(write(n)) for n in ("first", "gone", "last"))
        await until(lambda: len(gate.lanes[b"k"].waiting) == 3)
        gone.cancel()
        await until(lambda: len(gate.lanes[b"k"].waiting) == 2)
        gate.leave(b"k")
        await asyncio.gather(first, last)
        assert order == ["first", "last"] and gate.lanes == {}

    asyncio.run(scenario())
