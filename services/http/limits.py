"""Refuse request bodies over the limit with 413 before any handler parses them."""

from __future__ import annotations

from typing import Any

from services.http.problems import problem_body, send_problem

Scope = dict[str, Any]


class BodyLimitMiddleware:
    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send)
            return
        # Buffer (bounded) so chunked bodies are measured too, then replay to the app.
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        await self.app(scope, replaying(b"".join(chunks), receive), send)

    async def _refuse(self, send: Any) -> None:
        await send_problem(send, problem_body(413, "Payload too large",
                                              f"request bodies are limited to {self.max_bytes} bytes",
                                              slug="payload-too-large"))


def replaying(body: bytes, receive: Any, *, more: bool = False) -> Any:
    """An ASGI `receive` that hands the app a body a middleware already read, then the rest of the stream
    (`more`: the middleware stopped reading before the end, and the app reads on from `receive`)."""
    sent = False

    async def replay() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": more}
        return await receive()

    return replay


async def read_bounded(receive: Any, max_bytes: int) -> tuple[bytes, bool] | None:
    """Up to about `max_bytes` of a request body: (what was read, whether more follows); None on a disconnect."""
    chunks: list[bytes] = []
    size = 0
    more = True
    while more and size <= max_bytes:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        more = message.get("more_body", False)
    return b"".join(chunks), more
