"""Startup: the token is tried with auth.test before the summary says Slack is on, and Bolt's misleading
warning about an unused token is gone."""

from __future__ import annotations

import logging

import pytest

from bot.app import build_app, make_client
from services.main import startup_summary
from testkit.fakes.slack import FakeSlack
from tests.harness import make_settings


def test_a_refused_token_is_said_in_the_summary() -> None:
    """A wrong or revoked token shows as "token refused (invalid_auth)", not "on"."""
    with FakeSlack(token="xoxb-the-right-one") as slack:
        wrong = startup_summary(make_settings("sqlite:///./x.db", slack, SLACK_BOT_TOKEN="xoxb-revoked"))
        right = startup_summary(make_settings("sqlite:///./x.db", slack, SLACK_BOT_TOKEN="xoxb-the-right-one"))
        assert [c.method for c in slack.calls] == ["auth.test", "auth.test"]
    assert "slack:     token refused (invalid_auth)" in wrong and "slack:     on" not in wrong
    assert "slack:     on, HTTP mode at POST /slack/events, as @countersign in Countersign Test" in right


def test_an_unreachable_slack_is_said_too() -> None:
    """Slack out of reach at startup is named; the service still starts (deliveries wait in the outbox)."""
    with FakeSlack() as slack:
        url = slack.url
    summary = startup_summary(make_settings("sqlite:///./x.db", None, SLACK_BOT_TOKEN="xoxb-1", SLACK_API_URL=url))
    assert "auth.test could not reach Slack" in summary


def test_no_warning_that_the_token_is_unused(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
                                             sqlite_url: str) -> None:
    """Bolt warns "As you gave `client` as well, `token` will be unused" whenever SLACK_BOT_TOKEN is set; our
    client carries that very token, so the warning is dropped (and only it)."""
    from services.main import create_app

    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    with FakeSlack() as slack, caplog.at_level(logging.WARNING):
        settings = make_settings(sqlite_url, slack)
        app = create_app(settings, run_background=False)
        build_app(app.state.ctx, make_client(settings))
    assert not [r for r in caplog.records if "will be unused" in r.getMessage()]
    assert not logging.getLogger("countersign.bolt").filters  # the filter was taken off again
