"""Agents through the HTTP API: registration, owners, credentials, pause, and the error contract."""

from __future__ import annotations

from tests.harness import OWNER, Harness


def test_register_returns_credentials_once_and_me_works(harness: Harness) -> None:
    """An agent registered by an admin can call /v1/agents/me with the key it was given."""
    created = harness.register()
    assert created["api_key"].startswith("cs_agent_") and created["webhook_secret"].startswith("whsec_")
    me = harness.client.get("/v1/agents/me", headers=harness.bearer(created["api_key"]))
    assert me.status_code == 200
    assert me.json()["name"] == "quoter" and me.json()["status"] == "active"
    assert "api_key" not in me.json() and "webhook_secret" not in me.json()
    shown = harness.client.get("/v1/agents/quoter", headers=harness.admin).json()
    assert "api_key" not in shown and shown["owner"] == OWNER


def test_no_owner_no_agent(harness: Harness) -> None:
    """Registration without an owner is refused, and the answer says why."""
    response = harness.client.post("/v1/agents", json={"name": "orphan"}, headers=harness.admin)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["errors"][0]["field"] == "owner" and "no owner, no agent" in body["errors"][0]["message"]


def test_validation_names_nested_fields(harness: Harness) -> None:
    """A bad budget period or escalation step is named precisely, not a generic 400."""
    response = harness.client.post("/v1/agents", headers=harness.admin, json={
        "name": "x", "owner": OWNER, "budgets": [{"period": "fortnight", "limit_usd": 5}],
        "escalation_chain": [{"notify": "everyone"}], "surprise": 1})
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert {"budgets[0].period", "escalation_chain[0]", "surprise"} <= fields


def test_auth_errors(harness: Harness) -> None:
    """Missing or wrong credentials are 401 for agents and admins alike."""
    assert harness.client.get("/v1/agents/me").status_code == 401
    assert harness.client.get("/v1/agents/me", headers=harness.bearer("cs_agent_nope")).status_code == 401
    assert harness.client.get("/v1/agents", headers=harness.bearer("wrong")).status_code == 401
    created = harness.register()
    assert harness.client.get("/v1/agents", headers=harness.bearer(created["api_key"])).status_code == 401


def test_duplicate_name_conflict_and_unknown_agent(harness: Harness) -> None:
    """Names are unique (409); an unknown agent is 404 with a problem body."""
    harness.register()
    again = harness.client.post("/v1/agents", json={"name": "quoter", "owner": OWNER}, headers=harness.admin)
    assert again.status_code == 409
    missing = harness.client.get("/v1/agents/nobody", headers=harness.admin)
    assert missing.status_code == 404 and missing.json()["status"] == 404


def test_pause_shows_who_and_resume(harness: Harness) -> None:
    """Pause is visible to the agent via /me and tells the owner by DM; resume restores it."""
    created = harness.register()
    paused = harness.client.post("/v1/agents/quoter/pause", json={"reason": "bad quotes"}, headers=harness.admin)
    assert paused.status_code == 200 and paused.json()["status"] == "paused"
    me = harness.client.get("/v1/agents/me", headers=harness.bearer(created["api_key"])).json()
    assert me["status"] == "paused" and me["paused_reason"] == "bad quotes"
    harness.slack.wait_for(lambda c: c.method == "chat.postMessage" and "paused" in c.args.get("text", ""),
                           count=2, ok_only=True)  # owner and backup
    resumed = harness.client.post("/v1/agents/quoter/resume", headers=harness.admin)
    assert resumed.json()["status"] == "active"


def test_rotate_key_revokes_old_key(harness: Harness) -> None:
    """After rotation the old key is 401 and the new one works."""
    created = harness.register()
    new_key = harness.client.post("/v1/agents/quoter/rotate-key", headers=harness.admin).json()["api_key"]
    assert harness.client.get("/v1/agents/me", headers=harness.bearer(created["api_key"])).status_code == 401
    assert harness.client.get("/v1/agents/me", headers=harness.bearer(new_key)).status_code == 200


def test_idempotent_registration(harness: Harness) -> None:
    """The same Idempotency-Key and body replays the first answer; another body is 409."""
    body = {"name": "idem", "owner": OWNER}
    headers = {**harness.admin, "Idempotency-Key": "reg-1"}
    first = harness.client.post("/v1/agents", json=body, headers=headers)
    second = harness.client.post("/v1/agents", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    other = harness.client.post("/v1/agents", json={**body, "name": "idem2"}, headers=headers)
    assert other.status_code == 409


def test_bad_json_and_oversize(harness: Harness) -> None:
    """Malformed JSON is 400 and an oversize body 413, both problem+json."""
    bad = harness.client.post("/v1/agents", content=b"{not json", headers={**harness.admin,
                                                                          "Content-Type": "application/json"})
    assert bad.status_code == 400 and bad.json()["title"] == "Malformed JSON"
    huge = harness.client.post("/v1/agents", content=b"x" * (300 * 1024),
                               headers={**harness.admin, "Content-Type": "application/json"})
    assert huge.status_code == 413 and huge.headers["content-type"] == "application/problem+json"


def test_ops_endpoints(harness: Harness) -> None:
    """Liveness, readiness and Prometheus metrics, including the outbox depth."""
    assert harness.client.get("/healthz").json() == {"status": "ok"}
    assert harness.client.get("/readyz").json()["database"] == "ok"
    text = harness.client.get("/metrics").text
    assert "countersign_outbox_depth" in text and "countersign_http_requests_total" in text
