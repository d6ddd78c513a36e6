"""A lane's claim and its lock: shared by the sender's claims (services.outbox.claims) and the hand-off of rows
claimed as they are written (services.outbox.handoff)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from services.outbox.models import OutboxMessage


@dataclass
class Claim:
    lane: str
    token: str
    rows: list[OutboxMessage]


def lane_lock_key(lane: str) -> int:
    """The lane's PostgreSQL advisory lock: two transactions claiming one lane at once see each other."""
    return int.from_bytes(hashlib.sha1(f"outbox-lane:{lane}".encode()).digest()[:8], "big", signed=True)
