"""An asyncio httpx load driver: N requests at concurrency C over loopback; throughput and p50/p99 latency."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    json: Any = None
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class LoadResult:
    n: int
    concurrency: int
    seconds: float
    latencies: list[float]  # seconds, successful requests only
    statuses: Counter[int]
    errors: int  # transport errors (no HTTP answer)
    error_samples: list[str] = field(default_factory=list)

    @property
    def ok(self) -> int:
        return sum(count for status, count in self.statuses.items() if 200 <= status < 300)

    @property
    def throughput(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        return percentile(self.latencies, q)

    @property
    def p50_ms(self) -> float:
        return self.percentile(0.50) * 1000

    @property
    def p99_ms(self) -> float:
        return self.percentile(0.99) * 1000


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, int(round(q * len(ordered) + 0.5)) - 1))
    return ordered[index]


async def drive(base_url: str, make: Callable[[int], Request], *, n: int, concurrency: int,
                timeout: float = 30.0, ok_statuses: tuple[int, ...] = ()) -> LoadResult:
    """Send make(0) … make(n-1), at most `concurrency` in flight; each worker takes the next index."""
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    samples: list[str] = []
    errors = 0
    next_index = iter(range(n))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal errors
        for i in next_index:
            req = make(i)
            started = time.perf_counter()
            try:
                response = await client.request(req.method, req.path, json=req.json, content=req.content,
                                                headers=req.headers)
            except httpx.HTTPError as exc:
                errors += 1
                if len(samples) < 5:
                    samples.append(f"{type(exc).__name__}: {exc}")
                continue
            elapsed = time.perf_counter() - started
            statuses[response.status_code] += 1
            if 200 <= response.status_code < 300 or response.status_code in ok_statuses:
                latencies.append(elapsed)
            elif len(samples) < 5:
                samples.append(f"{response.status_code}: {response.text[:300]}")

    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=timeout) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        seconds = time.perf_counter() - started
    return LoadResult(n, concurrency, seconds, latencies, statuses, errors, samples)


def run_load(base_url: str, make: Callable[[int], Request], *, n: int, concurrency: int, **kw: Any) -> LoadResult:
    return asyncio.run(drive(base_url, make, n=n, concurrency=concurrency, **kw))
