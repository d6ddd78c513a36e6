"""What the web app believes about a request it cannot verify, kept to what a deployment says is true.

- Is the browser on https? When COUNTERSIGN_PUBLIC_URL is https, when the connection itself is TLS, or when a
  trusted proxy (COUNTERSIGN_TRUSTED_PROXIES) says so in X-Forwarded-Proto; nobody else's header is believed.
  The session cookie is Secure then.
- Did this site start the request? A foreign `Origin` is refused even where the browser sends no Fetch Metadata.
- Redirects never name the Host header's host: a redirect that points at it is made relative.
- The home page and the API reference carry the same protective headers as the pages (the reference's CSP allows
  Swagger UI's assets and its one inline script, by hash).
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request

from services.http.clientaddr import forwarded_https
from web.render import SECURITY_HEADERS

Scope = dict[str, Any]
DOCS = ("/docs", "/docs/oauth2-redirect", "/redoc")
_INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.S)


def https(request: Request) -> bool:
    settings = request.app.state.ctx.settings
    public = settings.public_url or ""
    return (public.lower().startswith("https://") or request.scope.get("scheme") == "https"
            or forwarded_https(request.scope, settings.trusted_proxies))


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def foreign_origin(request: Request) -> bool:
    """True when the browser says the request comes from a page of another site (`Origin: null` included)."""
    origin = request.headers.get("origin")
    if origin is None:
        return False
    public = request.app.state.ctx.settings.public_url
    host = request.headers.get("host", "").lower()
    ours = {f"http://{host}", f"https://{host}"} | ({_origin(public)} if public else set())
    return origin.strip().lower() not in ours


class GuardMiddleware:
    """Relative redirects for the whole app, and the pages' headers on `/` and the API reference."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        host = dict(scope.get("headers") or []).get(b"host", b"").decode("latin-1").lower()
        path = scope["path"]
        if path in DOCS:
            await self._docs(scope, receive, send, host)
            return

        async def guarded(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = _relative_location(message.get("headers", []), host)
                if path == "/":
                    headers = _with(headers, SECURITY_HEADERS)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, guarded)

    async def _docs(self, scope: Scope, receive: Any, send: Any, host: str) -> None:
        """Buffered (a few KB) so the inline script's hash can go into the CSP."""
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def collect(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            body = b"".join(chunks)
            headers = [(k, v) for k, v in _relative_location(start.get("headers", []), host)
                       if k.lower() != b"content-length"]
            headers = _with(headers, {**SECURITY_HEADERS, "Content-Security-Policy": docs_policy(body)})
            await send({**start, "headers": [*headers, (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, collect)


def docs_policy(body: bytes) -> str:
    hashes = " ".join(f"'sha256-{base64.b64encode(hashlib.sha256(s).digest()).decode()}'"
                      for s in _INLINE_SCRIPT.findall(body))
    return ("default-src 'none'; script-src https://cdn.jsdelivr.net " + hashes + "; "
            "style-src https://cdn.jsdelivr.net 'unsafe-inline'; img-src 'self' data: https://fastapi.tiangolo.com; "
            "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")


def _with(headers: list[tuple[bytes, bytes]], extra: dict[str, str]) -> list[tuple[bytes, bytes]]:
    names = {name.lower().encode() for name in extra}
    kept = [(k, v) for k, v in headers if k.lower() not in names]
    return kept + [(name.lower().encode(), value.encode()) for name, value in extra.items()]


def _relative_location(headers: list[tuple[bytes, bytes]], host: str) -> list[tuple[bytes, bytes]]:
    """A Location on the Host header's own host (Starlette's slash redirects build one) becomes a path."""
    out = []
    for name, value in headers:
        if name.lower() == b"location":
            parts = urlsplit(value.decode("latin-1"))
            if parts.netloc and parts.netloc.lower() == host:
                relative = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
                value = ("/" + relative.lstrip("/")).encode("latin-1")  # never `//evil`: a scheme-relative URL
        out.append((name, value))
    return out
