"""The client against httpx.MockTransport: retries keep one Idempotency-Key, problem+json maps to the documented
exceptions, long-polls stay within the server's 60 s limit, and the sync and async twins behave alike."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from countersign_client import (
    AgentPaused,
    APIConnectionError,
    AsyncCountersign,
    Conflict,
    Countersign,
    CountersignError,
    Denied,
    NotFound,
    RateLimited,
    ServerError,
    Unauthorized,
    ValidationError,
)

DRAFT = {"id": "drf_1", "status": "pending", "action": "refund", "title": "t", "body": "b"}


def problem(status: int, slug: str, **extra: Any) -> httpx.Response:
    body = {"type": f"https://countersign.dev/problems/{slug}", "title": slug, "status": status,
            "detail": f"{slug} detail", **extra}
    return httpx.Response(status, json=body, headers={"content-type": "application/problem+json"})


def client(handler: Any, **kw: Any) -> Countersign:
    return Countersign(api_key="k", base_url="http://cs.test", transport=httpx.MockTransport(handler),
                       backoff_s=0.001, **kw)


def test_a_create_whose_answer_is_lost_is_retried_with_the_same_idempotency_key() -> None:
    """The first answer is dropped on the floor: the retry must carry the same key, so the server can't make two."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if len(seen) == 1:
            raise httpx.ReadError("connection reset after the server committed", request=request)
        return httpx.Response(201, json=DRAFT)

    draft = client(handler).drafts.create(action="refund", title="t", body="b")
    assert draft.id == "drf_1" and len(seen) == 2
    keys = {r.headers["Idempotency-Key"] for r in seen}
    assert len(keys) == 1 and keys != {""}
    assert seen[0].content == seen[1].content
    assert seen[0].headers["Authorization"] == "Bearer k"


def test_5xx_and_429_are_retried_then_raised_with_retry_after() -> None:
    """Retryable statuses are retried up to max_retries; the last one surfaces as its own exception type."""
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.headers["Idempotency-Key"])
        if len(calls) <= 2:
            return problem(503, "unavailable")
        return httpx.Response(429, json={"title": "slow down", "status": 429}, headers={"Retry-After": "0"})

    with pytest.raises(RateLimited) as caught:
        client(handler, max_retries=3).report_incident(kind="anomaly", severity="high", summary="s")
    assert len(calls) == 4 and len(set(calls)) == 1
    assert caught.value.retry_after == 0 and caught.value.status == 429
    with pytest.raises(ServerError):
        client(lambda r: problem(502, "bad-gateway"), max_retries=1).me()


def test_connection_errors_exhaust_into_api_connection_error() -> None:
    """No answer at all, after every retry, is one documented exception (not a raw httpx error)."""
    attempts = []

    def handler(request: httpx.Request) -> httpx.Response:
        attempts.append(1)
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(APIConnectionError) as caught:
        client(handler, max_retries=2).check_budget(0.1)
    assert len(attempts) == 3 and isinstance(caught.value, CountersignError) and caught.value.status is None


@pytest.mark.parametrize(("status", "slug", "cls"), [
    (401, "unauthorized", Unauthorized), (403, "forbidden", Denied), (404, "not-found", NotFound),
    (409, "conflict", Conflict), (422, "validation-failed", ValidationError), (423, "agent-paused", AgentPaused),
])
def test_problem_json_maps_to_one_exception_per_status(status: int, slug: str, cls: type) -> None:
    """Each documented status has its exception, carrying status, type, detail and the field errors; none retried."""
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return problem(status, slug, errors=[{"field": "title", "message": "required"}])

    with pytest.raises(cls) as caught:
        client(handler).drafts.get("drf_1")
    error = caught.value
    assert error.status == status and error.type.endswith(slug) and error.detail == f"{slug} detail"
    assert error.errors == [{"field": "title", "message": "required"}] and len(calls) == 1


def test_request_approval_long_polls_in_slices_of_at_most_60_seconds() -> None:
    """A long timeout is served by several GET ?wait= slices, none over the server's 60 s limit."""
    waits: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            assert json.loads(request.content)["context"] == {"order": 1}
            return httpx.Response(201, json=DRAFT)
        waits.append(float(request.url.params["wait"]))
        status = "approved" if len(waits) == 3 else "pending"
        return httpx.Response(200, json={**DRAFT, "status": status, "decided_by": ["U1"]})

    draft = client(handler).request_approval(action="refund", title="t", body="b", context={"order": 1},
                                             timeout=3600)
    assert draft.approved and draft.decided_by == ["U1"]
    assert waits == [60.0, 60.0, 60.0]


def test_request_approval_returns_the_pending_draft_when_its_timeout_passes() -> None:
    """timeout=0: one read, and the caller gets the still-pending draft back rather than an exception."""
    draft = client(lambda r: httpx.Response(201 if r.method == "POST" else 200, json=DRAFT)).request_approval(
        action="refund", title="t", body="b", timeout=0)
    assert draft.status == "pending" and not draft.approved


