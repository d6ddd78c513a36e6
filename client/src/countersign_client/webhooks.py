"""Verify a Countersign callback under either signature scheme and return its event.

- `Countersign-Signature: t=<unix>,v1=<hex HMAC-SHA256("<t>.<body>")>` keyed with the webhook secret as text.
- Standard Webhooks: `webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256(
  "<id>.<timestamp>.<body>")>` keyed with the bytes the base64 after `whsec_` decodes to. During a secret rotation
  the header holds several space-separated signatures; any one matching is enough.

A signature only proves who sent a delivery and that it is recent: within the tolerance it can be sent again.
Pass `seen=` (anything with `__contains__` and `add`: a set, RecentWebhookIds below, or a wrapper over your
database or Redis) and a webhook-id already in it is refused with DuplicateWebhook.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from countersign_client.errors import DuplicateWebhook, InvalidSignature
from countersign_client.types import WebhookEvent

DEFAULT_TOLERANCE_S = 300


class SeenIds(Protocol):
    """Where `verify_webhook(seen=...)` remembers the webhook-ids it accepted: a set will do."""

    def __contains__(self, webhook_id: object, /) -> bool: ...

    def add(self, webhook_id: str, /) -> None: ...


class RecentWebhookIds:
    """A bounded in-memory store for `seen=`: each id is kept `ttl_s` (by default twice the signature tolerance,
    so any replay a signature still allows is caught) and at most `max_ids` ids (the oldest go first). One
    process only: with several receivers, share a store (your database, Redis) behind the same two methods."""

    def __init__(self, ttl_s: float = 2 * DEFAULT_TOLERANCE_S, max_ids: int = 100_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s, self.max_ids, self._clock = ttl_s, max_ids, clock
        self._expires: OrderedDict[str, float] = OrderedDict()  # oldest first
        self._lock = threading.Lock()

    def _expire(self, now: float) -> None:
        while self._expires and (next(iter(self._expires.values())) <= now or len(self._expires) > self.max_ids):
            self._expires.popitem(last=False)

    def __contains__(self, webhook_id: object) -> bool:
        with self._lock:
            self._expire(self._clock())
            return webhook_id in self._expires

    def add(self, webhook_id: str) -> None:
        with self._lock:
            now = self._clock()
            self._expires.pop(webhook_id, None)
            self._expires[webhook_id] = now + self.ttl_s
            self._expire(now)

    def __len__(self) -> int:
        with self._lock:
            self._expire(self._clock())
            return len(self._expires)


def _standard_keys(secret: str) -> list[bytes]:
    """The HMAC keys a secret may stand for under Standard Webhooks."""
    if secret.startswith("whsec_"):
        try:
            return [base64.b64decode(secret[len("whsec_"):], validate=True)]
        except (binascii.Error, ValueError):
            return []
    keys = [secret.encode()]
    try:
        keys.append(base64.b64decode(secret, validate=True))
    except (binascii.Error, ValueError):
        pass
    return keys


def _fresh(timestamp: str, tolerance_s: int, now: float | None) -> int:
    try:
        stamp = int(timestamp)
    except ValueError:
        raise InvalidSignature(f"bad timestamp {timestamp!r}") from None
    if abs((time.time() if now is None else now) - stamp) > tolerance_s:
        raise InvalidSignature(f"timestamp {stamp} is more than {tolerance_s}s from now (replayed or clock skew)")
    return stamp


def _check_standard(secrets: Sequence[str], body: bytes, headers: Mapping[str, str], tolerance_s: int,
                    now: float | None) -> int:
    msg_id, stamp_text = headers.get("webhook-id"), headers.get("webhook-timestamp")
    header = headers["webhook-signature"]
    if not msg_id or not stamp_text:
        raise InvalidSignature("webhook-signature without webhook-id and webhook-timestamp")
    stamp = _fresh(stamp_text, tolerance_s, now)
    signed = f"{msg_id}.{stamp_text}.".encode() + body
    given = [part.split(",", 1)[1] for part in header.split() if part.startswith("v1,")]
    for secret in secrets:
        for key in _standard_keys(secret):
            expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
            if any(hmac.compare_digest(expected, sig) for sig in given):
                return stamp
    raise InvalidSignature("no webhook-signature matches the secret")


def _check_countersign(secrets: Sequence[str], body: bytes, header: str, tolerance_s: int,
                       now: float | None) -> int:
    parts = [item.strip().split("=", 1) for item in header.split(",") if "=" in item]
    stamps = [v for k, v in parts if k == "t"]
    given = [v for k, v in parts if k == "v1"]
    if len(stamps) != 1 or not given:
        raise InvalidSignature("Countersign-Signature needs one t= and at least one v1=")
    stamp = _fresh(stamps[0], tolerance_s, now)
    for secret in secrets:
        expected = hmac.new(secret.encode(), f"{stamps[0]}.".encode() + body, hashlib.sha256).hexdigest()
        if any(hmac.compare_digest(expected, sig) for sig in given):
            return stamp
    raise InvalidSignature("no Countersign-Signature v1 matches the secret")


def verify_webhook(secret: str | Sequence[str], raw_body: bytes | str, headers: Mapping[str, str],
                   *, tolerance_s: int = DEFAULT_TOLERANCE_S, now: float | None = None,
                   seen: SeenIds | None = None) -> WebhookEvent:
    """Check a callback's signature (Standard Webhooks' when present, else Countersign-Signature) and return the
    event. `secret` may be a list (old and new during your own rotation). Pass the body exactly as received.
    `seen`: refuse (DuplicateWebhook) a webhook-id already in it, and add this one; see the module's note."""
    secrets = [secret] if isinstance(secret, str) else list(secret)
    if not secrets or not all(secrets):
        raise ValueError("verify_webhook needs the agent's webhook secret")
    body = raw_body.encode() if isinstance(raw_body, str) else bytes(raw_body)
    lower = {k.lower(): v for k, v in headers.items()}
    if lower.get("webhook-signature"):
        stamp = _check_standard(secrets, body, lower, tolerance_s, now)
    elif lower.get("countersign-signature"):
        stamp = _check_countersign(secrets, body, lower["countersign-signature"], tolerance_s, now)
    else:
        raise InvalidSignature("no webhook-signature or Countersign-Signature header")
    try:
        payload: Any = json.loads(body) if body else None
    except ValueError:
        raise InvalidSignature("signed body is not JSON") from None
    envelope = payload if isinstance(payload, dict) and "data" in payload else {}
    event = WebhookEvent(type=envelope.get("event") or lower.get("countersign-event"),
                         id=envelope.get("id") or lower.get("webhook-id") or lower.get("countersign-delivery"),
                         timestamp=stamp, data=envelope.get("data", payload), payload=payload)
    if seen is not None:
        _remember(seen, _signed_id(lower, envelope))
    return event


def _signed_id(headers: Mapping[str, str], envelope: Mapping[str, Any]) -> str:
    """The delivery's id as covered by the signature that matched: webhook-id is signed under Standard Webhooks,
    the envelope's id (the same value) is inside the signed body; Countersign-Delivery alone is not signed."""
    found = headers.get("webhook-id") if headers.get("webhook-signature") else envelope.get("id")
    if not isinstance(found, str) or not found:
        raise InvalidSignature("no signed webhook-id to deduplicate on")
    return found


def _remember(seen: SeenIds, webhook_id: str) -> None:
    if webhook_id in seen:
        raise DuplicateWebhook(f"webhook-id {webhook_id} was already received (a replay or a redelivery)",
                               webhook_id)
    seen.add(webhook_id)
