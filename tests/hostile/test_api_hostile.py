"""Hostile callers of the HTTP API: other agents' ids, a paused agent, callbacks aimed at internal hosts, header
injection, huge and deeply nested JSON. Each gets a clear 4xx problem+json, never a 500, and nothing happens."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlmodel import select

from services.agents import service as agents
from services.outbox.models import OutboxMessage
from services.outbox.service import enqueue_callback
from testkit.fakes.receiver import FakeAgentReceiver
from testkit.fakes.slack import FakeSlack
from tests.harness import Harness

DRAFT = {"action": "send_reply", "title": "Reply to ticket 42", "body": "Hello"}
INCIDENT = {"kind": "error", "severity": "low", "summary": "it broke"}
USAGE = {"model": "gpt-4o-mini", "provider": "openai", "input_tokens": 10, "output_tokens": 5}
RUN = {"name": "nightly", "expect_heartbeat_every_s": 60, "grace_s": 30}


def problem(response: Any, status: int | tuple[int, ...]) -> dict[str, Any]:
    statuses = (status,) if isinstance(status, int) else status
    assert response.status_code in statuses, f"{response.status_code}: {response.text[:500]}"
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert {"type", "title", "status", "detail"} <= set(body)
    return body


def require_routes(h: Harness, *paths: str) -> None:
    """A renamed or dropped route must fail these tests, not quietly skip the attack they make."""
    missing = [path for path in paths if path not in h.app.openapi()["paths"]]
    assert not missing, f"the contract's routes are gone: {missing}"


def creates(h: Harness) -> list[tuple[str, dict[str, Any]]]:
    wanted = [("/v1/drafts", DRAFT), ("/v1/incidents", INCIDENT), ("/v1/usage", USAGE), ("/v1/runs", RUN)]
    require_routes(h, *(path for path, _ in wanted))
    return wanted


def test_another_agents_ids_are_404(harness: Harness) -> None:
    """An agent never sees or touches another agent's objects: the answer is 404, the same as for no object."""
    mine, theirs = harness.register("mine"), harness.register("theirs")
    require_routes(harness, "/v1/drafts", "/v1/incidents", "/v1/drafts/{draft_id}/cancel")
    for path, body, read in [("/v1/drafts", DRAFT, "/v1/drafts/{}"), ("/v1/incidents", INCIDENT, "/v1/incidents/{}")]:
        created = harness.client.post(path, json=body, headers=harness.bearer(theirs["api_key"]))
        assert created.status_code == 201, created.text
        other_id = created.json()["id"]
        problem(harness.client.get(read.format(other_id), headers=harness.bearer(mine["api_key"])), 404)
        assert harness.client.get(read.format(other_id), headers=harness.bearer(theirs["api_key"])).status_code == 200
    draft = harness.client.post("/v1/drafts", json=DRAFT, headers=harness.bearer(theirs["api_key"])).json()
    problem(harness.client.post(f"/v1/drafts/{draft['id']}/cancel", headers=harness.bearer(mine["api_key"])), 404)
    still = harness.client.get(f"/v1/drafts/{draft['id']}", headers=harness.bearer(theirs["api_key"])).json()
    assert still["status"] == "pending"


def test_paused_agent_writes_are_423(harness: Harness) -> None:
    """After an admin pauses an agent, every write it attempts is 423 saying who paused it; reads still work."""
    agent = harness.register()
    paused = harness.client.post("/v1/agents/quoter/pause", json={"reason": "runaway spend"}, headers=harness.admin)
    assert paused.status_code == 200
    for path, body in creates(harness):
        refused = problem(harness.client.post(path, json=body, headers=harness.bearer(agent["api_key"])), 423)
        assert "runaway spend" in refused["detail"], refused
    assert harness.client.get("/v1/agents/me", headers=harness.bearer(agent["api_key"])).json()["status"] == "paused"


