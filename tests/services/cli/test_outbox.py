"""`countersign outbox` names each row that gave up for good: kind, target, attempts and the last error."""

from __future__ import annotations

from datetime import timedelta

from services.outbox.models import OutboxMessage
from tests.harness import Harness
from tests.services.cli.run import cli


def test_outbox_names_the_rows_that_gave_up_and_why(sqlite_url: str) -> None:
    """A dead callback and a dead Slack post are listed, newest first, with where they went and why they failed;
    --dead limits how many and says how many more there are."""
    with Harness(sqlite_url, run_background=False) as h, h.ctx.uow() as session:
        now = h.ctx.clock.now()
        common = {"status": "dead", "created_at": now - timedelta(hours=2), "next_attempt_at": now,
                  "give_up_at": now}
        session.add(OutboxMessage(kind="callback", method="draft.decided", order_key="a", attempts=9,
                                  url="https://agent.example.com/hook?token=x", last_error="HTTP 500 from agent",
                                  **common))
        session.add(OutboxMessage(kind="slack", method="chat.postMessage", order_key="b", attempts=3,
                                  channel="C0REVIEW", last_error="channel_not_found", **common))
    shown = cli("outbox", url=sqlite_url)
    assert shown.exit_code == 0, shown.output
    out = shown.stdout
    assert "nothing waits to be sent (0 sent; 2 gave up for good)" in out
    slack_line = out.index("slack chat.postMessage to C0REVIEW  attempts 3")
    callback_line = out.index("callback draft.decided to https://agent.example.com/hook  attempts 9")
    assert slack_line < callback_line  # newest first
    assert "last error: channel_not_found" in out and "last error: HTTP 500 from agent" in out
    assert "token=x" not in out  # a callback's query string may hold a secret
    one = cli("outbox", "--dead", "1", url=sqlite_url).stdout
    assert "the newest 1 of 2 (--dead N for more)" in one and "C0REVIEW" in one and "draft.decided" not in one
