"""Helpers shared by the draft tests: post a draft as an agent, find its card, wait for the card to change."""

from __future__ import annotations

import json
import time
from typing import Any

from bot import ids
from services.outbox.service import slack_message
from tests.harness import Harness

ACTIONS = {"approve": ids.DRAFT_APPROVE, "edit": ids.DRAFT_EDIT, "reject": ids.DRAFT_REJECT}


def post_draft(h: Harness, key: str, *, headers: dict[str, str] | None = None, **fields: Any) -> Any:
    body = {"action": "quote_freight_lane", "title": "Quote Rotterdam to Lyon", "body": "EUR 1,840 all in."}
    body.update(fields)
    return h.client.post("/v1/drafts", json=body, headers={**h.bearer(key), **(headers or {})})


def new_draft(h: Harness, key: str, **fields: Any) -> dict[str, Any]:
    response = post_draft(h, key, **fields)
    assert response.status_code == 201, response.text
    return response.json()


def card(h: Harness, draft_id: str, timeout: float = 10) -> dict[str, Any]:
    """The posted card (channel, ts, blocks) as the fake Slack holds it now, found by its outbox key."""
    return posted_at(h, f"draft:{draft_id}", timeout)


def posted_at(h: Harness, key: str, timeout: float = 10) -> dict[str, Any]:
    """A message the app posted under an outbox key (a stage's card, a card DMed to someone), once it is up."""
    assert h.slack is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with h.ctx.read() as session:
            posted = slack_message(session=session, key=key)
        if posted is not None:
            message = h.slack.message(posted.channel, posted.ts)
            assert message is not None
            return message
        time.sleep(0.02)
    raise AssertionError(f"nothing posted under {key}; Slack saw {h.slack.summary()}")


def wait_card(h: Harness, message: dict[str, Any], predicate: Any, timeout: float = 10) -> dict[str, Any]:
    """Wait until the card, as updated in place, satisfies `predicate(text_of_blocks)`."""
    assert h.slack is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = h.slack.message(message["channel"], message["ts"]) or {}
        if predicate(json.dumps(now.get("blocks"))):
            return now
        time.sleep(0.02)
    last = h.slack.message(message["channel"], message["ts"])
    raise AssertionError(f"card never matched; last: {json.dumps(last)[:800]}")


def has_buttons(message: dict[str, Any]) -> bool:
    return any(b.get("block_id") == ids.DRAFT_ACTIONS_BLOCK for b in message.get("blocks") or [])


def get(h: Harness, key: str, draft_id: str, **params: Any) -> Any:
    return h.client.get(f"/v1/drafts/{draft_id}", params=params, headers=h.bearer(key))


def ephemeral_texts(h: Harness) -> list[str]:
    assert h.slack is not None
    texts = [r.get("text", "") for rs in h.slack.responses.values() for r in rs]
    return texts + [e.get("text", "") for e in h.slack.ephemerals]


def wait_ephemeral(h: Harness, fragment: str, timeout: float = 10) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for text in ephemeral_texts(h):
            if fragment in text:
                return text
        time.sleep(0.02)
    raise AssertionError(f"no ephemeral containing {fragment!r}; saw {ephemeral_texts(h)}")
