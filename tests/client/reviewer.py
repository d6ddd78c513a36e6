"""A person in Slack, for the client tests: waits for a draft's card to reach the fake Slack, then presses its
Approve, Edit or Reject button (signed, as Slack would send it) and fills in the modal the server opens."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

import httpx

from testkit.clicks import buttons, click_request
from testkit.fakes.signing import block_actions_body, signed_headers
from testkit.fakes.slack import FakeSlack, poll
from testkit.live import SIGNING_SECRET

T = TypeVar("T")
ALICE = "U078ALICE"
REVIEW_CHANNEL = "C056REVIEW"


class Reviewer:
    def __init__(self, base_url: str, slack: FakeSlack, user: str = ALICE) -> None:
        self.base_url, self.slack, self.user = base_url, slack, user
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="reviewer")
        self._http = httpx.Client(timeout=30)  # one client for every click (a new one costs ~20 ms of CPU)

    def card(self, marker: str, timeout: float = 30.0) -> dict[str, Any]:
        """The newest card whose blocks mention `marker` (a test's unique title or draft id) with buttons."""
        def found() -> dict[str, Any] | None:
            hits = [m for m in self.slack.messages_in(REVIEW_CHANNEL)
                    if marker in json.dumps(m.get("blocks") or []) and _button(m, "draft_approve")]
            return hits[-1] if hits else None
        return poll(found, timeout, lambda: f"no card mentioning {marker!r}; saw {self.slack.summary()}")

    def draft_id(self, marker: str) -> str:
        return str(_button(self.card(marker), "draft_approve")["value"]).split(":", 1)[0]

    def decide(self, marker: str, verdict: str, *, text: str | None = None, reason: str | None = None) -> str:
        """Press `verdict` (approve, edit, reject) on the card mentioning `marker`; returns the draft id."""
        card = self.card(marker)
        button = _button(card, f"draft_{verdict}")
        draft_id = str(button["value"]).split(":", 1)[0]
        opened_before = len(self.slack.calls_to("views.open"))
        request = click_request(card, button, user=self.user, response_url=self.slack.response_url(draft_id))
        self._post(request.content or b"", request.headers)
        if verdict == "approve":
            return draft_id
        view = self._modal(draft_id, opened_before)
        if verdict == "edit":
            assert text is not None, "an edit needs the new text"
            values = {"draft_text_0": {"text": {"type": "plain_text_input", "value": text}}}
        else:
            values = {"draft_reason": {"reason": {"type": "plain_text_input", "value": reason or "no"}}}
        payload = {"type": "view_submission", "team": {"id": "T0TEAM", "domain": "example"},
                   "user": {"id": self.user, "username": self.user.lower(), "name": self.user.lower(),
                            "team_id": "T0TEAM"},
                   "api_app_id": "A0APP", "token": "verification_token", "trigger_id": f"trigger-{time.time_ns()}",
                   "view": {**view, "state": {"values": values}}, "response_urls": []}
        body = block_actions_body(payload)
        self._post(body.encode(), signed_headers(SIGNING_SECRET, body))
        return draft_id

    def decide_later(self, marker: str, verdict: str, **kw: Any) -> Future[str]:
        """decide() in the background, for a caller that blocks until the decision arrives. If the reviewer
        fails, it says why on stderr (the test's report shows it) even when the caller never asks the future."""
        future = self._pool.submit(self.decide, marker, verdict, **kw)
        future.add_done_callback(lambda f: f.exception() and print(
            f"reviewer failed to {verdict} {marker}: {f.exception()!r}", file=sys.stderr))
        return future

    def later(self, fn: Callable[[], T]) -> Future[T]:
        return self._pool.submit(fn)

    def _modal(self, draft_id: str, opened_before: int) -> dict[str, Any]:
        def found() -> dict[str, Any] | None:
            for call in self.slack.calls_to("views.open")[opened_before:]:
                view = call.response.get("view") or {}
                if json.loads(view.get("private_metadata") or "{}").get("d") == draft_id:
                    return view
            return None
        return poll(found, 15.0, lambda: f"no modal opened for {draft_id}; saw {self.slack.summary()}")

    def _post(self, content: bytes, headers: dict[str, str]) -> None:
        response = self._http.post(f"{self.base_url}/slack/events", content=content, headers=headers)
        assert response.status_code == 200, response.text

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._http.close()


def _button(message: dict[str, Any], action_id: str) -> dict[str, Any]:
    found = [b for b in buttons(message) if b["action_id"] == action_id]
    return found[0] if found else {}