@pytest.mark.parametrize("url", [
    "http://169.254.169.254/latest/meta-data/", "http://[fe80::1]/hook", "http://[::ffff:169.254.169.254]/x",
    "http://169.254.169.254.:80/", "https://2852039166/", "http://0xA9FEA9FE/", "http://a.example/\r\nX-Evil: 1",
    "file:///etc/passwd", "gopher://internal/", "http:///nohost",
])
def test_callback_url_refused_at_registration(harness: Harness, url: str) -> None:
    """Cloud metadata (link-local) targets, in any spelling, and non-http URLs are refused by name at registration."""
    response = harness.client.post("/v1/agents", json={"name": "sneaky", "owner": "U012OWNER", "callback_url": url},
                                   headers=harness.admin)
    body = problem(response, 422)
    assert any(error["field"] == "callback_url" for error in body["errors"]), body
    harness.register("honest")
    patched = harness.client.patch("/v1/agents/honest", json={"callback_url": url}, headers=harness.admin)
    assert problem(patched, 422)["errors"][0]["field"] == "callback_url"


def _enqueue(h: Harness, agent_name: str, url: str) -> int:
    with h.ctx.uow() as session:
        agent = agents.require_agent(session=session, name=agent_name)
        row = enqueue_callback(session=session, agent_id=agent.id or 0, url=url, event="draft.decided",
                               data={"probe": True}, now=h.ctx.clock.now())
        return row.id or 0


def _outcome(h: Harness, row_id: int) -> OutboxMessage:
    h.drain()
    with h.ctx.uow() as session:
        return session.exec(select(OutboxMessage).where(OutboxMessage.id == row_id)).one()


@pytest.fixture
def deny_private(sqlite_url: str, slack: FakeSlack, receiver: FakeAgentReceiver) -> Iterator[Harness]:
    with Harness(sqlite_url, slack=slack, receiver=receiver, COUNTERSIGN_CALLBACK_DENY_PRIVATE=True) as h:
        yield h


def test_link_local_refused_at_delivery_even_if_stored(harness: Harness, receiver: FakeAgentReceiver) -> None:
    """A link-local target that got into the database anyway is refused when delivering: never contacted."""
    harness.register()
    row = _outcome(harness, _enqueue(harness, "quoter", "http://169.254.169.254/latest/meta-data/"))
    assert row.status == "dead" and "link-local" in (row.last_error or "")
    assert receiver.deliveries == []


def test_loopback_by_hostname_refused_at_delivery_when_private_denied(deny_private: Harness,
                                                                      receiver: FakeAgentReceiver) -> None:
    """With COUNTERSIGN_CALLBACK_DENY_PRIVATE a hostname that resolves to 127.0.0.1 passes the text check but is
    refused on its resolved address: at registration (422 naming callback_url), and at delivery for a row that got
    stored anyway, so DNS can't smuggle an internal host in."""
    by_name = f"http://localhost:{receiver.port}/callback"
    refused = deny_private.client.post("/v1/agents", headers=deny_private.admin,
                                       json={"name": "sneaky", "owner": "U012OWNER", "callback_url": by_name})
    assert problem(refused, 422)["errors"][0]["field"] == "callback_url"
    deny_private.register(callback_url="https://agent.example.com/cb")
    row = _outcome(deny_private, _enqueue(deny_private, "quoter", by_name))
    assert row.status == "dead" and "private or loopback" in (row.last_error or "")
    literal = _outcome(deny_private, _enqueue(deny_private, "quoter", receiver.url))
    assert literal.status == "dead"
    assert receiver.deliveries == []


def test_loopback_allowed_by_default(harness: Harness, receiver: FakeAgentReceiver) -> None:
    """The control: without the setting a loopback receiver is delivered to, signed, exactly once."""
    created = harness.register()
    row = _outcome(harness, _enqueue(harness, "quoter", receiver.url))
    assert row.status == "sent"
    [delivery] = receiver.deliveries
    assert delivery.verify(created["webhook_secret"])


@pytest.mark.parametrize("key", [b"a\x00b", b"a\x01b", b"tab\there", b"del\x7f", "é".encode() * 200, b""],
                         ids=["nul", "soh", "tab", "del", "600-bytes", "empty"])
