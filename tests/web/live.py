"""A live Countersign (uvicorn in a thread, real HTTP on a loopback port picked by the OS) wired to the fake
Slack and a callback receiver, plus headless Chromium driven by Playwright, for the end-to-end tests."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from services.audit.service import Actor
from services.context import AppContext
from services.main import create_app
from services.outbox.service import slack_message
from services.signin import flows as signin
from testkit.clicks import click_request, pick_button
from testkit.fakes.receiver import FakeAgentReceiver
from testkit.fakes.slack import FakeSlack
from tests.harness import ADMIN_TOKEN, SIGNING_SECRET, make_settings

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@dataclass
class Live:
    base_url: str
    ctx: AppContext
    slack: FakeSlack
    receiver: FakeAgentReceiver

    def register(self, name: str, **fields: Any) -> str:
        body = {"name": name, "owner": "U012OWNER", "backup_owners": ["U034BACKUP"], "review_channel": "C056REVIEW",
                "approvers": ["U078ALICE", "U079BOB"], "callback_url": self.receiver.url, **fields}
        answer = httpx.post(f"{self.base_url}/v1/agents", json=body, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
        assert answer.status_code == 201, answer.text
        return str(answer.json()["api_key"])

    def agent_call(self, key: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        answer = httpx.post(f"{self.base_url}{path}", json=body, headers={"Authorization": f"Bearer {key}"})
        assert answer.status_code in (200, 201), answer.text
        return dict(answer.json())

    def draft(self, key: str, **fields: Any) -> dict[str, Any]:
        body = {"action": "quote_freight_lane", "title": "Quote CHI to DAL", "body": "All in: $1,840.", **fields}
        return self.agent_call(key, "/v1/drafts", body)

    def link(self, user: str) -> str:
        return signin.issue_link(ctx=self.ctx, user_id=user, actor=Actor.system("test"))

    def slack_click(self, draft_id: str, user: str, prefer: str = "approve") -> None:
        """Press a button on the draft's card as `user`, the way Slack sends it (signed)."""
        deadline = time.monotonic() + 10
        message = None
        while message is None and time.monotonic() < deadline:
            with self.ctx.read() as session:
                posted = slack_message(session=session, key=f"draft:{draft_id}")
            message = self.slack.message(posted.channel, posted.ts) if posted else None
            if message is None:
                time.sleep(0.02)
        assert message is not None, self.slack.summary()
        button = pick_button(message, prefer)
        assert button is not None
        request = click_request(message, button, user=user, response_url=self.slack.response_url(f"c-{draft_id}"),
                                secret=SIGNING_SECRET)
        answer = httpx.post(f"{self.base_url}{request.path}", content=request.content, headers=request.headers)
        assert answer.status_code == 200, answer.text


@contextmanager
def live_server(db_url: str) -> Iterator[Live]:
    with FakeSlack(token=None) as slack, FakeAgentReceiver() as receiver:
        app = create_app(make_settings(db_url, slack), channel_interval_s=0.0)
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="live-web", daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "the live server did not start"
            time.sleep(0.01)
        base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        app.state.ctx.settings.public_url = base_url  # what sign-in links name
        try:
            yield Live(base_url, app.state.ctx, slack, receiver)
        finally:
            server.should_exit = True
            thread.join(15)
            sock.close()
            app.state.ctx.engine.dispose()
