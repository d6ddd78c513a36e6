"""The write path answers nobody before their transaction commits: SIGKILL the server while sixteen clients pour
in drafts, single usage events and usage batches, start it again, and find every acknowledged write stored."""

from __future__ import annotations

import asyncio
import threading
import uuid
from dataclasses import dataclass, field

import httpx
import pytest
from sqlalchemy import text

from services.db import make_engine
from testkit.live import countersign_server, register_agent

CLIENTS = 16
KILL_AFTER = {"drafts": 20, "usage": 200}  # acknowledged writes of each kind before each kill
KILLS = 2


@dataclass
class Acks:
    drafts: set[str] = field(default_factory=set)
    usage: set[str] = field(default_factory=set)  # request_ids answered 2xx
    failed: int = 0  # requests the kill cut off (no answer, or refused while down)
    enough: threading.Event = field(default_factory=threading.Event)
    round: int = 1

    def count(self) -> int:
        return len(self.drafts) + len(self.usage)

    def ready(self) -> bool:
        return (len(self.drafts) >= KILL_AFTER["drafts"] * self.round
                and len(self.usage) >= KILL_AFTER["usage"] * self.round)


async def _client(base_url: str, key: str, n: int, acks: Acks, stop: threading.Event) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=10) as client:
        i = 0
        while not stop.is_set():
            i += 1
            tag = f"c{n}-{i}-{uuid.uuid4().hex[:6]}"
            try:
                if i % 3 == 1:
                    body = {"action": "reply", "title": f"Draft {tag}", "body": "Hello there. " * 20}
                    response = await client.post("/v1/drafts", json=body)
                    if response.status_code == 201:
                        acks.drafts.add(response.json()["id"])
                elif i % 3 == 2:
                    response = await client.post("/v1/usage", json={"model": "gpt-4o-mini", "input_tokens": 10,
                                                                    "request_id": tag})
                    if response.status_code in (200, 201):
                        acks.usage.add(tag)
                else:
                    events = [{"model": "gpt-4o-mini", "cost_usd": 0.001, "request_id": f"{tag}-{k}"}
                              for k in range(50)]
                    response = await client.post("/v1/usage/batch", json={"events": events})
                    if response.status_code == 200:
                        acks.usage.update(e["request_id"] for e in events)
                if not 200 <= response.status_code < 300:
                    acks.failed += 1
            except httpx.HTTPError:
                acks.failed += 1
                await asyncio.sleep(0.2)  # the server is down: don't spin
            if acks.ready():
                acks.enough.set()


@pytest.mark.postgres_too
@pytest.mark.timeout(300)
def test_every_acknowledged_write_survives_a_sigkill(db_url: str) -> None:
    """Clients keep a ledger of 2xx answers; after two kill -9s and restarts, every one of them is stored."""
    acks, stop = Acks(), threading.Event()
    with countersign_server(db_url) as server:
        key = register_agent(server.base_url, "crashy")["api_key"]

        async def load() -> None:
            await asyncio.gather(*(_client(server.base_url, key, n, acks, stop) for n in range(CLIENTS)))

        driver = threading.Thread(target=asyncio.run, args=(load(),))
        driver.start()
        for _ in range(KILLS):  # each kill lands somewhere else in a batch's life
            assert acks.enough.wait(120), f"only {acks.count()} writes acknowledged"
            server.kill()  # mid-load: sixteen requests are in flight, some inside a group commit
            acks.enough.clear()
            acks.round += 1
            server.start()  # the same database comes back up; the clients carry on
        acked_drafts, acked_usage = set(acks.drafts), set(acks.usage)
        stop.set()
        driver.join(30)
    assert acks.failed > 0, "the kill should have cut requests off"
    engine = make_engine(db_url)
    with engine.connect() as conn:
        drafts = {row[0] for row in conn.execute(text("SELECT id FROM drafts"))}
        usage = {row[0] for row in conn.execute(text("SELECT request_id FROM usage_events"))}
    engine.dispose()
    assert acked_drafts and acked_usage
    assert acked_drafts <= drafts, f"{len(acked_drafts - drafts)} acknowledged drafts lost"
    assert acked_usage <= usage, f"{len(acked_usage - usage)} acknowledged usage events lost"