def test_get_refuses_a_wait_over_the_server_limit_before_sending() -> None:
    """A wait the server would refuse is a ValueError at the call site, with the method to use instead."""
    with pytest.raises(ValueError, match="drafts.wait"):
        client(lambda r: httpx.Response(200, json=DRAFT)).drafts.get("drf_1", wait=61)


def test_async_twin_retries_with_the_same_key_and_maps_errors() -> None:
    """AsyncCountersign runs the same flows: a lost answer is retried under the same key; 423 is AgentPaused."""
    keys: list[str] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/usage":
            return problem(423, "agent-paused")
        keys.append(request.headers["Idempotency-Key"])
        if len(keys) == 1:
            raise httpx.RemoteProtocolError("server disconnected", request=request)
        return httpx.Response(201, json=DRAFT)

    async def main() -> None:
        async with AsyncCountersign(api_key="k", base_url="http://cs.test", transport=httpx.MockTransport(handler),
                                    backoff_s=0.001) as acs:
            draft = await acs.drafts.create(action="refund", title="t", body="b")
            assert draft.id == "drf_1"
            with pytest.raises(AgentPaused):
                await acs.record_usage(model="gpt-4o", input_tokens=1, output_tokens=1)

    asyncio.run(main())
    assert len(keys) == 2 and len(set(keys)) == 1


def test_configuration_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """COUNTERSIGN_URL and COUNTERSIGN_API_KEY configure a bare Countersign(); no key is a clear error."""
    monkeypatch.setenv("COUNTERSIGN_URL", "http://env.test/")
    monkeypatch.setenv("COUNTERSIGN_API_KEY", "env-key")
    seen = []
    cs = Countersign(transport=httpx.MockTransport(lambda r: seen.append(r) or httpx.Response(
        200, json={"name": "a", "status": "active", "budgets": []})))
    assert cs.me().status == "active"
    assert str(seen[0].url) == "http://env.test/v1/agents/me" and seen[0].headers["Authorization"] == "Bearer env-key"
    monkeypatch.delenv("COUNTERSIGN_API_KEY")
    with pytest.raises(ValueError, match="COUNTERSIGN_API_KEY"):
        Countersign()


def test_draft_listing_and_usage_batch_follow_the_contract() -> None:
    """GET /v1/drafts with its filters and cursor, POST /v1/usage/batch with one result per event, in order.
    (Mocked: the server on this branch does not serve these two yet.)"""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/v1/drafts":
            return httpx.Response(200, json={"data": [DRAFT], "next_cursor": "c2"})
        events = json.loads(request.content)["events"]
        return httpx.Response(200, json={"results": [{"id": i, "cost_usd": 0.01} for i, _ in enumerate(events)]})

    cs = client(handler)
    page = cs.drafts.list(status="pending", limit=50, cursor="c1")
    assert [d.id for d in page.data] == ["drf_1"] and page.next_cursor == "c2"
    assert dict(seen[0].url.params) == {"status": "pending", "limit": "50", "cursor": "c1"}
    results = cs.usage.batch([{"model": "m", "input_tokens": 1}, {"model": "m", "input_tokens": 2}])
    assert [r.id for r in results] == [0, 1] and "Idempotency-Key" in seen[1].headers


def test_an_adapter_turn_that_cannot_be_fully_submitted_withdraws_what_it_posted() -> None:
    """Two tool calls, the second refused (422): the first draft is cancelled and the error reaches the caller."""
    from countersign_client._adapt import decide_all

    paths: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.path)
        if request.url.path.endswith("/cancel"):
            return httpx.Response(200, json={**DRAFT, "status": "cancelled"})
        if len(paths) == 2:
            return problem(422, "validation-failed", errors=[{"field": "title", "message": "too long"}])
        return httpx.Response(201, json=DRAFT)

    cs = client(handler)
    payloads = [{"action": "a", "title": "t", "body": {}}, {"action": "b", "title": "x" * 400, "body": {}}]
    with pytest.raises(ValidationError):
        cs._run(decide_all(cs._cfg, payloads, timeout=60))
    assert paths == ["/v1/drafts", "/v1/drafts", "/v1/drafts/drf_1/cancel"]


def test_a_handed_in_http_client_needs_no_configuration_of_its_own() -> None:
    """http_client= is used as is: the client still sends its base URL, key and Idempotency-Key per request."""
    seen: list[httpx.Request] = []
    http = httpx.Client(transport=httpx.MockTransport(lambda r: seen.append(r) or httpx.Response(201, json=DRAFT)))
    cs = Countersign(api_key="k2", base_url="http://cs.test/", http_client=http)
    cs.drafts.create(action="refund", title="t", body="b", idempotency_key="mine")
    assert str(seen[0].url) == "http://cs.test/v1/drafts"
    assert seen[0].headers["Authorization"] == "Bearer k2" and seen[0].headers["Idempotency-Key"] == "mine"
    cs.close()
    assert not http.is_closed  # not ours to close
