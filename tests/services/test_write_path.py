"""The reads that decide a write come from caches; a write must never go through on a stale one."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from sqlalchemy import text

from services.db import make_engine
from tests.harness import Harness

DRAFT = {"action": "reply", "title": "Reply to #1", "body": "Hello"}
WRITES = [("/v1/drafts", DRAFT), ("/v1/usage", {"model": "m", "cost_usd": 1}),
          ("/v1/incidents", {"kind": "error", "severity": "low", "summary": "it broke"}),
          ("/v1/runs", {"name": "nightly", "expect_heartbeat_every_s": 60, "grace_s": 30})]


def test_pausing_an_agent_refuses_its_next_write_at_once(any_db_harness: Harness) -> None:
    """The key cache is warm; a pause through the API drops it, so the very next draft is 423."""
    h = any_db_harness
    key = h.register()["api_key"]
    assert h.client.post("/v1/drafts", json=DRAFT, headers=h.bearer(key)).status_code == 201
    assert h.client.post("/v1/agents/quoter/pause", headers=h.admin, json={"reason": "drill"}).status_code == 200
    refused = h.client.post("/v1/drafts", json=DRAFT, headers=h.bearer(key))
    assert refused.status_code == 423 and refused.json()["paused_reason"] == "drill"
    assert h.client.post("/v1/usage", json={"model": "m", "cost_usd": 1}, headers=h.bearer(key)).status_code == 423
    assert h.client.post("/v1/agents/quoter/resume", headers=h.admin).status_code == 200
    assert h.client.post("/v1/drafts", json=DRAFT, headers=h.bearer(key)).status_code == 201


@pytest.mark.postgres_too
def test_a_pause_by_another_process_is_caught_by_the_writes_version_check(any_db_harness: Harness) -> None:
    """Another replica's pause tells this process nothing, and the cache still holds the agent as active:
    the write's own check inside its transaction refuses it with 423 all the same, for drafts and usage."""
    h = any_db_harness
    key = h.register()["api_key"]
    assert h.client.get("/v1/agents/me", headers=h.bearer(key)).json()["status"] == "active"  # cache warm
    other = make_engine(str(h.ctx.engine.url.render_as_string(hide_password=False)))
    with other.connect() as conn:  # a raw statement: no session, so no local invalidation either
        conn.execute(text("UPDATE agents SET status = 'paused', paused_by = 'U0OTHER', paused_reason = 'elsewhere' "
                          "WHERE name = 'quoter'"))
        conn.commit()
    other.dispose()
    refused = h.client.post("/v1/drafts", json=DRAFT, headers=h.bearer(key))
    assert refused.status_code == 423, refused.text
    assert refused.json()["paused_by"] == "U0OTHER"
    batch = h.client.post("/v1/usage/batch", json={"events": [{"model": "m", "cost_usd": 1}]}, headers=h.bearer(key))
    assert batch.status_code == 423


def test_a_key_rotated_by_another_process_stops_writes_at_once(any_db_harness: Harness) -> None:
    """A rotated key is refused by the next write even while the cache still knows it."""
    h = any_db_harness
    key = h.register()["api_key"]
    assert h.client.get("/v1/agents/me", headers=h.bearer(key)).status_code == 200
    other = make_engine(str(h.ctx.engine.url.render_as_string(hide_password=False)))
    with other.connect() as conn:
        conn.execute(text("UPDATE agents SET api_key_hash = 'rotated-elsewhere' WHERE name = 'quoter'"))
        conn.commit()
    other.dispose()
    assert h.client.post("/v1/drafts", json=DRAFT, headers=h.bearer(key)).status_code == 401


def test_an_open_critical_incident_forces_review_at_once(any_db_harness: Harness) -> None:
    """An auto-approving action goes back to people while a critical incident is open (the routing cache is
    dropped by the incident's commit), and the card says why."""
    h = any_db_harness
    key = h.register(actions={"reply": {"autonomy": "auto"}})["api_key"]
    first = h.client.post("/v1/drafts", json=DRAFT, headers=h.bearer(key)).json()
    assert first["status"] == "auto_approved"
    incident = h.client.post("/v1/incidents", headers=h.bearer(key),
                             json={"kind": "loop", "severity": "critical", "summary": "stuck in a loop"})
    assert incident.status_code == 201, incident.text
    h.client.post("/v1/agents/quoter/resume", headers=h.admin)  # a critical incident may pause it; the guard stays
    second = h.client.post("/v1/drafts", json=DRAFT, headers=h.bearer(key)).json()
    assert second["status"] == "pending"
    assert any("open critical incident" in reason for reason in second["review_reasons"])


