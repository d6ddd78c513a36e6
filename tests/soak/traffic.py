"""Mixed traffic against live servers (drafts, usage, incidents, heartbeats, button clicks), with a ledger of
what each server accepted, so the checks can prove nothing accepted was lost or done twice."""

from __future__ import annotations

import asyncio
import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from testkit.clicks import click_request, pick_button
from testkit.fakes.signing import signed_headers, slash_command_body
from testkit.fakes.slack import FakeSlack
from testkit.live import SIGNING_SECRET

REVIEW_CHANNEL = "C056REVIEW"
ALICE = "U078ALICE"
QUICK_CHAIN = [{"notify": "owner"}, {"wait_s": 1}, {"notify": "backups"}, {"wait_s": 1}, {"notify": "channel"}]


def warm_up_bolt(base_url: str) -> None:
    """Bolt asks auth.test once, on a server's first Slack request; do that before faults are injected."""
    body = slash_command_body(text="help")
    response = httpx.post(f"{base_url}/slack/events", content=body, headers=signed_headers(SIGNING_SECRET, body))
    assert response.status_code == 200, response.text


@dataclass
class Ledger:
    drafts: dict[str, str] = field(default_factory=dict)  # accepted draft id -> the agent's API key
    clicked: dict[str, float] = field(default_factory=dict)  # draft id -> when its approve click was acked
    incidents: dict[int, str] = field(default_factory=dict)  # incident id -> API key
    usage: int = 0
    heartbeats: int = 0
    unavailable: int = 0  # transport errors: expected only while a server is down
    errors: list[str] = field(default_factory=list)  # 5xx or unexpected 4xx: always a failure


@dataclass
class Traffic:
    servers: list[str]  # base URLs; requests alternate between them
    agents: list[dict[str, Any]]
    slack: FakeSlack
    seed: int = 0
    ledger: Ledger = field(default_factory=Ledger)
    runs: dict[str, str] = field(default_factory=dict)  # run id -> API key
    _turn: int = 0

    def _base(self) -> str:
        self._turn += 1
        return self.servers[self._turn % len(self.servers)]

    async def _send(self, client: httpx.AsyncClient, method: str, path: str, *, key: str | None = None,
                    **kw: Any) -> httpx.Response | None:
        headers = dict(kw.pop("headers", {}))
        if key:
            headers["Authorization"] = f"Bearer {key}"
        try:
            response = await client.request(method, self._base() + path, headers=headers, **kw)
        except httpx.HTTPError:
            self.ledger.unavailable += 1
            await asyncio.sleep(0.05)  # the server is down (the crash test): don't spin
            return None
        if response.status_code >= 500 or response.status_code in (400, 401, 404, 422):
            self.ledger.errors.append(f"{method} {path}: {response.status_code} {response.text[:200]}")
        return response

    async def draft(self, client: httpx.AsyncClient, rng: random.Random) -> None:
        agent = rng.choice(self.agents)
        body = {"action": "send_reply", "title": f"Soak {uuid.uuid4().hex[:6]}", "body": "Hello " * rng.randint(1, 50)}
        r = await self._send(client, "POST", "/v1/drafts", key=agent["api_key"], json=body,
                             headers={"Idempotency-Key": uuid.uuid4().hex})
        if r is not None and r.status_code == 201:
            self.ledger.drafts[r.json()["id"]] = agent["api_key"]

    async def usage(self, client: httpx.AsyncClient, rng: random.Random) -> None:
        agent = rng.choice(self.agents)
        body = {"model": "gpt-4o-mini", "provider": "openai", "input_tokens": rng.randint(1, 5000),
                "output_tokens": rng.randint(1, 1000), "request_id": uuid.uuid4().hex}
        r = await self._send(client, "POST", "/v1/usage", key=agent["api_key"], json=body)
        if r is not None and r.status_code == 201:
            self.ledger.usage += 1

    async def incident(self, client: httpx.AsyncClient, rng: random.Random) -> None:
        agent = rng.choice(self.agents)
        body = {"kind": "error", "severity": "high", "summary": "soak", "dedup_key": f"soak-{rng.randint(1, 8)}"}
        r = await self._send(client, "POST", "/v1/incidents", key=agent["api_key"], json=body)
        if r is not None and r.status_code in (200, 201):
            self.ledger.incidents[r.json()["id"]] = agent["api_key"]

    async def heartbeat(self, client: httpx.AsyncClient, rng: random.Random) -> None:
        if not self.runs:
            return
        run_id, key = rng.choice(sorted(self.runs.items()))
        r = await self._send(client, "POST", f"/v1/runs/{run_id}/heartbeat", key=key, json={"step": "working"})
        if r is not None and r.status_code == 200:
            self.ledger.heartbeats += 1

    async def click(self, client: httpx.AsyncClient, rng: random.Random) -> None:
        # A person clicks a card they have seen, not one posted this millisecond: the server records where a
        # card landed just after Slack answers, and refuses clicks on a message it does not know as the card.
        seen = {(c.response.get("channel"), c.response.get("ts")) for c in self.slack.calls_to("chat.postMessage")
                if not c.failed and c.time < time.time() - 1}
        cards = [(m, b) for m in self.slack.messages_in(REVIEW_CHANNEL)
                 if not m.get("thread_ts") and (m["channel"], m["ts"]) in seen
                 for b in [pick_button(m)] if b and "approve" in b["action_id"]]
        fresh = [(m, b) for m, b in cards if b["value"].split(":")[0] not in self.ledger.clicked]
        if not fresh:
            return
        message, button = rng.choice(fresh)
        draft_id = button["value"].split(":")[0]
        self.ledger.clicked[draft_id] = 0.0  # claimed by this worker
        req = click_request(message, button, user=ALICE, response_url=self.slack.response_url(f"soak-{draft_id}"))
        r = await self._send(client, req.method, req.path, content=req.content, headers=req.headers)
        if r is not None and r.status_code == 200:
            self.ledger.clicked[draft_id] = time.time()
        else:
            self.ledger.clicked.pop(draft_id, None)

    async def start_runs(self, client: httpx.AsyncClient) -> None:
        for agent in self.agents:
            r = await self._send(client, "POST", "/v1/runs", key=agent["api_key"],
                                 json={"expect_heartbeat_every_s": 3600, "grace_s": 3600, "name": "soak"})
            if r is not None and r.status_code == 201:
                self.runs[r.json()["run_id"]] = agent["api_key"]

    async def run(self, seconds: float, *, concurrency: int = 4, stop: threading.Event | None = None,
                  until: Callable[[Ledger], bool] | None = None) -> Ledger:
        """Traffic for `seconds`, or less: until `stop` is set, or until `until(ledger)` holds (a volume reached)."""
        ops = [(self.draft, 35), (self.usage, 25), (self.incident, 10), (self.heartbeat, 10), (self.click, 20)]
        deadline = time.monotonic() + seconds

        async def worker(n: int, client: httpx.AsyncClient) -> None:
            rng = random.Random(self.seed * 1000 + n)
            while time.monotonic() < deadline and not (stop and stop.is_set()) and not (until and until(self.ledger)):
                op = rng.choices([o for o, _ in ops], weights=[w for _, w in ops])[0]
                await op(client, rng)
                await asyncio.sleep(rng.random() * 0.02)

        async with httpx.AsyncClient(timeout=15) as client:
            await self.start_runs(client)
            await asyncio.gather(*(worker(n, client) for n in range(concurrency)))
        return self.ledger
