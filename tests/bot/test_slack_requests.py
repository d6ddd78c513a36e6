"""Requests to /slack/events: Slack's signature is checked, stale or forged requests refused, help answers."""

from __future__ import annotations

import time

from slack_sdk.signature import SignatureVerifier

from testkit.fakes.signing import slash_command_body
from tests.harness import Harness

DOC_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
DOC_TS = 1531420618
DOC_BODY = ("token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
            "&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
            "&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
            "&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c")
DOC_SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"


class FrozenClock:
    def now(self) -> float:
        return DOC_TS


def test_documented_vector_is_accepted_by_the_verifier_we_run() -> None:
    """The verifier Bolt runs for us accepts Slack's documented example, and rejects it once altered."""
    verifier = SignatureVerifier(DOC_SECRET, clock=FrozenClock())
    assert verifier.is_valid(DOC_BODY, DOC_TS, DOC_SIGNATURE)
    assert not verifier.is_valid(DOC_BODY + "x", DOC_TS, DOC_SIGNATURE)


def test_documented_vector_against_the_app_with_its_own_secret(sqlite_url: str, slack) -> None:
    """The app configured with the doc's secret accepts the doc's body only while the timestamp is fresh."""
    with Harness(sqlite_url, slack=slack, SLACK_SIGNING_SECRET=DOC_SECRET) as h:
        stale = h.client.post("/slack/events", content=DOC_BODY, headers={
            "X-Slack-Signature": DOC_SIGNATURE, "X-Slack-Request-Timestamp": str(DOC_TS),
            "Content-Type": "application/x-www-form-urlencoded"})
        assert stale.status_code == 401  # correct signature, but from 2018: a replay
        fresh = h.slack_post(DOC_BODY.replace("%2Fwebhook-collect", "%2Fcountersign"), secret=DOC_SECRET)
        assert fresh.status_code == 200


def test_help_lists_subcommands(harness: Harness) -> None:
    """`/countersign help` answers ephemerally with the list of subcommands."""
    response = harness.command("help")
    assert response.status_code == 200
    body = response.json()
    assert body["response_type"] == "ephemeral"
    assert "/countersign help" in str(body["blocks"])


def test_unknown_subcommand_is_answered_politely(harness: Harness) -> None:
    """A typo gets a pointer to help, not silence."""
    body = harness.command("frobnicate").json()
    assert "help" in body["text"] and "frobnicate" in body["text"]


def test_forged_and_stale_requests_are_refused(harness: Harness) -> None:
    """A wrong secret or a timestamp older than five minutes is refused with 401."""
    body = slash_command_body(text="help")
    assert harness.slack_post(body, secret="not-the-secret").status_code == 401
    assert harness.slack_post(body, timestamp=int(time.time()) - 301).status_code == 401
    unsigned = harness.client.post("/slack/events", content=body,
                                   headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert unsigned.status_code == 401


def test_slack_off_without_token(sqlite_url: str) -> None:
    """With no bot token the API still runs and /slack/events says Slack is off (503, problem+json)."""
    with Harness(sqlite_url) as h:
        response = h.slack_post(slash_command_body(text="help"))
        assert response.status_code == 503 and response.json()["title"] == "Slack is off"
        assert h.client.get("/healthz").status_code == 200


def test_socket_mode_with_slack_unreachable_still_serves(sqlite_url: str, slack) -> None:
    """With SLACK_APP_TOKEN set but Socket Mode failing to connect, the API still starts and answers."""
    with Harness(sqlite_url, slack=slack, SLACK_APP_TOKEN="xapp-test") as h:
        assert h.settings.socket_mode
        assert h.client.get("/healthz").status_code == 200
        slack.wait_for("apps.connections.open", timeout=5)  # it did try, against the fake (which refuses)
