"""A fake agent `callback_url`: a real HTTP server on 127.0.0.1 that records
Countersign's webhook deliveries and can fail some of them on purpose.

Signature contract checked by `verify_signature`:
  Countersign-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256("<t>.<raw body>", secret)>
"""
from __future__ import annotations

import hashlib
import hmac
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .slack import BackgroundHTTP


@dataclass
class Delivery:
    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    body: bytes  # raw, exactly as received: the signature covers these bytes
    json: Any  # parsed body, or None if it was not JSON
    time: float
    status: int  # what the receiver answered
    failed: bool  # True when the receiver answered non-2xx on purpose
    event: str | None  # Countersign-Event
    delivery_id: str | None  # Countersign-Delivery
    signature: str | None  # Countersign-Signature

    def verify(self, secret: str, tolerance_s: int = 300) -> bool:
        return verify_signature(self, secret, tolerance_s)


def countersign_signature(secret: str, timestamp: int | str, body: bytes | str) -> str:
    """Hex HMAC-SHA256 of "<t>.<body>" keyed with secret (the v1 value)."""
    raw = body.encode() if isinstance(body, str) else body
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + raw, hashlib.sha256).hexdigest()


def countersign_signature_header(secret: str, body: bytes | str, timestamp: int | None = None) -> str:
    t = int(time.time()) if timestamp is None else timestamp
    return f"t={t},v1={countersign_signature(secret, t, body)}"


def verify_signature(delivery: Delivery, secret: str, tolerance_s: int = 300, now: float | None = None) -> bool:
    parts = [p.strip().split("=", 1) for p in (delivery.signature or "").split(",") if "=" in p]
    stamps = [v for k, v in parts if k == "t"]
    # Several v1 values are allowed so a sender can sign with old and new secrets during rotation.
    sigs = [v for k, v in parts if k == "v1"]
    if len(stamps) != 1 or not stamps[0].isdigit() or not sigs:
        return False
    if abs((time.time() if now is None else now) - int(stamps[0])) > tolerance_s:
        return False
    expected = countersign_signature(secret, stamps[0], delivery.body)
    return any(hmac.compare_digest(expected, s) for s in sigs)


class FakeAgentReceiver(BackgroundHTTP):
    def __init__(self, path: str = "/callback") -> None:
        super().__init__()
        self.path = path
        self.delay = 0.0  # seconds to stall before answering, to exercise sender timeouts
        self.reset()

    @property
    def url(self) -> str:
        return f"{self.base}{self.path}"

    def reset(self) -> None:
        with self._lock:
            self._deliveries: list[Delivery] = []
            self.clear_faults()

    def clear_faults(self) -> None:
        with self._lock:
            self._fail_next: list[list[int]] = []
            self._rate: tuple = (0.0, random.Random(0), 500)

    def fail_next(self, n: int = 1, status: int = 500) -> None:
        with self._lock:
            self._fail_next.append([n, status])

    def fail_rate(self, p: float, seed: int = 0, status: int = 500) -> None:
        with self._lock:
            self._rate = (p, random.Random(seed), status)

    @property
    def deliveries(self) -> list[Delivery]:
        with self._lock:
            return list(self._deliveries)

    @property
    def ok_deliveries(self) -> list[Delivery]:
        return [d for d in self.deliveries if not d.failed]

    def wait_for(self, count: int = 1, timeout: float = 10.0, *, ok_only: bool = False,
                 predicate: Callable[[Delivery], bool] | None = None) -> list[Delivery]:
        def found():
            got = [d for d in self.deliveries if not (ok_only and d.failed) and (predicate is None or predicate(d))]
            return got if len(got) >= count else None

        def describe():
            seen = [(d.event, d.delivery_id, d.status) for d in self.deliveries]
            what = f"{count} deliver{'y' if count == 1 else 'ies'}{' (ok only)' if ok_only else ''}"
            return f"wanted {what} within {timeout}s; saw {seen}"
        return self.wait(found, timeout, describe)

    def _status_for_next(self) -> int:
        for f in self._fail_next:
            if f[0] > 0:
                f[0] -= 1
                self._fail_next = [g for g in self._fail_next if g[0] > 0]
                return f[1]
        p, rng, status = self._rate
        return status if p and rng.random() < p else 200

    def _dispatch(self, verb, path, headers, body):
        if verb != "POST":
            return 200, {"Content-Type": "text/plain"}, b"ok"
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = None
        with self._lock:
            status = self._status_for_next()
            self._deliveries.append(Delivery(
                verb, path, headers, body, parsed, time.time(), status, status >= 300,
                headers.get("countersign-event"), headers.get("countersign-delivery"),
                headers.get("countersign-signature")))
            self._changed.notify_all()
        if self.delay:
            time.sleep(self.delay)
        if status >= 300:
            return status, {"Content-Type": "application/json"}, json.dumps({"error": "injected"}).encode()
        return status, {"Content-Type": "application/json"}, b'{"ok":true}'
