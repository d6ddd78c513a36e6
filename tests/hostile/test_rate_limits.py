"""In process: the per-agent token bucket, its headers in the IETF httpapi draft's syntax on
every answer to an agent call, 429 problem+json with Retry-After, and rate_limit_per_s on the agent."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from services.http.ratelimit import Bucket
from tests.harness import Harness

POLICY = re.compile(r'^"agent";q=(\d+);w=(\d+)$')
STATE = re.compile(r'^"agent";r=(\d+);t=(\d+)$')


@pytest.fixture
def limited(sqlite_url: str) -> Iterator[Harness]:
    # 1/s: slow enough that the bucket cannot refill between the test's requests (a 429 is held 0.5 s).
    with Harness(sqlite_url, COUNTERSIGN_RATE_LIMIT_PER_S=1) as h:
        yield h


def test_burst_then_429_with_retry_after_and_headers(limited: Harness) -> None:
    """At 1/s the key gets a burst of 2, then 429 problem+json with Retry-After; every answer has both fields."""
    agent = limited.register()
    answers = [limited.client.get("/v1/agents/me", headers=limited.bearer(agent["api_key"])) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    refused = answers[2]
    assert refused.status_code == 429 and refused.headers["content-type"].startswith("application/problem+json")
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.json()["status"] == 429 and "1 requests per second" in refused.json()["detail"]
    for answer in answers:
        assert POLICY.match(answer.headers["ratelimit-policy"]).groups() == ("2", "2")  # type: ignore[union-attr]
        assert STATE.match(answer.headers["ratelimit"]), answer.headers["ratelimit"]
    assert [STATE.match(a.headers["ratelimit"]).group(1) for a in answers] == ["1", "0", "0"]  # type: ignore[union-attr]


def test_errors_from_agent_calls_carry_the_headers_too(limited: Harness) -> None:
    """A 404 or a 422 to an agent still tells it where it stands; admin calls and bad keys are not limited."""
    agent = limited.register()
    missing = limited.client.get("/v1/drafts/nope", headers=limited.bearer(agent["api_key"]))
    assert missing.status_code == 404 and "ratelimit" in missing.headers
    admin = [limited.client.get("/v1/agents", headers=limited.admin) for _ in range(5)]
    assert {a.status_code for a in admin} == {200} and "ratelimit" not in admin[0].headers
    unknown = limited.client.get("/v1/agents/me", headers=limited.bearer("cs_agent_made_up"))
    assert unknown.status_code == 401 and "ratelimit" not in unknown.headers


def test_one_agents_limit_does_not_touch_another(limited: Harness) -> None:
    """Buckets are per key: one agent spending its burst leaves another's intact."""
    first, second = limited.register("first"), limited.register("second")
    for _ in range(2):
        limited.client.get("/v1/agents/me", headers=limited.bearer(first["api_key"]))
    assert limited.client.get("/v1/agents/me", headers=limited.bearer(first["api_key"])).status_code == 429
    assert limited.client.get("/v1/agents/me", headers=limited.bearer(second["api_key"])).status_code == 200


def test_rate_limit_per_s_on_the_agent(limited: Harness) -> None:
    """rate_limit_per_s is set at registration, shown, patched (null: back to the default) and validated."""
    agent = limited.register(rate_limit_per_s=2)
    assert agent["rate_limit_per_s"] == 2
    answer = limited.client.get("/v1/agents/me", headers=limited.bearer(agent["api_key"]))
    assert answer.headers["ratelimit-policy"] == '"agent";q=4;w=2'
    patched = limited.client.patch("/v1/agents/quoter", json={"rate_limit_per_s": 400}, headers=limited.admin)
    assert patched.status_code == 200 and patched.json()["rate_limit_per_s"] == 400
    reset = limited.client.patch("/v1/agents/quoter", json={"rate_limit_per_s": None}, headers=limited.admin)
    assert reset.json()["rate_limit_per_s"] is None
    for bad in (0, -1, "fast", 1e9):
        refused = limited.client.patch("/v1/agents/quoter", json={"rate_limit_per_s": bad}, headers=limited.admin)
        assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "rate_limit_per_s"


def test_bucket_refills_at_the_rate_and_repays_debt() -> None:
    """The arithmetic: refill at `rate`, capped at the burst; other replicas' use is a debt repaid first."""
    bucket = Bucket(rate=10, tokens=20, stamp=0.0)
    assert all(bucket.take(0.0) for _ in range(20)) and not bucket.take(0.0)
    assert bucket.take(0.1) and not bucket.take(0.1)
    bucket.debit(50)
    assert bucket.tokens == -20  # never deeper than one burst
    assert not bucket.take(2.0) and not bucket.take(2.15) and bucket.take(2.25)
    assert bucket.retry_after() >= 1
