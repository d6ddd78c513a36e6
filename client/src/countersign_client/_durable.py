"""What the Temporal and DBOS integrations share: the decision a workflow receives, and the callback receiver (an
ASGI app) that verifies a Countersign callback and hands its decision to the engine exactly once.

The receiver answers 2xx only when the engine has the decision (or when there is nothing to deliver), and 503
otherwise, so Countersign keeps retrying the callback until the engine is back: a decision made while a worker or a
bridge is down is delivered later, never lost. A repeated `webhook-id` is answered from memory without touching the
engine; across bridges, the engine's own deduplication (Temporal's signal request id, DBOS's idempotency key) makes
a second delivery of the same callback a no-op.
"""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from countersign_client.errors import Expired, InvalidSignature, Rejected
from countersign_client.types import APPROVED_STATUSES
from countersign_client.webhooks import verify_webhook

TOPIC = "countersign.decision"  # the Temporal signal's name and the DBOS topic
MAX_BODY = 1 << 20
SEEN_LIMIT = 10_000
log = logging.getLogger("countersign_client.bridge")


@dataclass
class Decision:
    """A draft's decision as a workflow sees it. `final_body` is what to act on (the edit, when there was one)."""

    status: str
    approved: bool
    final_body: Any = None
    reason: str | None = None
    draft_id: str | None = None
    decided_by: list[str] = field(default_factory=list)

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Decision:
        """From a draft as the API or the callback shows it, or from a Decision's own dict."""
        status = str(data.get("status") or "")
        approved = status in APPROVED_STATUSES
        final_body = data.get("final_body")
        if approved and final_body is None:
            final_body = data.get("body")
        return cls(status=status, approved=approved, final_body=final_body, reason=data.get("reason"),
                   draft_id=data.get("draft_id") or data.get("id"), decided_by=list(data.get("decided_by") or []))

    @classmethod
    def expired(cls, draft_id: str | None, reason: str) -> Decision:
        return cls(status="expired", approved=False, reason=reason, draft_id=draft_id)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def raise_unless_approved(self) -> Decision:
        """The decision when approved; else the client's `Expired` (nobody decided in time) or `Rejected`."""
        if self.approved:
            return self
        what = f"draft {self.draft_id}" if self.draft_id else "the draft"
        if self.status == "expired":
            raise Expired(f"{what}: {self.reason or 'expired without a decision'}", reason=self.reason)
        who = ", ".join(self.decided_by) or "the reviewer"
        raise Rejected(f"{what}: {self.status} by {who}: {self.reason or 'no reason given'}", reason=self.reason)


def is_final(data: Mapping[str, Any]) -> bool:
    return str(data.get("status") or "pending") != "pending"


class RetryLater(Exception):
    """The engine could not take the decision now: answer 503 so Countersign retries the callback."""


# deliver(webhook_id, decision, target) -> a short note for the 2xx answer; raises RetryLater.
Deliver = Callable[[str, Decision, Mapping[str, Any]], Awaitable[str]]


class CallbackReceiver:
    """ASGI app: POST (any path) receives a callback; GET answers a health check. `engine` names the key under the
    draft's `metadata` that says where the decision goes (`temporal`, `dbos`)."""

    def __init__(self, secret: str | Sequence[str], engine: str, deliver: Deliver) -> None:
        if not secret:
            raise ValueError("the bridge needs the agent's webhook secret")
        self.secret, self.engine, self._deliver = secret, engine, deliver
        self._seen: OrderedDict[str, str] = OrderedDict()  # webhook-id -> the note it was answered with

    async def __call__(self, scope: dict[str, Any], receive: Callable[[], Awaitable[dict[str, Any]]],
                       send: Callable[[dict[str, Any]], Awaitable[None]]) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        if scope["type"] != "http":
            return
        if scope["method"] in ("GET", "HEAD"):
            await _answer(send, 200, {"ok": True, "engine": self.engine})
            return
        if scope["method"] != "POST":
            await _answer(send, 405, {"error": "POST a Countersign callback here"})
            return
        body = await _read_body(receive)
        if body is None:
            await _answer(send, 413, {"error": f"body over {MAX_BODY} bytes"})
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        status, answer = await self.handle(body, headers)
        await _answer(send, status, answer)

    async def handle(self, body: bytes, headers: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
        """(HTTP status, JSON answer) for one callback."""
        try:
            event = verify_webhook(self.secret, body, headers)
        except InvalidSignature as exc:
            return 401, {"error": f"invalid signature: {exc}"}
        webhook_id = str(event.id or "")
        if webhook_id in self._seen:
            return 200, {"result": "duplicate", "note": self._seen[webhook_id]}
        data = event.data if isinstance(event.data, dict) else {}
        target = (data.get("metadata") or {}).get(self.engine) if isinstance(data.get("metadata"), dict) else None
        if event.type != "draft.decided" or not isinstance(target, dict) or not is_final(data):
            return 200, {"result": "ignored", "note": f"not a decided draft from a {self.engine} workflow"}
        try:
            note = await self._deliver(webhook_id, Decision.from_data(data), target)
        except RetryLater as exc:
            log.warning("callback %s for draft %s not delivered yet: %s", webhook_id, data.get("id"), exc)
            return 503, {"error": str(exc)}
        self._remember(webhook_id, note)
        return 200, {"result": "delivered", "note": note}

    def _remember(self, webhook_id: str, note: str) -> None:
        if not webhook_id:
            return
        self._seen[webhook_id] = note
        while len(self._seen) > SEEN_LIMIT:
            self._seen.popitem(last=False)


async def _read_body(receive: Callable[[], Awaitable[dict[str, Any]]]) -> bytes | None:
    chunks, size = [], 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


async def _answer(send: Callable[[dict[str, Any]], Awaitable[None]], status: int, body: dict[str, Any]) -> None:
    raw = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode())]})
    await send({"type": "http.response.body", "body": raw})