def test_the_routing_cache_is_dropped_by_an_incidents_commit(any_db_harness: Harness) -> None:
    """A review draft read 'no critical incident' into the cache; the incident's commit drops it, so the next
    card names the incident instead of waiting out the cache's second."""
    h = any_db_harness
    key = h.register()["api_key"]
    assert h.client.post("/v1/drafts", json=DRAFT, headers=h.bearer(key)).json()["review_reasons"] == []
    h.client.post("/v1/incidents", headers=h.bearer(key),
                  json={"kind": "loop", "severity": "critical", "summary": "stuck in a loop"})
    h.client.post("/v1/agents/quoter/resume", headers=h.admin)
    second = h.client.post("/v1/drafts", json=DRAFT, headers=h.bearer(key)).json()
    assert any("open critical incident" in reason for reason in second["review_reasons"])


def _as_another_replica(h: Harness, statement: str) -> None:
    """A raw statement on an engine of its own: another replica's commit, which tells this process nothing."""
    other = make_engine(str(h.ctx.engine.url.render_as_string(hide_password=False)))
    with other.connect() as conn:
        conn.execute(text(statement))
        conn.commit()
    other.dispose()


def test_a_resume_elsewhere_is_seen_by_the_next_write(any_db_harness: Harness) -> None:
    """The cache holds the agent as paused (its last write got 423); another replica resumes it: the very next
    write goes through, on every write route, instead of a cached 423 for the cache's lifetime."""
    h = any_db_harness
    key = h.register()["api_key"]
    assert h.client.post("/v1/agents/quoter/pause", headers=h.admin, json={"reason": "drill"}).status_code == 200
    assert h.client.post("/v1/drafts", json=DRAFT, headers=h.bearer(key)).status_code == 423  # cached as paused
    _as_another_replica(h, "UPDATE agents SET status = 'active', paused_by = NULL, paused_reason = NULL, "
                           "updated_at = CURRENT_TIMESTAMP WHERE name = 'quoter'")
    for path, body in WRITES:
        assert h.client.post(path, json=body, headers=h.bearer(key)).status_code in (200, 201), path


def test_a_pause_elsewhere_refuses_every_write_route_at_once(any_db_harness: Harness) -> None:
    """Incidents and runs have no version check of their own inside the write: the request's look at the agent
    refuses them with 423 as soon as another replica paused it, while the cache still says active."""
    h = any_db_harness
    key = h.register()["api_key"]
    assert h.client.get("/v1/agents/me", headers=h.bearer(key)).json()["status"] == "active"  # cache warm
    _as_another_replica(h, "UPDATE agents SET status = 'paused', paused_by = 'U0OTHER', paused_reason = 'elsewhere', "
                           "updated_at = CURRENT_TIMESTAMP WHERE name = 'quoter'")
    for path, body in reversed(WRITES):  # runs and incidents first: drafts and usage would refresh the cache
        refused = h.client.post(path, json=body, headers=h.bearer(key))
        assert refused.status_code == 423 and refused.json()["paused_by"] == "U0OTHER", (path, refused.text)


def test_a_resume_from_the_cli_process_is_seen_by_the_running_server(sqlite_url: str) -> None:
    """The README's path: a server running, its agent paused and refused; `countersign agents resume` run from
    another terminal (a process of its own, so nothing in the server hears of it) and the server's next write
    from the agent is accepted. The agent keeps writing while the command runs, so the server's cache holds
    "paused" up to the moment the resume commits."""
    with Harness(sqlite_url) as h:
        key = h.register()["api_key"]
        h.client.post("/v1/agents/quoter/pause", headers=h.admin, json={"reason": "drill"})
        resume = subprocess.Popen([sys.executable, "-m", "services", "agents", "resume", "quoter"],
                                  env={**os.environ, "DATABASE_URL": sqlite_url}, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        while resume.poll() is None:
            answer = h.client.post("/v1/drafts", json=DRAFT, headers=h.bearer(key)).status_code
            assert answer in (201, 423)
            time.sleep(0.05)
        assert resume.returncode == 0, resume.communicate()[1]
        assert h.client.post("/v1/drafts", json=DRAFT, headers=h.bearer(key)).status_code == 201
