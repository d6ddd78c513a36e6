"""The demo agent: over the real HTTP API, it asks for approval of drafts, records usage for each, and reports
an incident now and then, the way an agent service would."""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx

CUSTOMER = "U0DEMOCUSTOMER"  # who the agent acts for: not the reviewer, so the reviewer may approve
DRAFTS: list[dict[str, Any]] = [
    {"action": "quote_freight_lane", "title": "Quote CHI → DAL, 40 ft dry van, pickup Thursday",
     "body": "Hi Dana,\n\nThanks for the lane. We can move CHI → DAL on Thursday:\n\n"
             "- Linehaul: $1,640\n- Fuel surcharge: $200\n- All-in: $1,840\n\n"
             "Valid for 48 hours. Reply to book.\n\nBest,\nQuoter", "cost_usd": 0.031, "confidence": 0.86,
     "model": "gpt-4o-mini", "prompt_version": "quote-v3", "context": {"lane": "CHI-DAL", "miles": 967}},
    {"action": "refund", "title": "Refund $240 on order #8812 (damaged on arrival)",
     "body": {"order_id": "8812", "amount_usd": 240.0, "reason": "damaged on arrival", "notify_customer": True},
     "cost_usd": 0.012, "confidence": 0.74, "model": "gpt-4o-mini", "prompt_version": "refund-v1"},
    {"action": "reply_customer", "title": "Reply to ticket #5521: where is my shipment?",
     "body": "Hello Sam,\n\nYour shipment left Memphis this morning and is due in Atlanta tomorrow by noon. "
             "Tracking: https://example.com/t/5521\n\nSorry for the wait,\nSupport", "cost_usd": 0.008,
     "confidence": 0.93, "model": "gpt-4o-mini", "prompt_version": "support-v7"},
    {"action": "quote_freight_lane", "title": "Quote MEM → ATL, reefer, pickup Monday",
     "body": "Hi Priya,\n\nMEM → ATL reefer on Monday: $1,120 all-in (linehaul $990, fuel $130).\n\n"
             "Valid for 48 hours.\n\nBest,\nQuoter", "cost_usd": 0.027, "confidence": 0.58,
     "model": "gpt-4o-mini", "prompt_version": "quote-v3"},
]
INCIDENT = {"kind": "anomaly", "severity": "high", "dedup_key": "negative-rate",
            "summary": "Rate engine returned a negative linehaul for lane MEM → ATL; the quote was held back",
            "details": {"lane": "MEM-ATL", "linehaul": -120}}


class DemoAgent:
    """Posts a draft (with its usage) every `interval_s`, the first few at once, and an incident every 4th."""

    def __init__(self, base_url: str, api_key: str, *, interval_s: float, echo: Callable[[str], None]) -> None:
        self.http = httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {api_key}"}, timeout=30)
        self.interval_s, self.echo = interval_s, echo
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, name="demo-agent", daemon=True)

    def start(self) -> DemoAgent:
        self.thread.start()
        return self

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=10)
        self.http.close()

    def wait_ready(self) -> bool:
        while not self.stop.is_set():
            try:
                if self.http.get("/readyz").status_code == 200:
                    return True
            except httpx.HTTPError:
                pass
            self.stop.wait(0.1)
        return False

    def run(self) -> None:
        if not self.wait_ready():
            return
        for n in itertools.count():
            try:
                self.step(n)
            except httpx.HTTPError as exc:  # the server is stopping; say so once and end
                self.echo(f"  demo agent stopped: {type(exc).__name__}")
                return
            if self.stop.wait(0.2 if n < 2 else self.interval_s):
                return

    def step(self, n: int) -> None:
        sample = dict(DRAFTS[n % len(DRAFTS)])
        sample["requested_by"] = CUSTOMER
        answer = self.http.post("/v1/drafts", json=sample, headers={"Idempotency-Key": uuid.uuid4().hex})
        if answer.status_code != 201:
            self.echo(f"  → draft refused ({answer.status_code}): {answer.json().get('detail')}")
            return
        draft = answer.json()
        self.echo(f"  → agent asked for approval: {draft['title']!r} ({draft['id']})")
        self.http.post("/v1/usage", json={"model": sample["model"], "provider": "openai", "input_tokens": 1800,
                                          "output_tokens": 420, "cost_usd": sample["cost_usd"],
                                          "request_id": f"req-{draft['id']}", "draft_id": draft["id"]})
        if n % 4 == 1:
            reply = self.http.post("/v1/incidents", json=INCIDENT)
            if reply.status_code in (200, 201):
                self.echo(f"  → agent reported an incident: {INCIDENT['summary'][:70]}…")
        time.sleep(0)  # let the server's log lines and ours interleave in order
