"""A token bucket: `rate` tokens a second, holding up to twice that (the burst). A request takes one token;
work that costs more (a usage batch: services.spend.ingest.batch_tokens) takes more."""

from __future__ import annotations

import math
from dataclasses import dataclass

BURST = 2.0


@dataclass
class Bucket:
    rate: float
    tokens: float
    stamp: float  # time.monotonic() of the last refill
    policy: str = "agent"  # the name in the RateLimit headers

    @property
    def capacity(self) -> float:
        return max(1.0, self.rate * BURST)  # below 0.5/s a burst of twice the rate would admit nothing

    def refill(self, now: float) -> None:
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now

    def has(self, now: float, cost: float = 1) -> bool:
        """Whether `cost` can be taken now. Work dearer than the whole burst goes through from a full bucket
        and leaves it in debt, so it is still paid for at the rate instead of never being admitted."""
        self.refill(now)
        return self.tokens >= min(cost, self.capacity)

    def take(self, now: float, cost: float = 1) -> bool:
        if self.has(now, cost):
            self.tokens -= cost
            return True
        return False

    def refund(self, cost: float = 1) -> None:
        self.tokens = min(self.capacity, self.tokens + cost)

    def debit(self, count: int) -> None:
        self.tokens = max(-self.capacity, self.tokens - count)

    def headers(self) -> list[tuple[bytes, bytes]]:
        left = max(0, math.floor(self.tokens))
        full_in = max(0, math.ceil((self.capacity - self.tokens) / self.rate))
        window = max(1, math.ceil(self.capacity / self.rate))
        return [(b"ratelimit-policy", f'"{self.policy}";q={math.floor(self.capacity)};w={window}'.encode()),
                (b"ratelimit", f'"{self.policy}";r={left};t={full_in}'.encode())]

    def retry_after(self, cost: float = 1) -> int:
        return max(1, math.ceil((min(cost, self.capacity) - self.tokens) / self.rate))
