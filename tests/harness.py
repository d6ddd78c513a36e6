"""Harness: one running Countersign app (lifespan, outbox sender, scheduler) wired to the fake Slack and a
callback receiver, with helpers to act as an admin, an agent, or Slack itself (signed requests)."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import select

from services.clock import Clock
from services.config import Settings
from services.context import AppContext
from services.events import Events
from services.main import create_app
from services.outbox.models import OutboxMessage
from services.outbox.urls import Resolver
from services.scheduler import Job, run_all_once
from testkit.fakes.receiver import FakeAgentReceiver
from testkit.fakes.signing import FORM, block_actions_body, signed_headers, slash_command_body
from testkit.fakes.slack import FakeSlack

SIGNING_SECRET = "test-signing-secret"
ADMIN_TOKEN = "test-admin-token"
OWNER, BACKUP, ALICE, BOB, CAROL = "U012OWNER", "U034BACKUP", "U078ALICE", "U079BOB", "U080CAROL"
REVIEW_CHANNEL = "C056REVIEW"


# Anchor files (on by default, in the working directory) go to one scratch folder removed when the run ends.
_SCRATCH = tempfile.TemporaryDirectory(prefix="countersign-test-anchors-")


def scratch_anchor_file(db_url: str | None) -> str:
    """One anchor file per database, so the server, the CLI and `audit verify` on one database share it."""
    return os.path.join(_SCRATCH.name, f"anchors-{hashlib.sha256(str(db_url).encode()).hexdigest()[:16]}.jsonl")


def make_settings(db_url: str, slack: FakeSlack | None = None, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "COUNTERSIGN_AUDIT_ANCHOR_FILE": scratch_anchor_file(db_url),
        "DATABASE_URL": db_url,
        "COUNTERSIGN_ADMIN_TOKEN": ADMIN_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "COUNTERSIGN_TICK_SECONDS": 0.2,
        "COUNTERSIGN_RATE_LIMIT_PER_S": 100_000,  # other suites burst freely; the limiter's own tests set a rate
    }
    if slack is not None:
        values.update({"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_API_URL": slack.url})
    values.update(extra)
    return Settings(_env_file=None, **values)


class Harness:
    def __init__(self, db_url: str, *, slack: FakeSlack | None = None, receiver: FakeAgentReceiver | None = None,
                 clock: Clock | None = None, run_background: bool = True, jobs: list[Job] | None = None,
                 events: Events | None = None, llm: Any | None = None, resolver: Resolver | None = None,
                 **settings: Any) -> None:
        self.slack, self.receiver = slack, receiver
        self.settings = make_settings(db_url, slack, **settings)
        # migrate=False: every fixture database is a copy of one migrated template (tests/conftest.py); migrating
        # on start is what the live-server tests do, on empty databases.
        self.app = create_app(self.settings, clock=clock, run_background=run_background, jobs=jobs,
                              channel_interval_s=0.0, events=events, llm=llm, migrate=False, resolver=resolver)
        self.client = TestClient(self.app, raise_server_exceptions=False)

    def __enter__(self) -> Harness:
        self.client.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.__exit__(*exc)
        self.ctx.engine.dispose()

    @property
    def ctx(self) -> AppContext:
        return self.app.state.ctx

    # --- acting as an admin or an agent -------------------------------------------------------------
    @property
    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {ADMIN_TOKEN}"}

    @staticmethod
    def bearer(api_key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {api_key}"}

    def register(self, name: str = "quoter", **fields: Any) -> dict[str, Any]:
        body: dict[str, Any] = {"name": name, "owner": OWNER, "backup_owners": [BACKUP],
                                "review_channel": REVIEW_CHANNEL, "approvers": [ALICE, BOB]}
        if self.receiver is not None:
            body["callback_url"] = self.receiver.url
        body.update(fields)
        response = self.client.post("/v1/agents", json=body, headers=self.admin)
        assert response.status_code == 201, response.text
        return response.json()

    # --- acting as Slack ------------------------------------------------------------------------------
    def slack_post(self, body: str, *, content_type: str = FORM, timestamp: int | None = None,
                   secret: str = SIGNING_SECRET) -> Any:
        headers = signed_headers(secret, body, timestamp, content_type)
        return self.client.post("/slack/events", content=body.encode(), headers=headers)

    def command(self, text: str, *, user_id: str = OWNER, channel_id: str = REVIEW_CHANNEL,
                response_url: str | None = None) -> Any:
        fields: dict[str, Any] = {"text": text, "user_id": user_id, "channel_id": channel_id}
        if response_url:
            fields["response_url"] = response_url
        return self.slack_post(slash_command_body(**fields))

    def click(self, message: dict[str, Any], action_id: str, *, user: str, value: str | None = None,
              channel: str | None = None, team: str = "T0TEAM", response_url: str | None = None) -> Any:
        """A block_actions payload built from a posted message's own button, as Slack would send it."""
        button = find_element(message.get("blocks") or [], action_id)
        channel = channel or message["channel"]
        payload = {
            "type": "block_actions", "user": {"id": user, "username": user.lower(), "name": user.lower(),
                                              "team_id": team},
            "api_app_id": "A0APP", "token": "verification_token",
            "container": {"type": "message", "message_ts": message["ts"], "channel_id": channel,
                          "is_ephemeral": False},
            "trigger_id": f"trigger-{time.time_ns()}", "team": {"id": team, "domain": "example"},
            "enterprise": None, "is_enterprise_install": False, "channel": {"id": channel, "name": "review"},
            "message": {"type": "message", "ts": message["ts"], "text": message.get("text", ""),
                        "blocks": message.get("blocks") or []},
            "state": {"values": {}},
            "response_url": response_url or (self.slack.response_url(f"click-{time.time_ns()}") if self.slack else
                                             "https://hooks.slack.com/actions/x"),
            "actions": [{"action_id": action_id, "block_id": button.get("_block_id", ""),
                         "text": button.get("text"), "value": value if value is not None else button.get("value"),
                         "type": button.get("type", "button"), "action_ts": f"{time.time():.6f}"}],
        }
        return self.slack_post(block_actions_body(payload))

    def submit_view(self, view: dict[str, Any], values: dict[str, dict[str, Any]], *, user: str) -> Any:
        """A view_submission for a modal the app opened, with the given state values."""
        payload = {
            "type": "view_submission", "team": {"id": "T0TEAM", "domain": "example"},
            "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": "T0TEAM"},
            "api_app_id": "A0APP", "token": "verification_token", "trigger_id": f"trigger-{time.time_ns()}",
            "view": {**view, "state": {"values": values}}, "response_urls": [],
        }
        return self.slack_post(block_actions_body(payload))

    # --- waiting and time -----------------------------------------------------------------------------
    def pending_outbox(self) -> list[OutboxMessage]:
        with self.ctx.uow() as session:
            return list(session.exec(select(OutboxMessage).where(OutboxMessage.status == "pending")).all())

    def drain(self, timeout: float = 15.0) -> None:
        """Wait until every outbox row is delivered (or dead)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.pending_outbox():
                return
            time.sleep(0.05)
        raise AssertionError(f"outbox not drained: {[(r.kind, r.method, r.last_error) for r in self.pending_outbox()]}")

    def run_jobs(self, jobs: list[Job] | None = None) -> None:
        run_all_once(self.ctx, jobs)


def find_element(blocks: list[dict[str, Any]], action_id: str) -> dict[str, Any]:
    for block in blocks:
        for element in block.get("elements", []) + ([block["accessory"]] if "accessory" in block else []):
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return {**element, "_block_id": block.get("block_id", "")}
    raise AssertionError(f"no element {action_id!r} in {json.dumps(blocks)[:500]}")
