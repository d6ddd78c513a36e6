"""Verify a Countersign callback under either signature scheme and return its event.

- `Countersign-Signature: t=<unix>,v1=<hex HMAC-SHA256("<t>.<body>")>` keyed with the webhook secret as text.
- Standard Webhooks: `webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256(
  "<id>.<timestamp>.<body>")>` keyed with the bytes the base64 after `whsec_` decodes to. During a secret rotation
  the header holds several space-separated signatures; any one matching is enough.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Mapping, Sequence
from typing import Any

from countersign_client.errors import InvalidSignature
from countersign_client.types import WebhookEvent

DEFAULT_TOLERANCE_S = 300


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
                   *, tolerance_s: int = DEFAULT_TOLERANCE_S, now: float | None = None) -> WebhookEvent:
    """Check a callback's signature (Standard Webhooks' when present, else Countersign-Signature) and return the
    event. `secret` may be a list (old and new during your own rotation). Pass the body exactly as received."""
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
    return WebhookEvent(type=envelope.get("event") or lower.get("countersign-event"),
                        id=envelope.get("id") or lower.get("webhook-id") or lower.get("countersign-delivery"),
                        timestamp=stamp, data=envelope.get("data", payload), payload=payload)
