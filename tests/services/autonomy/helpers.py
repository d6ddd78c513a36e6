"""Helpers for the autonomy tests: a small promotion rule, drafts decided through the real flows, the cards."""

from __future__ import annotations

import json
import time
from typing import Any

from bot import ids
from services.drafts import flows as drafts
from tests.harness import ALICE, OWNER, Harness
from tests.services.drafts.helpers import new_draft

# Small numbers keep the tests fast; the defaults (50 / 95 % / 20) are the same arithmetic.
RULE = {"min_decisions": 5, "min_unedited_rate": 0.8, "clean_streak": 3, "audit_sample_rate": 1.0}


def decide(h: Harness, key: str, verdict: str = "approve", *, user: str = ALICE, final_body: str | None = None,
           reason: str | None = None, **fields: Any) -> dict[str, Any]:
    """Post a draft as the agent, then decide it as a person through the drafts flow."""
    draft = new_draft(h, key, **fields)
    assert draft["status"] == "pending", draft
    if verdict == "reject":
        reason = reason or "wrong price"
    result = drafts.decide(ctx=h.ctx, draft_id=draft["id"], user_id=user, verdict=verdict,  # type: ignore[arg-type]
                           final_body=final_body, reason=reason)
    return result.draft


def dm_messages(h: Harness, user: str = OWNER) -> list[dict[str, Any]]:
    assert h.slack is not None
    return h.slack.messages_in(h.slack.dm_channel_for(user))


def with_block(messages: list[dict[str, Any]], block_id: str) -> list[dict[str, Any]]:
    return [m for m in messages if any(b.get("block_id") == block_id for b in m.get("blocks") or [])]


def proposals(h: Harness) -> list[dict[str, Any]]:
    h.drain()
    return with_block(dm_messages(h), ids.AUTONOMY_PROPOSAL_BLOCK)


def samples(h: Harness, channel: str) -> list[dict[str, Any]]:
    h.drain()
    assert h.slack is not None
    return with_block(h.slack.messages_in(channel), ids.AUTONOMY_SAMPLE_BLOCK)


def wait_text(h: Harness, channel: str, fragment: str, timeout: float = 10) -> dict[str, Any]:
    """The first message in `channel` whose blocks mention `fragment`, as it stands now."""
    assert h.slack is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for message in h.slack.messages_in(channel):
            if fragment in json.dumps(message.get("blocks"), ensure_ascii=False):
                return message
        time.sleep(0.02)
    raise AssertionError(f"nothing in {channel} mentions {fragment!r}: {h.slack.summary()}")


def wait_response(h: Harness, fragment: str, timeout: float = 10) -> str:
    assert h.slack is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for replies in list(h.slack.responses.values()):
            for reply in replies:
                if fragment in reply.get("text", ""):
                    return reply["text"]
        time.sleep(0.02)
    raise AssertionError(f"no ephemeral mentioning {fragment!r}: {h.slack.responses}")
