"""verify_webhook under both schemes: Standard Webhooks signatures made by the `standardwebhooks` package (not by
us), rotation's two signatures, Countersign-Signature, and a real callback from a live server."""

from __future__ import annotations

import base64
import json
import os
import time
from datetime import datetime, timezone
from typing import Any

import pytest
from countersign_client import Countersign, InvalidSignature, verify_webhook
from standardwebhooks import Webhook

from testkit.fakes.receiver import FakeAgentReceiver, countersign_signature_header
from tests.client.conftest import Live

BODY = json.dumps({"id": "dlv_1", "event": "draft.decided", "created_at": "2026-01-01T00:00:00+00:00",
                   "data": {"id": "drf_1", "status": "approved", "decided_by": ["U1"]}}, separators=(",", ":"))


def whsec() -> str:
    return "whsec_" + base64.b64encode(os.urandom(32)).decode()


def standard_headers(secret: str, body: str, *, msg_id: str = "dlv_1", at: int | None = None) -> dict[str, str]:
    stamp = int(time.time()) if at is None else at
    signature = Webhook(secret).sign(msg_id, datetime.fromtimestamp(stamp, tz=timezone.utc), body)
    return {"webhook-id": msg_id, "webhook-timestamp": str(stamp), "webhook-signature": signature,
            "Countersign-Event": "draft.decided"}


def test_standard_webhooks_signature_from_the_reference_library_verifies() -> None:
    """A signature made by standardwebhooks verifies, and the event comes back parsed and typed."""
    secret = whsec()
    event = verify_webhook(secret, BODY.encode(), standard_headers(secret, BODY))
    assert event.type == "draft.decided" and event.id == "dlv_1" and event.data["status"] == "approved"
    assert event.draft is not None and event.draft.approved


def test_rotation_sends_two_signatures_and_either_secret_verifies() -> None:
    """During a rotation the header holds old and new signatures, space-separated: both secrets pass."""
    old, new = whsec(), whsec()
    headers = standard_headers(old, BODY)
    headers["webhook-signature"] += " " + standard_headers(new, BODY)["webhook-signature"]
    assert verify_webhook(old, BODY, headers).id == "dlv_1"
    assert verify_webhook(new, BODY, headers).id == "dlv_1"
    with pytest.raises(InvalidSignature):
        verify_webhook(whsec(), BODY, headers)


@pytest.mark.parametrize("tamper", ["body", "timestamp", "old", "missing"])
def test_tampered_or_stale_standard_webhooks_are_refused(tamper: str) -> None:
    """A changed body, a shifted timestamp, a replay from 10 minutes ago or no signature: InvalidSignature."""
    secret = whsec()
    headers = standard_headers(secret, BODY, at=int(time.time()) - 600 if tamper == "old" else None)
    body = BODY.replace("approved", "rejected") if tamper == "body" else BODY
    if tamper == "timestamp":
        headers["webhook-timestamp"] = str(int(headers["webhook-timestamp"]) + 1)
    if tamper == "missing":
        headers.pop("webhook-signature")
    with pytest.raises(InvalidSignature):
        verify_webhook(secret, body, headers)


def test_countersign_signature_verifies_and_rejects_a_wrong_secret() -> None:
    """The original scheme still verifies; the wrong secret does not."""
    headers = {"Countersign-Signature": countersign_signature_header("s3cret", BODY),
               "Countersign-Delivery": "dlv_1", "Countersign-Event": "draft.decided"}
    assert verify_webhook("s3cret", BODY, headers).draft.id == "drf_1"
    with pytest.raises(InvalidSignature):
        verify_webhook("other", BODY, headers)


def test_a_real_callback_from_the_live_server_verifies(live: Live) -> None:
    """Register an agent with a callback URL, approve its draft in Slack, verify what the server actually sent."""
    with FakeAgentReceiver() as receiver:
        agent: dict[str, Any] = live.agent(callback_url=receiver.url)
        with Countersign(api_key=agent["api_key"], base_url=live.base_url) as cs:
            tag = f"callback-{agent['name']}"
            live.reviewer.decide_later(tag, "approve")
            decided = cs.request_approval(action="refund", title=tag, body="b", timeout=60)
        delivery = receiver.wait_for(predicate=lambda d: d.event == "draft.decided")[0]
    event = verify_webhook(agent["webhook_secret"], delivery.body, delivery.headers)
    assert event.type == "draft.decided" and event.draft is not None and event.draft.id == decided.id
    with pytest.raises(InvalidSignature):
        verify_webhook(agent["webhook_secret"], delivery.body + b" ", delivery.headers)
