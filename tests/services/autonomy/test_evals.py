"""Evaluation export: one row per decided draft with input, draft, final text, verdict, reason, reviewers, time
to decision, prompt version, model and cost, the diff for edits; the CLI and GET /v1/evals agree."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from typing import Any

import pytest
from click.testing import CliRunner, Result

from services.cli import evals as _evals  # noqa: F401  (attaches `evals` to the root group)
from services.cli.common import cli
from services.config import get_settings
from services.drafts import flows as drafts
from testkit.clock import FakeClock
from testkit.fakes.receiver import FakeAgentReceiver
from testkit.fakes.slack import FakeSlack
from tests.harness import ALICE, BOB, Harness
from tests.services.drafts.helpers import new_draft

CONTEXT = {"lane": "NLRTM-FRLYS", "weight_kg": 1200}


def _cli(*args: str, url: str) -> subprocess.CompletedProcess[str]:
    """The real console entry point in its own process (slow to start: used once)."""
    env = {**os.environ, "DATABASE_URL": url}
    return subprocess.run([sys.executable, "-m", "services", "evals", "export", *args], env=env,
                          capture_output=True, text=True, timeout=60)


def _cli_here(*args: str, url: str, monkeypatch: pytest.MonkeyPatch) -> Result:
    """The same command run in this process, for the quick cases."""
    monkeypatch.setenv("DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(cli, ["evals", "export", *args])
    finally:
        get_settings.cache_clear()


def _rows(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def seed_history(h: Harness, clock: FakeClock) -> tuple[str, str]:
    """approved, edited, rejected, expired, auto-approved and cancelled drafts for quoter; one draft for another."""
    key = h.register(actions={"auto_lane": {"autonomy": "auto"}}, autonomy_rule={"audit_sample_rate": 0})["api_key"]
    other = h.register("other")["api_key"]
    common = {"context": CONTEXT, "model": "gpt-4o", "prompt_version": "v7", "cost_usd": 0.0125}
    ids = [new_draft(h, key, title=f"lane {i}", **common)["id"] for i in range(5)]
    clock.advance(90)
    drafts.decide(ctx=h.ctx, draft_id=ids[0], user_id=ALICE, verdict="approve")
    clock.advance(1)
    drafts.decide(ctx=h.ctx, draft_id=ids[1], user_id=BOB, verdict="edit", final_body="EUR 1,900 all in.")
    clock.advance(1)
    drafts.decide(ctx=h.ctx, draft_id=ids[2], user_id=ALICE, verdict="reject", reason="the lane is closed")
    drafts.cancel(ctx=h.ctx, agent=_agent(h), draft_id=ids[4])
    clock.advance(days=2)
    h.run_jobs()  # ids[3] expires
    clock.advance(1)
    new_draft(h, key, action="auto_lane", **common)
    drafts.decide(ctx=h.ctx, draft_id=new_draft(h, other)["id"], user_id=ALICE, verdict="approve")
    return key, ids[1]


def _agent(h: Harness) -> Any:
    from services.agents.service import require_agent

    with h.ctx.read() as session:
        return require_agent(session=session, name="quoter")


def test_export_rows_for_a_seeded_history(sqlite_url: str, slack: FakeSlack, receiver: FakeAgentReceiver,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Every verdict but `cancelled` is a row with all the fields; the edit carries its diff; CLI == API."""
    clock = FakeClock()
    with Harness(sqlite_url, slack=slack, receiver=receiver, clock=clock, jobs=[]) as h:
        key, edited_id = seed_history(h, clock)
        api = h.client.get("/v1/evals", headers=h.bearer(key))
        assert api.status_code == 200 and api.headers["content-type"].startswith("application/jsonl")
        rows = _rows(api.text)
        assert [r["verdict"] for r in rows] == ["approved", "edited", "rejected", "expired", "auto_approved"]
        assert {r["agent"] for r in rows} == {"quoter"}  # the other agent's draft is not shown
        by_verdict = {r["verdict"]: r for r in rows}
        edited = by_verdict["edited"]
        assert edited["draft_id"] == edited_id and edited["context"] == CONTEXT
        assert edited["draft"] == "EUR 1,840 all in." and edited["final"] == "EUR 1,900 all in."
        assert edited["reviewers"] == [BOB] and edited["edited_by"] == BOB and edited["time_to_decision_s"] == 91
        assert edited["prompt_version"] == "v7" and edited["model"] == "gpt-4o" and edited["cost_usd"] == 0.0125
        assert "-EUR 1,840 all in.\n" in edited["diff"] and "+EUR 1,900 all in.\n" in edited["diff"]
        assert 0 < edited["edit_distance"] < 0.2
        rejected = by_verdict["rejected"]
        assert rejected["reason"] == "the lane is closed" and rejected["final"] is None and rejected["diff"] is None
        assert "do not retry" in by_verdict["expired"]["reason"] and by_verdict["expired"]["reviewers"] == []
        assert by_verdict["approved"]["final"] == by_verdict["approved"]["draft"]

        only = _rows(h.client.get("/v1/evals", params={"action": "auto_lane"}, headers=h.bearer(key)).text)
        assert [r["verdict"] for r in only] == ["auto_approved"]
        since = (clock.now() - timedelta(seconds=1)).isoformat()  # when the expiry job ran
        recent = _rows(h.client.get("/v1/evals", params={"since": since}, headers=h.bearer(key)).text)
        assert [r["verdict"] for r in recent] == ["expired", "auto_approved"]  # decided two days later

    cli = _cli("--agent", "quoter", url=sqlite_url)
    assert cli.returncode == 0, cli.stderr
    assert _rows(cli.stdout) == rows
    everyone = _rows(_cli_here(url=sqlite_url, monkeypatch=monkeypatch).stdout)
    assert len(everyone) == 6 and {r["agent"] for r in everyone} == {"quoter", "other"}


def test_bad_filters_name_the_field(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    """A malformed `since` or `action` is a 422 naming the field, from the API and the CLI alike."""
    key = harness.register()["api_key"]
    bad = harness.client.get("/v1/evals", params={"since": "last tuesday"}, headers=harness.bearer(key))
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "since"
    bad = harness.client.get("/v1/evals", params={"action": "Not A Slug"}, headers=harness.bearer(key))
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "action"
    assert harness.client.get("/v1/evals").status_code == 401
    url = harness.settings.database_url
    result = _cli_here("--since", "yesterday-ish", url=url, monkeypatch=monkeypatch)
    assert result.exit_code == 2 and "--since" in result.stderr
    result = _cli_here("--agent", "nobody", url=url, monkeypatch=monkeypatch)
    assert result.exit_code == 2 and "nobody" in result.stderr
    result = _cli_here("--action", "Not A Slug", url=url, monkeypatch=monkeypatch)
    assert result.exit_code == 2 and "action" in result.stderr
