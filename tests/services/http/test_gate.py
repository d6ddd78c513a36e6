"""The ingest gate: agents' drafts, incidents and usage take turns past the bound; Slack and the web app never
wait for a turn; an ingest request that waited too long is a 503 with Retry-After, and nothing was done with it."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from services.http.gate import IngestGate


class Inner:
    """The app behind the gate: records who got in, and holds each request until released."""

    def __init__(self) -> None:
        self.entered: list[str] = []
        self.release = asyncio.Event()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        self.entered.append(scope["path"])
        await self.release.wait()
        await send({"type": "http.response.start", "status": 201, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})


async def call(app: Any, path: str, method: str = "POST") -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app({"type": "http", "method": method, "path": path, "headers": []}, receive, send)
    return sent


async def until(condition: Any) -> None:
    while not condition():
        await asyncio.sleep(0)


def test_ingest_past_the_bound_waits_its_turn_while_people_pass() -> None:
    async def scenario() -> None:
        inner = Inner()
        gate = IngestGate(inner, bound=1)
        first = asyncio.create_task(call(gate, "/v1/drafts"))
        await until(lambda: inner.entered == ["/v1/drafts"])
        second = asyncio.create_task(call(gate, "/v1/usage/batch"))
        click = asyncio.create_task(call(gate, "/slack/events"))
        page = asyncio.create_task(call(gate, "/v1/drafts", method="GET"))
        await until(lambda: len(inner.entered) == 3)
        assert inner.entered == ["/v1/drafts", "/slack/events", "/v1/drafts"]  # the batch is still waiting
        inner.release.set()
        answers = await asyncio.gather(first, second, click, page)
        assert [a[0]["status"] for a in answers] == [201, 201, 201, 201]
        assert inner.entered[-1] == "/v1/usage/batch"

    asyncio.run(scenario())


def test_a_wait_too_long_is_a_503_with_retry_after_and_nothing_done() -> None:
    async def scenario() -> None:
        inner = Inner()
        gate = IngestGate(inner, bound=1, max_wait_s=0.01)
        first = asyncio.create_task(call(gate, "/v1/incidents"))
        await until(lambda: inner.entered == ["/v1/incidents"])
        refused = await call(gate, "/v1/usage")
        start, body = refused
        assert start["status"] == 503
        assert dict(start["headers"])[b"retry-after"] == b"1"
        assert json.loads(body["body"])["status"] == 503
        assert inner.entered == ["/v1/incidents"]
        inner.release.set()
        assert (await first)[0]["status"] == 201

    asyncio.run(scenario())
