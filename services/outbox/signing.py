"""Callback signatures, both schemes the contract names, over the same timestamp and the same raw body.

- `Countersign-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`, keyed with the webhook
  secret's text as given.
- Standard Webhooks: `webhook-id` (the delivery id), `webhook-timestamp` and
  `webhook-signature: v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<raw body>">`, keyed with the bytes the base64
  after `whsec_` decodes to (services.agents.secrets.signing_key).

While a rotated secret is still honoured, each header carries one signature per secret, the newest first:
`t=..,v1=<new>,v1=<old>` and `v1,<new> v1,<old>`. A verifier accepts the body if any of them matches, so an
agent verifies with whichever secret it holds; one that reads only the last v1 value keeps working with the
old secret until it switches.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Mapping, Sequence

from services.agents.secrets import signing_key

TOLERANCE_S = 300


def _hex(secret: str, t: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()


def _standard(secret: str, msg_id: str, t: int, body: bytes) -> str:
    mac = hmac.new(signing_key(secret), f"{msg_id}.{t}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def sign(secret: str | Sequence[str], body: bytes, timestamp: int | None = None) -> str:
    """The Countersign-Signature header, for one secret or (during a rotation) several."""
    t = int(time.time()) if timestamp is None else timestamp
    keys = [secret] if isinstance(secret, str) else list(secret)
    return ",".join([f"t={t}", *(f"v1={_hex(key, t, body)}" for key in keys)])


def headers(secrets: Sequence[str], *, delivery_id: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """Both signature schemes for one delivery: what the outbox sends with every callback."""
    t = int(time.time()) if timestamp is None else timestamp
    return {
        "Countersign-Delivery": delivery_id,
        "Countersign-Signature": sign(secrets, body, t),
        "webhook-id": delivery_id,
        "webhook-timestamp": str(t),
        "webhook-signature": " ".join(_standard(key, delivery_id, t, body) for key in secrets),
    }


def verify(secret: str, body: bytes, header: str, *, tolerance_s: int = TOLERANCE_S, now: float | None = None) -> bool:
    """Check a Countersign-Signature header (any of its v1 values); what an agent runs on receipt."""
    try:
        parts = [item.split("=", 1) for item in header.split(",")]
        [t] = [int(value) for key, value in parts if key == "t"]
    except ValueError:
        return False
    if abs((time.time() if now is None else now) - t) > tolerance_s:
        return False
    expected = _hex(secret, t, body)
    return any(key == "v1" and hmac.compare_digest(expected, value) for key, value in parts)


def verify_standard(secret: str, body: bytes, received: Mapping[str, str], *, tolerance_s: int = TOLERANCE_S,
                    now: float | None = None) -> bool:
    """Check the Standard Webhooks headers (names in any case) against one secret."""
    found = {name.lower(): value for name, value in received.items()}
    msg_id, stamp = found.get("webhook-id", ""), found.get("webhook-timestamp", "")
    if not msg_id or not stamp.isdigit() or abs((time.time() if now is None else now) - int(stamp)) > tolerance_s:
        return False
    expected = _standard(secret, msg_id, int(stamp), body)
    return any(hmac.compare_digest(expected, given) for given in found.get("webhook-signature", "").split())
