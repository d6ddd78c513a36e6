"""Secrets never leak: a full run (register, drafts, decisions, callbacks with failures, Slack rate limits,
a rotated key, wrong keys and tokens) with every logger at DEBUG and stdout/stderr captured, then a search of
all of it and of every error body for API keys, webhook secrets, the admin token, the bot token and the
signing secret."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from bot import ids
from testkit.fakes.receiver import FakeAgentReceiver
from testkit.fakes.slack import FakeSlack
from tests.harness import ADMIN_TOKEN, ALICE, REVIEW_CHANNEL, SIGNING_SECRET, Harness

BOT_TOKEN = "xoxb-test"


def every_logger_at_debug(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    for name in list(logging.root.manager.loggerDict):
        caplog.set_level(logging.DEBUG, logger=name)


def full_run(h: Harness, slack: FakeSlack, receiver: FakeAgentReceiver) -> tuple[list[str], list[str]]:
    """Returns (secrets handed out, every error body the API answered)."""
    errors: list[str] = []

    def keep(response: Any) -> Any:
        if response.status_code >= 400:
            errors.append(response.text)
        return response

    agent = h.register("leaky", approvers=[ALICE])
    other = h.register("other")
    key, secret = agent["api_key"], agent["webhook_secret"]
    auth = h.bearer(key)
    receiver.fail_next(2)  # the decision's callback is retried: failures are logged
    slack.fail_next(1, status=429, retry_after=0)
    slack.fail_next(1, status=500)
    drafts = [keep(h.client.post("/v1/drafts", json={"action": "reply", "title": f"t{i}", "body": "b"},
                                 headers=auth)).json() for i in range(3)]
    slack.wait_for(lambda c: c.method == "chat.postMessage" and c.args.get("channel") == REVIEW_CHANNEL
                   and not c.failed, count=3, timeout=15)
    h.drain()
    cards = [m for m in slack.messages_in(REVIEW_CHANNEL) if not m.get("thread_ts")]
    keep(h.click(cards[0], ids.DRAFT_APPROVE, user=ALICE))
    keep(h.click(cards[1], ids.DRAFT_APPROVE, user="U0NOTANAPPROVER"))
    keep(h.client.post(f"/v1/drafts/{drafts[2]['id']}/cancel", headers=auth))
    keep(h.client.post("/v1/usage", json={"model": "gpt-4o-mini", "input_tokens": 10, "output_tokens": 5},
                       headers=auth))
    keep(h.client.post("/v1/incidents", json={"kind": "error", "severity": "low", "summary": "s"}, headers=auth))
    receiver.wait_for(1, ok_only=True, timeout=20)
    # Wrong credentials of every kind, including near misses of the real ones.
    for bad in (key[:-1] + ("x" if key[-1] != "x" else "y"), secret, ADMIN_TOKEN, "cs_agent_" + "0" * 40):
        keep(h.client.get("/v1/agents/me", headers=h.bearer(bad)))
        keep(h.client.get("/v1/agents", headers=h.bearer(bad + "z")))
    keep(h.client.get("/v1/drafts/" + drafts[0]["id"], headers=h.bearer(other["api_key"])))
    keep(h.client.post("/v1/agents", json={"name": "Bad Name", "owner": key}, headers=h.admin))
    keep(h.client.post("/v1/drafts", json={"action": key, "title": secret, "body": 1, "surprise": ADMIN_TOKEN},
                       headers=auth))
    keep(h.slack_post("payload=%7B%7D", secret="wrong-secret"))
    rotated = h.client.post("/v1/agents/leaky/rotate-key", headers=h.admin).json()["api_key"]
    keep(h.client.get("/v1/agents/me", headers=h.bearer(key)))  # the old key, now revoked
    h.drain(timeout=20)
    return [key, secret, rotated, other["api_key"], other["webhook_secret"]], errors


def test_no_secret_in_logs_or_error_bodies(sqlite_url: str, slack: FakeSlack, receiver: FakeAgentReceiver,
                                           caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]) -> None:
    """Tokens, API keys and webhook secrets appear nowhere in logs, stdout/stderr or error bodies."""
    every_logger_at_debug(caplog)
    with Harness(sqlite_url, slack=slack, receiver=receiver) as h:
        handed_out, errors = full_run(h, slack, receiver)
    out, err = capfd.readouterr()
    records = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''} {r.stack_info or ''} {r.__dict__}"
                        for r in caplog.records)
    haystacks = {"logs": records + caplog.text, "stdout": out, "stderr": err, "error bodies": "\n".join(errors)}
    assert len(caplog.records) > 50, "the run should have logged plenty at DEBUG"
    assert len(errors) >= 10
    for label, secret in [*(("issued secret", s) for s in handed_out), ("admin token", ADMIN_TOKEN),
                          ("bot token", BOT_TOKEN), ("signing secret", SIGNING_SECRET)]:
        for where, text in haystacks.items():
            assert secret not in text, f"{label} found in {where}: …{text[max(0, text.find(secret) - 200):][:400]}…"
