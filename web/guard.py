"""What the web app believes about a request it cannot verify, kept to what a deployment says is true.

- Is the browser on https? When COUNTERSIGN_PUBLIC_URL is https, when the connection itself is TLS, or when a
  trusted proxy (COUNTERSIGN_TRUSTED_PROXIES) says so in X-Forwarded-Proto; nobody else's header is believed.
  The session cookie is Secure then.
- Did this site start the request? A foreign `Origin` is refused even where the browser sends no Fetch Metadata.
- Redirects never name the Host header's host: a redirect that points at it is made relative.
- The home page carries the same protective headers as the pages (the API reference sets its own, in
  services/http/docs.py, since it serves its assets itself).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from fastapi import Request

from services.http.clientaddr import forwarded_https
from web.render import SECURITY_HEADERS

Scope = dict[str, Any]


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
    if origin.strip().lower() == "null":
        # The pages' Referrer-Policy (no-referrer) makes a browser send `Origin: null` on its own form POSTs; a
        # browser that also says same-origin in Fetch Metadata is believed, any other `null` is foreign.
        return request.headers.get("sec-fetch-site", "").lower() != "same-origin"
    public = request.app.state.ctx.settings.public_url
    host = request.headers.get("host", "").lower()
    ours = {f"http://{host}", f"https://{host}"} | ({_origin(public)} if public else set())
    return origin.strip().lower() not in ours


class GuardMiddleware:
    """Relative redirects for the whole app, and the pages' headers on `/`."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        host = dict(scope.get("headers") or []).get(b"host", b"").decode("latin-1").lower()
        path = scope["path"]
        async def guarded(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = _relative_location(message.get("headers", []), host)
                if path == "/":
                    headers = _with(headers, SECURITY_HEADERS)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, guarded)


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
