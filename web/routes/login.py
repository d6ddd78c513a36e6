"""Sign-in by one-time link, and sign-out.

Opening the link shows a button; only pressing it (a POST) uses the link. Link previewers and prefetchers
(Slack's unfurler among them) fetch with GET, so they can't spend a person's link.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from services.errors import Forbidden
from services.signin import flows as signin
from web.auth import (
    COOKIE,
    WebRefusal,
    changing,
    clear_session_cookie,
    cross_site,
    ctx_of,
    read_form,
    set_session_cookie,
)
from web.render import page, see_other

router = APIRouter()
HOW = ("In Slack, type /countersign web and open the link it sends you. Without Slack, run "
       "countersign web login-link U… (your Slack user id) where Countersign runs.")


@router.get("/login")
def login_help(request: Request) -> HTMLResponse:
    return page(request, "login.html", token=None, how=ctx_of(request).sign_in_hint or HOW, nav="login")


@router.get("/login/{token}")
def login_page(request: Request, token: str) -> HTMLResponse:
    return page(request, "login.html", token=token[:200], how=ctx_of(request).sign_in_hint or HOW, nav="login")


@router.post("/login")
async def login(request: Request) -> Response:
    form = await read_form(request)
    if cross_site(request):  # another site signing this browser in to an account of its choosing
        raise WebRefusal(403, "Sign in from the link itself", "This sign-in was started by another website, "
                         "so it was refused.", HOW, audit=True, subject="web:login")
    try:
        secret, _row = await asyncio.to_thread(signin.sign_in, ctx=ctx_of(request), token=form.get("token"))
    except Forbidden as refusal:  # audited by the flow
        raise WebRefusal(403, "This link can't sign you in", refusal.detail,
                         ctx_of(request).sign_in_hint or HOW) from None
    response = see_other("/app/")
    set_session_cookie(response, request, secret)
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    await changing(request)
    await asyncio.to_thread(signin.sign_out, ctx=ctx_of(request), token=request.cookies.get(COOKIE, ""))
    response = page(request, "login.html", token=None, how=HOW, nav="login", signed_out=True, viewer=None)
    clear_session_cookie(response, request)
    return response