def test_idempotency_key_with_control_characters_is_refused(harness: Harness, key: bytes) -> None:
    """An Idempotency-Key with control characters or over 255 characters is a 4xx naming the header."""
    body = {"name": "keyed", "owner": "U012OWNER"}
    response = harness.client.post("/v1/agents", json=body, headers={**harness.admin, "Idempotency-Key": key})
    assert problem(response, 422)["errors"][0]["field"] == "Idempotency-Key"
    assert harness.client.get("/v1/agents/keyed", headers=harness.admin).status_code == 404


def test_huge_body_is_413(harness: Harness) -> None:
    """Over 256 KB is refused with 413 before parsing, whether the length is declared or streamed."""
    agent = harness.register()
    huge = json.dumps({**DRAFT, "body": "x" * 300_000})
    for path in ["/v1/agents", "/v1/drafts", "/v1/incidents"]:
        problem(harness.client.post(path, content=huge, headers={**harness.bearer(agent["api_key"]),
                                                                 "Content-Type": "application/json"}), 413)

    def chunks() -> Iterator[bytes]:
        for i in range(0, len(huge), 16384):
            yield huge[i:i + 16384].encode()

    problem(harness.client.post("/v1/agents", content=chunks(), headers={**harness.admin,
                                                                        "Content-Type": "application/json"}), 413)


@pytest.mark.parametrize("depth", [1_000, 10_000, 100_000])
def test_deeply_nested_json_is_a_clean_4xx(harness: Harness, depth: int) -> None:
    """Thousands of nested arrays or objects are refused as a 4xx problem, not a RecursionError 500."""
    agent = harness.register()
    arrays = "[" * depth + "]" * depth
    objects = '{"a":' * depth + "1" + "}" * depth
    for path, field in [("/v1/agents", "callback_url"), ("/v1/drafts", "body"), ("/v1/drafts", "context"),
                        ("/v1/incidents", "details")]:
        for nested in (arrays, objects):
            fields = json.dumps({**DRAFT, **INCIDENT, "name": "deep", "owner": "U012OWNER"})
            raw = fields[:-1] + f', "{field}": {nested}}}'
            auth = harness.admin if path == "/v1/agents" else harness.bearer(agent["api_key"])
            response = harness.client.post(path, content=raw, headers={**auth, "Content-Type": "application/json"})
            problem(response, (400, 404, 405, 413, 422))


RAW_REQUESTS = {
    "bare CR inside a header": b"GET /v1/agents/me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer a\rX-Evil: 1\r\n\r\n",
    "NUL inside a header": b"GET /v1/agents/me HTTP/1.1\r\nHost: x\r\nIdempotency-Key: a\x00b\r\n\r\n",
    "CRLF smuggled into the path": b"GET /v1/agents/me%0d%0aX-Evil:%201 HTTP/1.1\r\nHost: x\r\n\r\n",
    "folded header": b"GET /v1/agents/me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer\r\n a\r\n\r\n",
    "two Content-Lengths": b"POST /v1/drafts HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 40\r\n\r\n{}",
    "Content-Length and chunked": (b"POST /v1/drafts HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
                                   b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
}


def test_header_injection_on_the_wire(tmp_path: Any) -> None:
    """Malformed or smuggling requests sent as raw bytes to the real server get a 4xx, and it keeps serving."""
    import socket

    import httpx

    from testkit.live import countersign_server

    with countersign_server(f"sqlite:///{tmp_path / 'raw.db'}") as server:
        for label, raw in RAW_REQUESTS.items():
            with socket.create_connection(("127.0.0.1", server.port), timeout=5) as conn:
                conn.sendall(raw)
                head = conn.recv(4096).split(b"\r\n", 1)[0]
            status = int(head.split()[1]) if head.startswith(b"HTTP/1.1 ") else 0
            assert 400 <= status < 500, f"{label}: {head!r}"
        assert httpx.get(f"{server.base_url}/healthz", timeout=5).status_code == 200
