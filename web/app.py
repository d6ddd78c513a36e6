"""create_web_app(ctx): the web app as a FastAPI sub-application mounted at /app.

A sub-application has its own error handlers: every failure under /app is an HTML page that says what went
wrong and what to do (the API's problem+json handlers stay untouched), and refusals are audited.
"""

from __future__ import annotations

import asyncio
import logging
from importlib import resources

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from services.context import AppContext
from services.errors import CountersignError
from services.signin import flows as signin
from web.auth import WebRefusal
from web.render import error_page
from web.routes import agents, audit, digests, drafts, incidents, login, people, runs, spend

log = logging.getLogger("countersign.web")


def create_web_app(ctx: AppContext) -> FastAPI:
    app = FastAPI(title="Countersign web", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.ctx = ctx
    for module in (login, drafts, incidents, agents, spend, audit, people, runs, digests):
        app.include_router(module.router)
    static = resources.files("web") / "static"
    app.mount("/static", StaticFiles(directory=str(static)), name="static")

    @app.exception_handler(WebRefusal)
    async def refused(request: Request, exc: WebRefusal) -> HTMLResponse:
        if exc.audit:
            viewer = getattr(request.state, "viewer", None)
            await asyncio.to_thread(signin.refused, ctx=ctx, user_id=viewer.user_id if viewer else None,
                                    subject=exc.subject, why=exc.detail)
        return error_page(request, exc.status, exc.title, exc.detail, exc.todo)

    @app.exception_handler(CountersignError)
    async def domain_error(request: Request, exc: CountersignError) -> HTMLResponse:
        return error_page(request, exc.status, exc.title, exc.detail, "Go back and try again.")

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> HTMLResponse:
        if exc.status_code == 404:
            return error_page(request, 404, "Not found", "There is no page at this address.",
                              "Start again from the inbox.")
        if exc.status_code == 405:
            return error_page(request, 405, "Not like that", "This address does not take that kind of request.",
                              "Use the links and buttons on the pages.")
        return error_page(request, exc.status_code, "Refused", str(exc.detail), "Go back and try again.")

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> HTMLResponse:
        return error_page(request, 400, "Bad address", "Part of this address is not valid.",
                          "Start again from the inbox.")

    @app.exception_handler(Exception)
    async def failed(request: Request, exc: Exception) -> HTMLResponse:
        log.error("web page failed: %s", type(exc).__name__, exc_info=exc)
        return error_page(request, 500, "Something went wrong on our side",
                          "It has been logged. Nothing you did caused it.", "Reload the page in a moment.")

    return app



HOME = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Countersign</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="stylesheet" href="/app/static/app.css">
</head><body><main class="narrow"><h1>Countersign</h1>
<p>Human checkpoints, accountable owners and budgets for AI agents.</p>
<ul><li><a href="/app/">The review web app</a> (sign in with a link from <code>/countersign web</code> in Slack or
<code>countersign web login-link U…</code>)</li><li><a href="/docs">The HTTP API reference</a></li></ul>
</main></body></html>"""


def install(app: FastAPI, ctx: AppContext) -> None:
    """Mount the web app at /app and answer GET / with a page pointing at it and at the API docs."""
    app.mount("/app", create_web_app(ctx))

    @app.get("/", include_in_schema=False)
    def home() -> HTMLResponse:
        return HTMLResponse(HOME)
