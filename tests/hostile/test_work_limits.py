"""Limits that count work, in process: a usage batch costs one token per 100 events (checked before its events
are validated), its 422 is bounded; unauthenticated requests are limited per client address before any key is
looked up, and their refusals are audited once a minute per source with a count."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlmodel import col, select

from services.audit.models import AuditEntry
from services.audit.refusals import write_due_refusals
from services.http.bucket import Bucket
from testkit.clock import FakeClock
from tests.harness import Harness

BAD_EVENT = {"model": "", "input_tokens": -1, "output_tokens": "many"}


@pytest.fixture
def limited(sqlite_url: str, clock: FakeClock) -> Iterator[Harness]:
    # Unauthenticated 0.05/s (a burst of 1): a 429 is held 0.5 s, and ten of them refill a quarter of a token.
    with Harness(sqlite_url, clock=clock, run_background=False, COUNTERSIGN_ANON_RATE_LIMIT_PER_S=0.05,
                 COUNTERSIGN_TRUSTED_PROXIES="10.9.0.0/16") as h:
        yield h


def from_address(h: Harness, address: str) -> TestClient:
    return TestClient(h.app, client=(address, 40000), raise_server_exceptions=False, follow_redirects=False)


def key_lookups(h: Harness) -> list[str]:
    seen: list[str] = []

    @event.listens_for(h.ctx.engine, "before_cursor_execute")
    def count(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if "api_key_hash" in statement and "FROM agents" in statement:
            seen.append(statement)

    return seen


def audited(h: Harness, verb: str) -> list[AuditEntry]:
    with h.ctx.read() as session:
        return list(session.exec(select(AuditEntry).where(AuditEntry.verb == verb).order_by(col(AuditEntry.id))))


def test_a_batch_costs_one_token_per_hundred_events_even_when_invalid(sqlite_url: str) -> None:
    """At 1/s (a burst of 2), 1,000 invalid events cost 10: the bucket is 8 in debt, so the next request waits
    about 9 s where one token would have cost 1. Validation stops at the first ten bad events: 20 errors listed,
    "10 more", in a few KB."""
    with Harness(sqlite_url, run_background=False, COUNTERSIGN_RATE_LIMIT_PER_S=1) as h:
        key = h.register()["api_key"]
        invalid = h.client.post("/v1/usage/batch", json={"events": [BAD_EVENT] * 1000}, headers=h.bearer(key))
        after = h.client.get("/v1/agents/me", headers=h.bearer(key))
        other = h.register("other")["api_key"]
        small = h.client.post("/v1/usage/batch", json={"events": [BAD_EVENT] * 3}, headers=h.bearer(other))
        after_small = h.client.get("/v1/agents/me", headers=h.bearer(other))
    assert invalid.status_code == 422 and invalid.headers["ratelimit"] == '"agent";r=0;t=10'
    assert after.status_code == 429 and int(after.headers["retry-after"]) >= 6, after.headers
    assert small.status_code == 422 and after_small.status_code == 200  # 3 events: one token, like any request
    assert len(invalid.content) < 5_000, len(invalid.content)
    body = invalid.json()
    assert len(body["errors"]) == 20 and body["more_errors"] == 10 and "more errors not listed" in body["detail"]
    assert body["errors"][0]["field"].startswith("events[0].")
    assert len(small.json()["errors"]) == 9 and "more_errors" not in small.json()


def test_a_batch_dearer_than_what_is_left_is_refused_before_validation() -> None:
    """The bucket's arithmetic for work: a cost above the tokens left is refused (Retry-After for the whole
    cost); a cost above the whole burst goes through from a full bucket and leaves it in debt."""
    bucket = Bucket(rate=6, tokens=12, stamp=0.0)
    assert bucket.take(0.0, 10) and bucket.tokens == 2
    assert not bucket.take(0.0, 10) and bucket.retry_after(10) == 2 and bucket.take(0.0, 1)
    big = Bucket(rate=1, tokens=2, stamp=0.0)
    assert big.take(0.0, 10) and big.tokens == -8 and not big.has(7.9) and big.has(10.0)


def test_made_up_keys_are_limited_per_address_before_any_lookup(limited: Harness) -> None:
    """From one address, 1 made-up key is looked up (the burst) and the rest refused with 429 unseen; another
    address is untouched; the admin token and a key already proven valid are not limited."""
    agent = limited.register()
    assert limited.client.get("/v1/agents/me", headers=limited.bearer(agent["api_key"])).status_code == 200
    lookups = key_lookups(limited)
    attacker, neighbour = from_address(limited, "203.0.113.7"), from_address(limited, "198.51.100.2")
    answers = [attacker.get("/v1/agents/me", headers=limited.bearer(f"cs_agent_guess{i}")) for i in range(6)]
    assert [a.status_code for a in answers] == [401] + [429] * 5
    assert len(lookups) == 2  # the first key's: by the limiter and by the route; none for the other five
    assert "unauthenticated requests" in answers[-1].json()["detail"] and answers[-1].headers["retry-after"]
    assert attacker.get("/v1/agents", headers=limited.admin).status_code == 200  # the admin token: not limited
    assert attacker.get("/v1/agents/me", headers=limited.bearer(agent["api_key"])).status_code == 200
    assert attacker.get("/v1/agents", headers=limited.bearer("wrong-admin")).status_code == 429
    assert neighbour.get("/v1/agents", headers=limited.bearer("wrong-admin")).status_code == 401


def test_a_trusted_proxy_names_the_client_and_no_one_else_can(limited: Harness) -> None:
    """Behind the trusted proxy each X-Forwarded-For client has its own bucket; from anywhere else the header
    is ignored, so forging it buys no fresh bucket."""
    proxy, direct = from_address(limited, "10.9.0.1"), from_address(limited, "203.0.113.9")
    for client in ("192.0.2.1", "192.0.2.2"):
        statuses = [proxy.get("/v1/agents", headers={**limited.bearer("x"), "X-Forwarded-For": client}).status_code
                    for _ in range(3)]
        assert statuses == [401, 429, 429], client
    forged = [direct.get("/v1/agents", headers={**limited.bearer("x"), "X-Forwarded-For": f"192.0.2.{i + 10}"})
              .status_code for i in range(3)]
    assert forged == [401, 429, 429]


def test_sign_in_attempts_are_limited_per_address(limited: Harness) -> None:
    """Failed sign-ins from one address: the burst is tried, the rest refused with 429 before any lookup."""
    attacker = from_address(limited, "203.0.113.7")
    answers = [attacker.post("/app/login", data={"token": f"guess{i}"}) for i in range(4)]
    assert [a.status_code for a in answers] == [403, 429, 429, 429]
    assert from_address(limited, "198.51.100.2").post("/app/login", data={"token": "x"}).status_code == 403


def test_repeated_refusals_are_audited_once_a_minute_per_source(sqlite_url: str, clock: FakeClock) -> None:
    """Ten failed sign-ins and ten made-up keys from one address (under a generous limit): one entry each at
    once, and the minute's other nine arrive as one entry with their count; another address has its own."""
    with Harness(sqlite_url, clock=clock, run_background=False, COUNTERSIGN_ANON_RATE_LIMIT_PER_S=1000) as h:
        attacker = from_address(h, "203.0.113.7")
        assert {attacker.post("/app/login", data={"token": f"guess{i}"}).status_code for i in range(10)} == {403}
        assert {attacker.get("/v1/agents", headers=h.bearer(f"k{i}")).status_code for i in range(10)} == {401}
        assert from_address(h, "198.51.100.2").post("/app/login", data={"token": "x"}).status_code == 403
        assert [e.details["count"] for e in audited(h, "web.refused")] == [1, 1]
        assert [e.details["count"] for e in audited(h, "http.refused")] == [1]
        write_due_refusals(h.ctx)  # within the minute: nothing is due yet
        assert len(audited(h, "web.refused")) == 2
        clock.advance(seconds=61)
        write_due_refusals(h.ctx)
        write_due_refusals(h.ctx)  # each count is written once
        refused, keys = audited(h, "web.refused"), audited(h, "http.refused")
        assert [(e.details["source"], e.details["count"]) for e in refused] == [
            ("203.0.113.7", 1), ("198.51.100.2", 1), ("203.0.113.7", 9)]
        assert [e.details["count"] for e in keys] == [1, 9] and keys[0].actor_type == "anonymous"


def test_a_burst_with_one_valid_key_after_a_restart_is_one_attempt(limited: Harness) -> None:
    """A busy agent's first requests after a restart carry a key the limiter has not seen yet: they wait for one
    lookup instead of each paying an unauthenticated token, so none is refused (the burst here is 1)."""
    import asyncio

    from services.http.ratelimit import RateLimiter

    key = limited.register()["api_key"]
    limiter = RateLimiter(limited.ctx)  # a fresh process's limiter: no key proven yet

    async def burst() -> list[tuple[object, object]]:
        return await asyncio.gather(*(limiter.identify(key, "127.0.0.1") for _ in range(16)))

    answers = asyncio.run(burst())
    assert all(found is not None and over is None for found, over in answers), answers
    assert not limiter.looking
