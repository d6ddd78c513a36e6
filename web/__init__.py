"""The review web app: server-rendered pages over services/ flows, at /app/ on the same port as the API.

It knows no Slack (bot/ and web/ never import each other): deciding a draft here calls the same flow a Slack
click calls, so the rules, the audit and the card update are the same. `install(app)` is the one wiring call.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from services.context import AppContext

HOME = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Countersign</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="stylesheet" href="/app/static/app.css">
</head><body><main class="narrow"><h1>Countersign</h1>
<p>Human checkpoints, accountable owners and budgets for AI agents.</p>
<ul><li><a href="/app/">The review web app</a> (sign in with a link from <code>/countersign web</code> in Slack or
<code>countersign web login-link U…</code>)</li><li><a href="/docs">The HTTP API reference</a></li></ul>
</main></body></html>"""


def install(app: FastAPI, ctx: AppContext) -> None:
    """Mount the web app at /app and answer GET / with a page pointing at it and at the API docs."""
    from web.app import create_web_app

    app.mount("/app", create_web_app(ctx))

    @app.get("/", include_in_schema=False)
    def home() -> HTMLResponse:
        return HTMLResponse(HOME)
