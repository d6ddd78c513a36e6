"""The client's logic written once, without I/O: every endpoint and every loop (retries, long-polls) is a
generator that yields what it needs done (`Send` a request, `Sleep` a while) and is sent the result back.
`Countersign` drives these with httpx.Client and time.sleep, `AsyncCountersign` with httpx.AsyncClient and
asyncio.sleep, so the sync and async twins cannot drift apart (the approach of sans-I/O libraries such as h11)."""

from __future__ import annotations

import json
import os
import random
import uuid
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx

from countersign_client.errors import APIConnectionError, RateLimited, from_response

T = TypeVar("T")
VERSION = "0.1.0"
DEFAULT_BASE_URL = "http://127.0.0.1:8000"
MAX_WAIT_SLICE_S = 60.0  # the server holds a GET /v1/drafts/{id}?wait= at most this long
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_BACKOFF_S = 30.0


@dataclass
class Send:
    """Do one HTTP request; the driver sends back the httpx.Response or throws the httpx.TransportError."""

    method: str
    path: str
    json: Any = None
    params: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    timeout: float | None = None  # overrides the client's read timeout (long-polls need longer)


@dataclass
class Sleep:
    seconds: float


Op = Send | Sleep
Flow = Generator[Op, Any, T]


@dataclass
class Config:
    base_url: str
    api_key: str = field(repr=False)  # never in a log line or a traceback's locals repr
    timeout: float = 30.0
    max_retries: int = 3
    backoff_s: float = 0.5
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def resolve(cls, *, api_key: str | None, base_url: str | None, timeout: float, max_retries: int,
                backoff_s: float, headers: dict[str, str] | None) -> Config:
        key = api_key or os.environ.get("COUNTERSIGN_API_KEY")
        if not key:
            raise ValueError("no API key: pass api_key= or set COUNTERSIGN_API_KEY "
                             "(`countersign agents add` prints it once)")
        url = (base_url or os.environ.get("COUNTERSIGN_URL") or DEFAULT_BASE_URL).rstrip("/")
        if max_retries < 0:
            raise ValueError("max_retries must be 0 or more")
        return cls(url, key, timeout, max_retries, backoff_s, dict(headers or {}))

    def default_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}", "Accept": "application/json",
                "User-Agent": f"countersign-client/{VERSION}", **self.headers}


def backoff(cfg: Config, attempt: int) -> float:
    """Exponential with full jitter (attempt 0 is the first retry)."""
    ceiling = min(MAX_BACKOFF_S, cfg.backoff_s * (2**attempt))
    return random.uniform(ceiling / 2, ceiling)


def request(cfg: Config, method: str, path: str, *, json_body: Any = None, params: dict[str, Any] | None = None,
            idempotency_key: str | None = None, timeout: float | None = None) -> Flow[httpx.Response]:
    """One logical request with retries. A POST carries one Idempotency-Key on every attempt, so a retry of a
    create whose first answer was lost returns that first answer instead of creating a second object."""
    headers: dict[str, str] = {}
    if method == "POST":
        headers["Idempotency-Key"] = idempotency_key or uuid.uuid4().hex
    params = {k: v for k, v in (params or {}).items() if v is not None} or None
    attempt = 0
    while True:
        try:
            response: httpx.Response = yield Send(method, path, json_body, params, headers, timeout)
        except httpx.TransportError as exc:
            if attempt >= cfg.max_retries:
                raise APIConnectionError(f"{method} {path}: {type(exc).__name__}: {exc}") from exc
            yield Sleep(backoff(cfg, attempt))
            attempt += 1
            continue
        if response.status_code < 400:
            return response
        error = from_response(response)
        if response.status_code not in RETRY_STATUSES or attempt >= cfg.max_retries:
            raise error
        wait = error.retry_after if isinstance(error, RateLimited) and error.retry_after is not None else None
        yield Sleep(min(MAX_BACKOFF_S * 2, wait) if wait is not None else backoff(cfg, attempt))
        attempt += 1


def call(cfg: Config, method: str, path: str, parse: Callable[[Any], T], **kw: Any) -> Flow[T]:
    response = yield from request(cfg, method, path, **kw)
    return parse(response.json())


def jsonl(cfg: Config, path: str, params: dict[str, Any]) -> Flow[list[dict[str, Any]]]:
    response = yield from request(cfg, "GET", path, params=params)
    return [json.loads(line) for line in response.text.splitlines() if line.strip()]


def drop_none(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}
