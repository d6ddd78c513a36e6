"""Who is asking: the session cookie, the person behind it (a Slack user id), and the CSRF check on changes.

The cookie is HttpOnly and SameSite=Lax, and Secure whenever the browser is on https (web.guard: the public URL,
the connection, or a trusted proxy says so; never the Host header). Forms are parsed here, by hand, as
application/x-www-form-urlencoded: anything else is refused politely rather than half-read.
"""

from __future__ import annotations

import asyncio
import hmac
from dataclasses import dataclass
from urllib.parse import parse_qs

from fastapi import Request

from services.access import Viewer, resolve_viewer
from services.context import AppContext
from services.http.clientaddr import client_address
from services.signin import flows as signin
from services.signin.models import WebSession
from services.signin.service import SESSION_TTL
from web import guard

COOKIE = "cs_session"
MAX_FORM_BYTES = 512 * 1024


class WebRefusal(Exception):
    """Ends a request with an error page: status, title, what happened, what to do. `audit` records it."""

    def __init__(self, status: int, title: str, detail: str, todo: str | None = None, *, audit: bool = False,
                 subject: str = "web") -> None:
        super().__init__(detail)
        self.status, self.title, self.detail, self.todo = status, title, detail, todo
        self.audit, self.subject = audit, subject


@dataclass(frozen=True)
class Form:
    fields: dict[str, str]

    def get(self, name: str, default: str = "") -> str:
        return self.fields.get(name, default)


def ctx_of(request: Request) -> AppContext:
    return request.app.state.ctx


def client_of(request: Request) -> str:
    """The client's address (a trusted proxy's X-Forwarded-For believed): the source a refusal is counted under."""
    return client_address(request.scope, ctx_of(request).settings.trusted_proxies)


def set_session_cookie(response: object, request: Request, token: str) -> None:
    response.set_cookie(COOKIE, token, max_age=int(SESSION_TTL.total_seconds()), path="/app",  # type: ignore[attr-defined]
                        httponly=True, samesite="lax", secure=guard.https(request))


def clear_session_cookie(response: object, request: Request) -> None:
    response.delete_cookie(COOKIE, path="/app", httponly=True, samesite="lax",  # type: ignore[attr-defined]
                           secure=guard.https(request))


def cross_site(request: Request) -> bool:
    """Browsers say where a request comes from: Fetch Metadata, and `Origin` (sent on every cross-site POST, also
    by browsers without Fetch Metadata). A change started on another site is refused before its token is looked
    at. A request with neither (old browsers, scripts) is decided by its token alone."""
    return request.headers.get("sec-fetch-site", "").lower() == "cross-site" or guard.foreign_origin(request)


async def signed_in(request: Request) -> Viewer:
    """The signed-in person, or a refusal page explaining how to sign in. Sets request.state.viewer and .csrf."""
    ctx = ctx_of(request)
    row: WebSession | None = await asyncio.to_thread(signin.current, ctx=ctx, token=request.cookies.get(COOKIE))
    if row is None:
        raise WebRefusal(401, "Please sign in", "This page needs you to be signed in, and you are not (or your "
                         "session has ended: sessions last 12 hours).",
                         "In Slack, type /countersign web and open the link it sends you. Without Slack, run "
                         "countersign web login-link U… (your Slack user id) on the server.")
    viewer = await resolve_viewer(ctx=ctx, user_id=row.user_id)
    request.state.viewer, request.state.csrf, request.state.session_row = viewer, row.csrf_token, row
    return viewer


async def read_form(request: Request) -> Form:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise WebRefusal(415, "Not a form", "This address takes a submitted form, and what arrived was not one.",
                         "Use the buttons on the page rather than sending requests by hand.")
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise WebRefusal(413, "Too much text", "The form was larger than the 512 KB this page accepts.",
                         "Shorten the text and submit again.")
    parsed = parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)
    fields = {name: values[-1] for name, values in parsed.items()}
    with_nul = sorted(name for name, value in fields.items() if "\x00" in name + value)
    if with_nul:  # no database stores it as text (PostgreSQL refuses it outright)
        raise WebRefusal(422, "Text with a NUL character", f"The field {with_nul[0][:40]!r} held a NUL character "
                         "(\\0), which can't be stored, so nothing was changed.", "Remove it and submit again.")
    return Form(fields)


async def changing(request: Request) -> tuple[Viewer, Form]:
    """A state change: signed in, a form, and the session's CSRF token in it. A bad token is audited."""
    viewer = await signed_in(request)
    try:
        form = await read_form(request)
    except WebRefusal as refusal:
        if refusal.status != 415:
            raise
        form = Form({})  # not a form at all (a cross-site text/plain POST, say): it carries no token either
    expected: str = request.state.csrf
    if cross_site(request) or not hmac.compare_digest(form.get("csrf_token").encode(), expected.encode()):
        raise WebRefusal(403, "Form expired", "This form did not carry this session's security token, so "
                         "nothing was changed (it may come from an old tab, or from another site).",
                         "Go back, reload the page, and try again.", audit=True, subject=f"web:{request.url.path}")
    return viewer, form
